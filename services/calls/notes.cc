#include "services/calls/notes.h"

#include "absl/strings/str_cat.h"
#include "libs/api/page.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/pg/idempotency.h"

namespace switchboard::calls {
namespace {

constexpr api::PageSizes kNotePages = {.default_size = 50, .max = 200};

absl::Status MayEdit(const auth::Principal& caller, const v1::CallNote& note) {
  if (note.author_agent_id() == caller.subject || caller.HasRole("supervisor")) {
    return absl::OkStatus();
  }
  return core::Error(absl::StatusCode::kPermissionDenied, "NOT_NOTE_AUTHOR",
                     "only the note's author or a supervisor can change it");
}

}  // namespace

Notes::Notes(Store& store, const core::Clock& clock) : store_(store), clock_(clock) {}

absl::Status Notes::Add(const auth::Principal& caller, const v1::AddCallNoteRequest& req,
                        v1::AddCallNoteResponse* resp) {
  const std::string& tenant = caller.tenant_id;
  RETURN_IF_ERROR(api::RequireId(req.call_id(), "call_id"));
  RETURN_IF_ERROR(api::Text(req.text(), "text", {.max_chars = kMaxNoteChars, .required = true}));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  return pg::Once(store_.pool(), tenant, req, resp, [&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<v1::Call> call,
                     Store::Lock(tx, tenant, CallKey::Id(req.call_id())));
    if (!call.has_value()) return api::NotFound("call");
    const absl::Time now = clock_.Now();
    v1::CallNote note;
    note.set_note_id(core::NewId(clock_));
    note.set_call_id(req.call_id());
    *note.mutable_contact() = call->contact();
    note.set_author_agent_id(caller.subject);
    note.set_text(req.text());
    *note.mutable_create_time() = core::ToProto(now);
    *note.mutable_update_time() = core::ToProto(now);
    RETURN_IF_ERROR(Store::InsertNote(tx, tenant, note, api::ContactKey(call->contact())));
    *resp->mutable_note() = std::move(note);
    return absl::OkStatus();
  });
}

absl::Status Notes::Update(const auth::Principal& caller, const v1::UpdateCallNoteRequest& req,
                           v1::UpdateCallNoteResponse* resp) {
  const std::string& tenant = caller.tenant_id;
  RETURN_IF_ERROR(api::RequireId(req.note_id(), "note_id"));
  RETURN_IF_ERROR(api::Text(req.text(), "text", {.max_chars = kMaxNoteChars, .required = true}));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  return pg::Once(store_.pool(), tenant, req, resp, [&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<v1::CallNote> note, Store::LockNote(tx, tenant, req.note_id()));
    if (!note.has_value()) return api::NotFound("note");
    RETURN_IF_ERROR(MayEdit(caller, *note));
    note->set_text(req.text());
    *note->mutable_update_time() = core::ToProto(clock_.Now());
    RETURN_IF_ERROR(Store::UpdateNote(tx, tenant, *note));
    *resp->mutable_note() = *std::move(note);
    return absl::OkStatus();
  });
}

absl::Status Notes::List(const auth::Principal& caller, const v1::ListCallNotesRequest& req,
                         v1::ListCallNotesResponse* resp) {
  ASSIGN_OR_RETURN(int size, api::PageSize(req.page_size(), kNotePages));
  std::string call_id, contact_key;
  switch (req.parent_case()) {
    case v1::ListCallNotesRequest::kCallId:
      RETURN_IF_ERROR(api::RequireId(req.call_id(), "call_id"));
      call_id = req.call_id();
      break;
    case v1::ListCallNotesRequest::kContact:
      RETURN_IF_ERROR(api::Contact(req.contact(), "contact"));
      contact_key = api::ContactKey(req.contact());
      break;
    default:
      return api::Missing("parent", "call_id or contact is required");
  }
  const std::string binding =
      api::Binding("calls.ListCallNotes", absl::StrCat(call_id.size(), ":", call_id, contact_key));
  ASSIGN_OR_RETURN(std::optional<api::Cursor> after,
                   api::DecodePageToken(req.page_token(), binding));
  ASSIGN_OR_RETURN(NotePage page,
                   store_.ListNotes(caller.tenant_id, call_id, contact_key, after, size));
  for (auto& n : page.notes) *resp->add_notes() = std::move(n);
  if (page.last.has_value()) resp->set_next_page_token(api::EncodePageToken(*page.last, binding));
  return absl::OkStatus();
}

absl::Status Notes::Delete(const auth::Principal& caller, const v1::DeleteCallNoteRequest& req,
                           v1::DeleteCallNoteResponse* resp) {
  const std::string& tenant = caller.tenant_id;
  RETURN_IF_ERROR(api::RequireId(req.note_id(), "note_id"));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  return pg::Once(store_.pool(), tenant, req, resp, [&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<v1::CallNote> note, Store::LockNote(tx, tenant, req.note_id()));
    if (!note.has_value()) return absl::OkStatus();  // gone already
    RETURN_IF_ERROR(MayEdit(caller, *note));
    return Store::DeleteNote(tx, tenant, req.note_id());
  });
}

}  // namespace switchboard::calls
