#include "libs/kafka/embedded.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "libs/core/error.h"

namespace switchboard::kafka {

absl::StatusOr<std::unique_ptr<EmbeddedCluster>> EmbeddedCluster::Start(int brokers) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "client.id", "switchboard-embedded-kafka", errstr, sizeof errstr);
  // The host handle only owns the mock cluster; it never connects anywhere.
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t* host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (host == nullptr) {
    rd_kafka_conf_destroy(conf);
    return core::Error(absl::StatusCode::kInternal, "EMBEDDED_KAFKA_FAILED", errstr);
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(host, brokers);
  if (cluster == nullptr) {
    rd_kafka_destroy(host);
    return core::Error(absl::StatusCode::kInternal, "EMBEDDED_KAFKA_FAILED",
                       "could not start the mock cluster");
  }
  return std::unique_ptr<EmbeddedCluster>(new EmbeddedCluster(host, cluster, brokers));
}

EmbeddedCluster::EmbeddedCluster(rd_kafka_t* host, rd_kafka_mock_cluster_t* cluster, int brokers)
    : host_(host),
      cluster_(cluster),
      brokers_(brokers),
      bootstrap_(rd_kafka_mock_cluster_bootstraps(cluster)) {}

EmbeddedCluster::~EmbeddedCluster() {
  rd_kafka_mock_cluster_destroy(cluster_);
  rd_kafka_destroy(host_);
}

absl::Status EmbeddedCluster::CreateTopics(const std::vector<TopicSpec>& topics) {
  for (const auto& t : topics) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster_, t.name.c_str(), t.partitions,
                                                         std::min(t.replication_factor, brokers_));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      return core::Error(absl::StatusCode::kInternal, "EMBEDDED_KAFKA_FAILED",
                         rd_kafka_err2str(err), {{"topic", t.name}});
    }
  }
  return absl::OkStatus();
}

void EmbeddedCluster::SetAllBrokersDown(bool down) {
  for (int id = 1; id <= brokers_; ++id) {
    if (down)
      rd_kafka_mock_broker_set_down(cluster_, id);
    else
      rd_kafka_mock_broker_set_up(cluster_, id);
  }
}

}  // namespace switchboard::kafka
