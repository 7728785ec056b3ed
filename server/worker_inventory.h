// A worker's inventory as WorkerService.Register stores it
// (workers.inventory_json): {"cpu_cores", "memory_bytes", "version",
// "gpus": [{"index", "name", "memory_bytes"}]}. Read back for ListWorkers and
// for the scheduler's view of what each worker could ever hold.
#pragma once

#include <string_view>
#include <vector>

#include "flopwise/v1/types.pb.h"

namespace flopwise::server {

struct WorkerInventory {
  // cpu_cores, memory_bytes, gpus (their count) and gpu_memory_bytes (the
  // largest GPU's).
  ::flopwise::v1::Resources resources;
  std::vector<::flopwise::v1::Gpu> gpus;
};

// The inventory in `json`; a field that is missing or malformed reads as zero
// (a GPU entry that is not an object is skipped).
WorkerInventory InventoryFromJson(std::string_view json);

}  // namespace flopwise::server
