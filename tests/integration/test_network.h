// Hosts on links of a test's own for the multi-host tests: a bridge in this
// namespace holding the coordinator's address, and one network namespace
// (`ip netns`) per worker host, joined to the bridge by a veth pair. Every
// address lies in 10.77.N.0/24 (N from this process's id) on links made
// here; the namespaces have no other route, so no packet leaves them. Names
// carry this process's id, and the destructor deletes everything it made.
#pragma once

#include <string>
#include <vector>

namespace flopwise::testing {

// The ip(8) program, or "" when there is none.
std::string IpProgram();

// Runs `argv` to completion; its exit code (-1 when it could not run) with
// stdout and stderr in `output`.
int RunProgram(const std::vector<std::string>& argv, std::string* output);

class TestNetwork {
 public:
  // Why the test cannot build one ("" when it can): not root, no ip(8), or
  // `ip netns add` refused (probed with a namespace it deletes at once).
  static std::string Unavailable();

  // Builds the bridge and `hosts` namespaces; see error() for what failed.
  // First deletes what an earlier test process that was killed before its
  // clean-up left (names carrying the id of a process that is gone).
  explicit TestNetwork(int hosts);
  ~TestNetwork();
  TestNetwork(const TestNetwork&) = delete;
  TestNetwork& operator=(const TestNetwork&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // The bridge's address in this namespace (where the coordinator listens).
  std::string bridge_address() const { return Address(1); }
  // Host `host`'s address, in its namespace `netns(host)`.
  std::string host_address(int host) const { return Address(host + 2); }
  const std::string& netns(int host) const { return namespaces_.at(host); }

  // Takes host `host`'s link down or up (its veth end on the bridge): a
  // cable pulled, no connection reset. False (with error()) when ip fails.
  bool SetLinkUp(int host, bool up);

 private:
  static void RemoveLeftovers();
  std::string Address(int last_byte) const;
  // Runs ip with `args`; on failure records the command and its output.
  bool Ip(const std::vector<std::string>& args);

  int subnet_ = 0;  // the N of 10.77.N.0/24
  std::string bridge_;
  std::vector<std::string> namespaces_;
  std::vector<std::string> bridge_ports_;  // the veth ends on the bridge, by host
  std::string error_;
};

}  // namespace flopwise::testing
