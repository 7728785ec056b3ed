#include "client/tfrecord.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <climits>

namespace flopwise::client {
namespace {

// Little-endian bytes of `value`, whatever the host's order.
template <typename T>
void AppendLittleEndian(T value, std::string& out) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

}  // namespace

uint32_t Crc32c(std::string_view bytes) {
  // ISA-L's crc32_iscsi neither inverts the initial nor the final register:
  // starting from ~0 and inverting the result gives the standard CRC-32C.
  // It takes an int length, so longer inputs go in pieces.
  uint32_t crc = 0xFFFFFFFFu;
  while (!bytes.empty()) {
    const size_t piece = std::min<size_t>(bytes.size(), INT_MAX);
    crc = crc32_iscsi(reinterpret_cast<unsigned char*>(const_cast<char*>(bytes.data())),
                      static_cast<int>(piece), crc);
    bytes.remove_prefix(piece);
  }
  return ~crc;
}

uint32_t MaskedCrc32c(std::string_view bytes) {
  const uint32_t crc = Crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string TfRecord(std::string_view data) {
  std::string record;
  record.reserve(data.size() + 16);
  AppendLittleEndian<uint64_t>(data.size(), record);
  AppendLittleEndian<uint32_t>(MaskedCrc32c(record), record);
  record.append(data);
  AppendLittleEndian<uint32_t>(MaskedCrc32c(data), record);
  return record;
}

}  // namespace flopwise::client
