// `flopwise data`: tokenizer round trips and token-shard preparation.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/utf8.h"
#include "cli/command_registry.h"
#include "client/exit_codes.h"
#include "worker/data/prepare.h"
#include "worker/data/tokenizer.h"

namespace flopwise::cli {
namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "flopwise data: %s\n", std::string(status.message()).c_str());
  return client::ExitCodeFor(status);
}

std::string ReadStdin() {
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

struct EncodeFlags {
  std::string tokenizer = "cl100k_base";
  std::string special = "reject";
  bool json = false;
  bool replace_invalid = false;
};

int RunEncode(const EncodeFlags& flags) {
  auto tokenizer = data::Tokenizer::Load(flags.tokenizer);
  if (!tokenizer.ok()) return Fail(tokenizer.status());
  auto special = data::ParseSpecialTokens(flags.special);
  if (!special.ok()) return Fail(special.status());
  std::string text = ReadStdin();
  if (flags.replace_invalid) text = ReplaceInvalidUtf8(text);
  std::vector<int32_t> ids;
  if (absl::Status s = (*tokenizer)->Encode(text, *special, &ids); !s.ok()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat("stdin: ", s.message())));
  }
  if (flags.json) {
    std::printf("%s\n", nlohmann::json(ids).dump().c_str());
  } else {
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i) absl::StrAppend(&line, i ? " " : "", ids[i]);
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

// Parses ids written by `encode`: whitespace-separated integers or a JSON array.
absl::StatusOr<std::vector<int32_t>> ParseIds(const std::string& text) {
  std::vector<int32_t> ids;
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {
    const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded() || !parsed.is_array()) {
      return absl::InvalidArgumentError("stdin: not a JSON array of token ids");
    }
    for (size_t i = 0; i < parsed.size(); ++i) {
      if (!parsed[i].is_number_integer() || parsed[i].get<int64_t>() < INT32_MIN ||
          parsed[i].get<int64_t>() > INT32_MAX) {
        return absl::InvalidArgumentError(
            absl::StrCat("stdin: element ", i, " is not a 32-bit integer"));
      }
      ids.push_back(static_cast<int32_t>(parsed[i].get<int64_t>()));
    }
    return ids;
  }
  size_t index = 0;
  for (absl::string_view field :
       absl::StrSplit(text, absl::ByAnyChar(" \t\r\n,"), absl::SkipEmpty())) {
    int32_t id = 0;
    if (!absl::SimpleAtoi(field, &id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("stdin: token ", index, " ('", field, "') is not a 32-bit integer"));
    }
    ids.push_back(id);
    ++index;
  }
  return ids;
}

int RunDecode(const std::string& tokenizer_name) {
  auto tokenizer = data::Tokenizer::Load(tokenizer_name);
  if (!tokenizer.ok()) return Fail(tokenizer.status());
  auto ids = ParseIds(ReadStdin());
  if (!ids.ok()) return Fail(ids.status());
  std::string text;
  if (absl::Status s = (*tokenizer)->Decode(*ids, &text); !s.ok()) return Fail(s);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

struct PrepareFlags {
  data::PrepareOptions options;
  std::string special = "text";
};

// Redraws a one-line progress bar on stderr (only when stderr is a terminal).
void DrawProgress(const data::PrepareProgress& p) {
  if (!isatty(STDERR_FILENO)) return;
  const double fraction = p.total_bytes ? double(p.bytes_read) / double(p.total_bytes) : 1.0;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth);
  std::fprintf(stderr, "\r[%s%s] %5.1f%%  %lld docs  %lld tokens  %.1f MB/s",
               std::string(filled, '#').c_str(), std::string(kWidth - filled, ' ').c_str(),
               100 * fraction, static_cast<long long>(p.documents),
               static_cast<long long>(p.tokens),
               p.seconds > 0 ? p.bytes_read / 1e6 / p.seconds : 0.0);
  std::fflush(stderr);
}

int RunPrepare(PrepareFlags& flags) {
  auto special = data::ParseSpecialTokens(flags.special);
  if (!special.ok()) return Fail(special.status());
  flags.options.special = *special;
  flags.options.on_progress = DrawProgress;
  auto summary = data::PrepareDataset(flags.options);
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
  if (!summary.ok()) return Fail(summary.status());
  const double mb = summary->text_bytes / 1e6;
  std::printf("tokenizer   %s (vocab %lld padded)\n", summary->tokenizer.c_str(),
              static_cast<long long>(summary->vocab_size));
  std::printf("train       %lld documents, %lld tokens, %zu shards\n",
              static_cast<long long>(summary->train.documents),
              static_cast<long long>(summary->train.tokens), summary->train.shard_files.size());
  std::printf("validation  %lld documents, %lld tokens, %zu shards\n",
              static_cast<long long>(summary->validation.documents),
              static_cast<long long>(summary->validation.tokens),
              summary->validation.shard_files.size());
  std::printf("throughput  %.2f MB of text in %.2f s: %.2f MB/s, %.0f tokens/s\n", mb,
              summary->seconds, mb / summary->seconds,
              (summary->train.tokens + summary->validation.tokens) / summary->seconds);
  std::printf("wrote       %s/manifest.json\n", flags.options.out_dir.c_str());
  return 0;
}

const CommandRegistrar kData([](CLI::App& app, CliContext& ctx) {
  auto* data = app.add_subcommand("data", "Tokenize text and prepare token shards");
  data->require_subcommand(1);
  const std::string tokenizer_help = "Tokenizer: byte, cl100k_base, r50k_base, gpt2 or o200k_base";

  static EncodeFlags encode;
  auto* enc = data->add_subcommand("encode", "Encode text on stdin; print token ids on stdout");
  enc->add_option("--tokenizer", encode.tokenizer, tokenizer_help)->capture_default_str();
  enc->add_option("--special", encode.special,
                  "Special tokens in the text: reject, allow (as ids) or text")
      ->capture_default_str();
  enc->add_flag("--json", encode.json, std::string("Print a JSON array"));
  enc->add_flag("--replace-invalid", encode.replace_invalid,
                std::string("Replace invalid UTF-8 with U+FFFD instead of failing"));
  enc->callback([&ctx] { ctx.exit_code = RunEncode(encode); });

  static std::string decode_tokenizer = "cl100k_base";
  auto* dec = data->add_subcommand("decode", "Decode token ids on stdin (spaces or JSON array)");
  dec->add_option("--tokenizer", decode_tokenizer, tokenizer_help)->capture_default_str();
  dec->callback([&ctx] { ctx.exit_code = RunDecode(decode_tokenizer); });

  static PrepareFlags prepare;
  auto* prep = data->add_subcommand(
      "prepare", "Tokenize a corpus into train/validation token shards with manifests");
  prep->add_option("--tokenizer", prepare.options.tokenizer, tokenizer_help)->capture_default_str();
  prep->add_option("--input", prepare.options.inputs,
                   "'brown' (the bundled Brown corpus), text files, folders or .jsonl files")
      ->required();
  prep->add_option("--out", prepare.options.out_dir, "Output folder")->required();
  prep->add_option("--validation-fraction", prepare.options.validation_fraction,
                   "Fraction of documents held out for validation (by a hash of their id)")
      ->capture_default_str();
  prep->add_option("--threads", prepare.options.threads, "Encoding threads (0: all cores)")
      ->capture_default_str();
  prep->add_option("--shard-tokens", prepare.options.shard_tokens, "Tokens per shard")
      ->capture_default_str();
  prep->add_option("--text-field", prepare.options.corpus.text_field,
                   "JSONL field holding the text")
      ->capture_default_str();
  prep->add_flag("--replace-invalid", prepare.options.corpus.replace_invalid,
                 std::string("Replace invalid UTF-8 with U+FFFD instead of failing"));
  prep->add_option("--special", prepare.special,
                   "Special-token text in documents: text (ordinary text), allow or reject")
      ->capture_default_str();
  prep->callback([&ctx] { ctx.exit_code = RunPrepare(prepare); });
});

}  // namespace
}  // namespace flopwise::cli
