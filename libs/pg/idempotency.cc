#include "libs/pg/idempotency.h"

#include <openssl/sha.h>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "libs/api/reasons.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"

namespace switchboard::pg {

const char Idempotency::kSchemaSql[] = R"sql(
CREATE TABLE IF NOT EXISTS idempotency_keys (
  tenant_id   text NOT NULL,
  request_id  text NOT NULL,
  method      text NOT NULL,
  response    bytea NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, request_id)
);
ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS fingerprint bytea;
ALTER TABLE idempotency_keys ALTER COLUMN response DROP NOT NULL;
ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS claimed_until timestamptz;
)sql";

namespace {

absl::Status Reused(absl::string_view what) {
  return core::InvalidArgument(api::kRequestIdReused,
                               absl::StrCat("this request_id was already used for ", what,
                                            "; use a new request_id for a new request"));
}

// The stored row against the key: same method and body, else REQUEST_ID_REUSED. Rows written
// before fingerprints were kept (NULL) are trusted on the method alone.
absl::Status Compare(const Result& r, const RequestKey& key) {
  if (r.Get(0, 0) != key.method) {
    return Reused(absl::StrCat("another method (", r.Get(0, 0), ")"));
  }
  if (!r.IsNull(0, 1) && r.GetBytes(0, 1) != key.fingerprint) {
    return Reused("a request with other values");
  }
  return absl::OkStatus();
}

absl::Status Lock(Conn& tx, const RequestKey& key) {
  return tx
      .Exec("SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2))", {key.tenant, key.request_id})
      .status();
}

}  // namespace

RequestKey MakeKey(absl::string_view tenant, absl::string_view request_id,
                   const google::protobuf::Message& body) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    body.SerializeToCodedStream(&out);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return {std::string(tenant), std::string(request_id), body.GetDescriptor()->full_name(),
          std::string(reinterpret_cast<const char*>(digest), sizeof(digest))};
}

absl::Status Restore(const std::string& bytes, google::protobuf::Message* out) {
  if (!out->ParseFromString(bytes)) {
    return core::Error(absl::StatusCode::kDataLoss, "UNPARSABLE_RECORD",
                       "a stored response does not parse");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> Idempotency::Find(Conn& tx, const RequestKey& key) {
  if (key.request_id.empty()) return std::nullopt;
  RETURN_IF_ERROR(Lock(tx, key));
  ASSIGN_OR_RETURN(Result r, tx.Exec("SELECT method, fingerprint, response FROM idempotency_keys "
                                     "WHERE tenant_id = $1 AND request_id = $2",
                                     {key.tenant, key.request_id}));
  if (r.rows() == 0) return std::nullopt;
  RETURN_IF_ERROR(Compare(r, key));
  if (r.IsNull(0, 2)) {
    return core::Error(absl::StatusCode::kAborted, api::kRequestInProgress,
                       "a request with this request_id is still being handled; retry shortly");
  }
  return r.GetBytes(0, 2);
}

absl::Status Idempotency::Remember(Conn& tx, const RequestKey& key, std::string response) {
  if (key.request_id.empty()) return absl::OkStatus();
  return tx
      .Exec(
          "INSERT INTO idempotency_keys (tenant_id, request_id, method, fingerprint, response) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, request_id) DO UPDATE SET "
          "response = EXCLUDED.response, claimed_until = NULL "
          "WHERE idempotency_keys.response IS NULL",
          {key.tenant, key.request_id, key.method, Param::Bytes(key.fingerprint),
           Param::Bytes(std::move(response))})
      .status();
}

absl::StatusOr<std::optional<std::string>> Idempotency::Claim(Pool& pool, const RequestKey& key,
                                                              absl::Duration lease) {
  if (key.request_id.empty()) return std::nullopt;
  std::optional<std::string> earlier;
  RETURN_IF_ERROR(pool.InTransaction([&](Conn& tx) -> absl::Status {
    earlier.reset();
    RETURN_IF_ERROR(Lock(tx, key));
    ASSIGN_OR_RETURN(Result r, tx.Exec("SELECT method, fingerprint, response, "
                                       "claimed_until > now() FROM idempotency_keys "
                                       "WHERE tenant_id = $1 AND request_id = $2",
                                       {key.tenant, key.request_id}));
    if (r.rows() > 0) {
      RETURN_IF_ERROR(Compare(r, key));
      if (!r.IsNull(0, 2)) {
        earlier = r.GetBytes(0, 2);
        return absl::OkStatus();
      }
      if (!r.IsNull(0, 3) && r.GetBool(0, 3)) {
        return core::Error(absl::StatusCode::kAborted, api::kRequestInProgress,
                           "a request with this request_id is still being handled; retry "
                           "shortly");
      }
    }
    // New, or a claim whose holder died: (re)claim it.
    return tx
        .Exec(
            "INSERT INTO idempotency_keys (tenant_id, request_id, method, fingerprint, "
            "claimed_until) VALUES ($1, $2, $3, $4, now() + $5::interval) "
            "ON CONFLICT (tenant_id, request_id) DO UPDATE SET "
            "claimed_until = EXCLUDED.claimed_until",
            {key.tenant, key.request_id, key.method, Param::Bytes(key.fingerprint),
             absl::StrCat(absl::ToInt64Milliseconds(lease), " milliseconds")})
        .status();
  }));
  return earlier;
}

absl::Status Idempotency::Finish(Conn& tx, const RequestKey& key, std::string response) {
  return Remember(tx, key, std::move(response));
}

void Idempotency::Release(Pool& pool, const RequestKey& key) {
  if (key.request_id.empty()) return;
  (void)pool.Exec(
      "DELETE FROM idempotency_keys WHERE tenant_id = $1 AND request_id = $2 AND response IS NULL",
      {key.tenant, key.request_id});
}

absl::StatusOr<int64_t> Idempotency::Prune(Pool& pool, absl::Time now, int limit) {
  ASSIGN_OR_RETURN(Result r,
                   pool.Exec("DELETE FROM idempotency_keys WHERE ctid IN (SELECT ctid FROM "
                             "idempotency_keys WHERE create_time < $1 LIMIT $2)",
                             {now - kRetention, limit}));
  return r.affected();
}

}  // namespace switchboard::pg
