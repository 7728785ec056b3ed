// FitScalingLaw and QueryOptimal of the user service: request checks, the
// sweep's effective checkpoints as records (fit_inputs.h), the `fits` cache
// and the fitting module (docs/api.md, "Fits"). Keeps no state between calls;
// thread-safe as the store is.
#pragma once

#include "absl/status/status.h"
#include "db/store.h"
#include "flopwise/v1/user_service.pb.h"

namespace flopwise::server {

class FitHandler {
 public:
  // `store` must outlive the handler.
  explicit FitHandler(db::Store* store);

  // Fits the sweep, or answers from the cache when the same records were
  // fitted with the same options and method (response->cached()).
  // InvalidArgument naming the field for a bad request, NotFound for an
  // unknown sweep, FailedPrecondition saying why when the sweep's checkpoints
  // are too few to fit any law.
  absl::Status FitScalingLaw(const v1::FitScalingLawRequest& request,
                             v1::FitScalingLawResponse* response);

  // Recommends N and D per architecture for the budget, over the same cached
  // fit (C in the budget's unit), and names the architecture with the lowest
  // predicted loss. Errors as FitScalingLaw; also InvalidArgument for a budget
  // that is not positive and finite, FailedPrecondition when no architecture
  // has a finite allocation.
  absl::Status QueryOptimal(const v1::QueryOptimalRequest& request,
                            v1::QueryOptimalResponse* response);

 private:
  db::Store* store_;
};

}  // namespace flopwise::server
