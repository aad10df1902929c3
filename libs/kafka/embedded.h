// An in-process Kafka cluster (librdkafka's mock cluster): the real Kafka protocol on loopback
// ports, so the suite, kcat and other processes can connect when no brokers are configured.
// State lives in memory and disappears with the process.
//
//   ASSIGN_OR_RETURN(auto cluster, kafka::EmbeddedCluster::Start());
//   RETURN_IF_ERROR(cluster->CreateTopics(kafka::SuiteTopics()));
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/kafka/kafka.h"

typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace switchboard::kafka {

class EmbeddedCluster {
 public:
  static absl::StatusOr<std::unique_ptr<EmbeddedCluster>> Start(int brokers = 1);
  ~EmbeddedCluster();

  // "127.0.0.1:port[,...]"
  const std::string& bootstrap() const { return bootstrap_; }
  absl::Status CreateTopics(const std::vector<TopicSpec>& topics);

  // Takes every broker down (connections refused) or brings them back: Kafka outages in tests.
  void SetAllBrokersDown(bool down);

 private:
  EmbeddedCluster(rd_kafka_t* host, rd_kafka_mock_cluster_t* cluster, int brokers);
  rd_kafka_t* host_;
  rd_kafka_mock_cluster_t* cluster_;
  int brokers_;
  std::string bootstrap_;
};

}  // namespace switchboard::kafka
