#include "worker/train/safetensors.h"

#include <bit>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace flopwise::train {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes little endian");

int64_t DtypeBytes(const std::string& dtype) {
  if (dtype == "F32") return 4;
  if (dtype == "BF16" || dtype == "F16") return 2;
  return 0;
}

float HalfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  int exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      exponent = 1;
      while ((mantissa & 0x400) == 0) {
        mantissa <<= 1;
        --exponent;
      }
      mantissa &= 0x3ff;
      bits = sign | uint32_t(exponent + 127 - 15) << 23 | (mantissa << 13);
    }
  } else {
    bits = sign | uint32_t(exponent + 127 - 15) << 23 | (mantissa << 13);
  }
  return std::bit_cast<float>(bits);
}

}  // namespace

int64_t SafetensorsFile::Entry::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

absl::Status WriteSafetensors(const std::string& path, const std::vector<TensorRef>& tensors,
                              const Metadata& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  int64_t offset = 0;
  for (const TensorRef& t : tensors) {
    int64_t numel = 1;
    for (int64_t s : t.shape) numel *= s;
    const int64_t bytes = numel * 4;
    header[t.name] = {
        {"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header_text = header.dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // align the data to 8 bytes
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InternalError(absl::StrCat(path, ": cannot open for writing"));
  const uint64_t header_len = header_text.size();
  out.write(reinterpret_cast<const char*>(&header_len), 8);
  out.write(header_text.data(), header_text.size());
  for (const TensorRef& t : tensors) {
    int64_t numel = 1;
    for (int64_t s : t.shape) numel *= s;
    out.write(reinterpret_cast<const char*>(t.data), numel * 4);
  }
  out.flush();
  if (!out) return absl::InternalError(absl::StrCat(path, ": write failed"));
  return absl::OkStatus();
}

absl::StatusOr<SafetensorsFile> SafetensorsFile::Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a valid safetensors file: ", what));
  };
  if (bytes.size() < 8) return bad("shorter than the 8-byte header length");
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  if (header_len > bytes.size() - 8) return bad("header length beyond the end of the file");
  nlohmann::json header = nlohmann::json::parse(bytes.substr(8, header_len), nullptr, false);
  if (header.is_discarded() || !header.is_object()) return bad("header is not a JSON object");

  SafetensorsFile file;
  file.path_ = path;
  file.data_ = bytes.substr(8 + header_len);
  const int64_t data_size = static_cast<int64_t>(file.data_.size());
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) return bad("__metadata__ is not an object");
      for (const auto& [key, v] : value.items()) {
        if (!v.is_string()) return bad(absl::StrCat("__metadata__.", key, " is not a string"));
        file.metadata_[key] = v.get<std::string>();
      }
      continue;
    }
    if (!value.is_object() || !value.contains("dtype") || !value.contains("shape") ||
        !value.contains("data_offsets") || !value["dtype"].is_string() ||
        !value["shape"].is_array() || !value["data_offsets"].is_array() ||
        value["data_offsets"].size() != 2) {
      return bad(absl::StrCat("tensor '", name, "' lacks dtype, shape or data_offsets"));
    }
    Entry entry;
    entry.dtype = value["dtype"].get<std::string>();
    for (const auto& s : value["shape"]) {
      if (!s.is_number_integer() || s.get<int64_t>() < 0) {
        return bad(absl::StrCat("tensor '", name, "' has a bad shape"));
      }
      entry.shape.push_back(s.get<int64_t>());
    }
    // No more elements than data bytes, so that numel() cannot overflow.
    for (int64_t numel = 1; int64_t s : entry.shape) {
      if (s != 0 && numel > data_size / s) {
        return bad(absl::StrCat("tensor '", name, "' has a shape larger than the file"));
      }
      numel *= s;
    }
    const auto& offsets = value["data_offsets"];
    if (!offsets[0].is_number_integer() || !offsets[1].is_number_integer()) {
      return bad(absl::StrCat("tensor '", name, "' has bad data_offsets"));
    }
    entry.begin = offsets[0].get<int64_t>();
    entry.end = offsets[1].get<int64_t>();
    const int64_t element_bytes = DtypeBytes(entry.dtype);
    if (element_bytes == 0) {
      return bad(absl::StrCat("tensor '", name, "' has unsupported dtype ", entry.dtype,
                              " (F32, BF16, F16)"));
    }
    if (entry.begin < 0 || entry.end < entry.begin || entry.end > data_size) {
      return bad(absl::StrCat("tensor '", name, "' data [", entry.begin, ", ", entry.end,
                              ") lies outside the ", data_size, "-byte data section (truncated?)"));
    }
    if (entry.end - entry.begin != entry.numel() * element_bytes) {
      return bad(absl::StrCat("tensor '", name, "' holds ", entry.end - entry.begin,
                              " bytes but its shape needs ", entry.numel() * element_bytes));
    }
    file.entries_[name] = std::move(entry);
  }
  return file;
}

absl::Status SafetensorsFile::ReadFloats(const std::string& name, std::vector<float>* out) const {
  auto it = entries_.find(name);
  if (it == entries_.end())
    return absl::NotFoundError(absl::StrCat(path_, ": no tensor '", name, "'"));
  const Entry& e = it->second;
  const char* src = data_.data() + e.begin;
  out->resize(e.numel());
  if (e.dtype == "F32") {
    std::memcpy(out->data(), src, e.numel() * 4);
    return absl::OkStatus();
  }
  for (int64_t i = 0; i < e.numel(); ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    (*out)[i] = e.dtype == "BF16" ? std::bit_cast<float>(uint32_t(h) << 16) : HalfToFloat(h);
  }
  return absl::OkStatus();
}

}  // namespace flopwise::train
