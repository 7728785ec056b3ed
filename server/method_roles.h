// Which token each RPC of the coordinator needs: the one table that decides,
// for every method of UserService and WorkerService, who may call it
// (AuthorizedService enforces it). Health checking and reflection are served
// by gRPC itself and stay open.
#pragma once

#include <optional>
#include <string_view>

#include "server/auth.h"

namespace flopwise::server {

// The role whose token may call `method`, a full method name as gRPC spells it
// ("/flopwise.v1.UserService/SubmitSweep"); nullopt when the table does not
// name the method, which is then refused whatever the token.
std::optional<Role> RequiredRole(std::string_view method);

}  // namespace flopwise::server
