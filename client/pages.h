// Every page of one of the UserService's paged list calls (docs/api.md,
// "Paging"), so that a listing of any length arrives in messages of bounded
// size.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "client/channel.h"
#include "client/errors.h"
#include "client/user_connection.h"
#include "flopwise/v1/user_service.grpc.pb.h"

namespace flopwise::client {

// Calls `method` with `request`, then again with each response's
// next_page_token until one is empty, handing every response to
// `on_page(response)` (which returns absl::Status) as it arrives. Each page is
// one call with the token and a deadline of `timeout_ms`. The first error of a
// call or of `on_page` ends the listing.
template <typename Request, typename Response, typename OnPage>
absl::Status ForEachPage(::flopwise::v1::UserService::StubInterface& stub, const std::string& token,
                         int64_t timeout_ms,
                         grpc::Status (::flopwise::v1::UserService::StubInterface::*method)(
                             grpc::ClientContext*, const Request&, Response*),
                         Request request, OnPage on_page) {
  while (true) {
    grpc::ClientContext context;
    PrepareContext(&context, token, timeout_ms);
    Response response;
    absl::Status status = FromGrpc((stub.*method)(&context, request, &response));
    if (status.ok()) status = on_page(response);
    if (!status.ok()) return status;
    if (response.next_page_token().empty()) return absl::OkStatus();
    if (response.next_page_token() == request.page_token()) {
      return absl::InternalError("the coordinator sent the same page token twice");
    }
    request.set_page_token(response.next_page_token());
  }
}

// ForEachPage over the connection's stub, token and deadline.
template <typename Request, typename Response, typename OnPage>
absl::Status ForEachPage(const UserConnection& connection,
                         grpc::Status (::flopwise::v1::UserService::StubInterface::*method)(
                             grpc::ClientContext*, const Request&, Response*),
                         Request request, OnPage on_page) {
  return ForEachPage(*connection.stub, connection.token, connection.timeout_ms, method,
                     std::move(request), std::move(on_page));
}

}  // namespace flopwise::client
