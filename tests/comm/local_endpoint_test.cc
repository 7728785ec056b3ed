// The checks of where a rank listens: an address of this host or an
// interface with an address, and the flag pair flopwise-train and
// flopwise-worker share.
#include "comm/local_endpoint.h"

#include <gtest/gtest.h>

#include <string>

namespace flopwise::comm {
namespace {

TEST(LocalEndpoint, LoopbackAddressesOfThisHostAreAccepted) {
  EXPECT_TRUE(CheckLocalAddress("127.0.0.1").ok()) << CheckLocalAddress("127.0.0.1");
  EXPECT_TRUE(CheckLocalAddress(kDefaultRankAddress).ok());
  EXPECT_TRUE(CheckLocalInterface("lo").ok()) << CheckLocalInterface("lo");
}

TEST(LocalEndpoint, AnythingButANumericAddressIsRefusedWithoutALookup) {
  for (const std::string bad : {"", "localhost", "10.0.0.300", "10.0.0.5:7070", "eth0"}) {
    const absl::Status s = CheckLocalAddress(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(s.message(), "'" + bad + "' is not an IPv4 or IPv6 address (e.g. 10.0.0.5)") << s;
  }
}

TEST(LocalEndpoint, AnAddressNoLinkOfThisHostHasIsRefused) {
  // TEST-NET-3 (RFC 5737): documentation only, on no host here.
  const absl::Status s = CheckLocalAddress("203.0.113.1");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(s.message().rfind("203.0.113.1 is not an address of this host (bind: ", 0), 0u) << s;
}

TEST(LocalEndpoint, AMissingInterfaceIsRefusedNamingThoseThatExist) {
  const absl::Status s = CheckLocalInterface("nosuchif0");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(s.message().rfind("this host has no network interface 'nosuchif0' with an IP address "
                              "(those with one: ",
                              0),
            0u)
      << s;
  EXPECT_NE(s.message().find("lo"), std::string::npos) << s;
}

TEST(LocalEndpoint, TheFlagPairTakesOneAndNamesTheFlagAtFault) {
  EXPECT_TRUE(CheckRankEndpointFlags("", "").ok());
  EXPECT_TRUE(CheckRankEndpointFlags("127.0.0.1", "").ok());
  EXPECT_TRUE(CheckRankEndpointFlags("", "lo").ok());
  EXPECT_EQ(CheckRankEndpointFlags("127.0.0.1", "lo").message(),
            "--rank-address, --rank-interface: give one of them, not both");
  EXPECT_EQ(CheckRankEndpointFlags("host-a", "").message(),
            "--rank-address: 'host-a' is not an IPv4 or IPv6 address (e.g. 10.0.0.5)");
  EXPECT_EQ(CheckRankEndpointFlags("", "nosuchif0").message().rfind("--rank-interface: ", 0), 0u);
}

}  // namespace
}  // namespace flopwise::comm
