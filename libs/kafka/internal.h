// Shared by the library's own files (kafka.cc, admin.cc, dead_letters.cc); not for users.
#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/kafka/kafka.h"

namespace switchboard::kafka::internal {

// `code` with `reason`, the message "<what>: <librdkafka's words>" and metadata kafka_error.
absl::Status KafkaError(absl::StatusCode code, absl::string_view reason, absl::string_view what,
                        rd_kafka_resp_err_t err);
// A timeout as librdkafka takes it.
int Millis(absl::Duration d);
// A client configuration from properties (INVALID_ARGUMENT INVALID_KAFKA_CONFIG for a refused
// one), logging through the suite's log.
absl::StatusOr<rd_kafka_conf_t*> MakeConf(const std::map<std::string, std::string>& settings);
// A fetched record as a Message (headers parsed as CloudEvents attributes).
Message MessageOf(rd_kafka_message_t* record);

}  // namespace switchboard::kafka::internal
