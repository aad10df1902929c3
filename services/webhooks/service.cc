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
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(int size, api::PageSize(req->page_size(), kNumberPages));
    const std::string binding = api::Binding("webhooks.ListPhoneNumbers");
    ASSIGN_OR_RETURN(std::optional<api::Cursor> after,
                     api::DecodePageToken(req->page_token(), binding));
    ASSIGN_OR_RETURN(std::vector<v1::PhoneNumber> numbers,
                     registry_.List(caller.tenant_id, after ? after->id : "", size + 1));
    const bool more = static_cast<int>(numbers.size()) > size;
    if (more) numbers.pop_back();
    for (auto& n : numbers) *resp->add_phone_numbers() = std::move(n);
    if (more) {
      resp->set_next_page_token(api::EncodePageToken(
          {.id = resp->phone_numbers(resp->phone_numbers_size() - 1).phone_number_id()}, binding));
    }
    return absl::OkStatus();
  });
}

grpc::Status Service::ListDeadLetters(grpc::ServerContext* ctx,
                                      const v1::ListDeadLettersRequest* req,
                                      v1::ListDeadLettersResponse* resp) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(int size, api::PageSize(req->page_size(), kDeadLetterPages));
    const std::string binding = api::Binding("webhooks.ListDeadLetters");
    ASSIGN_OR_RETURN(std::optional<api::Cursor> after,
                     api::DecodePageToken(req->page_token(), binding));
    ASSIGN_OR_RETURN(std::vector<v1::DeadLetter> letters,
                     registry_.ListDeadLetters(caller.tenant_id, after, size + 1));
    const bool more = static_cast<int>(letters.size()) > size;
    if (more) letters.pop_back();
    for (auto& d : letters) *resp->add_dead_letters() = std::move(d);
    if (more) {
      const v1::DeadLetter& last = resp->dead_letters(resp->dead_letters_size() - 1);
      resp->set_next_page_token(api::EncodePageToken(
          {.time = core::FromProto(last.receive_time()), .id = last.event_id()}, binding));
    }
    return absl::OkStatus();
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
