// Safetensors files (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length, a JSON header mapping each tensor name to its
// dtype, shape and data_offsets (plus an optional "__metadata__" object of
// strings), then the raw little-endian data.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace flopwise::train {

// A float32 tensor to write; `data` holds prod(shape) floats.
struct TensorRef {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;
};

using Metadata = std::map<std::string, std::string>;

// Writes F32 tensors (in the given order) to `path`, replacing it.
absl::Status WriteSafetensors(const std::string& path, const std::vector<TensorRef>& tensors,
                              const Metadata& metadata);

// A whole safetensors file read into memory. Supported dtypes: F32, BF16, F16.
class SafetensorsFile {
 public:
  struct Entry {
    std::string dtype;
    std::vector<int64_t> shape;
    int64_t begin = 0, end = 0;  // byte range inside the data section
    int64_t numel() const;
  };

  // Returns NotFound for a missing file and InvalidArgument naming the file
  // and the problem for a truncated or malformed one.
  static absl::StatusOr<SafetensorsFile> Read(const std::string& path);

  const std::string& path() const { return path_; }
  const Metadata& metadata() const { return metadata_; }
  const std::map<std::string, Entry>& entries() const { return entries_; }
  // Copies tensor `name` converted to float32 into `out` (prod(shape) floats).
  // Returns NotFound if absent.
  absl::Status ReadFloats(const std::string& name, std::vector<float>* out) const;

 private:
  std::string path_;
  Metadata metadata_;
  std::map<std::string, Entry> entries_;
  std::string data_;
};

}  // namespace flopwise::train
