// The role table covers every method of both services, and nothing else.
#include "server/method_roles.h"

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <string>

#include "flopwise/v1/user_service.grpc.pb.h"
#include "flopwise/v1/worker_service.grpc.pb.h"

namespace flopwise::server {
namespace {

// Every method of `service_name`, declared in `file`, needs `role`'s token.
void ExpectEveryMethodNeeds(const google::protobuf::FileDescriptor* file, const char* service_name,
                            Role role) {
  const google::protobuf::ServiceDescriptor* service =
      file->pool()->FindServiceByName(service_name);
  ASSERT_NE(service, nullptr) << service_name;
  ASSERT_GT(service->method_count(), 0);
  for (int i = 0; i < service->method_count(); ++i) {
    const std::string method = "/" + service->full_name() + "/" + service->method(i)->name();
    const std::optional<Role> required = RequiredRole(method);
    ASSERT_TRUE(required.has_value()) << method << " has no line in the role table";
    EXPECT_EQ(*required, role) << method;
  }
}

TEST(MethodRolesTest, EveryUserServiceMethodNeedsTheClientToken) {
  ExpectEveryMethodNeeds(v1::SubmitSweepRequest::descriptor()->file(),
                         v1::UserService::service_full_name(), Role::kClient);
}

TEST(MethodRolesTest, EveryWorkerServiceMethodNeedsTheWorkerToken) {
  ExpectEveryMethodNeeds(v1::RegisterRequest::descriptor()->file(),
                         v1::WorkerService::service_full_name(), Role::kWorker);
}

TEST(MethodRolesTest, MethodsOutsideTheTableHaveNoRole) {
  EXPECT_FALSE(RequiredRole("/flopwise.v1.UserService/NoSuchMethod").has_value());
  EXPECT_FALSE(RequiredRole("/grpc.health.v1.Health/Check").has_value());
  EXPECT_FALSE(RequiredRole("flopwise.v1.UserService/SubmitSweep").has_value());
  EXPECT_FALSE(RequiredRole("").has_value());
}

}  // namespace
}  // namespace flopwise::server
