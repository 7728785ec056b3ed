#include "server/worker_inventory.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>

namespace flopwise::server {

WorkerInventory InventoryFromJson(std::string_view json) {
  WorkerInventory out;
  const nlohmann::json inventory = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!inventory.is_object()) return out;
  v1::Resources& resources = out.resources;
  resources.set_cpu_cores(inventory.value("cpu_cores", 0));
  resources.set_memory_bytes(inventory.value("memory_bytes", int64_t{0}));
  if (inventory.contains("gpus") && inventory["gpus"].is_array()) {
    resources.set_gpus(static_cast<int32_t>(inventory["gpus"].size()));
    for (const nlohmann::json& gpu : inventory["gpus"]) {
      if (!gpu.is_object()) continue;
      v1::Gpu& entry = out.gpus.emplace_back();
      entry.set_index(gpu.value("index", 0));
      entry.set_name(gpu.value("name", std::string()));
      entry.set_memory_bytes(gpu.value("memory_bytes", int64_t{0}));
      resources.set_gpu_memory_bytes(std::max(resources.gpu_memory_bytes(), entry.memory_bytes()));
    }
  }
  return out;
}

}  // namespace flopwise::server
