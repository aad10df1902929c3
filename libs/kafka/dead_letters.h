// Dead letters: records a consumer refused as poison (kafka.h, Handler), copied to
// kDeadLetters with where they came from and why, so an operator can read them and, once the
// cause is fixed, put them back (`switchboardctl deadletters list|replay`, docs/operations.md).
//
// A dead letter is the original record (key, payload, every ce_* attribute) plus extension
// attributes: deadlettertopic, deadletterpartition, deadletteroffset, deadlettergroup,
// deadletterreason (the handler's reason), deadlettererror (its message, at most 1 KB) and
// deadlettertime.
//
//   ASSIGN_OR_RETURN(std::vector<kafka::Message> records,
//                    kafka::ReadTopic(brokers, kafka::kDeadLetters, absl::Seconds(10)));
//   for (const auto& r : records) { ASSIGN_OR_RETURN(kafka::DeadLetter d,
//   kafka::DeadLetterFrom(r)); }
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/kafka/kafka.h"

namespace switchboard::kafka {

// The dead letter of `record`, refused by consumer group `group` with `why` at `now`.
Event DeadLetterOf(const Message& record, absl::string_view group, const absl::Status& why,
                   absl::Time now);

struct DeadLetter {
  Message record;  // as read from kDeadLetters
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string group;
  std::string reason;
  std::string error;
  absl::Time time;
  Event original;  // the refused event as it was (no dead-letter attributes)
};

// INVALID_ARGUMENT NOT_A_DEAD_LETTER when `record` lacks the dead-letter attributes.
absl::StatusOr<DeadLetter> DeadLetterFrom(const Message& record);

// Every record of `topic`, all partitions, from the oldest kept to the end as of the call (in
// partition, then offset, order). Joins no group and commits nothing. UNAVAILABLE
// KAFKA_UNAVAILABLE when the cluster does not answer within `timeout`.
absl::StatusOr<std::vector<Message>> ReadTopic(
    const std::string& brokers, absl::string_view topic, absl::Duration timeout,
    const std::map<std::string, std::string>& extra = {});

}  // namespace switchboard::kafka
