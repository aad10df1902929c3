// `switchboardctl calls ...`: the calls service (switchboard.calls.v1.CallsService): place,
// answer, reject and end calls, the Calls page's history, summary cards, analytics and CSV
// export, notes, callbacks, call-permission requests and the tenant's calls settings.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "switchboard/calls/v1/calls_service.grpc.pb.h"
#include "tools/switchboardctl/calls_table.h"
#include "tools/switchboardctl/cli.h"
#include "tools/switchboardctl/commands.h"
#include "tools/switchboardctl/table.h"

namespace switchboard::cli {
namespace {

namespace cv = calls::v1;
using CallsClient = Client<cv::CallsService>;
using CallsStub = cv::CallsService::Stub;

constexpr char kUsage[] =
    R"(  calls start   --contact=W --number=N [--phone=+E164] [--name=NAME] [--agent=A] [--kind=K]
                [--sdp=TEXT]                                place a call as agent A (default:
                                                            the token's subject)
  calls answer  --call=ID [--agent=A] [--sdp=TEXT]          answer a ringing inbound call
  calls reject  --call=ID [--reason=T]                      decline it for the whole business
  calls end     --call=ID                                   hang up (or cancel before answer)
  calls get     --call=ID                                   every field of one call
  calls list    [--filter=F] [--query=Q] [--page-size=N] [--page-token=T]
                                                            the Calls page's history rows
  calls stats   [--from=RFC3339 --to=RFC3339] [--filter=F]  the summary cards (default: this
                                                            month in the tenant's time zone)
  calls analytics [--period=P] [--granularity=G] [--filter=F]
                                                            buckets, top contacts, averages
  calls export  [--filter=F] [--query=Q] [--time-zone=Z] [--out=FILE]
                                                            the history as CSV (default stdout),
                                                            whatever --output says
  calls notes add    --call=ID --text=T                     an internal note on a call
  calls notes list   --call=ID | --contact=W [--page-size=N] [--page-token=T]
                                                            a call's or a contact's notes
  calls notes edit   --note=ID --text=T                     replace a note's text
  calls notes delete --note=ID
  calls callbacks schedule --contact=W --number=N (--in=10m | --at=RFC3339) [--agent=A]
                           [--phone=+E164] [--name=NAME] [--note=T] [--source-call=ID]
                                                            promise to call a contact back
  calls callbacks list     [--filter=F] [--page-size=N] [--page-token=T]
                                                            pending and due callbacks
  calls callbacks complete --callback=ID [--call=ID]        done, by that call
  calls callbacks cancel   --callback=ID [--reason=T]
  calls permission --contact=W --number=N --text=T          send Meta's call-permission request
  calls settings [--time-zone=Z] [--language=L] [--max-call-duration=D]
                                                            show, or change (admin role; D
                                                            "default": the deployment's)
  (P: last_24_hours, last_7_days, last_30_days, this_month, last_month; default last_7_days)
  (G: hour, day, week, month; default day, hour for last_24_hours)
  (F: the API's filter, e.g. 'direction = INBOUND AND (state = MISSED OR state = REJECTED)')
  (calls mutations take --request-id=R, an idempotency key; default a fresh UUID)
)";

// What `calls start` and `calls answer` send when no --sdp is given: a minimal WebRTC audio
// session (Opus over DTLS-SRTP, ICE, one bundled m-line), as a browser would produce.
constexpr char kSdpOffer[] =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=msid-semantic: WMS switchboardctl\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Sw1t\r\n"
    "a=ice-pwd:c0nsoleDemoIcePassword0001\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "5B:2A:0E:74:9C:11:D3:8F:6A:40:B7:E2:19:C5:03:7D:88:4F:A1:2C:E6:90:3B:57:0D:C8:61:F4:2E:9A:"
    "B5:13\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sendrecv\r\n"
    "a=msid:switchboardctl audio0\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=ssrc:1001 cname:switchboardctl\r\n";

// The answer's counterpart: same media, and the DTLS client role an answer must take.
constexpr char kSdpAnswer[] =
    "v=0\r\n"
    "o=- 7302174421185046822 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=msid-semantic: WMS switchboardctl\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "c=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:Sw2a\r\n"
    "a=ice-pwd:c0nsoleDemoIcePassword0002\r\n"
    "a=fingerprint:sha-256 "
    "1C:9E:47:B0:3D:82:F5:6A:E1:08:73:2B:C4:5F:90:D6:3A:E8:71:0C:B9:24:6F:D5:82:1E:A7:43:C0:5B:"
    "98:E6\r\n"
    "a=setup:active\r\n"
    "a=mid:0\r\n"
    "a=sendrecv\r\n"
    "a=msid:switchboardctl audio0\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=ssrc:2002 cname:switchboardctl\r\n";

// An export may stream a long history; everything else answers within kDeadline.
constexpr absl::Duration kExportDeadline = absl::Minutes(10);

constexpr std::pair<const char*, cv::AnalyticsPeriod> kPeriods[] = {
    {"last_24_hours", cv::ANALYTICS_PERIOD_LAST_24_HOURS},
    {"last_7_days", cv::ANALYTICS_PERIOD_LAST_7_DAYS},
    {"last_30_days", cv::ANALYTICS_PERIOD_LAST_30_DAYS},
    {"this_month", cv::ANALYTICS_PERIOD_THIS_MONTH},
    {"last_month", cv::ANALYTICS_PERIOD_LAST_MONTH},
};

constexpr std::pair<const char*, cv::TimeGranularity> kGranularities[] = {
    {"hour", cv::TIME_GRANULARITY_HOUR},
    {"day", cv::TIME_GRANULARITY_DAY},
    {"week", cv::TIME_GRANULARITY_WEEK},
    {"month", cv::TIME_GRANULARITY_MONTH},
};

// The tenant's time zone (GetCallsSettings): the Calls page shows every time in it. JSON
// carries RFC 3339 times, so --output=json skips the RPC.
absl::StatusOr<absl::TimeZone> TableZone(const Args& args, const CallsClient& client) {
  if (args.json()) return absl::UTCTimeZone();
  cv::GetCallsSettingsResponse resp;
  RETURN_IF_ERROR(client.Call(&CallsStub::GetCallsSettings, {}, &resp));
  absl::TimeZone zone;
  // A zone this machine's tz database lacks shows as UTC (the header says which).
  if (!absl::LoadTimeZone(resp.settings().time_zone(), &zone)) return absl::UTCTimeZone();
  return zone;
}

// An RPC's answer shown (Client::Show) with its times in the tenant's zone: `zone` when read
// already, else read for the table.
template <typename Request, typename Response, typename Table>
absl::Status ShowInZone(const Args& args, const CallsClient& client,
                        grpc::Status (CallsStub::*rpc)(grpc::ClientContext*, const Request&,
                                                       Response*),
                        const Request& req, const Table& table,
                        std::optional<absl::TimeZone> zone = std::nullopt) {
  return client.Show(args, rpc, req, [&](const Response& resp) -> absl::Status {
    if (!zone.has_value()) {
      ASSIGN_OR_RETURN(zone, TableZone(args, client));
    }
    table(resp, *zone);
    return absl::OkStatus();
  });
}

// A mutation under its idempotency key (--request-id, else a fresh UUID), shown as ShowInZone
// does. The zone is read first: a mutation that succeeded must not end in an error.
template <typename Request, typename Response, typename Table>
absl::Status Mutate(const Args& args, const CallsClient& client,
                    grpc::Status (CallsStub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                    Request req, const Table& table) {
  req.set_request_id(RequestId(args));
  ASSIGN_OR_RETURN(absl::TimeZone zone, TableZone(args, client));
  return ShowInZone(args, client, rpc, req, table, zone);
}

// start, answer, reject and end print the call they leave behind as one row.
template <typename Request, typename Response>
absl::Status CallCommand(const Args& args, const CallsClient& client,
                         grpc::Status (CallsStub::*rpc)(grpc::ClientContext*, const Request&,
                                                        Response*),
                         const Request& req) {
  return Mutate(args, client, rpc, req,
                [&](const Response& r, absl::TimeZone z) { Print(args, CallRow(r.call(), z)); });
}

absl::Status StartCall(const Args& args, const CallsClient& client) {
  cv::StartCallRequest req;
  NamedTarget(args, &req);
  req.set_agent_id(args.Flag("agent"));
  ASSIGN_OR_RETURN(eligibility::v1::CallKind kind, KindFlag(args));
  req.set_call_kind(kind);
  req.set_sdp_offer(args.Flag("sdp", kSdpOffer));
  return CallCommand(args, client, &CallsStub::StartCall, req);
}

absl::Status AnswerCall(const Args& args, const CallsClient& client) {
  cv::AnswerCallRequest req;
  req.set_call_id(args.Flag("call"));
  req.set_agent_id(args.Flag("agent"));
  req.set_sdp_answer(args.Flag("sdp", kSdpAnswer));
  return CallCommand(args, client, &CallsStub::AnswerCall, req);
}

absl::Status RejectCall(const Args& args, const CallsClient& client) {
  cv::RejectCallRequest req;
  req.set_call_id(args.Flag("call"));
  req.set_reason(args.Flag("reason"));
  return CallCommand(args, client, &CallsStub::RejectCall, req);
}

absl::Status EndCall(const Args& args, const CallsClient& client) {
  cv::EndCallRequest req;
  req.set_call_id(args.Flag("call"));
  return CallCommand(args, client, &CallsStub::EndCall, req);
}

absl::Status GetCall(const Args& args, const CallsClient& client) {
  cv::GetCallRequest req;
  req.set_call_id(args.Flag("call"));
  return ShowInZone(args, client, &CallsStub::GetCall, req,
                    [&](const cv::GetCallResponse& r, absl::TimeZone z) {
                      Print(args, CallDetails(r.call(), z));
                    });
}

// A page of a list: `none` when it is empty, else the header and one row each; then the token of
// the next page.
template <typename Rows, typename Row>
void PrintPage(const Args& args, const Rows& rows, absl::string_view none,
               const std::string& header, const Row& row, const std::string& next_page_token) {
  if (rows.empty()) {
    Print(args, none);
  } else {
    Print(args, header);
    for (const auto& r : rows) Print(args, row(r));
  }
  Print(args, NextPage(next_page_token));
}

absl::Status ListCalls(const Args& args, const CallsClient& client) {
  cv::ListCallsRequest req;
  req.set_filter(args.Flag("filter"));
  req.set_query(args.Flag("query"));
  RETURN_IF_ERROR(Page(args, &req));
  return ShowInZone(args, client, &CallsStub::ListCalls, req,
                    [&](const cv::ListCallsResponse& r, absl::TimeZone z) {
                      PrintPage(
                          args, r.calls(), "  no calls\n", CallHeader(z),
                          [&](const cv::Call& c) { return CallRow(c, z); }, r.next_page_token());
                    });
}

absl::Status CallStats(const Args& args, const CallsClient& client) {
  cv::GetCallStatsRequest req;
  ASSIGN_OR_RETURN(std::optional<absl::Time> from, TimeFlag(args, "from"));
  ASSIGN_OR_RETURN(std::optional<absl::Time> to, TimeFlag(args, "to"));
  if (from.has_value() != to.has_value()) {
    return UsageError("give both --from and --to, or neither");
  }
  if (from.has_value()) {
    *req.mutable_start_time() = core::ToProto(*from);
    *req.mutable_end_time() = core::ToProto(*to);
  }
  req.set_filter(args.Flag("filter"));
  return ShowInZone(
      args, client, &CallsStub::GetCallStats, req,
      [&](const cv::GetCallStatsResponse& r, absl::TimeZone z) { Print(args, StatsText(r, z)); });
}

absl::Status CallAnalytics(const Args& args, const CallsClient& client) {
  cv::GetCallAnalyticsRequest req;
  ASSIGN_OR_RETURN(cv::AnalyticsPeriod period,
                   EnumFlag(args, "period", kPeriods, cv::ANALYTICS_PERIOD_LAST_7_DAYS));
  ASSIGN_OR_RETURN(cv::TimeGranularity granularity,
                   EnumFlag(args, "granularity", kGranularities, cv::TIME_GRANULARITY_UNSPECIFIED));
  req.set_period(period);
  req.set_granularity(granularity);
  req.set_filter(args.Flag("filter"));
  return ShowInZone(args, client, &CallsStub::GetCallAnalytics, req,
                    [&](const cv::GetCallAnalyticsResponse& r, absl::TimeZone z) {
                      Print(args, AnalyticsText(r, z));
                    });
}

// CSV in either output mode: the API streams it ready-made, as the Calls page downloads it.
absl::Status ExportCalls(const Args& args, const CallsClient& client) {
  cv::ExportCallsRequest req;
  req.set_filter(args.Flag("filter"));
  req.set_query(args.Flag("query"));
  req.set_time_zone(args.Flag("time-zone"));
  ASSIGN_OR_RETURN(std::unique_ptr<grpc::ClientContext> ctx, client.Context(kExportDeadline));
  std::string path = args.Flag("out");
  FILE* out = args.out;
  if (!path.empty()) {
    out = std::fopen(path.c_str(), "wb");
    if (out == nullptr) {
      return core::Error(absl::StatusCode::kFailedPrecondition, "CANNOT_WRITE",
                         absl::StrCat("cannot open ", path, " for writing"));
    }
  }
  auto reader = client.stub().ExportCalls(ctx.get(), req);
  cv::ExportCallsResponse chunk;
  int64_t bytes = 0;
  bool written = true;
  while (written && reader->Read(&chunk)) {
    written = std::fwrite(chunk.data().data(), 1, chunk.data().size(), out) == chunk.data().size();
    bytes += static_cast<int64_t>(chunk.data().size());
  }
  if (!written) ctx->TryCancel();  // stop the stream; Finish() then reports CANCELLED
  absl::Status s = client.ToStatus(reader->Finish());
  written = (out == args.out ? std::fflush(out) : std::fclose(out)) == 0 && written;
  if (!written) {
    return core::Error(
        absl::StatusCode::kDataLoss, "CANNOT_WRITE",
        absl::StrCat("writing the CSV to ", path.empty() ? "stdout" : path, " failed"));
  }
  RETURN_IF_ERROR(s);
  // A line for people; with --output=json stdout carries nothing but machine-readable output.
  if (!path.empty() && !args.json()) {
    absl::FPrintF(args.out, "  wrote %d bytes of CSV to %s\n", bytes, path);
  }
  return absl::OkStatus();
}

// ---- notes, callbacks, permission requests, settings -------------------------------------------

// A note a mutation leaves behind.
template <typename Response>
void PrintNote(const Args& args, const Response& r, absl::TimeZone z) {
  Print(args, NoteText(r.note(), z));
}

absl::Status AddNote(const Args& args, const CallsClient& client) {
  cv::AddCallNoteRequest req;
  req.set_call_id(args.Flag("call"));
  req.set_text(args.Flag("text"));
  return Mutate(args, client, &CallsStub::AddCallNote, req,
                [&](const cv::AddCallNoteResponse& r, absl::TimeZone z) { PrintNote(args, r, z); });
}

absl::Status ListNotes(const Args& args, const CallsClient& client) {
  cv::ListCallNotesRequest req;
  if (args.Has("call") == args.Has("contact")) {
    return UsageError("calls notes list needs --call or --contact (one of them)");
  }
  if (args.Has("call")) {
    if (args.Flag("call").empty()) return UsageError("--call is required");
    req.set_call_id(args.Flag("call"));
  } else {
    if (args.Flag("contact").empty()) return UsageError("--contact is required");
    req.mutable_contact()->set_wa_id(args.Flag("contact"));
  }
  RETURN_IF_ERROR(Page(args, &req));
  return ShowInZone(args, client, &CallsStub::ListCallNotes, req,
                    [&](const cv::ListCallNotesResponse& r, absl::TimeZone z) {
                      PrintPage(
                          args, r.notes(), "  no notes\n", "",
                          [&](const cv::CallNote& n) { return NoteText(n, z); },
                          r.next_page_token());
                    });
}

absl::Status EditNote(const Args& args, const CallsClient& client) {
  cv::UpdateCallNoteRequest req;
  req.set_note_id(args.Flag("note"));
  req.set_text(args.Flag("text"));
  return Mutate(
      args, client, &CallsStub::UpdateCallNote, req,
      [&](const cv::UpdateCallNoteResponse& r, absl::TimeZone z) { PrintNote(args, r, z); });
}

absl::Status DeleteNote(const Args& args, const CallsClient& client) {
  cv::DeleteCallNoteRequest req;
  req.set_note_id(args.Flag("note"));
  req.set_request_id(RequestId(args));
  return client.Show(args, &CallsStub::DeleteCallNote, req, [&](const cv::DeleteCallNoteResponse&) {
    absl::FPrintF(args.out, "  note %s deleted\n", req.note_id());
  });
}

// The callback a mutation leaves behind, as one row.
template <typename Request, typename Response>
absl::Status CallbackCommand(const Args& args, const CallsClient& client,
                             grpc::Status (CallsStub::*rpc)(grpc::ClientContext*, const Request&,
                                                            Response*),
                             const Request& req) {
  return Mutate(args, client, rpc, req, [&](const Response& r, absl::TimeZone z) {
    Print(args, CallbackRow(r.callback(), z));
  });
}

absl::Status ScheduleCallback(const Args& args, const CallsClient& client) {
  cv::ScheduleCallbackRequest req;
  NamedTarget(args, &req);
  if (args.Has("in") == args.Has("at")) return UsageError("give --in=10m or --at=RFC3339");
  absl::Time due;
  if (args.Has("in")) {
    absl::Duration in;
    if (!absl::ParseDuration(args.Flag("in"), &in) || in <= absl::ZeroDuration()) {
      return UsageError("--in must be a positive duration such as 10m or 1h30m");
    }
    due = absl::Now() + in;
  } else {
    ASSIGN_OR_RETURN(std::optional<absl::Time> at, TimeFlag(args, "at"));
    if (!at.has_value()) return UsageError("--at must be RFC 3339");
    due = *at;
  }
  *req.mutable_due_time() = core::ToProto(due);
  req.set_assigned_agent_id(args.Flag("agent"));
  req.set_note(args.Flag("note"));
  req.set_source_call_id(args.Flag("source-call"));
  return CallbackCommand(args, client, &CallsStub::ScheduleCallback, req);
}

absl::Status ListCallbacks(const Args& args, const CallsClient& client) {
  cv::ListCallbacksRequest req;
  req.set_filter(args.Flag("filter"));
  RETURN_IF_ERROR(Page(args, &req));
  return ShowInZone(args, client, &CallsStub::ListCallbacks, req,
                    [&](const cv::ListCallbacksResponse& r, absl::TimeZone z) {
                      PrintPage(
                          args, r.callbacks(), "  no callbacks\n", CallbackHeader(z),
                          [&](const cv::Callback& cb) { return CallbackRow(cb, z); },
                          r.next_page_token());
                    });
}

absl::Status CompleteCallback(const Args& args, const CallsClient& client) {
  cv::CompleteCallbackRequest req;
  req.set_callback_id(args.Flag("callback"));
  req.set_call_id(args.Flag("call"));
  return CallbackCommand(args, client, &CallsStub::CompleteCallback, req);
}

absl::Status CancelCallback(const Args& args, const CallsClient& client) {
  cv::CancelCallbackRequest req;
  req.set_callback_id(args.Flag("callback"));
  req.set_reason(args.Flag("reason"));
  return CallbackCommand(args, client, &CallsStub::CancelCallback, req);
}

absl::Status RequestPermission(const Args& args, const CallsClient& client) {
  cv::RequestCallPermissionRequest req;
  Target(args, &req);
  req.set_body_text(args.Flag("text"));
  return Mutate(args, client, &CallsStub::RequestCallPermission, req,
                [&](const cv::RequestCallPermissionResponse& r, absl::TimeZone z) {
                  absl::FPrintF(args.out, "  permission request sent to %s at %s\n",
                                req.contact().wa_id(), LocalTimeWithOffset(r.request_time(), z));
                });
}

absl::Status Settings(const Args& args, const CallsClient& client) {
  auto print = [&](const auto& r) { Print(args, SettingsText(r.settings())); };
  if (!args.Has("time-zone") && !args.Has("language") && !args.Has("max-call-duration")) {
    return client.Show(args, &CallsStub::GetCallsSettings, {}, print);
  }
  cv::UpdateCallsSettingsRequest req;
  if (args.Has("time-zone")) {
    req.mutable_settings()->set_time_zone(args.Flag("time-zone"));
    req.mutable_update_mask()->add_paths("time_zone");
  }
  if (args.Has("language")) {
    req.mutable_settings()->set_language(args.Flag("language"));
    req.mutable_update_mask()->add_paths("language");
  }
  if (args.Has("max-call-duration")) {
    req.mutable_update_mask()->add_paths("max_call_duration");
    if (args.Flag("max-call-duration") != "default") {  // left unset: back to the deployment's
      absl::Duration d;
      if (!absl::ParseDuration(args.Flag("max-call-duration"), &d)) {
        return UsageError("--max-call-duration is a duration (90m, 2h) or \"default\"");
      }
      *req.mutable_settings()->mutable_max_call_duration() = core::ToProto(d);
    }
  }
  return client.Show(args, &CallsStub::UpdateCallsSettings, req, print);
}

int RunCalls(const Args& args) {
  static const std::vector<Verb<cv::CallsService>> kVerbs = {
      {"start",
       {.required = {"contact", "number"},
        .optional = {"phone", "name", "agent", "kind", "sdp", "request-id"}},
       StartCall},
      {"answer", {.required = {"call"}, .optional = {"agent", "sdp", "request-id"}}, AnswerCall},
      {"reject", {.required = {"call"}, .optional = {"reason", "request-id"}}, RejectCall},
      {"end", {.required = {"call"}, .optional = {"request-id"}}, EndCall},
      {"get", {.required = {"call"}}, GetCall},
      {"list", {.optional = {"filter", "query", "page-size", "page-token"}}, ListCalls},
      {"stats", {.optional = {"from", "to", "filter"}}, CallStats},
      {"analytics", {.optional = {"period", "granularity", "filter"}}, CallAnalytics},
      {"export", {.optional = {"filter", "query", "time-zone", "out"}}, ExportCalls},
      {"notes add", {.required = {"call", "text"}, .optional = {"request-id"}}, AddNote},
      {"notes list", {.optional = {"call", "contact", "page-size", "page-token"}}, ListNotes},
      {"notes edit", {.required = {"note", "text"}, .optional = {"request-id"}}, EditNote},
      {"notes delete", {.required = {"note"}, .optional = {"request-id"}}, DeleteNote},
      {"callbacks schedule",
       {.required = {"contact", "number"},
        .optional = {"in", "at", "agent", "phone", "name", "note", "source-call", "request-id"}},
       ScheduleCallback},
      {"callbacks list", {.optional = {"filter", "page-size", "page-token"}}, ListCallbacks},
      {"callbacks complete",
       {.required = {"callback"}, .optional = {"call", "request-id"}},
       CompleteCallback},
      {"callbacks cancel",
       {.required = {"callback"}, .optional = {"reason", "request-id"}},
       CancelCallback},
      {"permission",
       {.required = {"contact", "number", "text"}, .optional = {"request-id"}},
       RequestPermission},
      {"settings", {.optional = {"time-zone", "language", "max-call-duration"}}, Settings},
  };
  return RunVerbs(args, kVerbs);
}

}  // namespace

const Command kCallsCommand = {"calls", kUsage, RunCalls};

}  // namespace switchboard::cli
