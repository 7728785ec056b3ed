// The --json documents: one object each, proto field names, every field.
#include "client/json_output.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "client/exit_codes.h"

namespace flopwise::client {
namespace {

namespace v1 = ::flopwise::v1;
using Json = nlohmann::json;

TEST(JsonOutput, SweepViewHasTheSweepsAndEveryRunWithEveryField) {
  SweepView view;
  v1::Sweep& sweep = view.sweeps.emplace_back();
  sweep.set_sweep_id(4);
  sweep.set_state(v1::SWEEP_STATE_COMPLETED);
  (*sweep.mutable_runs_by_state())["RUN_STATE_FAILED"] = 1;
  view.runs[9].set_run_id(9);
  view.runs[9].set_state(v1::RUN_STATE_FAILED);
  const Json json = Json::parse(SweepViewJson(view));
  ASSERT_EQ(json.at("sweeps").size(), 1u);
  EXPECT_EQ(json["sweeps"][0].at("sweep_id"), "4");  // int64 as the proto JSON mapping writes it
  EXPECT_EQ(json["sweeps"][0].at("state"), "SWEEP_STATE_COMPLETED");
  EXPECT_EQ(json["sweeps"][0].at("runs_by_state").at("RUN_STATE_FAILED"), 1);
  EXPECT_EQ(json["sweeps"][0].at("runs_finished"), 0);  // defaults are present
  ASSERT_EQ(json.at("runs").size(), 1u);
  EXPECT_EQ(json["runs"][0].at("state"), "RUN_STATE_FAILED");
  EXPECT_EQ(json["runs"][0].at("loss"), 0);
}

TEST(JsonOutput, ListsAreObjectsWithOneKey) {
  EXPECT_EQ(Json::parse(SweepsJson({})), Json({{"sweeps", Json::array()}}));
  EXPECT_EQ(Json::parse(RunsJson({})), Json({{"runs", Json::array()}}));
  EXPECT_EQ(Json::parse(WorkersJson({})), Json({{"workers", Json::array()}}));
}

TEST(JsonOutput, SubmitCancelAndDrainAnswers) {
  v1::SubmitSweepResponse submitted;
  submitted.set_sweep_id(3);
  submitted.set_name("s");
  const Json submit = Json::parse(SubmitJson(submitted, /*dry_run=*/false));
  EXPECT_EQ(submit.at("sweep_id"), "3");
  EXPECT_EQ(submit.at("name"), "s");
  EXPECT_FALSE(submit.at("dry_run").get<bool>());
  EXPECT_TRUE(submit.at("runs").empty());

  v1::CancelSweepResponse cancelled;
  cancelled.set_runs_cancelled(2);
  EXPECT_EQ(Json::parse(CancelJson(3, cancelled)),
            Json({{"sweep_id", "3"}, {"runs_cancelled", 2}}));

  v1::Worker worker;
  worker.set_worker_id("w1");
  worker.set_draining(true);
  const Json drain = Json::parse(DrainJson(worker));
  EXPECT_EQ(drain.at("worker").at("worker_id"), "w1");
  EXPECT_TRUE(drain.at("worker").at("draining").get<bool>());
}

TEST(ExitCodes, ErrorsMapByTheirCode) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), kExitOk);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("tokens: must be positive")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("connection refused")), kExitNoCoordinator);
  EXPECT_EQ(ExitCodeFor(absl::DeadlineExceededError("deadline")), kExitNoCoordinator);
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("sweep 9")), kExitFailed);
  EXPECT_EQ(ExitCodeFor(absl::PermissionDeniedError("token")), kExitFailed);
  EXPECT_EQ(ExitCodeFor(absl::ResourceExhaustedError("retry in 30 s")), kExitRetryLater);
}

}  // namespace
}  // namespace flopwise::client
