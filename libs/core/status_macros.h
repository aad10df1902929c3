// Early-return helpers for absl::Status / absl::StatusOr (Debian's Abseil does not ship them).
//
//   RETURN_IF_ERROR(store.Save(call));
//   ASSIGN_OR_RETURN(Call call, store.Load(id));
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SB_STATUS_CONCAT_INNER_(a, b) a##b
#define SB_STATUS_CONCAT_(a, b) SB_STATUS_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr) \
  SB_RETURN_IF_ERROR_IMPL_(SB_STATUS_CONCAT_(sb_status_, __COUNTER__), expr)

#define SB_RETURN_IF_ERROR_IMPL_(status, expr)          \
  do {                                                  \
    if (::absl::Status status = (expr); !status.ok()) { \
      return status;                                    \
    }                                                   \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  SB_ASSIGN_OR_RETURN_IMPL_(SB_STATUS_CONCAT_(sb_statusor_, __COUNTER__), lhs, expr)

#define SB_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) {                                \
    return std::move(statusor).status();               \
  }                                                    \
  lhs = std::move(statusor).value()
