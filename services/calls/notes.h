// Internal notes on calls, linked to the contact: add, edit, list (per call or per contact),
// delete. Only a note's author, or a supervisor, may change it.
//
//   Notes notes(store, clock);
//   RETURN_IF_ERROR(notes.Add(caller, *req, resp));
#pragma once

#include "absl/status/statusor.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "services/calls/store/store.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace switchboard::calls {

class Notes {
 public:
  Notes(Store& store, const core::Clock& clock);

  absl::Status Add(const auth::Principal& caller, const v1::AddCallNoteRequest& req,
                   v1::AddCallNoteResponse* resp);
  absl::Status Update(const auth::Principal& caller, const v1::UpdateCallNoteRequest& req,
                      v1::UpdateCallNoteResponse* resp);
  absl::Status List(const auth::Principal& caller, const v1::ListCallNotesRequest& req,
                    v1::ListCallNotesResponse* resp);
  absl::Status Delete(const auth::Principal& caller, const v1::DeleteCallNoteRequest& req,
                      v1::DeleteCallNoteResponse* resp);

  static constexpr int64_t kMaxNoteChars = 4000;

 private:
  Store& store_;
  const core::Clock& clock_;
};

}  // namespace switchboard::calls
