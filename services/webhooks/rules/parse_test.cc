#include "services/webhooks/rules/parse.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"

namespace switchboard::webhooks {
namespace {

std::string Envelope(const std::string& field, const std::string& value) {
  return R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":")" +
         field + R"(","value":)" + value + "}]}]}";
}

const char kMetadata[] =
    R"("messaging_product":"whatsapp","metadata":{"display_phone_number":"16315553601","phone_number_id":"106540352242922"})";

Parsed MustParse(const std::string& body) {
  auto p = ParseWebhook(body);
  REQUIRE(p.ok());
  return *p;
}

TEST_CASE("a user-initiated connect becomes CallConnected with the offer and the contact") {
  Parsed p = MustParse(Envelope("calls", std::string("{") + kMetadata + R"(,
      "contacts":[{"profile":{"name":"Ana Souza"},"wa_id":"13175551399"}],
      "calls":[{"id":"wacid.ABGGFjFVU2AfAgo6V-Hc5eCgK5Gh","to":"16315553601","from":"13175551399",
                "event":"connect","timestamp":"1671644824","direction":"USER_INITIATED",
                "session":{"sdp_type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}}]})"));
  REQUIRE(p.items.size() == 1);
  const Item& item = p.items[0];
  CHECK(item.event_id == "wacid.ABGGFjFVU2AfAgo6V-Hc5eCgK5Gh/connect");
  const v1::WhatsAppEvent& e = item.event;
  CHECK(e.header().entity_id() == "wacid.ABGGFjFVU2AfAgo6V-Hc5eCgK5Gh");
  CHECK(e.header().tenant_id().empty());
  CHECK(e.phone_number_id() == "106540352242922");
  CHECK(e.display_phone_number() == "16315553601");
  CHECK(e.waba_id() == "102290129340398");
  CHECK(e.meta_event_time().seconds() == 1671644824);
  REQUIRE(e.has_call_connected());
  const auto& c = e.call_connected();
  CHECK(c.meta_call_id() == "wacid.ABGGFjFVU2AfAgo6V-Hc5eCgK5Gh");
  CHECK(c.direction() == v1::CALL_DIRECTION_USER_INITIATED);
  CHECK(c.from() == "13175551399");
  CHECK(c.to() == "16315553601");
  CHECK(c.sdp_type() == v1::SDP_TYPE_OFFER);
  CHECK(c.sdp() == "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n");
  CHECK(c.contact().wa_id() == "13175551399");
  CHECK(c.contact().phone_e164() == "+13175551399");
  CHECK(c.contact().display_name() == "Ana Souza");
  CHECK(p.skipped.empty());
}

TEST_CASE("a business-initiated connect carries the user's answer; the user is `to`") {
  Parsed p = MustParse(Envelope("calls", std::string("{") + kMetadata + R"(,
      "calls":[{"id":"wacid.B1","to":"12185552828","from":"16315553601","event":"connect",
                "timestamp":"1749197000","direction":"BUSINESS_INITIATED",
                "session":{"sdp_type":"answer","sdp":"v=0"}}]})"));
  REQUIRE(p.items.size() == 1);
  const auto& c = p.items[0].event.call_connected();
  CHECK(c.direction() == v1::CALL_DIRECTION_BUSINESS_INITIATED);
  CHECK(c.sdp_type() == v1::SDP_TYPE_ANSWER);
  CHECK(c.contact().wa_id() == "12185552828");
}

TEST_CASE("without a direction, it is inferred from the business number") {
  Parsed p = MustParse(Envelope("calls", std::string("{") + kMetadata + R"(,
      "calls":[{"id":"wacid.B2","to":"12185552828","from":"16315553601","event":"connect"}]})"));
  REQUIRE(p.items.size() == 1);
  CHECK(p.items[0].event.call_connected().direction() == v1::CALL_DIRECTION_BUSINESS_INITIATED);
  CHECK(p.items[0].event.call_connected().contact().wa_id() == "12185552828");
}

TEST_CASE("terminate: COMPLETED with times and duration, FAILED with errors, never answered") {
  Parsed p = MustParse(Envelope("calls", std::string("{") + kMetadata + R"(,
      "calls":[
        {"id":"wacid.T1","to":"16315553601","from":"13175551399","event":"terminate",
         "direction":"USER_INITIATED","timestamp":"1671644900","status":"COMPLETED",
         "start_time":"1671644830","end_time":"1671644900","duration":70,
         "biz_opaque_callback_data":"call-123"},
        {"id":"wacid.T2","to":"12185552828","from":"16315553601","event":"terminate",
         "direction":"BUSINESS_INITIATED","timestamp":"1671644950","status":"FAILED",
         "errors":[{"code":138021,"title":"Media timeout","message":"no media",
                    "error_data":{"details":"relay"}}]},
        {"id":"wacid.T3","to":"16315553601","from":"13175551399","event":"terminate",
         "direction":"USER_INITIATED","timestamp":"1671645000","status":"FAILED"}]})"));
  REQUIRE(p.items.size() == 3);
  const auto& done = p.items[0].event.call_terminated();
  CHECK(p.items[0].event_id == "wacid.T1/terminate");
  CHECK(done.status() == v1::TERMINATE_STATUS_COMPLETED);
  CHECK(done.start_time().seconds() == 1671644830);
  CHECK(done.end_time().seconds() == 1671644900);
  CHECK(done.duration().seconds() == 70);
  CHECK(done.biz_opaque_callback_data() == "call-123");
  CHECK(done.contact().wa_id() == "13175551399");
  const auto& failed = p.items[1].event.call_terminated();
  CHECK(failed.status() == v1::TERMINATE_STATUS_FAILED);
  REQUIRE(failed.errors_size() == 1);
  CHECK(failed.errors(0).code() == 138021);
  CHECK(failed.errors(0).title() == "Media timeout");
  CHECK(failed.errors(0).message() == "no media");
  CHECK(failed.errors(0).details() == "relay");
  CHECK(failed.contact().wa_id() == "12185552828");
  const auto& missed = p.items[2].event.call_terminated();
  CHECK_FALSE(missed.has_start_time());
  CHECK_FALSE(missed.has_end_time());
  CHECK(missed.duration().seconds() == 0);
}

TEST_CASE("call statuses RINGING, ACCEPTED and REJECTED; message receipts are skipped") {
  Parsed p = MustParse(Envelope("calls", std::string("{") + kMetadata + R"(,
      "statuses":[
        {"id":"wacid.S1","type":"call","status":"RINGING","timestamp":"1749197000","recipient_id":"12185552828"},
        {"id":"wacid.S1","type":"call","status":"ACCEPTED","timestamp":"1749197005","recipient_id":"12185552828",
         "biz_opaque_callback_data":"call-9"},
        {"id":"wacid.S2","type":"call","status":"REJECTED","timestamp":"1749197010","recipient_id":"12185552828"},
        {"id":"wamid.X","status":"delivered","timestamp":"1749197010","recipient_id":"12185552828"},
        {"id":"wacid.S3","type":"call","status":"EXPLODED","recipient_id":"1"}]})"));
  REQUIRE(p.items.size() == 3);
  CHECK(p.items[0].event_id == "wacid.S1/ringing");
  CHECK(p.items[0].event.call_status_updated().status() == v1::CALL_STATUS_RINGING);
  CHECK(p.items[0].event.call_status_updated().recipient_id() == "12185552828");
  CHECK(p.items[0].event.call_status_updated().contact().wa_id() == "12185552828");
  CHECK(p.items[1].event_id == "wacid.S1/accepted");
  CHECK(p.items[1].event.call_status_updated().biz_opaque_callback_data() == "call-9");
  CHECK(p.items[1].event.header().entity_id() == "wacid.S1");
  CHECK(p.items[2].event.call_status_updated().status() == v1::CALL_STATUS_REJECTED);
  CHECK(p.skipped.at("message_status") == 1);
  CHECK(p.skipped.at("unknown_call_status") == 1);
}

TEST_CASE("text, button and interactive replies are inbound messages keyed by contact") {
  Parsed p = MustParse(Envelope("messages", std::string("{") + kMetadata + R"(,
      "contacts":[{"profile":{"name":"Kerry Fisher"},"wa_id":"16315551234"}],
      "messages":[
        {"from":"16315551234","id":"wamid.T","timestamp":"1683229471","type":"text",
         "text":{"body":"Can you call me please?"}},
        {"from":"16315551234","id":"wamid.B","timestamp":"1683229472","type":"button",
         "button":{"text":"Yes","payload":"yes"},"context":{"id":"wamid.OUT"}},
        {"from":"16315551234","id":"wamid.I","timestamp":"1683229473","type":"interactive",
         "interactive":{"type":"button_reply","button_reply":{"id":"b1","title":"OK"}}},
        {"from":"16315551234","id":"wamid.A","timestamp":"1683229474","type":"audio",
         "audio":{"id":"m1"}}]})"));
  REQUIRE(p.items.size() == 4);
  const auto& text = p.items[0].event.inbound_message();
  CHECK(p.items[0].event_id == "wamid.T");
  CHECK(p.items[0].event.header().entity_id() == "16315551234");
  CHECK(text.text() == "Can you call me please?");
  CHECK(text.type() == "text");
  CHECK(text.message_time().seconds() == 1683229471);
  CHECK(text.contact().display_name() == "Kerry Fisher");
  CHECK(p.items[1].event.inbound_message().text() == "Yes");
  CHECK(p.items[1].event.inbound_message().context_meta_message_id() == "wamid.OUT");
  CHECK(p.items[2].event.inbound_message().text() == "OK");
  CHECK(p.items[3].event.inbound_message().type() == "audio");
  CHECK(p.items[3].event.inbound_message().text().empty());
}

TEST_CASE("call permission replies in every variant") {
  auto reply = [](const std::string& body) {
    Parsed p = MustParse(Envelope("messages", std::string("{") + kMetadata + R"(,
        "contacts":[{"profile":{"name":"Ana"},"wa_id":"13175551399"}],
        "messages":[{"from":"13175551399","id":"wamid.P","timestamp":"1749197000",
                     "type":"interactive","interactive":{"type":"call_permission_reply",
                     "call_permission_reply":)" + body +
                                                  "}}]}"));
    REQUIRE(p.items.size() == 1);
    REQUIRE(p.items[0].event.has_call_permission_reply());
    return p.items[0].event.call_permission_reply();
  };
  auto temporary = reply(R"({"response":"accept","is_permanent":false,
                             "expiration_timestamp":"1749801800","response_source":"user_action"})");
  CHECK(temporary.response() == v1::PERMISSION_RESPONSE_ACCEPT);
  CHECK_FALSE(temporary.is_permanent());
  CHECK(temporary.expiration_time().seconds() == 1749801800);
  CHECK(temporary.response_source() == v1::RESPONSE_SOURCE_USER_ACTION);
  CHECK(temporary.message_time().seconds() == 1749197000);
  CHECK(temporary.contact().wa_id() == "13175551399");

  auto permanent =
      reply(R"({"response":"accept","is_permanent":true,"response_source":"user_action"})");
  CHECK(permanent.is_permanent());
  CHECK_FALSE(permanent.has_expiration_time());

  auto declined =
      reply(R"({"response":"reject","is_permanent":false,"response_source":"user_action"})");
  CHECK(declined.response() == v1::PERMISSION_RESPONSE_REJECT);

  auto revoked = reply(R"({"response":"reject","response_source":"automatic"})");
  CHECK(revoked.response() == v1::PERMISSION_RESPONSE_REJECT);
  CHECK(revoked.response_source() == v1::RESPONSE_SOURCE_AUTOMATIC);

  auto granted = reply(R"({"response":"accept","is_permanent":false,
                           "expiration_timestamp":1749801800,"response_source":"automatic"})");
  CHECK(granted.response_source() == v1::RESPONSE_SOURCE_AUTOMATIC);
  CHECK(granted.expiration_time().seconds() == 1749801800);
}

TEST_CASE("users known only by business-scoped id are keyed by it") {
  Parsed p = MustParse(Envelope("messages", std::string("{") + kMetadata + R"(,
      "contacts":[{"profile":{"name":"anon"},"user_id":"US.13491208655302741918"}],
      "messages":[{"from_user_id":"US.13491208655302741918","id":"wamid.U","type":"text",
                   "text":{"body":"hi"}}]})"));
  REQUIRE(p.items.size() == 1);
  const auto& contact = p.items[0].event.inbound_message().contact();
  CHECK(contact.wa_id().empty());
  CHECK(contact.phone_e164().empty());
  CHECK(contact.user_id() == "US.13491208655302741918");
  CHECK(p.items[0].event.header().entity_id() == "US.13491208655302741918");
}

TEST_CASE("account and quality updates, with stable ids for redeliveries") {
  std::string account = Envelope("account_update", R"({"phone_number":"16315553601",
      "event":"ACCOUNT_RESTRICTION","restriction_info":[
        {"restriction_type":"RESTRICTED_BIZ_INITIATED_CALLING","expiration":"1750000000"}]})");
  Parsed a = MustParse(account);
  REQUIRE(a.items.size() == 1);
  const auto& update = a.items[0].event.account_update();
  CHECK(update.event() == "ACCOUNT_RESTRICTION");
  REQUIRE(update.restriction_info_size() == 1);
  CHECK(update.restriction_info(0).restriction_type() == "RESTRICTED_BIZ_INITIATED_CALLING");
  CHECK(update.restriction_info(0).expiration_time().seconds() == 1750000000);
  CHECK_FALSE(update.raw_value_json().empty());
  CHECK(a.items[0].event.header().entity_id() == "102290129340398");  // no number: the WABA
  CHECK(MustParse(account).items[0].event_id == a.items[0].event_id);

  Parsed q = MustParse(Envelope("phone_number_quality_update",
                                R"({"display_phone_number":"16315553601","event":"DOWNGRADE",
                                    "current_limit":"TIER_1K","old_quality_rating":"GREEN",
                                    "new_quality_rating":"YELLOW"})"));
  REQUIRE(q.items.size() == 1);
  const auto& quality = q.items[0].event.quality_update();
  CHECK(quality.event() == "DOWNGRADE");
  CHECK(quality.quality_rating() == v1::QUALITY_RATING_YELLOW);
  CHECK(quality.previous_quality_rating() == v1::QUALITY_RATING_GREEN);
  CHECK(quality.current_limit() == "TIER_1K");
  CHECK(q.items[0].event.display_phone_number() == "16315553601");
  CHECK(q.items[0].event_id != a.items[0].event_id);

  Parsed flagged =
      MustParse(Envelope("phone_number_quality_update",
                         R"({"display_phone_number":"16315553601","event":"FLAGGED"})"));
  CHECK(flagged.items[0].event.quality_update().quality_rating() == v1::QUALITY_RATING_RED);
}

TEST_CASE("several entries and changes in one POST all come out") {
  std::string body = R"({"object":"whatsapp_business_account","entry":[
    {"id":"1","changes":[
      {"field":"calls","value":{"metadata":{"phone_number_id":"11"},"calls":[{"id":"wacid.1","event":"connect","from":"1234567","to":"7654321"}]}},
      {"field":"messages","value":{"metadata":{"phone_number_id":"11"},"messages":[{"id":"wamid.1","from":"1234567","type":"text","text":{"body":"x"}}]}}]},
    {"id":"2","changes":[
      {"field":"calls","value":{"metadata":{"phone_number_id":"22"},"calls":[{"id":"wacid.2","event":"terminate","status":"COMPLETED"}]}}]}]})";
  Parsed p = MustParse(body);
  REQUIRE(p.items.size() == 3);
  CHECK(p.items[0].event.phone_number_id() == "11");
  CHECK(p.items[1].event.phone_number_id() == "11");
  CHECK(p.items[2].event.phone_number_id() == "22");
  CHECK(p.items[2].event.waba_id() == "2");
}

TEST_CASE("unknown fields, kinds and objects are tolerated and counted") {
  Parsed p = MustParse(Envelope("calls", std::string("{") + kMetadata + R"(,"brand_new":1,
      "calls":[{"id":"wacid.U","event":"connect","from":"1234567","to":"7654321","shiny":true},
               {"id":"wacid.U","event":"teleport"},
               {"event":"connect"},
               "not an object"]})"));
  CHECK(p.items.size() == 1);
  CHECK(p.skipped.at("unknown_field") == 2);
  CHECK(p.skipped.at("unknown_call_event") == 1);
  CHECK(p.skipped.at("invalid_item") == 2);

  Parsed kind = MustParse(Envelope("message_template_status_update", R"({"event":"APPROVED"})"));
  CHECK(kind.items.empty());
  CHECK(kind.skipped.at("unknown_field_kind") == 1);

  Parsed object = MustParse(R"({"object":"page","entry":[]})");
  CHECK(object.items.empty());
  CHECK(object.skipped.at("unknown_object") == 1);
}

TEST_CASE("wrong types and absurd times never throw: they are absent") {
  Parsed p = MustParse(Envelope("calls", std::string("{") + kMetadata + R"(,
      "contacts":"nope",
      "calls":[{"id":"wacid.W","event":"terminate","timestamp":"99999999999999",
                "status":7,"start_time":{},"duration":-5,"errors":"x","session":[]}]})"));
  REQUIRE(p.items.size() == 1);
  const auto& t = p.items[0].event.call_terminated();
  CHECK(t.status() == v1::TERMINATE_STATUS_UNSPECIFIED);
  CHECK_FALSE(t.has_start_time());
  CHECK(t.duration().seconds() == 0);
  CHECK_FALSE(p.items[0].event.has_meta_event_time());
  CHECK(p.skipped.at("invalid_time") == 2);
}

TEST_CASE("times dated after arrival are pulled back to it; absent times stay absent") {
  Parsed p = MustParse(Envelope("calls", std::string("{") + kMetadata + R"(,
      "calls":[{"id":"wacid.F","event":"terminate","timestamp":"1671645000","status":"COMPLETED",
                "start_time":"1671644900","end_time":"1971645000","duration":30},
               {"id":"wacid.G","event":"terminate","timestamp":"1671645000","status":"FAILED"}]})"));
  REQUIRE(p.items.size() == 2);
  const absl::Time received = absl::FromUnixSeconds(1671645010);

  v1::WhatsAppEvent dated_ahead = p.items[0].event;
  CHECK(ClampTimes(dated_ahead, received));
  const auto& t = dated_ahead.call_terminated();
  CHECK(t.start_time().seconds() == 1671644900);  // before arrival: kept
  CHECK(t.end_time().seconds() == 1671645010);    // ten years ahead: arrival
  CHECK(dated_ahead.meta_event_time().seconds() == 1671645000);

  v1::WhatsAppEvent never_answered = p.items[1].event;
  CHECK_FALSE(ClampTimes(never_answered, received));
  CHECK_FALSE(never_answered.call_terminated().has_start_time());
  CHECK_FALSE(never_answered.call_terminated().has_end_time());
}

TEST_CASE("bodies that are not a webhook are refused with a reason") {
  for (const char* body : {"", "{", "nope", "[1,2]", "{\"object\":\"whatsapp_business_account\"}",
                           "{\"object\":1,\"entry\":{}}", "{\"entry\":[]}"}) {
    CAPTURE(body);
    auto p = ParseWebhook(body);
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().code() == absl::StatusCode::kInvalidArgument);
    std::string reason = core::ReasonOf(p.status());
    CHECK((reason == "MALFORMED_JSON" || reason == "NOT_A_WEBHOOK"));
  }
  CHECK(core::ReasonOf(ParseWebhook("{").status()) == "MALFORMED_JSON");
  CHECK(core::ReasonOf(ParseWebhook("[1]").status()) == "NOT_A_WEBHOOK");
}

}  // namespace
}  // namespace switchboard::webhooks
