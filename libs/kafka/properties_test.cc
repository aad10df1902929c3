#include "libs/kafka/properties.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"

namespace kafka = switchboard::kafka;
using switchboard::core::MetadataOf;
using switchboard::core::ReasonOf;

namespace {

absl::StatusOr<std::string> Secrets(const std::string& path) {
  if (path == "/secrets/password") return std::string("s3cr3t\n");
  if (path == "/secrets/jaas") return std::string("a b = c\r\n");
  return absl::NotFoundError(path);
}

}  // namespace

TEST_CASE("kafka properties: TLS and SASL as a managed cluster needs, secrets from files") {
  auto props = kafka::ParseProperties(
      "# Strimzi KafkaUser\n"
      "security.protocol = SASL_SSL\n"
      "\n"
      "! also a comment\n"
      "sasl.mechanism=SCRAM-SHA-512\n"
      "sasl.username=switchboard\n"
      "sasl.password=${file:/secrets/password}\n"
      "sasl.oauthbearer.config=${file:/secrets/jaas}\n"
      "ssl.ca.location=/var/run/secrets/ca.crt\n"
      "client.rack=eu-west-1a\n",
      Secrets);
  REQUIRE(props.ok());
  CHECK(props->size() == 7);
  CHECK(props->at("security.protocol") == "SASL_SSL");
  CHECK(props->at("sasl.password") == "s3cr3t");  // the file's trailing newline dropped
  CHECK(props->at("sasl.oauthbearer.config") == "a b = c");
  CHECK(props->at("ssl.ca.location") == "/var/run/secrets/ca.crt");  // a path stays a path
}

TEST_CASE("kafka properties: mistakes are refused with the line, and what the suite sets") {
  struct Case {
    const char* text;
    const char* reason;
    const char* line;
  };
  for (const Case& c : {
           Case{"security.protocol\n", "INVALID_KAFKA_CONFIG", "1"},
           Case{"# ok\n=value\n", "INVALID_KAFKA_CONFIG", "2"},
           Case{"a=1\na=2\n", "INVALID_KAFKA_CONFIG", "2"},
           Case{"sasl.password=${file:/secrets/missing}\n", "INVALID_KAFKA_CONFIG", "1"},
           Case{"bootstrap.servers=kafka:9092\n", "KAFKA_PROPERTY_NOT_ALLOWED", "1"},
           Case{"x=1\nenable.auto.commit=true\n", "KAFKA_PROPERTY_NOT_ALLOWED", "2"},
           Case{"acks=1\n", "KAFKA_PROPERTY_NOT_ALLOWED", "1"},
           Case{"group.id=mine\n", "KAFKA_PROPERTY_NOT_ALLOWED", "1"},
       }) {
    INFO(c.text);
    auto props = kafka::ParseProperties(c.text, Secrets);
    REQUIRE_FALSE(props.ok());
    CHECK(props.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(ReasonOf(props.status()) == c.reason);
    CHECK(MetadataOf(props.status())["line"] == c.line);
  }
  CHECK(ReasonOf(kafka::LoadProperties("/nonexistent/kafka.properties").status()) ==
        "INVALID_KAFKA_CONFIG");
}
