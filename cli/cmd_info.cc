// `flopwise info`: what this machine offers a worker (cores, memory, GPUs).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "kernels/device_info.h"

namespace flopwise::cli {
namespace {

void PrintInfo(bool as_json) {
  kernels::HostInfo info = kernels::QueryHostInfo();
  if (as_json) {
    nlohmann::json j;
    j["cpu_cores"] = info.cpu_cores;
    j["memory_bytes"] = info.memory_bytes;
    j["cuda_compiled"] = info.cuda_compiled;
    j["gpus"] = nlohmann::json::array();
    for (const auto& g : info.gpus) {
      j["gpus"].push_back({{"index", g.index},
                           {"name", g.name},
                           {"memory_bytes", g.memory_bytes},
                           {"compute_capability", std::to_string(g.compute_capability_major) + "." +
                                                      std::to_string(g.compute_capability_minor)}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("cpu cores      %d\n", info.cpu_cores);
  std::printf("memory         %.1f GiB\n", info.memory_bytes / double(1 << 30));
  std::printf("cuda backend   %s\n", info.cuda_compiled ? "compiled" : "not compiled");
  if (info.gpus.empty()) std::printf("gpus           none visible\n");
  for (const auto& g : info.gpus) {
    std::printf("gpu %d          %s, %.1f GiB, sm_%d%d\n", g.index, g.name.c_str(),
                g.memory_bytes / double(1 << 30), g.compute_capability_major,
                g.compute_capability_minor);
  }
}

const CommandRegistrar kInfo([](CLI::App& app, CliContext& ctx) {
  auto* cmd = app.add_subcommand("info", "Show this machine's cores, memory and GPUs");
  // One flag variable per invocation, owned by the app's lifetime.
  static bool as_json = false;
  cmd->add_flag("--json", as_json, std::string("Print a JSON object"));
  cmd->callback([] { PrintInfo(as_json); });
});

}  // namespace
}  // namespace flopwise::cli
