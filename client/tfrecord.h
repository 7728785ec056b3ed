// TFRecord framing, the container of TensorBoard's event files: each record is
// its length (uint64, little-endian), the masked CRC-32C of those 8 bytes, the
// data, and the masked CRC-32C of the data (uint32s, little-endian).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace flopwise::client {

// CRC-32C (Castagnoli, as in iSCSI): Crc32c("123456789") == 0xE3069283.
uint32_t Crc32c(std::string_view bytes);

// The CRC as TFRecord stores it: rotated right by 15 bits plus 0xa282ead8, so
// that a CRC over bytes that hold CRCs stays informative.
uint32_t MaskedCrc32c(std::string_view bytes);

// `data` framed as one record.
std::string TfRecord(std::string_view data);

}  // namespace flopwise::client
