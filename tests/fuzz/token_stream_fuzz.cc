// Fuzzes the token-shard readers behind TokenStream::Open. The first input
// byte picks what the rest is:
//   0..3: one shard file, named .tok, .bin, .u16 or .u32 (the reader goes by
//         magic first, then by extension);
//   4..:  the manifest.json of a folder that also holds a valid flopwise shard
//         "good.tok" (so manifests naming it reach the stream).
// Every stream that opens is read for a few sequences.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_file.h"
#include "worker/data/shard_format.h"
#include "worker/data/token_stream.h"

namespace {
namespace fs = std::filesystem;
using flopwise::fuzz::ScratchDir;
using flopwise::fuzz::WriteScratchFile;

// A 3-document shard of 20 uint16 tokens below a vocabulary of 64.
void WriteGoodShard(const std::string& name) {
  flopwise::data::ShardHeader header;
  header.token_width = 2;
  header.token_count = 20;
  header.document_count = 3;
  header.vocab_size = 64;
  header.eot_id = 63;
  header.tokenizer = "byte";
  std::string bytes = flopwise::data::EncodeShardHeader(header);
  for (uint16_t t = 0; t < header.token_count; ++t) {
    bytes.append(reinterpret_cast<const char*>(&t), 2);
  }
  bytes.resize(header.documents_offset(), '\0');
  for (uint64_t start : {uint64_t{0}, uint64_t{5}, uint64_t{12}, header.token_count}) {
    bytes.append(reinterpret_cast<const char*>(&start), 8);
  }
  WriteScratchFile(name, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const bool ready = [] {
    fs::create_directories(fs::path(ScratchDir()) / "dir");
    WriteGoodShard("dir/good.tok");
    return true;
  }();
  (void)ready;
  static const char* const kShardNames[] = {"shard.tok", "shard.bin", "shard.u16", "shard.u32"};
  std::string path;
  if (data[0] < 4) {
    path = WriteScratchFile(kShardNames[data[0]], data + 1, size - 1);
  } else {
    WriteScratchFile("dir/manifest.json", data + 1, size - 1);
    path = (fs::path(ScratchDir()) / "dir").string();
  }
  flopwise::data::StreamOptions options;
  options.sequence_length = 4;
  options.seed = data[0];
  auto stream = flopwise::data::TokenStream::Open(path, options);
  if (!stream.ok()) return 0;
  std::vector<int32_t> sequence(options.sequence_length + 1);
  for (int i = 0; i < 8; ++i) {
    if (!(*stream)->NextSequence(sequence).ok()) break;
  }
  return 0;
}
