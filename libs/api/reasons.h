// The reasons every service gives for the same fault: one table, so a client (the gateway, the
// console, a partner's integration) handles "bad request id" once, not once per service. Each
// is the `reason` of the google.rpc.ErrorInfo an error carries (ADR 0005); the code beside it
// is the gRPC status code. docs/api-conventions.md is the reader's version of this file.
//
//   return core::InvalidArgument(api::kInvalidRequestId, "request_id must be ...");
//
// Reasons that name a field (MISSING_<FIELD>, <ENTITY>_NOT_FOUND, <ROLE>_ROLE_REQUIRED) are built
// by the helpers in validate.h so their spelling cannot drift.
#pragma once

namespace switchboard::api {

// ---- the request's shape: INVALID_ARGUMENT ---------------------------------------------------

// A required field is empty or unset (an enum left UNSPECIFIED too): MISSING_<FIELD>, where
// FIELD is the field's own name in upper case ("call_id" -> MISSING_CALL_ID). metadata: field.
inline constexpr char kMissingPrefix[] = "MISSING_";
// An id is not 1-64 characters of [A-Za-z0-9._-]. metadata: field.
inline constexpr char kInvalidId[] = "INVALID_ID";
// request_id, the idempotency key, is not 1-64 characters of [A-Za-z0-9._-].
inline constexpr char kInvalidRequestId[] = "INVALID_REQUEST_ID";
// The same request_id came with another method or another body: a client bug, never retried.
inline constexpr char kRequestIdReused[] = "REQUEST_ID_REUSED";
// A contact's wa_id/user_id is malformed. metadata: field.
inline constexpr char kInvalidContact[] = "INVALID_CONTACT";
// Not a valid E.164 number (libphonenumber). metadata: field.
inline constexpr char kInvalidPhoneNumber[] = "INVALID_PHONE_NUMBER";
// An enum holds a number the API does not define. metadata: field, value.
inline constexpr char kInvalidEnum[] = "INVALID_ENUM";
// Text that is not UTF-8, or holds control characters where none may be. metadata: field.
inline constexpr char kInvalidText[] = "INVALID_TEXT";
// Text longer than its limit, counted in characters. metadata: field, max_chars.
inline constexpr char kTextTooLong[] = "TEXT_TOO_LONG";
// A time outside what the field may hold (the past before 2015, the future beyond a few
// minutes of skew, or a field's own range). metadata: field.
inline constexpr char kInvalidTime[] = "INVALID_TIME";
// Not an IANA time zone. metadata: field.
inline constexpr char kInvalidTimeZone[] = "INVALID_TIME_ZONE";
// page_size below zero (above the list's maximum it is lowered to the maximum, AIP-158).
inline constexpr char kInvalidPageSize[] = "INVALID_PAGE_SIZE";
// A page_token this list did not issue, or issued for another filter.
inline constexpr char kInvalidPageToken[] = "INVALID_PAGE_TOKEN";
// A filter outside the list's documented AIP-160 subset. metadata: position (byte offset).
inline constexpr char kInvalidFilter[] = "INVALID_FILTER";
// A setting outside its documented range (a duration, a count). metadata: field.
inline constexpr char kSettingOutOfRange[] = "SETTING_OUT_OF_RANGE";
// update_mask names a field the message does not have, or one that cannot be changed.
inline constexpr char kInvalidUpdateMask[] = "INVALID_UPDATE_MASK";
// The request's bytes do not decode as the method's message (truncated, or a string field
// holding invalid UTF-8). Given by the gRPC edge before any handler runs.
inline constexpr char kUndecodableRequest[] = "UNDECODABLE_REQUEST";

// ---- who may do it: PERMISSION_DENIED / UNAUTHENTICATED --------------------------------------

// <ROLE>_ROLE_REQUIRED ("admin" -> ADMIN_ROLE_REQUIRED). metadata: role.
inline constexpr char kRoleRequiredSuffix[] = "_ROLE_REQUIRED";
// A plain agent named another agent in agent_id.
inline constexpr char kNotCallerAgent[] = "NOT_CALLER_AGENT";
inline constexpr char kTokenMissing[] = "TOKEN_MISSING";
inline constexpr char kTokenInvalid[] = "TOKEN_INVALID";
inline constexpr char kTokenExpired[] = "TOKEN_EXPIRED";

// ---- what it names: NOT_FOUND -----------------------------------------------------------------

// <ENTITY>_NOT_FOUND ("call" -> CALL_NOT_FOUND): absent, or another tenant's (the same answer,
// so a caller learns nothing about other tenants).
inline constexpr char kNotFoundSuffix[] = "_NOT_FOUND";
// A business number that is not registered to the caller's tenant.
inline constexpr char kPhoneNumberNotFound[] = "PHONE_NUMBER_NOT_FOUND";

// ---- conflicts and dependencies ---------------------------------------------------------------

// ABORTED: the same request_id is being handled right now; retry shortly.
inline constexpr char kRequestInProgress[] = "REQUEST_IN_PROGRESS";

}  // namespace switchboard::api
