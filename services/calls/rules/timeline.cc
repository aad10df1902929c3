#include "services/calls/rules/timeline.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "services/calls/rules/format.h"

namespace switchboard::calls::timeline {
namespace {

// One language's texts. {name} and {duration} are filled in by EntryFor.
struct Texts {
  absl::string_view language;
  absl::string_view missed_inbound;      // {name}
  absl::string_view completed_inbound;   // {duration}
  absl::string_view completed_outbound;  // {duration}
  absl::string_view unanswered_outbound;
  absl::string_view rejected_inbound;  // {name}
  absl::string_view rejected_outbound;
  absl::string_view failed_inbound;
  absl::string_view failed_outbound;
  // The {name} texts for a contact without name, phone or wa_id, written out whole because
  // the words around "a contact" change with it (French elides "de un" to "d'un").
  absl::string_view missed_inbound_unnamed;
  absl::string_view rejected_inbound_unnamed;
};

// The first row is the fallback for languages without their own texts.
constexpr Texts kTexts[] = {
    {"en", "Missed call from {name}", "Incoming call, {duration}", "Outgoing call, {duration}",
     "Outgoing call, not answered", "Declined call from {name}", "Outgoing call, declined",
     "Incoming call failed", "Outgoing call failed", "Missed call from a contact",
     "Declined call from a contact"},
    {"es", "Llamada perdida de {name}", "Llamada entrante, {duration}",
     "Llamada saliente, {duration}", "Llamada saliente, no contestada",
     "Llamada rechazada de {name}", "Llamada saliente, rechazada", "Llamada entrante fallida",
     "Llamada saliente fallida", "Llamada perdida de un contacto",
     "Llamada rechazada de un contacto"},
    {"pt", "Chamada perdida de {name}", "Chamada recebida, {duration}",
     "Chamada efetuada, {duration}", "Chamada efetuada, não atendida", "Chamada recusada de {name}",
     "Chamada efetuada, recusada", "Falha na chamada recebida", "Falha na chamada efetuada",
     "Chamada perdida de um contato", "Chamada recusada de um contato"},
    {"fr", "Appel manqué de {name}", "Appel entrant, {duration}", "Appel sortant, {duration}",
     "Appel sortant, sans réponse", "Appel refusé de {name}", "Appel sortant, refusé",
     "Échec de l’appel entrant", "Échec de l’appel sortant", "Appel manqué d’un contact",
     "Appel refusé d’un contact"},
    {"de", "Verpasster Anruf von {name}", "Eingehender Anruf, {duration}",
     "Ausgehender Anruf, {duration}", "Ausgehender Anruf, nicht angenommen",
     "Abgelehnter Anruf von {name}", "Ausgehender Anruf, abgelehnt",
     "Eingehender Anruf fehlgeschlagen", "Ausgehender Anruf fehlgeschlagen",
     "Verpasster Anruf von einem Kontakt", "Abgelehnter Anruf von einem Kontakt"},
    {"hi", "{name} से मिस्ड कॉल", "इनकमिंग कॉल, {duration}", "आउटगोइंग कॉल, {duration}",
     "आउटगोइंग कॉल, जवाब नहीं मिला", "{name} की कॉल अस्वीकार की गई", "आउटगोइंग कॉल, अस्वीकार की गई",
     "इनकमिंग कॉल विफल रही", "आउटगोइंग कॉल विफल रही", "एक संपर्क से मिस्ड कॉल",
     "एक संपर्क की कॉल अस्वीकार की गई"},
    {"id", "Panggilan tak terjawab dari {name}", "Panggilan masuk, {duration}",
     "Panggilan keluar, {duration}", "Panggilan keluar, tidak dijawab",
     "Panggilan ditolak dari {name}", "Panggilan keluar, ditolak", "Panggilan masuk gagal",
     "Panggilan keluar gagal", "Panggilan tak terjawab dari kontak",
     "Panggilan ditolak dari kontak"},
};

// "pt-BR", "pt_BR" and "PT" all read as "pt".
std::string BaseLanguage(absl::string_view language) {
  return absl::AsciiStrToLower(language.substr(0, language.find_first_of("-_")));
}

const Texts* Find(absl::string_view language) {
  const std::string base = BaseLanguage(language);
  for (const Texts& texts : kTexts) {
    if (texts.language == base) return &texts;
  }
  return nullptr;
}

// display_name, else phone_e164, else "+" + wa_id; nullopt when there is none of them.
std::optional<std::string> NameOf(const events::v1::ContactRef& contact) {
  if (absl::string_view name = absl::StripAsciiWhitespace(contact.display_name()); !name.empty()) {
    return std::string(name);
  }
  if (!contact.phone_e164().empty()) return contact.phone_e164();
  if (!contact.wa_id().empty()) return absl::StrCat("+", contact.wa_id());
  return std::nullopt;
}

// format::Duration without the leading zero of the minutes: "05:30" -> "5:30".
std::string SpokenDuration(absl::Duration d) {
  std::string text = format::Duration(d);
  if (text.size() == 5 && text[0] == '0') text.erase(0, 1);
  return text;
}

}  // namespace

bool IsSupportedLanguage(absl::string_view language) { return Find(language) != nullptr; }

std::optional<v1::TimelineEntry> EntryFor(const v1::Call& call, absl::string_view language) {
  const bool inbound = call.direction() == v1::CALL_DIRECTION_INBOUND;
  // A call always has a direction; without one no text would be right, so there is no entry.
  if (!inbound && call.direction() != v1::CALL_DIRECTION_OUTBOUND) return std::nullopt;

  const Texts* found = Find(language);
  const Texts& texts = found != nullptr ? *found : kTexts[0];
  const std::optional<std::string> name = NameOf(call.contact());
  v1::TimelineEntry entry;
  absl::string_view text;
  switch (call.state()) {
    case v1::CALL_STATE_MISSED:
      entry.set_kind(inbound ? v1::TIMELINE_ENTRY_KIND_MISSED_INBOUND
                             : v1::TIMELINE_ENTRY_KIND_UNANSWERED_OUTBOUND);
      text = !inbound ? texts.unanswered_outbound
             : name   ? texts.missed_inbound
                      : texts.missed_inbound_unnamed;
      break;
    case v1::CALL_STATE_ENDED:
      entry.set_kind(inbound ? v1::TIMELINE_ENTRY_KIND_COMPLETED_INBOUND
                             : v1::TIMELINE_ENTRY_KIND_COMPLETED_OUTBOUND);
      text = inbound ? texts.completed_inbound : texts.completed_outbound;
      *entry.mutable_duration() = call.duration();
      break;
    case v1::CALL_STATE_REJECTED:
      entry.set_kind(v1::TIMELINE_ENTRY_KIND_REJECTED);
      text = !inbound ? texts.rejected_outbound
             : name   ? texts.rejected_inbound
                      : texts.rejected_inbound_unnamed;
      break;
    case v1::CALL_STATE_FAILED:
      entry.set_kind(v1::TIMELINE_ENTRY_KIND_FAILED);
      text = inbound ? texts.failed_inbound : texts.failed_outbound;
      break;
    default:
      return std::nullopt;  // live
  }
  const absl::Duration duration =
      absl::Seconds(call.duration().seconds()) + absl::Nanoseconds(call.duration().nanos());
  // One pass: a name that itself reads "{duration}" is not substituted again.
  entry.set_text(absl::StrReplaceAll(
      text, {{"{name}", name.value_or("")}, {"{duration}", SpokenDuration(duration)}}));
  *entry.mutable_contact() = call.contact();
  entry.set_call_id(call.call_id());
  entry.set_direction(call.direction());
  entry.set_business_phone_number_id(call.business_phone_number_id());
  entry.set_agent_id(call.answered_by_agent_id());
  return entry;
}

}  // namespace switchboard::calls::timeline
