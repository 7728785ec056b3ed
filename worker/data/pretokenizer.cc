#define PCRE2_CODE_UNIT_WIDTH 8
#include "worker/data/pretokenizer.h"

#include <pcre2.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace flopwise::data {
namespace {

std::string PcreMessage(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

// Per-thread match state: match data, and a JIT stack large enough for long
// whitespace runs (the look-ahead alternatives backtrack over them).
struct MatchScratch {
  MatchScratch()
      : match_data(pcre2_match_data_create(1, nullptr)),
        jit_stack(pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, nullptr)),
        context(pcre2_match_context_create(nullptr)) {
    pcre2_jit_stack_assign(context, nullptr, jit_stack);
  }
  ~MatchScratch() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_data_free(match_data);
  }
  pcre2_match_data* match_data;
  pcre2_jit_stack* jit_stack;
  pcre2_match_context* context;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Pretokenizer>> Pretokenizer::Compile(const std::string& pattern) {
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                    PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error, &error_offset, nullptr);
  if (code == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("pre-tokenization pattern at offset ",
                                                   error_offset, ": ", PcreMessage(error)));
  }
  if (const int rc = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); rc != 0) {
    pcre2_code_free(code);
    return absl::InternalError(absl::StrCat("PCRE2 JIT compile: ", PcreMessage(rc)));
  }
  return std::unique_ptr<Pretokenizer>(new Pretokenizer(code));
}

Pretokenizer::~Pretokenizer() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

absl::StatusOr<bool> Pretokenizer::Match(std::string_view text, size_t offset, size_t* start,
                                         size_t* end) const {
  thread_local MatchScratch scratch;
  const int rc =
      pcre2_jit_match(static_cast<pcre2_code*>(code_), reinterpret_cast<PCRE2_SPTR>(text.data()),
                      text.size(), offset, PCRE2_NO_UTF_CHECK, scratch.match_data, scratch.context);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) {
    return absl::InternalError(
        absl::StrCat("pre-tokenization at byte ", offset, ": ", PcreMessage(rc)));
  }
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(scratch.match_data);
  *start = ovector[0];
  *end = ovector[1];
  return true;
}

}  // namespace flopwise::data
