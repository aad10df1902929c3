#include "services/notifications/store/streams.h"

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"

namespace switchboard::notifications::store {
namespace {

// Per stream B: B:log (a Redis stream, field "n" = the notification), B:epoch ("<epoch>", or
// "<epoch>+" once an entry was added under it), B:snap (a hash: the reset snapshot).
//
// A stream whose log is gone after it had entries (expired, flushed) gets a new epoch, so that
// ids from before can never be resumed as if nothing was lost in between.
constexpr char kAppend[] = R"lua(
-- KEYS[1]: the event's de-duplication key; then per entry: log, epoch, snapshot.
-- ARGV: age ms, dedupe ms, channel, fresh epoch, entry count; then per entry: max length,
-- notification ('' for a snapshot change only), stream key, snapshot op, field, value.
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[2]) then return 0 end
local age = tonumber(ARGV[1])
local now = redis.call('TIME')
local min_id = (tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)) - age
for i = 0, tonumber(ARGV[5]) - 1 do
  local log, epoch_key, snap = KEYS[2 + 3 * i], KEYS[3 + 3 * i], KEYS[4 + 3 * i]
  local a = 6 + 6 * i
  local max_len, payload, stream_key = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local op, field, value = ARGV[a + 3], ARGV[a + 4], ARGV[a + 5]
  local stored = redis.call('GET', epoch_key)
  if (not stored) or (string.sub(stored, -1) == '+' and redis.call('EXISTS', log) == 0) then
    redis.call('DEL', log, snap)
    stored = ARGV[4]
  end
  local epoch = stored
  if string.sub(epoch, -1) == '+' then epoch = string.sub(epoch, 1, -2) end
  if op == 'put' then
    redis.call('HSET', snap, field, value)
  elseif op == 'remove' then
    redis.call('HDEL', snap, field)
  end
  if redis.call('EXISTS', snap) == 1 then redis.call('PEXPIRE', snap, age) end
  if payload ~= '' then
    local id = redis.call('XADD', log, 'MAXLEN', '~', max_len, '*', 'n', payload)
    redis.call('XTRIM', log, 'MINID', '~', min_id)
    redis.call('PEXPIRE', log, age)
    redis.call('SET', epoch_key, epoch .. '+', 'PX', age)
    redis.call('PUBLISH', ARGV[3], stream_key .. '\n' .. epoch .. '\n' .. id .. '\n' .. payload)
  else
    redis.call('SET', epoch_key, stored, 'PX', age)
  end
end
return 1
)lua";

constexpr char kOpen[] = R"lua(
-- KEYS: log, epoch, snapshot. ARGV: resume epoch ('' for none), resume entry id, max replay,
-- fresh epoch, age ms.
local function split(id)
  local d = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, d - 1)), tonumber(string.sub(id, d + 1))
end
local function less(a, b)
  local am, as = split(a)
  local bm, bs = split(b)
  if am ~= bm then return am < bm end
  return as < bs
end
local stored = redis.call('GET', KEYS[2])
local has_log = redis.call('EXISTS', KEYS[1]) == 1
if stored and string.sub(stored, -1) == '+' and not has_log then stored = nil end
local epoch = stored
if epoch and string.sub(epoch, -1) == '+' then epoch = string.sub(epoch, 1, -2) end
-- Trimming removes entries from the head only: what follows the resume position is all still
-- here when the first entry kept is at or before it, when nothing was ever trimmed, or when
-- nothing came after it.
local last, first, length, added = '0-0', '0-0', 0, 0
if epoch and has_log then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    local k, v = info[i], info[i + 1]
    if k == 'last-generated-id' then last = v
    elseif k == 'recorded-first-entry-id' then first = v
    elseif k == 'length' then length = tonumber(v)
    elseif k == 'entries-added' then added = tonumber(v) end
  end
end
local reason = 'new'
if ARGV[1] ~= '' then
  local resume = ARGV[2]
  if epoch ~= ARGV[1] then reason = 'changed'
  elseif less(last, resume) then reason = 'ahead'
  elseif added ~= length and not (length > 0 and not less(resume, first))
         and less(resume, last) then reason = 'behind'
  else
    local max = tonumber(ARGV[3])
    local entries = redis.call('XRANGE', KEYS[1], '(' .. resume, '+', 'COUNT', max + 1)
    if #entries <= max then return {'resumed', epoch, last, entries} end
    reason = 'behind'
  end
end
if not epoch then
  epoch = ARGV[4]
  redis.call('DEL', KEYS[1], KEYS[3])
  redis.call('SET', KEYS[2], epoch, 'PX', ARGV[5])
end
return {'reset', epoch, last, reason, redis.call('HGETALL', KEYS[3])}
)lua";

const redis::Script& AppendScript() {
  static const redis::Script* script = new redis::Script(kAppend);
  return *script;
}
const redis::Script& OpenScript() {
  static const redis::Script* script = new redis::Script(kOpen);
  return *script;
}

std::string TenantTag(absl::string_view tenant) { return absl::StrCat("sb:notify:{", tenant, "}"); }

std::string Ms(absl::Duration d) { return absl::StrCat(absl::ToInt64Milliseconds(d)); }

v1::ResetReason ReasonFrom(absl::string_view word) {
  if (word == "changed") return v1::RESET_REASON_STREAM_CHANGED;
  if (word == "ahead") return v1::RESET_REASON_RESUME_ID_AHEAD;
  if (word == "behind") return v1::RESET_REASON_TOO_FAR_BEHIND;
  return v1::RESET_REASON_NEW_SUBSCRIPTION;
}

absl::Status Malformed(absl::string_view what) {
  return core::Error(absl::StatusCode::kInternal, "NOTIFICATION_STORE_REPLY",
                     absl::StrCat("unexpected reply: ", what));
}

}  // namespace

std::string NewEpoch() {
  thread_local absl::BitGen bits;
  return absl::StrFormat("%08x", absl::Uniform<uint32_t>(bits));
}

std::string StreamKey(const rules::StreamRef& stream) {
  if (stream.tenant_wide()) return absl::StrCat(TenantTag(stream.tenant_id), ":tenant");
  return absl::StrCat(TenantTag(stream.tenant_id), ":agent:", stream.agent_id);
}

std::string Channel(int db) { return absl::StrCat("sb:notify:published:", db); }

absl::StatusOr<bool> Append(redis::Pool& redis, absl::string_view event_id,
                            const std::vector<rules::Entry>& entries, const Retention& retention,
                            absl::string_view fresh_epoch) {
  if (entries.empty()) return false;
  const std::string& tenant = entries.front().stream.tenant_id;
  std::vector<std::string> keys = {absl::StrCat(TenantTag(tenant), ":seen:", event_id)};
  std::vector<std::string> args = {Ms(retention.age), Ms(std::max(retention.dedupe, retention.age)),
                                   Channel(redis.options().db), std::string(fresh_epoch),
                                   absl::StrCat(entries.size())};
  for (const rules::Entry& entry : entries) {
    if (entry.stream.tenant_id != tenant) {
      return core::InvalidArgument("MIXED_TENANTS", "one event's entries span tenants");
    }
    const std::string key = StreamKey(entry.stream);
    keys.push_back(key + ":log");
    keys.push_back(key + ":epoch");
    keys.push_back(key + ":snap");
    args.push_back(absl::StrCat(entry.stream.tenant_wide() ? retention.tenant_length
                                                           : retention.agent_length));
    args.push_back(entry.notification.has_value() ? entry.notification->SerializeAsString() : "");
    args.push_back(key);
    using Op = rules::SnapshotChange::Op;
    args.push_back(entry.snapshot.op == Op::kPut      ? "put"
                   : entry.snapshot.op == Op::kRemove ? "remove"
                                                      : "");
    args.push_back(entry.snapshot.field);
    args.push_back(entry.snapshot.value);
  }
  ASSIGN_OR_RETURN(redis::Reply reply, AppendScript().Run(redis, keys, args));
  return reply.integer == 1;
}

std::optional<Published> ParsePublished(absl::string_view message) {
  size_t a = message.find('\n');
  if (a == absl::string_view::npos) return std::nullopt;
  size_t b = message.find('\n', a + 1);
  if (b == absl::string_view::npos) return std::nullopt;
  size_t c = message.find('\n', b + 1);
  if (c == absl::string_view::npos) return std::nullopt;
  return Published{.stream_key = std::string(message.substr(0, a)),
                   .position = {std::string(message.substr(a + 1, b - a - 1)),
                                std::string(message.substr(b + 1, c - b - 1))},
                   .notification = std::string(message.substr(c + 1))};
}

absl::StatusOr<Opened> Open(redis::Pool& redis, const rules::StreamRef& stream,
                            const std::optional<rules::Position>& resume, int max_replay,
                            const Retention& retention, absl::string_view fresh_epoch) {
  const std::string key = StreamKey(stream);
  ASSIGN_OR_RETURN(
      redis::Reply reply,
      OpenScript().Run(
          redis, {key + ":log", key + ":epoch", key + ":snap"},
          {resume.has_value() ? resume->epoch : "", resume.has_value() ? resume->entry_id : "",
           absl::StrCat(max_replay), std::string(fresh_epoch), Ms(retention.age)}));
  const auto& e = reply.elements;
  if (reply.type != redis::Reply::Type::kArray || e.size() < 4) return Malformed("open");
  Opened out;
  out.position = {e[1].str, e[2].str};
  if (e[0].str == "resumed") {
    out.resumed = true;
    for (const redis::Reply& entry : e[3].elements) {
      if (entry.elements.size() != 2 || entry.elements[1].elements.size() != 2) {
        return Malformed("entry");
      }
      out.missed.emplace_back(entry.elements[0].str, entry.elements[1].elements[1].str);
      out.position.entry_id = entry.elements[0].str;
    }
    return out;
  }
  if (e.size() != 5) return Malformed("reset");
  out.reason = ReasonFrom(e[3].str);
  for (size_t i = 0; i + 1 < e[4].elements.size(); i += 2) {
    out.snapshot.emplace_back(e[4].elements[i].str, e[4].elements[i + 1].str);
  }
  return out;
}

}  // namespace switchboard::notifications::store
