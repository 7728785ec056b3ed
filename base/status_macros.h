// Early-return helpers for absl::Status / absl::StatusOr<T>.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FLOPWISE_CONCAT_INNER(a, b) a##b
#define FLOPWISE_CONCAT(a, b) FLOPWISE_CONCAT_INNER(a, b)

// RETURN_IF_ERROR(expr): returns the status of `expr` from the enclosing
// function when it is not OK. `expr` is an absl::Status or a grpc::Status (the
// services' request checks); the function returns the same type.
#define RETURN_IF_ERROR(expr)                            \
  do {                                                   \
    auto flopwise_status_ = (expr);                      \
    if (!flopwise_status_.ok()) return flopwise_status_; \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates a StatusOr<T> expression; on error
// returns its status, otherwise moves the value into `lhs` (which may be a
// declaration such as `auto x`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  FLOPWISE_ASSIGN_OR_RETURN_IMPL(FLOPWISE_CONCAT(flopwise_statusor_, __LINE__), lhs, expr)
#define FLOPWISE_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()
