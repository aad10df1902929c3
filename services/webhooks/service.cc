#include "services/webhooks/service.h"

#include <google/protobuf/util/field_mask_util.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"
#include "libs/runtime/grpc.h"
#include "libs/whatsapp/credentials.h"

namespace switchboard::webhooks {
namespace {

using google::protobuf::util::FieldMaskUtil;

absl::Status Invalid(absl::string_view reason, absl::string_view message) {
  return core::InvalidArgument(reason, message);
}

absl::Status RequireAdmin(const auth::Principal& caller) {
  if (caller.HasRole("admin")) return absl::OkStatus();
  return core::Error(absl::StatusCode::kPermissionDenied, "ADMIN_ROLE_REQUIRED",
                     "managing phone numbers needs the admin role");
}

absl::Status ValidateRequestId(absl::string_view id) {
  if (id.size() > 64) return Invalid("INVALID_REQUEST_ID", "request_id is at most 64 characters");
  for (char c : id) {
    if (!(absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.')) {
      return Invalid("INVALID_REQUEST_ID", "request_id must be [A-Za-z0-9._-]");
    }
  }
  return absl::OkStatus();
}

// "HHMM" → minutes since midnight, or -1.
int Minutes(absl::string_view hhmm) {
  int v;
  if (hhmm.size() != 4 || !absl::SimpleAtoi(hhmm, &v)) return -1;
  int h = v / 100, m = v % 100;
  if (h > 23 || m > 59) return -1;
  return h * 60 + m;
}

absl::Status BadHours(absl::string_view why) { return Invalid("INVALID_CALL_HOURS", why); }

}  // namespace

absl::Status ValidateCallingSettings(const v1::CallingSettings& settings) {
  const v1::CallHours& hours = settings.call_hours();
  if (!hours.enabled()) return absl::OkStatus();
  absl::TimeZone tz;
  if (hours.timezone_id().empty() || !absl::LoadTimeZone(hours.timezone_id(), &tz)) {
    return BadHours("call_hours.timezone_id must be an IANA zone such as Europe/Berlin");
  }
  std::map<int, std::vector<std::pair<int, int>>> by_day;
  for (const v1::OperatingHours& h : hours.weekly_operating_hours()) {
    if (h.day_of_week() == v1::DAY_OF_WEEK_UNSPECIFIED) {
      return BadHours("weekly_operating_hours[].day_of_week is required");
    }
    int open = Minutes(h.open_time()), close = Minutes(h.close_time());
    if (open < 0 || close < 0 || open >= close) {
      return BadHours("open_time and close_time are HHMM with open before close");
    }
    by_day[h.day_of_week()].emplace_back(open, close);
  }
  for (auto& [day, ranges] : by_day) {
    if (ranges.size() > 2) return BadHours("at most 2 ranges per weekday");
    std::sort(ranges.begin(), ranges.end());
    if (ranges.size() == 2 && ranges[1].first < ranges[0].second) {
      return BadHours("a weekday's ranges overlap");
    }
  }
  if (hours.holiday_schedule_size() > 20) return BadHours("at most 20 holidays");
  for (const v1::Holiday& h : hours.holiday_schedule()) {
    absl::CivilDay day;
    if (!absl::ParseCivilTime(h.date(), &day)) return BadHours("holiday date must be YYYY-MM-DD");
    int start = Minutes(h.start_time()), end = Minutes(h.end_time());
    if (start < 0 || end < 0 || start > end) {
      return BadHours("holiday start_time and end_time are HHMM with start not after end");
    }
  }
  return absl::OkStatus();
}

Service::Service(Registry& registry, const whatsapp::Credentials& credentials, PushSettings push)
    : registry_(registry), credentials_(credentials), push_(std::move(push)) {}

grpc::Status Service::RegisterPhoneNumber(grpc::ServerContext* ctx,
                                          const v1::RegisterPhoneNumberRequest* req,
                                          v1::RegisterPhoneNumberResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(RequireAdmin(caller));
    RETURN_IF_ERROR(ValidateRequestId(req->request_id()));
    if (credentials_.App(req->app_id()) == nullptr) {
      return core::InvalidArgument("UNKNOWN_APP",
                                   req->app_id().empty()
                                       ? "no default Meta app is configured (--meta-app-secret)"
                                       : "no Meta app with this id is configured",
                                   {{"app_id", req->app_id()}});
    }
    ASSIGN_OR_RETURN(*resp->mutable_phone_number(), registry_.Register(caller.tenant_id, *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::ListPhoneNumbers(grpc::ServerContext* ctx,
                                       const v1::ListPhoneNumbersRequest* req,
                                       v1::ListPhoneNumbersResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(Page page,
                     registry_.List(caller.tenant_id, req->page_size(), req->page_token()));
    for (auto& n : page.numbers) *resp->add_phone_numbers() = std::move(n);
    resp->set_next_page_token(page.next_page_token);
    return absl::OkStatus();
  });
}

grpc::Status Service::DeletePhoneNumber(grpc::ServerContext* ctx,
                                        const v1::DeletePhoneNumberRequest* req,
                                        v1::DeletePhoneNumberResponse*) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(RequireAdmin(caller));
    RETURN_IF_ERROR(ValidateRequestId(req->request_id()));
    return registry_.Delete(caller.tenant_id, req->phone_number_id(), req->request_id());
  });
}

grpc::Status Service::UpdateCallingSettings(grpc::ServerContext* ctx,
                                            const v1::UpdateCallingSettingsRequest* req,
                                            v1::UpdateCallingSettingsResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(RequireAdmin(caller));
    RETURN_IF_ERROR(ValidateRequestId(req->request_id()));
    if (req->update_mask().paths_size() == 0) {
      return Invalid("EMPTY_UPDATE_MASK", "update_mask names the settings to change");
    }
    for (const std::string& path : req->update_mask().paths()) {
      if (!FieldMaskUtil::GetFieldDescriptors(v1::CallingSettings::descriptor(), path, nullptr)) {
        return core::InvalidArgument("INVALID_UPDATE_MASK", "unknown field in update_mask",
                                     {{"path", path}});
      }
    }
    ASSIGN_OR_RETURN(std::optional<v1::PhoneNumber> earlier,
                     registry_.EarlierSettings(caller.tenant_id, req->request_id()));
    if (earlier.has_value()) {  // a repeat: the first answer, and Meta is not told again
      *resp->mutable_phone_number() = std::move(*earlier);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(v1::PhoneNumber current,
                     registry_.Get(caller.tenant_id, req->phone_number_id()));
    v1::CallingSettings merged = current.calling_settings();
    FieldMaskUtil::MergeOptions options;
    options.set_replace_message_fields(true);
    options.set_replace_repeated_fields(true);
    FieldMaskUtil::MergeMessageTo(req->calling_settings(), req->update_mask(), options, &merged);
    RETURN_IF_ERROR(ValidateCallingSettings(merged));
    // Meta first: settings we could not push are not recorded as in force.
    if (push_) RETURN_IF_ERROR(push_(req->phone_number_id(), merged));
    ASSIGN_OR_RETURN(*resp->mutable_phone_number(),
                     registry_.SaveSettings(caller.tenant_id, req->phone_number_id(), merged,
                                            req->request_id()));
    return absl::OkStatus();
  });
}

}  // namespace switchboard::webhooks
