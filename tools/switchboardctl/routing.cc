// `switchboardctl routing ...`: the routing service (switchboard.routing.v1.RoutingService):
// agents' call availability, teams, claiming a ringing call, and the tenant's routing settings.
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/core/proto_time.h"
#include "switchboard/routing/v1/routing_service.grpc.pb.h"
#include "tools/switchboardctl/calls_table.h"
#include "tools/switchboardctl/cli.h"
#include "tools/switchboardctl/commands.h"

namespace switchboard::cli {
namespace {

namespace rv = routing::v1;
using RoutingClient = Client<rv::RoutingService>;
using Stub = rv::RoutingService::Stub;

constexpr std::pair<const char*, rv::Availability> kChoices[] = {
    {"available", rv::AVAILABILITY_AVAILABLE},
    {"dnd", rv::AVAILABILITY_DND},
    {"offline", rv::AVAILABILITY_OFFLINE}};
constexpr std::pair<const char*, rv::RoutingMode> kModes[] = {
    {"broadcast", rv::ROUTING_MODE_BROADCAST},
    {"round_robin", rv::ROUTING_MODE_ROUND_ROBIN},
    {"sticky", rv::ROUTING_MODE_STICKY},
    {"role_based", rv::ROUTING_MODE_ROLE_BASED}};
constexpr std::pair<const char*, rv::FallbackAction> kFallbacks[] = {
    {"none", rv::FALLBACK_ACTION_NONE},
    {"auto_reply", rv::FALLBACK_ACTION_AUTO_REPLY},
    {"voicemail", rv::FALLBACK_ACTION_VOICEMAIL},
    {"escalation", rv::FALLBACK_ACTION_ESCALATION}};

std::string Short(const std::string& name, absl::string_view prefix) {
  return std::string(absl::StripPrefix(name, prefix));
}

std::string Since(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%S", core::FromProto(t), absl::UTCTimeZone());
}

std::vector<std::string> List(const std::string& text) {
  return absl::StrSplit(text, ',', absl::SkipEmpty());
}

absl::StatusOr<google::protobuf::Duration> DurationValue(const Args& args,
                                                         const std::string& name) {
  absl::Duration d;
  if (!absl::ParseDuration(args.Flag(name), &d)) {
    return UsageError(absl::StrCat("--", name, " must be a duration such as 30s"));
  }
  return core::ToProto(d);
}

void PrintAgentRow(const Args& args, const rv::Agent& a) {
  absl::FPrintF(args.out, "  %-16s %-10s %-20s %-20s %s\n", a.agent_id(),
                Short(rv::Availability_Name(a.availability()), "AVAILABILITY_"),
                a.availability_reason(), Since(a.availability_change_time()),
                a.current_call_id().empty() ? a.offered_call_id() : a.current_call_id());
}

void PrintAgent(const Args& args, const rv::Agent& a) {
  absl::FPrintF(args.out, "  agent          %s\n", a.agent_id());
  absl::FPrintF(args.out, "  availability   %s (%s) since %s\n",
                Short(rv::Availability_Name(a.availability()), "AVAILABILITY_"),
                a.availability_reason(), Since(a.availability_change_time()));
  if (a.has_cooldown_end_time()) {
    absl::FPrintF(args.out, "  cooldown ends  %s\n", Since(a.cooldown_end_time()));
  }
  if (!a.current_call_id().empty())
    absl::FPrintF(args.out, "  on call        %s\n", a.current_call_id());
  if (!a.offered_call_id().empty())
    absl::FPrintF(args.out, "  ringing for    %s\n", a.offered_call_id());
  if (a.has_last_call_end_time()) {
    absl::FPrintF(args.out, "  last call end  %s\n", Since(a.last_call_end_time()));
  }
  absl::FPrintF(args.out, "  teams          %s\n", absl::StrJoin(a.team_ids(), ", "));
}

void PrintTeam(const Args& args, const rv::Team& t) {
  std::vector<std::string> members;
  for (const auto& m : t.members()) members.push_back(m.agent_id());
  absl::FPrintF(
      args.out, "  %-16s %-12s ring %-5s members %s; numbers %s; fallback %s%s\n", t.team_id(),
      Short(rv::RoutingMode_Name(t.routing_mode()), "ROUTING_MODE_"),
      t.has_ring_timeout() ? absl::FormatDuration(core::FromProto(t.ring_timeout())) : "30s",
      absl::StrJoin(members, ","), absl::StrJoin(t.business_phone_number_ids(), ","),
      Short(rv::FallbackAction_Name(t.fallback().action()), "FALLBACK_ACTION_"),
      t.fallback().escalation_team_id().empty()
          ? ""
          : absl::StrCat(" → ", t.fallback().escalation_team_id()));
}

// An agent's RPC: it names the agent (--agent, else the caller) and answers with it.
template <typename Request, typename Response>
absl::Status ShowAgent(const Args& args, const RoutingClient& client,
                       grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                       Request req) {
  req.set_agent_id(args.Flag("agent"));
  return client.Show(args, rpc, req, [&](const Response& r) { PrintAgent(args, r.agent()); });
}

absl::Status Availability(const Args& args, const RoutingClient& client) {
  return ShowAgent(args, client, &Stub::GetAgentAvailability, rv::GetAgentAvailabilityRequest());
}

absl::Status SetAvailability(const Args& args, const RoutingClient& client) {
  rv::SetAgentAvailabilityRequest req;
  ASSIGN_OR_RETURN(rv::Availability to,
                   EnumFlag(args, "to", kChoices, rv::AVAILABILITY_UNSPECIFIED));
  req.set_availability(to);
  req.set_request_id(RequestId(args));
  return ShowAgent(args, client, &Stub::SetAgentAvailability, std::move(req));
}

absl::Status Heartbeat(const Args& args, const RoutingClient& client) {
  return ShowAgent(args, client, &Stub::Heartbeat, rv::HeartbeatRequest());
}

absl::Status Agents(const Args& args, const RoutingClient& client) {
  rv::ListAgentsRequest req;
  req.set_filter(args.Flag("filter"));
  RETURN_IF_ERROR(Page(args, &req));
  return client.Show(args, &Stub::ListAgents, req, [&](const rv::ListAgentsResponse& r) {
    absl::FPrintF(args.out, "  %-16s %-10s %-20s %-20s %s\n", "AGENT", "STATE", "WHY",
                  "SINCE (UTC)", "CALL");
    for (const auto& a : r.agents()) PrintAgentRow(args, a);
    Print(args, NextPage(r.next_page_token()));
  });
}

absl::Status Teams(const Args& args, const RoutingClient& client) {
  rv::ListTeamsRequest req;
  RETURN_IF_ERROR(Page(args, &req));
  return client.Show(args, &Stub::ListTeams, req, [&](const rv::ListTeamsResponse& r) {
    for (const auto& t : r.teams()) PrintTeam(args, t);
    Print(args, NextPage(r.next_page_token()));
  });
}

absl::Status Team(const Args& args, const RoutingClient& client) {
  rv::GetTeamRequest req;
  req.set_team_id(args.Flag("team"));
  return client.Show(args, &Stub::GetTeam, req,
                     [&](const rv::GetTeamResponse& r) { PrintTeam(args, r.team()); });
}

absl::Status SetTeam(const Args& args, const RoutingClient& client) {
  rv::UpsertTeamRequest req;
  rv::Team& t = *req.mutable_team();
  t.set_team_id(args.Flag("team"));
  t.set_display_name(args.Flag("display"));
  ASSIGN_OR_RETURN(rv::RoutingMode mode,
                   EnumFlag(args, "mode", kModes, rv::ROUTING_MODE_UNSPECIFIED));
  t.set_routing_mode(mode);
  t.set_required_role(args.Flag("role"));
  for (const std::string& m : List(args.Flag("members"))) {
    rv::TeamMember* member = t.add_members();
    member->set_agent_id(m);
    if (!t.required_role().empty()) member->add_roles(t.required_role());
  }
  for (const std::string& n : List(args.Flag("numbers"))) t.add_business_phone_number_ids(n);
  if (args.Has("ring-timeout")) {
    ASSIGN_OR_RETURN(*t.mutable_ring_timeout(), DurationValue(args, "ring-timeout"));
  }
  if (args.Has("agent-ring-timeout")) {
    ASSIGN_OR_RETURN(*t.mutable_agent_ring_timeout(), DurationValue(args, "agent-ring-timeout"));
  }
  rv::Fallback& f = *t.mutable_fallback();
  ASSIGN_OR_RETURN(rv::FallbackAction action,
                   EnumFlag(args, "fallback", kFallbacks, rv::FALLBACK_ACTION_NONE));
  f.set_action(action);
  f.set_escalation_team_id(args.Flag("escalate-to"));
  for (const std::string& a : List(args.Flag("escalate-agents"))) f.add_escalation_agent_ids(a);
  if (action == rv::FALLBACK_ACTION_AUTO_REPLY) f.set_auto_reply_text(args.Flag("text"));
  if (action == rv::FALLBACK_ACTION_VOICEMAIL) f.set_voicemail_prompt_text(args.Flag("text"));
  req.set_request_id(RequestId(args));
  return client.Show(args, &Stub::UpsertTeam, req,
                     [&](const rv::UpsertTeamResponse& r) { PrintTeam(args, r.team()); });
}

absl::Status TeamStats(const Args& args, const RoutingClient& client) {
  rv::GetTeamStatsRequest req;
  req.set_team_id(args.Flag("team"));
  req.set_time_zone(args.Flag("zone"));
  return client.Show(args, &Stub::GetTeamStats, req, [&](const rv::GetTeamStatsResponse& r) {
    const rv::TeamStats& t = r.stats();
    absl::FPrintF(args.out, "  team %s, today since %s\n", t.team_id(), Since(t.since_time()));
    absl::FPrintF(
        args.out, "  waiting %d (longest %s), ringing %s\n", t.waiting_calls(),
        absl::FormatDuration(core::FromProto(t.longest_wait())),
        t.ringing_agent_ids().empty() ? "nobody" : absl::StrJoin(t.ringing_agent_ids(), ", "));
    absl::FPrintF(args.out, "  answered %d, missed %d, average time to answer %s\n",
                  t.answered_today(), t.missed_today(),
                  absl::FormatDuration(absl::Trunc(core::FromProto(t.average_time_to_answer()),
                                                   absl::Milliseconds(100))));
    for (const auto& a : t.agents()) PrintAgentRow(args, a);
  });
}

absl::Status Claim(const Args& args, const RoutingClient& client) {
  rv::ClaimCallRequest req;
  req.set_call_id(args.Flag("call"));
  req.set_agent_id(args.Flag("agent"));
  req.set_request_id(RequestId(args));
  return client.Show(args, &Stub::ClaimCall, req, [&](const rv::ClaimCallResponse& r) {
    absl::FPrintF(args.out, "  %s; the call is %s's\n", r.won() ? "won" : "lost",
                  r.winner_agent_id());
  });
}

absl::Status Assign(const Args& args, const RoutingClient& client) {
  rv::SetContactAssignmentRequest req;
  req.mutable_contact()->set_wa_id(args.Flag("contact"));
  req.set_agent_id(args.Flag("agent"));
  req.set_request_id(RequestId(args));
  return client.Show(args, &Stub::SetContactAssignment, req,
                     [&](const rv::SetContactAssignmentResponse&) {
                       absl::FPrintF(args.out, "  %s\n",
                                     req.agent_id().empty() ? "assignment cleared" : "assigned");
                     });
}

// One settings flag: a value, or "default" (the field named, left unset: the default again).
absl::Status SettingFlag(const Args& args, const std::string& flag, const std::string& path,
                         rv::UpdateRoutingSettingsRequest& req) {
  if (!args.Has(flag)) return absl::OkStatus();
  req.mutable_update_mask()->add_paths(path);
  if (args.Flag(flag) == "default") return absl::OkStatus();
  rv::RoutingSettings& s = *req.mutable_settings();
  if (path == "max_unanswered_offers") {
    int n = 0;
    if (!absl::SimpleAtoi(args.Flag(flag), &n)) {
      return UsageError(absl::StrCat("--", flag, " must be a number or default"));
    }
    s.set_max_unanswered_offers(n);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(google::protobuf::Duration d, DurationValue(args, flag));
  *(path == "agent_cooldown" ? s.mutable_agent_cooldown() : s.mutable_presence_ttl()) = d;
  return absl::OkStatus();
}

absl::Status Settings(const Args& args, const RoutingClient& client) {
  auto print = [&](const auto& r) {
    const rv::RoutingSettings& s = r.settings();
    absl::FPrintF(args.out, "  agent cooldown         %s\n",
                  absl::FormatDuration(core::FromProto(s.agent_cooldown())));
    absl::FPrintF(args.out, "  presence ttl           %s\n",
                  absl::FormatDuration(core::FromProto(s.presence_ttl())));
    absl::FPrintF(
        args.out, "  max unanswered offers  %s\n",
        s.max_unanswered_offers() == 0 ? "never" : absl::StrCat(s.max_unanswered_offers()));
  };
  rv::UpdateRoutingSettingsRequest req;
  RETURN_IF_ERROR(SettingFlag(args, "cooldown", "agent_cooldown", req));
  RETURN_IF_ERROR(SettingFlag(args, "presence-ttl", "presence_ttl", req));
  RETURN_IF_ERROR(SettingFlag(args, "max-unanswered", "max_unanswered_offers", req));
  if (req.update_mask().paths().empty()) {
    return client.Show(args, &Stub::GetRoutingSettings, {}, print);
  }
  return client.Show(args, &Stub::UpdateRoutingSettings, req, print);
}

constexpr char kUsage[] =
    R"(  routing availability [--agent=A]                          an agent's call availability
  routing availability set --to=available|dnd|offline [--agent=A]
  routing heartbeat [--agent=A]                             the agent's client is alive
  routing agents [--filter=F] [--page-size=N] [--page-token=T]
                                                            the tenant's agents, e.g.
                                                            --filter='availability = AVAILABLE'
  routing teams [--page-size=N] [--page-token=T]            the tenant's teams
  routing team --team=ID                                    one team
  routing team set --team=ID --mode=M --members=a,b[,...] [--numbers=n1,...]
                [--display=NAME] [--ring-timeout=30s] [--agent-ring-timeout=15s] [--role=R]
                [--fallback=F] [--escalate-to=TEAM] [--escalate-agents=a,b] [--text=T]
                                                            create or replace a team (admin);
                                                            M: broadcast, round_robin, sticky,
                                                            role_based; F: none, auto_reply,
                                                            voicemail, escalation
  routing team stats --team=ID [--zone=Europe/Lisbon]       the team's wallboard: ringing,
                                                            waiting, answered and missed today
  routing claim --call=ID [--agent=A]                       claim a call ringing for the agent
  routing assign --contact=WA_ID [--agent=A]                the contact's agent (sticky teams);
                                                            no --agent clears it
  routing settings [--cooldown=60s] [--presence-ttl=90s] [--max-unanswered=3]
                                                            show, or change (admin role); a
                                                            value of "default" resets it
)";

int RunRouting(const Args& args) {
  static const std::vector<Verb<rv::RoutingService>> kVerbs = {
      {"availability", {.optional = {"agent"}}, Availability},
      {"availability set",
       {.required = {"to"}, .optional = {"agent", "request-id"}},
       SetAvailability},
      {"heartbeat", {.optional = {"agent"}}, Heartbeat},
      {"agents", {.optional = {"filter", "page-size", "page-token"}}, Agents},
      {"teams", {.optional = {"page-size", "page-token"}}, Teams},
      {"team", {.required = {"team"}}, Team},
      {"team set",
       {.required = {"team", "mode", "members"},
        .optional = {"numbers", "display", "ring-timeout", "agent-ring-timeout", "role", "fallback",
                     "escalate-to", "escalate-agents", "text", "request-id"}},
       SetTeam},
      {"team stats", {.required = {"team"}, .optional = {"zone"}}, TeamStats},
      {"claim", {.required = {"call"}, .optional = {"agent", "request-id"}}, Claim},
      {"assign", {.required = {"contact"}, .optional = {"agent", "request-id"}}, Assign},
      {"settings", {.optional = {"cooldown", "presence-ttl", "max-unanswered"}}, Settings},
  };
  return RunVerbs(args, kVerbs);
}

}  // namespace

const Command kRoutingCommand = {"routing", kUsage, RunRouting};

}  // namespace switchboard::cli
