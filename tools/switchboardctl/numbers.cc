// `switchboardctl numbers ...`: the webhooks service's number registry
// (switchboard.webhooks.v1.WebhooksService): which Meta business numbers belong to the tenant.
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "libs/core/proto_time.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"
#include "tools/switchboardctl/cli.h"
#include "tools/switchboardctl/commands.h"

namespace switchboard::cli {
namespace {

namespace wv = webhooks::v1;
using NumbersClient = Client<wv::WebhooksService>;
using Stub = wv::WebhooksService::Stub;

constexpr char kUsage[] =
    R"(  numbers register --phone-number-id=ID --waba-id=W --display=P [--app=A]
                                                            map a Meta number to the tenant
  numbers list                                              the tenant's registered numbers
  numbers delete --phone-number-id=ID
  numbers dead-letters [--page-size=N]                      webhook items kept, not published
)";

void PrintNumber(const Args& args, const wv::PhoneNumber& n) {
  absl::FPrintF(args.out, "  %-18s waba %-18s %-18s app %s\n", n.phone_number_id(), n.waba_id(),
                n.display_phone_number(), n.app_id().empty() ? "(default)" : n.app_id());
}

absl::Status Register(const Args& args, const NumbersClient& client) {
  wv::RegisterPhoneNumberRequest req;
  req.set_phone_number_id(args.Flag("phone-number-id"));
  req.set_waba_id(args.Flag("waba-id"));
  req.set_display_phone_number(args.Flag("display"));
  req.set_app_id(args.Flag("app"));
  return client.Show(
      args, &Stub::RegisterPhoneNumber, req,
      [&](const wv::RegisterPhoneNumberResponse& r) { PrintNumber(args, r.phone_number()); });
}

absl::Status List(const Args& args, const NumbersClient& client) {
  return client.Show(args, &Stub::ListPhoneNumbers, {}, [&](const wv::ListPhoneNumbersResponse& r) {
    for (const auto& n : r.phone_numbers()) PrintNumber(args, n);
  });
}

absl::Status Delete(const Args& args, const NumbersClient& client) {
  wv::DeletePhoneNumberRequest req;
  req.set_phone_number_id(args.Flag("phone-number-id"));
  return client.Show(args, &Stub::DeletePhoneNumber, req,
                     [](const wv::DeletePhoneNumberResponse&) {});
}

absl::Status DeadLetters(const Args& args, const NumbersClient& client) {
  wv::ListDeadLettersRequest req;
  ASSIGN_OR_RETURN(int32_t page_size, CountFlag(args, "page-size"));
  req.set_page_size(page_size);
  return client.Show(args, &Stub::ListDeadLetters, req, [&](const wv::ListDeadLettersResponse& r) {
    if (r.dead_letters().empty()) {
      absl::FPrintF(args.out, "  no dead letters\n");
      return;
    }
    absl::FPrintF(args.out, "  %-20s  %-22s  %-20s  %9s  %s\n", "RECEIVED (UTC)", "KIND", "REASON",
                  "BYTES", "EVENT");
    for (const auto& d : r.dead_letters()) {
      absl::FPrintF(args.out, "  %-20s  %-22s  %-20s  %9d  %s\n",
                    absl::FormatTime("%Y-%m-%d %H:%M:%S", core::FromProto(d.receive_time()),
                                     absl::UTCTimeZone()),
                    d.kind(), d.reason(), d.bytes(), d.event_id());
    }
  });
}

int RunNumbers(const Args& args) {
  static const std::vector<Verb<wv::WebhooksService>> kVerbs = {
      {"register",
       {.required = {"phone-number-id", "waba-id", "display"}, .optional = {"app"}},
       Register},
      {"list", {}, List},
      {"delete", {.required = {"phone-number-id"}}, Delete},
      {"dead-letters", {.optional = {"page-size"}}, DeadLetters},
  };
  return RunVerbs(args, kVerbs);
}

}  // namespace

const Command kNumbersCommand = {"numbers", kUsage, RunNumbers};

}  // namespace switchboard::cli
