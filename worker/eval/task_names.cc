#include "worker/eval/task_names.h"

#include <algorithm>
#include <string>

namespace flopwise::eval {
namespace {

constexpr std::string_view kTaskNames[] = {"validation", "needle", "needle-easy", "needle-standard",
                                           "brown-continuation"};

}  // namespace

std::span<const std::string_view> TaskNames() { return kTaskNames; }

bool IsTaskFile(std::string_view task) { return task.ends_with(".jsonl"); }

absl::Status CheckTaskName(std::string_view task) {
  if (IsTaskFile(task) ||
      std::find(std::begin(kTaskNames), std::end(kTaskNames), task) != std::end(kTaskNames)) {
    return absl::OkStatus();
  }
  std::string message = "unknown task \"" + std::string(task) + "\" (known: ";
  for (std::string_view name : kTaskNames) message += std::string(name) + ", ";
  return absl::InvalidArgumentError(message + "or a .jsonl task file)");
}

}  // namespace flopwise::eval
