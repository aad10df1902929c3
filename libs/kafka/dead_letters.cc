#include "libs/kafka/dead_letters.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/status_macros.h"
#include "libs/kafka/internal.h"

namespace switchboard::kafka {
namespace {

constexpr char kTopic[] = "deadlettertopic";
constexpr char kPartition[] = "deadletterpartition";
constexpr char kOffset[] = "deadletteroffset";
constexpr char kGroup[] = "deadlettergroup";
constexpr char kReason[] = "deadletterreason";
constexpr char kError[] = "deadlettererror";
constexpr char kTime[] = "deadlettertime";
constexpr size_t kMaxError = 1024;

absl::Status Unavailable(absl::string_view what, rd_kafka_resp_err_t err) {
  return internal::KafkaError(absl::StatusCode::kUnavailable, "KAFKA_UNAVAILABLE", what, err);
}

}  // namespace

Event DeadLetterOf(const Message& record, absl::string_view group, const absl::Status& why,
                   absl::Time now) {
  Event letter = record.event;
  std::string error(why.message().substr(0, kMaxError));
  letter.extensions[kTopic] = record.topic;
  letter.extensions[kPartition] = absl::StrCat(record.partition);
  letter.extensions[kOffset] = absl::StrCat(record.offset);
  letter.extensions[kGroup] = std::string(group);
  letter.extensions[kReason] = core::ReasonOf(why);
  letter.extensions[kError] = error;
  letter.extensions[kTime] = absl::FormatTime(absl::RFC3339_full, now, absl::UTCTimeZone());
  return letter;
}

absl::StatusOr<DeadLetter> DeadLetterFrom(const Message& record) {
  const auto& ext = record.event.extensions;
  auto get = [&](const char* name) -> const std::string* {
    auto it = ext.find(name);
    return it == ext.end() ? nullptr : &it->second;
  };
  DeadLetter d;
  const std::string *topic = get(kTopic), *partition = get(kPartition), *offset = get(kOffset),
                    *group = get(kGroup);
  std::string err;
  if (topic == nullptr || topic->empty() || partition == nullptr || offset == nullptr ||
      group == nullptr || !absl::SimpleAtoi(*partition, &d.partition) ||
      !absl::SimpleAtoi(*offset, &d.offset)) {
    return core::InvalidArgument(
        "NOT_A_DEAD_LETTER",
        absl::StrCat("record ", record.partition, "/", record.offset,
                     " lacks the dead-letter attributes (topic, partition, offset, group)"));
  }
  d.record = record;
  d.topic = *topic;
  d.group = *group;
  if (const std::string* reason = get(kReason)) d.reason = *reason;
  if (const std::string* error = get(kError)) d.error = *error;
  if (const std::string* time = get(kTime);
      time == nullptr || !absl::ParseTime(absl::RFC3339_full, *time, &d.time, &err)) {
    d.time = absl::InfinitePast();
  }
  d.original = record.event;
  for (const char* name : {kTopic, kPartition, kOffset, kGroup, kReason, kError, kTime}) {
    d.original.extensions.erase(name);
  }
  return d;
}

absl::StatusOr<std::vector<Message>> ReadTopic(const std::string& brokers, absl::string_view topic,
                                               absl::Duration timeout,
                                               const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> settings = extra;
  settings["bootstrap.servers"] = brokers;
  // A group id only because librdkafka's consumer needs one: partitions are assigned, never
  // subscribed, so no group is joined and, with auto commit off, nothing is committed.
  settings["group.id"] = absl::StrCat("switchboard-reader-", core::NewId());
  settings["enable.auto.commit"] = "false";
  settings["enable.partition.eof"] = "true";
  ASSIGN_OR_RETURN(rd_kafka_conf_t * conf, internal::MakeConf(settings));
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return core::InvalidArgument("INVALID_KAFKA_CONFIG", errstr);
  }
  struct Closer {
    rd_kafka_t* rk;
    ~Closer() {
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  } closer{rk};
  const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  absl::Time deadline = absl::Now() + timeout;

  std::string name(topic);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, name.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return Unavailable("kafka metadata", err);
  int partitions = 0;
  rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
  if (md->topic_cnt == 1) {
    partitions = md->topics[0].partition_cnt;
    topic_err = md->topics[0].err;
  }
  rd_kafka_metadata_destroy(md);
  if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR || partitions == 0) {
    return core::Error(absl::StatusCode::kNotFound, "KAFKA_TOPIC_MISSING",
                       absl::StrCat("no topic ", name), {{"topic", name}});
  }

  // Read each non-empty partition from its low to its high watermark as of now.
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(partitions);
  int open = 0;
  for (int p = 0; p < partitions; ++p) {
    int64_t low = 0, high = 0;
    err = rd_kafka_query_watermark_offsets(rk, name.c_str(), p, &low, &high, timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_topic_partition_list_destroy(assignment);
      return Unavailable("kafka watermarks", err);
    }
    if (high <= low) continue;
    rd_kafka_topic_partition_list_add(assignment, name.c_str(), p)->offset = low;
    ++open;
  }
  std::vector<Message> out;
  if (open > 0) {
    err = rd_kafka_assign(rk, assignment);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_topic_partition_list_destroy(assignment);
      return Unavailable("kafka assign", err);
    }
  }
  rd_kafka_topic_partition_list_destroy(assignment);
  while (open > 0) {
    if (absl::Now() >= deadline) {
      return core::Unavailable("KAFKA_UNAVAILABLE",
                               absl::StrCat("reading ", name, " did not finish in time"));
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      --open;
    } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      out.push_back(internal::MessageOf(m));
    }
    rd_kafka_message_destroy(m);
  }
  std::sort(out.begin(), out.end(), [](const Message& a, const Message& b) {
    return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
  });
  return out;
}

}  // namespace switchboard::kafka
