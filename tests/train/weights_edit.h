// Hand-made bad weights for the loader tests: a copy of a good safetensors
// file with keys of its metadata config or values of its tensors replaced.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "worker/train/safetensors.h"

namespace flopwise::train {

// Changes the values of one tensor, given its name.
using TensorEdit = std::function<void(const std::string& name, std::vector<float>* values)>;

// Copies `from` to `to`, merging `config` (an object, or {} for none) into
// the metadata's config object and passing every tensor through `edit` (when
// given).
inline void CopyWeights(const std::string& from, const std::string& to,
                        const nlohmann::json& config, const TensorEdit& edit = nullptr) {
  auto file = SafetensorsFile::Read(from);
  ASSERT_TRUE(file.ok()) << file.status();
  std::vector<std::vector<float>> storage;
  std::vector<TensorRef> refs;
  storage.reserve(file->entries().size());
  for (const auto& [name, entry] : file->entries()) {
    storage.emplace_back();
    ASSERT_TRUE(file->ReadFloats(name, &storage.back()).ok()) << name;
    if (edit) edit(name, &storage.back());
    refs.push_back({name, entry.shape, storage.back().data()});
  }
  Metadata metadata = file->metadata();
  nlohmann::json merged = nlohmann::json::parse(metadata.at("config"));
  if (!config.is_null()) merged.update(config);
  metadata["config"] = merged.dump();
  ASSERT_TRUE(WriteSafetensors(to, refs, metadata).ok());
}

}  // namespace flopwise::train
