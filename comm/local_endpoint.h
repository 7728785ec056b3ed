// Where a rank's Gloo transport listens on a machine with several links
// (docs/distributed.md, "Several hosts"): an IP address of this host, or a
// network interface whose address Gloo looks up. Checked before a rank starts
// so a wrong setting fails with a clear message rather than a transport error.
// Messages name the value, not a flag; callers prefix their flag's name.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace flopwise::comm {

// The address the transport binds when neither is given: one host's ranks
// reach each other over loopback.
inline constexpr char kDefaultRankAddress[] = "127.0.0.1";

// OK when `address` is a numeric IPv4 or IPv6 address that a TCP socket of
// this host can bind. InvalidArgument when it is not an IP address (host
// names are not resolved), FailedPrecondition when no link of this host has
// it.
absl::Status CheckLocalAddress(const std::string& address);

// OK when this host has a network interface named `interface` with an IPv4 or
// IPv6 address; FailedPrecondition listing the interfaces that have one
// otherwise.
absl::Status CheckLocalInterface(const std::string& interface);

// The --rank-address and --rank-interface flags that flopwise-train and
// flopwise-worker share: at most one of them set, and that one checked as
// above. Errors name the flag.
absl::Status CheckRankEndpointFlags(const std::string& rank_address,
                                    const std::string& rank_interface);

}  // namespace flopwise::comm
