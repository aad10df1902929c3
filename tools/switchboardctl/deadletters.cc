// `switchboardctl deadletters ...`: the records consumers refused as poison (kafka::kDeadLetters),
// and putting them back on their topics once the cause is fixed. Talks to Kafka
// (SWITCHBOARD_KAFKA, SWITCHBOARD_KAFKA_CONFIG) directly, not to --addr.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"
#include "libs/kafka/dead_letters.h"
#include "libs/kafka/kafka.h"
#include "libs/kafka/properties.h"
#include "nlohmann/json.hpp"
#include "tools/switchboardctl/cli.h"
#include "tools/switchboardctl/commands.h"

namespace switchboard::cli {
namespace {

constexpr char kUsage[] =
    R"(  deadletters list    [--group=G] [--kafka=B]               records consumers refused, oldest
                      first: where from, the group, the reason (SWITCHBOARD_KAFKA)
  deadletters replay  --id=CE_ID[,CE_ID...] | --group=G [--kafka=B]
                                                            publish them again on their topics;
                                                            groups that applied them already
                                                            de-duplicate; --kafka-config=FILE
                                                            (SWITCHBOARD_KAFKA_CONFIG) for TLS/SASL
)";

constexpr absl::Duration kKafkaTimeout = absl::Seconds(15);

struct Kafka {
  std::string brokers;
  kafka::Properties properties;
};

absl::StatusOr<Kafka> Connection(const Args& args) {
  Kafka k;
  k.brokers = args.Flag("kafka", Env("SWITCHBOARD_KAFKA"));
  if (k.brokers.empty()) return UsageError("SWITCHBOARD_KAFKA (or --kafka) is required");
  if (std::string file = args.Flag("kafka-config", Env("SWITCHBOARD_KAFKA_CONFIG"));
      !file.empty()) {
    ASSIGN_OR_RETURN(k.properties, kafka::LoadProperties(file));
  }
  return k;
}

// The dead letters, oldest first, of --group when given.
absl::StatusOr<std::vector<kafka::DeadLetter>> Letters(const Args& args, const Kafka& k) {
  ASSIGN_OR_RETURN(std::vector<kafka::Message> records,
                   kafka::ReadTopic(k.brokers, kafka::kDeadLetters, kKafkaTimeout, k.properties));
  std::vector<kafka::DeadLetter> out;
  for (const kafka::Message& record : records) {
    absl::StatusOr<kafka::DeadLetter> letter = kafka::DeadLetterFrom(record);
    if (!letter.ok()) continue;  // not written by a consumer; nothing to replay
    if (args.Has("group") && letter->group != args.Flag("group")) continue;
    out.push_back(*std::move(letter));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.time < b.time; });
  return out;
}

nlohmann::ordered_json Json(const kafka::DeadLetter& d) {
  nlohmann::ordered_json j;
  j["ce_id"] = d.original.id;
  j["ce_type"] = d.original.type;
  j["ce_source"] = d.original.source;
  j["key"] = d.original.key;
  j["topic"] = d.topic;
  j["partition"] = d.partition;
  j["offset"] = d.offset;
  j["group"] = d.group;
  j["reason"] = d.reason;
  j["error"] = d.error;
  j["refused_at"] = absl::FormatTime(absl::RFC3339_sec, d.time, absl::UTCTimeZone());
  j["dead_letter"] = absl::StrCat(d.record.partition, "/", d.record.offset);
  return j;
}

void PrintLine(const Args& args, const nlohmann::ordered_json& j) {
  absl::FPrintF(args.out, "%s\n",
                j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

absl::Status List(const Args& args) {
  ASSIGN_OR_RETURN(Kafka k, Connection(args));
  ASSIGN_OR_RETURN(std::vector<kafka::DeadLetter> letters, Letters(args, k));
  if (args.json()) {
    for (const auto& d : letters) PrintLine(args, Json(d));
    return absl::OkStatus();
  }
  if (letters.empty()) {
    absl::FPrintF(args.out, "  no dead letters\n");
    return absl::OkStatus();
  }
  absl::FPrintF(args.out, "  %-19s  %-36s  %-22s  %-26s  %s\n", "REFUSED (UTC)", "CE_ID", "GROUP",
                "FROM", "REASON");
  for (const auto& d : letters) {
    absl::FPrintF(args.out, "  %-19s  %-36s  %-22s  %-26s  %s\n",
                  absl::FormatTime("%Y-%m-%d %H:%M:%S", d.time, absl::UTCTimeZone()), d.original.id,
                  d.group, absl::StrCat(d.topic, "/", d.partition, "@", d.offset),
                  d.reason.empty() ? d.error : d.reason);
  }
  absl::FPrintF(args.out, "  %d dead letter%s; `deadletters replay --id=CE_ID` puts one back\n",
                letters.size(), letters.size() == 1 ? "" : "s");
  return absl::OkStatus();
}

absl::Status Replay(const Args& args) {
  if (args.Has("id") == args.Has("group")) {
    return UsageError("deadletters replay takes --id=CE_ID[,...] or --group=G (one of them)");
  }
  ASSIGN_OR_RETURN(Kafka k, Connection(args));
  ASSIGN_OR_RETURN(std::vector<kafka::DeadLetter> letters, Letters(args, k));
  std::set<std::string> wanted;
  if (args.Has("id")) {
    for (absl::string_view id : absl::StrSplit(args.Flag("id"), ',', absl::SkipEmpty())) {
      wanted.emplace(id);
    }
  }
  ASSIGN_OR_RETURN(
      std::unique_ptr<kafka::Producer> producer,
      kafka::Producer::Create(
          {.brokers = k.brokers, .client_id = "switchboardctl", .extra = k.properties}));
  std::set<std::string> done;  // a record refused twice is put back once
  for (const auto& d : letters) {
    if (!wanted.empty() && !wanted.contains(d.original.id)) continue;
    if (!done.insert(d.original.id).second) continue;
    RETURN_IF_ERROR(producer->PublishAndWait(d.topic, d.original, kKafkaTimeout));
    if (args.json()) {
      nlohmann::ordered_json j = Json(d);
      j["replayed"] = true;
      PrintLine(args, j);
    } else {
      absl::FPrintF(args.out, "  %s put back on %s (refused by %s: %s)\n", d.original.id, d.topic,
                    d.group, d.reason.empty() ? d.error : d.reason);
    }
  }
  for (const std::string& id : wanted) {
    if (!done.contains(id)) {
      return core::Error(absl::StatusCode::kNotFound, "DEAD_LETTER_NOT_FOUND",
                         absl::StrCat("no dead letter with ce_id ", id), {{"ce_id", id}});
    }
  }
  if (done.empty() && !args.json()) absl::FPrintF(args.out, "  no dead letters of that group\n");
  return absl::OkStatus();
}

struct Verb {
  absl::string_view name;
  FlagSet flags;
  absl::Status (*run)(const Args&);
};

int RunDeadLetters(const Args& args) {
  static const std::vector<Verb> kVerbs = {
      {"list", {.optional = {"group", "kafka", "kafka-config"}, .globals = kNoGlobals}, List},
      {"replay",
       {.optional = {"id", "group", "kafka", "kafka-config"}, .globals = kNoGlobals},
       Replay},
  };
  absl::StatusOr<const Verb*> verb = Select(args, kVerbs);
  if (!verb.ok()) return Fail(args, verb.status());
  return Done(args, (*verb)->run(args));
}

}  // namespace

const Command kDeadLettersCommand = {"deadletters", kUsage, RunDeadLetters};

}  // namespace switchboard::cli
