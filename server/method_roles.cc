#include "server/method_roles.h"

#include <utility>

namespace flopwise::server {
namespace {

// A new RPC gets a line here, or every call of it is refused.
constexpr std::pair<std::string_view, Role> kMethodRoles[] = {
    {"/flopwise.v1.UserService/SubmitSweep", Role::kClient},
    {"/flopwise.v1.UserService/GetSweep", Role::kClient},
    {"/flopwise.v1.UserService/ListSweeps", Role::kClient},
    {"/flopwise.v1.UserService/CancelSweep", Role::kClient},
    {"/flopwise.v1.UserService/ListRuns", Role::kClient},
    {"/flopwise.v1.UserService/GetRun", Role::kClient},
    {"/flopwise.v1.UserService/WatchRuns", Role::kClient},
    {"/flopwise.v1.UserService/GetMetrics", Role::kClient},
    {"/flopwise.v1.UserService/GetCheckpoints", Role::kClient},
    {"/flopwise.v1.UserService/ListWorkers", Role::kClient},
    {"/flopwise.v1.UserService/SetDraining", Role::kClient},
    {"/flopwise.v1.UserService/FitScalingLaw", Role::kClient},
    {"/flopwise.v1.UserService/QueryOptimal", Role::kClient},
    {"/flopwise.v1.UserService/CreateEvalJobs", Role::kClient},
    {"/flopwise.v1.UserService/ListEvalJobs", Role::kClient},
    {"/flopwise.v1.UserService/ListEvals", Role::kClient},
    {"/flopwise.v1.UserService/RetryRuns", Role::kClient},
    {"/flopwise.v1.WorkerService/Register", Role::kWorker},
    {"/flopwise.v1.WorkerService/Heartbeat", Role::kWorker},
    {"/flopwise.v1.WorkerService/AcquireRun", Role::kWorker},
    {"/flopwise.v1.WorkerService/ReportMetrics", Role::kWorker},
    {"/flopwise.v1.WorkerService/ReportCheckpoint", Role::kWorker},
    {"/flopwise.v1.WorkerService/CompleteRun", Role::kWorker},
    {"/flopwise.v1.WorkerService/FailRun", Role::kWorker},
    {"/flopwise.v1.WorkerService/ReleaseRun", Role::kWorker},
    {"/flopwise.v1.WorkerService/ReportEvalResult", Role::kWorker},
    {"/flopwise.v1.WorkerService/CompleteEvalJob", Role::kWorker},
    {"/flopwise.v1.WorkerService/FailEvalJob", Role::kWorker},
    {"/flopwise.v1.WorkerService/ReportLogPath", Role::kWorker},
    {"/flopwise.v1.WorkerService/RendezvousSet", Role::kWorker},
    {"/flopwise.v1.WorkerService/RendezvousGet", Role::kWorker},
};

}  // namespace

std::optional<Role> RequiredRole(std::string_view method) {
  for (const auto& [name, role] : kMethodRoles) {
    if (name == method) return role;
  }
  return std::nullopt;
}

}  // namespace flopwise::server
