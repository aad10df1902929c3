#include "services/notifications/outbound.h"

#include <nlohmann/json.hpp>

#include "libs/api/contact.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "libs/whatsapp/meta_error.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "services/notifications/rules/outbound.h"
#include "services/notifications/store/outbound.h"

namespace switchboard::notifications {
namespace {

// Whether Meta answered at all (a Graph error with its HTTP status), and may take it later.
struct Answer {
  bool answered = false;
  bool transient = false;
};
Answer Classify(const absl::Status& s) {
  core::ErrorMetadata md = core::MetadataOf(s);
  auto http = md.find("http_status");
  if (http == md.end()) return {};
  int status = 0, code = 0;
  (void)absl::SimpleAtoi(http->second, &status);
  std::optional<int> meta;
  if (auto c = md.find("meta_code"); c != md.end() && absl::SimpleAtoi(c->second, &code)) {
    meta = code;
  }
  return {true, whatsapp::MetaIsTransient(status, meta)};
}

// The template's body parameters ({{1}}, {{2}}, ...) as Meta's components; empty for none.
std::string BodyComponents(const v1::TemplateMessage& t) {
  if (t.body_parameters().empty()) return "";
  nlohmann::json parameters = nlohmann::json::array();
  for (const std::string& p : t.body_parameters()) {
    parameters.push_back({{"type", "text"}, {"text", p}});
  }
  return nlohmann::json::array({{{"type", "body"}, {"parameters", std::move(parameters)}}}).dump();
}

}  // namespace

Outbound::Outbound(pg::Pool& pool, whatsapp::Graph& graph, const core::Clock& clock,
                   prometheus::Registry* metrics)
    : pool_(pool), graph_(graph), clock_(clock) {
  if (metrics == nullptr) return;
  outcomes_ = &prometheus::BuildCounter()
                   .Name("switchboard_notifications_outbound_total")
                   .Help(
                       "Outbound WhatsApp message requests by outcome: sent_text, "
                       "sent_template, skipped, refused, unknown.")
                   .Register(*metrics);
}

void Outbound::Count(const std::string& outcome) {
  if (outcomes_ != nullptr) outcomes_->Add({{"outcome", outcome}}).Increment();
}

absl::Status Outbound::OnWhatsAppEvent(const webhooks::v1::WhatsAppEvent& event,
                                       const kafka::Message& /*message*/) {
  std::optional<rules::WindowEvent> opens = rules::OpensWindow(event);
  if (!opens.has_value() || event.header().tenant_id().empty()) return absl::OkStatus();
  const std::string contact = api::ContactKey(*opens->contact);
  if (contact.empty()) return absl::OkStatus();
  return store::TouchWindow(pool_, event.header().tenant_id(), event.phone_number_id(), contact,
                            opens->at);
}

absl::Status Outbound::OnRequested(const v1::OutboundMessageRequested& request,
                                   const kafka::Message& message) {
  const std::string& tenant = request.header().tenant_id();
  const std::string contact = api::ContactKey(request.contact());
  if (tenant.empty() || contact.empty() || request.business_phone_number_id().empty()) {
    return core::InvalidArgument("INCOMPLETE_EVENT",
                                 "outbound message without tenant, contact or number");
  }
  const store::Taken taken{.tenant = tenant,
                           .event_id = message.event.id,
                           .call_id = request.call_id(),
                           .contact = contact};
  const absl::Time now = clock_.Now();
  ASSIGN_OR_RETURN(bool first, store::Take(pool_, taken, now));
  if (!first) return absl::OkStatus();  // taken before: sent, settled, or its outcome lost
  ASSIGN_OR_RETURN(std::optional<absl::Time> opened,
                   store::WindowOpened(pool_, tenant, request.business_phone_number_id(), contact));
  const rules::Decision decision = rules::Decide(request, opened, now);
  const std::string& number = request.business_phone_number_id();
  absl::StatusOr<std::string> sent;
  std::string channel;
  switch (decision.channel) {
    case rules::Channel::kNone:
      Count("skipped");
      return store::Settle(pool_, taken, store::SendState::kSkipped, "", "", decision.reason,
                           clock_.Now());
    case rules::Channel::kText:
      channel = "text";
      sent = graph_.SendText(number, contact, request.text());
      break;
    case rules::Channel::kPermissionRequest:
      channel = "call_permission_request";
      sent = graph_.SendCallPermissionRequest(number, contact,
                                              request.call_permission_request().body_text());
      break;
    case rules::Channel::kTemplate: {
      channel = "template";
      const v1::TemplateMessage& t =
          request.has_template_() ? request.template_() : request.fallback_template();
      sent = graph_.SendTemplate(number, contact,
                                 {.name = t.name(),
                                  .language_code = t.language_code(),
                                  .components_json = BodyComponents(t)});
      break;
    }
  }
  if (sent.ok()) {
    Count(absl::StrCat("sent_", channel));
    return store::Settle(pool_, taken, store::SendState::kSent, channel, *sent, "", clock_.Now());
  }
  const Answer answer = Classify(sent.status());
  if (answer.answered && answer.transient) {
    // Meta sent nothing and may take it later: given back for the consumer's retry.
    RETURN_IF_ERROR(store::Release(pool_, taken));
    return sent.status();
  }
  const bool lost = !answer.answered;
  Count(lost ? "unknown" : "refused");
  log::Warning(lost ? "outbound message outcome unknown; not sent again"
                    : "outbound message refused by Meta",
               {{"tenant_id", tenant},
                {"event_id", message.event.id},
                {"call_id", request.call_id()},
                {"error", sent.status().ToString()}});
  return store::Settle(pool_, taken, lost ? store::SendState::kUnknown : store::SendState::kSkipped,
                       channel, "", core::ReasonOf(sent.status()), clock_.Now());
}

absl::StatusOr<int64_t> Outbound::SettleLost(absl::Duration after) {
  ASSIGN_OR_RETURN(int64_t lost, store::SettleLost(pool_, clock_.Now() - after, clock_.Now()));
  for (int64_t i = 0; i < lost; ++i) Count("unknown");
  if (lost > 0) log::Warning("outbound messages whose outcome was lost", {{"count", lost}});
  return lost;
}

}  // namespace switchboard::notifications
