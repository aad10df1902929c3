// The webhook payloads Meta sends, built exactly as WHATSAPP_CLOUD_API.md shows them: each
// function returns one `changes[]` element ({"field", "value"}); Outbox::Envelope wraps them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "absl/time/time.h"

namespace switchboard::metasim {

struct NumberRef {
  std::string phone_number_id;
  std::string display_phone_number;
};

struct Contact {
  std::string wa_id;
  std::string name;
};

// Epoch seconds as a string, Meta's timestamp format.
std::string EpochString(absl::Time t);
// The digits of a phone number ("+1 631-555-3601" → "16315553601").
std::string Digits(const std::string& phone);

// field "calls", value.calls[] = {call}; contacts[] when `contact` is set.
nlohmann::json CallChange(const NumberRef& number, const std::optional<Contact>& contact,
                          nlohmann::json call);
// field "calls", value.statuses[] = {id, type: call, status, timestamp, recipient_id}.
nlohmann::json CallStatusChange(const NumberRef& number, const std::string& call_id,
                                const std::string& status, absl::Time at,
                                const std::string& recipient_id,
                                const std::string& biz_opaque_callback_data);
// field "messages", value.messages[] = {message}, contacts[] = {contact}.
nlohmann::json MessageChange(const NumberRef& number, const Contact& contact,
                             nlohmann::json message);

// A plausible RFC 8866 audio SDP (offer: setup actpass; answer: setup active).
std::string FakeSdp(bool offer, uint64_t session_id);

}  // namespace switchboard::metasim
