#include "services/webhooks/service.h"

#include <google/protobuf/util/field_mask_util.h>

#include "absl/strings/str_cat.h"
#include "libs/api/page.h"
#include "libs/api/reasons.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/pg/idempotency.h"
#include "libs/runtime/grpc.h"
#include "services/webhooks/rules/numbers.h"

namespace switchboard::webhooks {
namespace {

using google::protobuf::util::FieldMaskUtil;

constexpr api::PageSizes kNumberPages = {.default_size = 100, .max = 500};
constexpr api::PageSizes kDeadLetterPages = {.default_size = 50, .max = 500};

absl::Status NumberNotFound(absl::string_view id) {
  return core::Error(absl::StatusCode::kNotFound, api::kPhoneNumberNotFound,
                     "no such phone number in this tenant", {{"phone_number_id", std::string(id)}});
}

// A keyset page of a list: `read(after, limit)` is asked for one row more than the page holds
// (so whether a next page exists is known without counting); the page's rows go to `out` and
// the next page's token is made from its last row by `cursor_of`.
template <typename Row, typename Read, typename CursorOf>
absl::Status Page(absl::string_view list, int32_t page_size, const api::PageSizes& sizes,
                  const std::string& page_token, const Read& read, const CursorOf& cursor_of,
                  google::protobuf::RepeatedPtrField<Row>* out, std::string* next_page_token) {
  ASSIGN_OR_RETURN(int size, api::PageSize(page_size, sizes));
  const std::string binding = api::Binding(list);
  ASSIGN_OR_RETURN(std::optional<api::Cursor> after, api::DecodePageToken(page_token, binding));
  ASSIGN_OR_RETURN(std::vector<Row> rows, read(after, size + 1));
  const bool more = static_cast<int>(rows.size()) > size;
  if (more) rows.pop_back();
  for (Row& r : rows) *out->Add() = std::move(r);
  if (more) *next_page_token = api::EncodePageToken(cursor_of(out->at(out->size() - 1)), binding);
  return absl::OkStatus();
}

}  // namespace

Service::Service(Registry& registry, const whatsapp::Credentials& credentials,
                 whatsapp::Graph& graph, const core::Clock& clock)
    : registry_(registry), credentials_(credentials), graph_(graph), clock_(clock) {}

grpc::Status Service::RegisterPhoneNumber(grpc::ServerContext* ctx,
                                          const v1::RegisterPhoneNumberRequest* req,
                                          v1::RegisterPhoneNumberResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(api::RequireRole(caller, "admin", "managing phone numbers"));
    RETURN_IF_ERROR(rules::ValidateRegistration(*req));
    if (credentials_.App(req->app_id()) == nullptr) {
      return core::InvalidArgument("UNKNOWN_APP",
                                   req->app_id().empty()
                                       ? "no default Meta app is configured (--meta-app-secret)"
                                       : "no Meta app with this id is configured",
                                   {{"app_id", req->app_id()}});
    }
    const std::string& tenant = caller.tenant_id;
    RETURN_IF_ERROR(pg::Once(registry_.pool(), tenant, *req, resp, [&](pg::Conn& tx) {
      ASSIGN_OR_RETURN(bool elsewhere, Registry::WabaHeldByAnother(tx, req->waba_id(), tenant));
      if (elsewhere) {
        return core::Error(absl::StatusCode::kAlreadyExists, "WABA_REGISTERED_ELSEWHERE",
                           "this WhatsApp Business Account belongs to another tenant");
      }
      ASSIGN_OR_RETURN(std::optional<v1::PhoneNumber> number,
                       Registry::Upsert(tx, tenant, *req, clock_.Now()));
      if (!number.has_value()) {
        // Not for another tenant's eyes: which tenant it is stays unsaid.
        return core::Error(absl::StatusCode::kAlreadyExists, "PHONE_NUMBER_REGISTERED_ELSEWHERE",
                           "this phone number is registered to another tenant");
      }
      *resp->mutable_phone_number() = *std::move(number);
      return absl::OkStatus();
    }));
    registry_.Forget(req->phone_number_id());
    return absl::OkStatus();
  });
}

grpc::Status Service::ListPhoneNumbers(grpc::ServerContext* ctx,
                                       const v1::ListPhoneNumbersRequest* req,
                                       v1::ListPhoneNumbersResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) {
    return Page(
        "webhooks.ListPhoneNumbers", req->page_size(), kNumberPages, req->page_token(),
        [&](const std::optional<api::Cursor>& after, int limit) {
          return registry_.List(caller.tenant_id, after ? after->id : "", limit);
        },
        [](const v1::PhoneNumber& n) { return api::Cursor{.id = n.phone_number_id()}; },
        resp->mutable_phone_numbers(), resp->mutable_next_page_token());
  });
}

grpc::Status Service::ListDeadLetters(grpc::ServerContext* ctx,
                                      const v1::ListDeadLettersRequest* req,
                                      v1::ListDeadLettersResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) {
    return Page(
        "webhooks.ListDeadLetters", req->page_size(), kDeadLetterPages, req->page_token(),
        [&](const std::optional<api::Cursor>& after, int limit) {
          return registry_.ListDeadLetters(caller.tenant_id, after, limit);
        },
        [](const v1::DeadLetter& d) {
          return api::Cursor{.time = core::FromProto(d.receive_time()), .id = d.event_id()};
        },
        resp->mutable_dead_letters(), resp->mutable_next_page_token());
  });
}

grpc::Status Service::GetPhoneNumber(grpc::ServerContext* ctx, const v1::GetPhoneNumberRequest* req,
                                     v1::GetPhoneNumberResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(rules::ValidatePhoneNumberId(req->phone_number_id(), "phone_number_id"));
    ASSIGN_OR_RETURN(std::optional<v1::PhoneNumber> number,
                     registry_.Get(caller.tenant_id, req->phone_number_id()));
    if (!number.has_value()) return NumberNotFound(req->phone_number_id());
    *resp->mutable_phone_number() = *std::move(number);
    return absl::OkStatus();
  });
}

grpc::Status Service::DeletePhoneNumber(grpc::ServerContext* ctx,
                                        const v1::DeletePhoneNumberRequest* req,
                                        v1::DeletePhoneNumberResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(api::RequireRole(caller, "admin", "managing phone numbers"));
    RETURN_IF_ERROR(rules::ValidatePhoneNumberId(req->phone_number_id(), "phone_number_id"));
    RETURN_IF_ERROR(api::OptionalId(req->request_id(), "request_id"));
    RETURN_IF_ERROR(pg::Once(registry_.pool(), caller.tenant_id, *req, resp, [&](pg::Conn& tx) {
      return Registry::Delete(tx, caller.tenant_id, req->phone_number_id());
    }));
    registry_.Forget(req->phone_number_id());
    return absl::OkStatus();
  });
}

grpc::Status Service::UpdateCallingSettings(grpc::ServerContext* ctx,
                                            const v1::UpdateCallingSettingsRequest* req,
                                            v1::UpdateCallingSettingsResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    RETURN_IF_ERROR(api::RequireRole(caller, "admin", "changing calling settings"));
    RETURN_IF_ERROR(rules::ValidatePhoneNumberId(req->phone_number_id(), "phone_number_id"));
    RETURN_IF_ERROR(api::OptionalId(req->request_id(), "request_id"));
    if (req->update_mask().paths_size() == 0) {
      return api::Missing("update_mask", "update_mask names the settings to change");
    }
    for (const std::string& path : req->update_mask().paths()) {
      if (!FieldMaskUtil::GetFieldDescriptors(v1::CallingSettings::descriptor(), path, nullptr)) {
        return core::InvalidArgument(api::kInvalidUpdateMask, "unknown field in update_mask",
                                     {{"path", path}});
      }
    }
    const std::string& tenant = caller.tenant_id;
    ASSIGN_OR_RETURN(std::optional<v1::PhoneNumber> current,
                     registry_.Get(tenant, req->phone_number_id()));
    if (!current.has_value()) return NumberNotFound(req->phone_number_id());
    v1::CallingSettings merged = current->calling_settings();
    FieldMaskUtil::MergeOptions options;
    options.set_replace_message_fields(true);
    options.set_replace_repeated_fields(true);
    FieldMaskUtil::MergeMessageTo(req->calling_settings(), req->update_mask(), options, &merged);
    RETURN_IF_ERROR(rules::ValidateCallingSettings(merged));

    // Meta first: settings we could not push are not recorded as in force. A repeat gets the
    // first answer, and Meta is not told again.
    const pg::RequestKey key = pg::KeyOf(tenant, *req);
    ASSIGN_OR_RETURN(std::optional<std::string> earlier,
                     pg::Idempotency::Claim(registry_.pool(), key));
    if (earlier.has_value()) return pg::Restore(*earlier, resp);
    absl::Status pushed = graph_.UpdateSettings(req->phone_number_id(), rules::ToGraph(merged));
    if (!pushed.ok()) {
      pg::Idempotency::Release(registry_.pool(), key);
      return pushed;
    }
    return registry_.pool().InTransaction([&](pg::Conn& tx) -> absl::Status {
      ASSIGN_OR_RETURN(
          std::optional<v1::PhoneNumber> saved,
          Registry::SaveSettings(tx, tenant, req->phone_number_id(), merged, clock_.Now()));
      if (!saved.has_value()) return NumberNotFound(req->phone_number_id());
      *resp->mutable_phone_number() = *std::move(saved);
      return pg::Idempotency::Finish(tx, key, resp->SerializeAsString());
    });
  });
}

}  // namespace switchboard::webhooks
