// librdkafka properties from a file, as operators pass them for managed Kafka (TLS, SASL):
//
//   # /etc/switchboard/kafka.properties
//   security.protocol=SASL_SSL
//   sasl.mechanism=SCRAM-SHA-512
//   sasl.username=switchboard
//   sasl.password=${file:/var/run/secrets/kafka-user/password}
//   ssl.ca.location=/var/run/secrets/kafka-ca/ca.crt
//
// `key=value` per line; blank lines and lines starting with # or ! are comments; spaces around
// the key and the value are dropped. A value `${file:/path}` is the file's content (a trailing
// newline dropped), so secrets stay in mounted files and out of the properties. Properties the
// suite's delivery guarantees depend on cannot be set (bootstrap.servers has its flag).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchboard::kafka {

using Properties = std::map<std::string, std::string>;

// Reads a file's content for ${file:...}; the default reads from disk.
using FileReader = std::function<absl::StatusOr<std::string>(const std::string& path)>;

// INVALID_ARGUMENT INVALID_KAFKA_CONFIG (metadata "line") for a line without "=", an empty key,
// a duplicate key or an unreadable ${file:...}; KAFKA_PROPERTY_NOT_ALLOWED (metadata
// "property") for the properties the suite sets itself.
absl::StatusOr<Properties> ParseProperties(absl::string_view text, const FileReader& read_file);

// ParseProperties of the file at `path`, reading ${file:...} from disk.
absl::StatusOr<Properties> LoadProperties(const std::string& path);

}  // namespace switchboard::kafka
