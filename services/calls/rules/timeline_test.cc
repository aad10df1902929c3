#include "services/calls/rules/timeline.h"

#include <google/protobuf/util/message_differencer.h>

#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/match.h"

namespace switchboard::calls::timeline {
namespace {

using google::protobuf::util::MessageDifferencer;

v1::Call CallIn(v1::CallDirection direction, v1::CallState state, int64_t talk_seconds = 0) {
  v1::Call call;
  call.set_call_id("call-1");
  call.set_tenant_id("tenant-1");
  call.set_direction(direction);
  call.set_state(state);
  call.set_business_phone_number_id("106540352242922");
  call.set_business_display_number("16315553601");
  call.mutable_contact()->set_wa_id("5511966881746");
  call.mutable_contact()->set_phone_e164("+5511966881746");
  call.mutable_contact()->set_display_name("Ana Souza");
  call.set_answered_by_agent_id(state == v1::CALL_STATE_ENDED ? "agent-7" : "");
  call.mutable_duration()->set_seconds(talk_seconds);
  return call;
}

v1::TimelineEntry MustEntry(const v1::Call& call, absl::string_view language = "en") {
  auto entry = EntryFor(call, language);
  INFO(call.ShortDebugString() << " in " << language);
  REQUIRE(entry.has_value());
  return *entry;
}

std::string TextFor(const v1::Call& call, absl::string_view language = "en") {
  return MustEntry(call, language).text();
}

constexpr v1::CallDirection kIn = v1::CALL_DIRECTION_INBOUND;
constexpr v1::CallDirection kOut = v1::CALL_DIRECTION_OUTBOUND;

TEST_CASE("every terminal state has its kind and English text in both directions") {
  struct Case {
    v1::CallDirection direction;
    v1::CallState state;
    v1::TimelineEntryKind kind;
    const char* text;
  };
  const Case cases[] = {
      {kIn, v1::CALL_STATE_MISSED, v1::TIMELINE_ENTRY_KIND_MISSED_INBOUND,
       "Missed call from Ana Souza"},
      {kOut, v1::CALL_STATE_MISSED, v1::TIMELINE_ENTRY_KIND_UNANSWERED_OUTBOUND,
       "Outgoing call, not answered"},
      {kIn, v1::CALL_STATE_ENDED, v1::TIMELINE_ENTRY_KIND_COMPLETED_INBOUND, "Incoming call, 5:30"},
      {kOut, v1::CALL_STATE_ENDED, v1::TIMELINE_ENTRY_KIND_COMPLETED_OUTBOUND,
       "Outgoing call, 5:30"},
      {kIn, v1::CALL_STATE_REJECTED, v1::TIMELINE_ENTRY_KIND_REJECTED,
       "Declined call from Ana Souza"},
      {kOut, v1::CALL_STATE_REJECTED, v1::TIMELINE_ENTRY_KIND_REJECTED, "Outgoing call, declined"},
      {kIn, v1::CALL_STATE_FAILED, v1::TIMELINE_ENTRY_KIND_FAILED, "Incoming call failed"},
      {kOut, v1::CALL_STATE_FAILED, v1::TIMELINE_ENTRY_KIND_FAILED, "Outgoing call failed"},
  };
  for (const Case& c : cases) {
    const v1::Call call = CallIn(c.direction, c.state, c.state == v1::CALL_STATE_ENDED ? 330 : 0);
    const v1::TimelineEntry entry = MustEntry(call);
    INFO(v1::CallState_Name(c.state) << " " << v1::CallDirection_Name(c.direction));
    CHECK(entry.kind() == c.kind);
    CHECK(entry.text() == c.text);
    CHECK(entry.call_id() == "call-1");
    CHECK(entry.direction() == c.direction);
    CHECK(entry.business_phone_number_id() == "106540352242922");
    CHECK(entry.agent_id() == call.answered_by_agent_id());
    CHECK(MessageDifferencer::Equals(entry.contact(), call.contact()));
    CHECK_FALSE(entry.has_header());  // the store's to fill
    CHECK(entry.duration().seconds() == (c.state == v1::CALL_STATE_ENDED ? 330 : 0));
  }
}

TEST_CASE("live calls have no entry") {
  for (v1::CallState state : {v1::CALL_STATE_UNSPECIFIED, v1::CALL_STATE_OFFERED,
                              v1::CALL_STATE_RINGING, v1::CALL_STATE_ANSWERED}) {
    INFO(v1::CallState_Name(state));
    CHECK_FALSE(EntryFor(CallIn(kIn, state), "en").has_value());
    CHECK_FALSE(EntryFor(CallIn(kOut, state), "en").has_value());
  }
}

TEST_CASE("a call without a direction has no entry") {
  CHECK_FALSE(EntryFor(CallIn(v1::CALL_DIRECTION_UNSPECIFIED, v1::CALL_STATE_MISSED), "en"));
  CHECK_FALSE(EntryFor(CallIn(static_cast<v1::CallDirection>(9), v1::CALL_STATE_ENDED, 30), "en"));
}

TEST_CASE("the duration reads without a leading zero in the minutes") {
  CHECK(TextFor(CallIn(kIn, v1::CALL_STATE_ENDED, 0)) == "Incoming call, 0:00");
  CHECK(TextFor(CallIn(kIn, v1::CALL_STATE_ENDED, 45)) == "Incoming call, 0:45");
  CHECK(TextFor(CallIn(kIn, v1::CALL_STATE_ENDED, 330)) == "Incoming call, 5:30");
  CHECK(TextFor(CallIn(kIn, v1::CALL_STATE_ENDED, 600)) == "Incoming call, 10:00");
  CHECK(TextFor(CallIn(kOut, v1::CALL_STATE_ENDED, 3599)) == "Outgoing call, 59:59");
  CHECK(TextFor(CallIn(kOut, v1::CALL_STATE_ENDED, 3723)) == "Outgoing call, 1:02:03");
  CHECK(TextFor(CallIn(kOut, v1::CALL_STATE_ENDED, 36000)) == "Outgoing call, 10:00:00");

  v1::Call call = CallIn(kIn, v1::CALL_STATE_ENDED, 45);
  call.mutable_duration()->set_nanos(900000000);
  const v1::TimelineEntry entry = MustEntry(call);
  CHECK(entry.text() == "Incoming call, 0:45");
  CHECK(entry.duration().seconds() == 45);
  CHECK(entry.duration().nanos() == 900000000);
}

TEST_CASE("only an ENDED call carries a duration") {
  // Defensive: a duration on a call that was never answered is not copied.
  v1::Call call = CallIn(kIn, v1::CALL_STATE_MISSED, 12);
  CHECK(MustEntry(call).duration().seconds() == 0);
}

TEST_CASE("the name falls back to the phone, the wa_id, then \"a contact\"") {
  v1::Call call = CallIn(kIn, v1::CALL_STATE_MISSED);
  CHECK(TextFor(call) == "Missed call from Ana Souza");
  call.mutable_contact()->set_display_name("  ");
  CHECK(TextFor(call) == "Missed call from +5511966881746");
  call.mutable_contact()->clear_display_name();
  CHECK(TextFor(call) == "Missed call from +5511966881746");
  call.mutable_contact()->clear_phone_e164();
  CHECK(TextFor(call) == "Missed call from +5511966881746");  // "+" + wa_id
  call.mutable_contact()->set_wa_id("13175551399");
  CHECK(TextFor(call) == "Missed call from +13175551399");
  call.mutable_contact()->clear_wa_id();
  call.mutable_contact()->set_user_id("US.1349");  // never shown
  CHECK(TextFor(call) == "Missed call from a contact");
  call.set_state(v1::CALL_STATE_REJECTED);
  CHECK(TextFor(call) == "Declined call from a contact");
  CHECK(TextFor(call, "de") == "Abgelehnter Anruf von einem Kontakt");
  CHECK(TextFor(call, "hi") == "एक संपर्क की कॉल अस्वीकार की गई");
  CHECK(TextFor(call, "fr") == "Appel refusé d’un contact");
  CHECK(TextFor(call, "es") == "Llamada rechazada de un contacto");
  CHECK(TextFor(call, "pt") == "Chamada recusada de um contato");
  CHECK(TextFor(call, "id") == "Panggilan ditolak dari kontak");
  CHECK(TextFor(call, "xx") == "Declined call from a contact");
  call.set_state(v1::CALL_STATE_MISSED);
  CHECK(TextFor(call, "es") == "Llamada perdida de un contacto");
  CHECK(TextFor(call, "pt") == "Chamada perdida de um contato");
  CHECK(TextFor(call, "fr") == "Appel manqué d’un contact");
  CHECK(TextFor(call, "de") == "Verpasster Anruf von einem Kontakt");
  CHECK(TextFor(call, "hi") == "एक संपर्क से मिस्ड कॉल");
  CHECK(TextFor(call, "id") == "Panggilan tak terjawab dari kontak");
}

TEST_CASE("a name is inserted as it is, never expanded again") {
  v1::Call call = CallIn(kIn, v1::CALL_STATE_MISSED);
  call.mutable_contact()->set_display_name("{duration} {name} 😀");
  CHECK(TextFor(call) == "Missed call from {duration} {name} 😀");
}

TEST_CASE("each language has its own texts") {
  struct Row {
    const char* language;
    const char* texts[8];  // in the order of `calls` below
  };
  const Row rows[] = {
      {"en",
       {"Missed call from Ana Souza", "Outgoing call, not answered", "Incoming call, 5:30",
        "Outgoing call, 5:30", "Declined call from Ana Souza", "Outgoing call, declined",
        "Incoming call failed", "Outgoing call failed"}},
      {"es",
       {"Llamada perdida de Ana Souza", "Llamada saliente, no contestada", "Llamada entrante, 5:30",
        "Llamada saliente, 5:30", "Llamada rechazada de Ana Souza", "Llamada saliente, rechazada",
        "Llamada entrante fallida", "Llamada saliente fallida"}},
      {"pt",
       {"Chamada perdida de Ana Souza", "Chamada efetuada, não atendida", "Chamada recebida, 5:30",
        "Chamada efetuada, 5:30", "Chamada recusada de Ana Souza", "Chamada efetuada, recusada",
        "Falha na chamada recebida", "Falha na chamada efetuada"}},
      {"fr",
       {"Appel manqué de Ana Souza", "Appel sortant, sans réponse", "Appel entrant, 5:30",
        "Appel sortant, 5:30", "Appel refusé de Ana Souza", "Appel sortant, refusé",
        "Échec de l’appel entrant", "Échec de l’appel sortant"}},
      {"de",
       {"Verpasster Anruf von Ana Souza", "Ausgehender Anruf, nicht angenommen",
        "Eingehender Anruf, 5:30", "Ausgehender Anruf, 5:30", "Abgelehnter Anruf von Ana Souza",
        "Ausgehender Anruf, abgelehnt", "Eingehender Anruf fehlgeschlagen",
        "Ausgehender Anruf fehlgeschlagen"}},
      {"hi",
       {"Ana Souza से मिस्ड कॉल", "आउटगोइंग कॉल, जवाब नहीं मिला", "इनकमिंग कॉल, 5:30",
        "आउटगोइंग कॉल, 5:30", "Ana Souza की कॉल अस्वीकार की गई", "आउटगोइंग कॉल, अस्वीकार की गई",
        "इनकमिंग कॉल विफल रही", "आउटगोइंग कॉल विफल रही"}},
      {"id",
       {"Panggilan tak terjawab dari Ana Souza", "Panggilan keluar, tidak dijawab",
        "Panggilan masuk, 5:30", "Panggilan keluar, 5:30", "Panggilan ditolak dari Ana Souza",
        "Panggilan keluar, ditolak", "Panggilan masuk gagal", "Panggilan keluar gagal"}},
  };
  const v1::Call calls[] = {
      CallIn(kIn, v1::CALL_STATE_MISSED),     CallIn(kOut, v1::CALL_STATE_MISSED),
      CallIn(kIn, v1::CALL_STATE_ENDED, 330), CallIn(kOut, v1::CALL_STATE_ENDED, 330),
      CallIn(kIn, v1::CALL_STATE_REJECTED),   CallIn(kOut, v1::CALL_STATE_REJECTED),
      CallIn(kIn, v1::CALL_STATE_FAILED),     CallIn(kOut, v1::CALL_STATE_FAILED),
  };
  for (const Row& row : rows) {
    CHECK(IsSupportedLanguage(row.language));
    for (size_t i = 0; i < 8; ++i) {
      INFO(row.language << " #" << i);
      CHECK(TextFor(calls[i], row.language) == row.texts[i]);
    }
  }
}

TEST_CASE("languages: regions are dropped, unknown languages read English") {
  const v1::Call missed = CallIn(kIn, v1::CALL_STATE_MISSED);
  CHECK(TextFor(missed, "pt-BR") == "Chamada perdida de Ana Souza");
  CHECK(TextFor(missed, "pt_BR") == "Chamada perdida de Ana Souza");
  CHECK(TextFor(missed, "PT-br") == "Chamada perdida de Ana Souza");
  CHECK(TextFor(missed, "es-419") == "Llamada perdida de Ana Souza");
  CHECK(TextFor(missed, "en-GB") == "Missed call from Ana Souza");
  for (const char* language : {"", "ja", "xx-YY", "english", "-", "e", "zh-Hans-CN"}) {
    INFO(language);
    CHECK(TextFor(missed, language) == "Missed call from Ana Souza");
    CHECK_FALSE(IsSupportedLanguage(language));
  }
  CHECK(IsSupportedLanguage("pt-BR"));
  CHECK(IsSupportedLanguage("hi-IN"));
  CHECK(IsSupportedLanguage("ID"));
  // "in" is the withdrawn code for Indonesian; it is not guessed.
  CHECK_FALSE(IsSupportedLanguage("in"));
}

}  // namespace
}  // namespace switchboard::calls::timeline
