// The admin side of libs/kafka (kafka.h): which of the suite's topics a cluster lacks, and
// creating them.
#include <librdkafka/rdkafka.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"
#include "libs/kafka/internal.h"
#include "libs/kafka/kafka.h"

namespace switchboard::kafka {

namespace {

using internal::KafkaError;
using internal::MakeConf;
using internal::Millis;

// An admin client of `brokers` with `extra` properties.
absl::StatusOr<rd_kafka_t*> AdminClient(const std::string& brokers,
                                        const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> settings = {{"bootstrap.servers", brokers},
                                                 {"client.id", "switchboard-admin"}};
  for (const auto& [k, v] : extra) settings[k] = v;
  auto conf = MakeConf(settings);
  if (!conf.ok()) return conf.status();
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return core::InvalidArgument("INVALID_KAFKA_CONFIG", errstr);
  }
  return rk;
}

// The topics the cluster has (all topics' metadata: nothing is auto-created by asking).
absl::StatusOr<std::set<std::string>> ExistingTopics(rd_kafka_t* rk, absl::Duration timeout) {
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &metadata, Millis(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError(absl::StatusCode::kUnavailable, "KAFKA_UNAVAILABLE", "read topics", err);
  }
  std::set<std::string> existing;
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    if (metadata->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      existing.insert(metadata->topics[i].topic);
    }
  }
  rd_kafka_metadata_destroy(metadata);
  return existing;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> MissingTopics(
    const std::string& brokers, const std::vector<TopicSpec>& topics, absl::Duration timeout,
    const std::map<std::string, std::string>& extra) {
  ASSIGN_OR_RETURN(rd_kafka_t * rk, AdminClient(brokers, extra));
  absl::StatusOr<std::set<std::string>> existing = ExistingTopics(rk, timeout);
  rd_kafka_destroy(rk);
  if (!existing.ok()) return existing.status();
  std::vector<std::string> missing;
  for (const TopicSpec& t : topics) {
    if (existing->count(t.name) == 0) missing.push_back(t.name);
  }
  return missing;
}

absl::Status CreateTopics(const std::string& brokers, const std::vector<TopicSpec>& topics,
                          absl::Duration timeout, const std::map<std::string, std::string>& extra) {
  ASSIGN_OR_RETURN(rd_kafka_t * rk, AdminClient(brokers, extra));
  char errstr[512];
  // Only what is missing: no admin request (nor the ACL for one) when the topics exist.
  std::set<std::string> existing = ExistingTopics(rk, timeout).value_or(std::set<std::string>());
  std::vector<rd_kafka_NewTopic_t*> new_topics;
  for (const auto& t : topics) {
    if (existing.count(t.name) > 0) continue;
    rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(t.name.c_str(), t.partitions,
                                                       t.replication_factor, errstr, sizeof errstr);
    for (const auto& [key, value] : t.configs) {
      rd_kafka_NewTopic_set_config(topic, key.c_str(), value.c_str());
    }
    new_topics.push_back(topic);
  }
  if (new_topics.empty()) {
    rd_kafka_destroy(rk);
    return absl::OkStatus();
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opts, Millis(timeout), errstr, sizeof errstr);
  rd_kafka_CreateTopics(rk, new_topics.data(), new_topics.size(), opts, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, Millis(timeout) + 1000);
  absl::Status status = absl::OkStatus();
  if (ev == nullptr) {
    status = core::Unavailable("KAFKA_UNAVAILABLE", "create topics timed out");
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = KafkaError(absl::StatusCode::kUnavailable, "KAFKA_CREATE_TOPICS_FAILED",
                        "create topics", rd_kafka_event_error(ev));
  } else {
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(ev);
    size_t n = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &n);
    for (size_t i = 0; i < n && status.ok(); ++i) {
      rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        status = KafkaError(absl::StatusCode::kUnavailable, "KAFKA_CREATE_TOPICS_FAILED",
                            rd_kafka_topic_result_name(results[i]), err);
      }
    }
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewTopic_destroy_array(new_topics.data(), new_topics.size());
  rd_kafka_queue_destroy(queue);
  rd_kafka_destroy(rk);
  return status;
}

}  // namespace switchboard::kafka
