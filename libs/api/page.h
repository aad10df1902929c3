// Paging, the same in every list (AIP-158): page_size 0 means the list's default, above its
// maximum it is lowered to the maximum, below zero it is INVALID_PAGE_SIZE. Page tokens are
// opaque and URL-safe, carry the keyset cursor of the last row, and are bound to the list and
// its canonical filter: a token used with another filter, another list or after tampering is
// INVALID_PAGE_TOKEN (an HMAC under a key every replica shares, SetPageTokenKey).
//
//   ASSIGN_OR_RETURN(int size, api::PageSize(req.page_size(), {.default_size = 50, .max = 200}));
//   std::string binding = api::Binding("calls.ListCalls", filter.Canonical());
//   ASSIGN_OR_RETURN(std::optional<api::Cursor> after, api::DecodePageToken(req.page_token(),
//                                                                           binding));
//   ... if (more) resp.set_next_page_token(api::EncodePageToken(last, binding));
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace switchboard::api {

struct PageSizes {
  int default_size = 50;
  int max = 500;
};

absl::StatusOr<int> PageSize(int32_t requested, PageSizes sizes = {});

// The last row of a page: its sort time (InfinitePast when a list sorts by id alone) and the id
// that breaks ties.
struct Cursor {
  absl::Time time = absl::InfinitePast();
  std::string id;
};

// What a token is bound to: the list ("calls.ListCalls") and the canonical form of what it
// selects (filter, search, parent), length-prefixed so no two pairs give the same text.
std::string Binding(absl::string_view list, absl::string_view canonical_selection = "");

std::string EncodePageToken(const Cursor& last, absl::string_view binding);
// nullopt for an empty token (the first page).
absl::StatusOr<std::optional<Cursor>> DecodePageToken(absl::string_view token,
                                                      absl::string_view binding);

// The key page tokens are signed with. Every replica must use the same one (the runtime derives
// it from --auth-secret at start); until set, a fixed development key is used.
void SetPageTokenKey(absl::string_view key);

}  // namespace switchboard::api
