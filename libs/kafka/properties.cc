#include "libs/kafka/properties.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/core/error.h"

namespace switchboard::kafka {
namespace {

// What the producer and consumers set for their guarantees (acks=all and idempotence,
// offsets stored only after a record is handled, the group per consumer), and the brokers,
// which have their own flag.
constexpr const char* kNotAllowed[] = {"bootstrap.servers",
                                       "metadata.broker.list",
                                       "group.id",
                                       "enable.auto.commit",
                                       "enable.auto.offset.store",
                                       "enable.idempotence",
                                       "acks",
                                       "request.required.acks",
                                       "isolation.level",
                                       "auto.offset.reset",
                                       "enable.partition.eof"};

absl::Status Invalid(int line, absl::string_view why) {
  return core::InvalidArgument("INVALID_KAFKA_CONFIG",
                               absl::StrCat("kafka config line ", line, ": ", why),
                               {{"line", absl::StrCat(line)}});
}

absl::StatusOr<std::string> ReadFromDisk(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::InvalidArgument("INVALID_KAFKA_CONFIG", absl::StrCat("cannot read ", path),
                                 {{"path", path}});
  }
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

absl::StatusOr<Properties> ParseProperties(absl::string_view text, const FileReader& read_file) {
  Properties out;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#' || line[0] == '!') continue;
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) return Invalid(number, "expected key=value");
    const std::string key(absl::StripAsciiWhitespace(line.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    if (key.empty()) return Invalid(number, "empty key");
    for (const char* reserved : kNotAllowed) {
      if (key == reserved) {
        return core::InvalidArgument(
            "KAFKA_PROPERTY_NOT_ALLOWED",
            absl::StrCat(key, " is set by the suite (the brokers by --kafka-brokers)"),
            {{"property", key}, {"line", absl::StrCat(number)}});
      }
    }
    absl::string_view ref = value;
    if (absl::ConsumePrefix(&ref, "${file:") && absl::ConsumeSuffix(&ref, "}")) {
      absl::StatusOr<std::string> content = read_file(std::string(ref));
      if (!content.ok()) {
        return Invalid(number, absl::StrCat("cannot read ", ref, " for ", key));
      }
      value = std::move(*content);
      if (absl::EndsWith(value, "\r\n")) {
        value.resize(value.size() - 2);
      } else if (absl::EndsWith(value, "\n")) {
        value.pop_back();
      }
    }
    if (!out.emplace(key, std::move(value)).second) {
      return Invalid(number, absl::StrCat(key, " is set twice"));
    }
  }
  return out;
}

absl::StatusOr<Properties> LoadProperties(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFromDisk(path);
  if (!text.ok()) return text.status();
  return ParseProperties(*text, ReadFromDisk);
}

}  // namespace switchboard::kafka
