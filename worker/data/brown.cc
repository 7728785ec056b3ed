#include "worker/data/brown.h"

#include <vector>

namespace flopwise::data {
namespace {

// Tokens written without a space before them.
bool AttachesLeft(std::string_view word) {
  static constexpr std::string_view kLeft[] = {",", ".", ";", ":", "?", "!", ")", "]", "''", "'"};
  for (std::string_view w : kLeft) {
    if (word == w) return true;
  }
  return false;
}

// Tokens written without a space after them.
bool AttachesRight(std::string_view word) { return word == "``" || word == "(" || word == "["; }

std::string_view Readable(std::string_view word) {
  if (word == "``" || word == "''") return "\"";
  return word;
}

// The word of a `word/tag` token: everything before the last slash.
std::string_view WordOf(std::string_view token) {
  const size_t slash = token.rfind('/');
  return slash == std::string_view::npos || slash == 0 ? token : token.substr(0, slash);
}

void AppendSentence(std::string_view line, std::string* out) {
  bool space_pending = false;
  bool first = true;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const size_t end = line.find_first_of(" \t", i);
    const std::string_view token = line.substr(i, end == std::string_view::npos ? end : end - i);
    i = end == std::string_view::npos ? line.size() : end;
    if (token.empty()) continue;
    const std::string_view word = WordOf(token);
    // An abbreviation ending a sentence ("Jr." then ".") keeps one period.
    if (word == "." && !out->empty() && out->back() == '.') continue;
    if (!first && space_pending && !AttachesLeft(word)) out->push_back(' ');
    out->append(Readable(word));
    space_pending = !AttachesRight(word);
    first = false;
  }
}

}  // namespace

std::string DetokenizeBrown(std::string_view tagged) {
  std::string out;
  out.reserve(tagged.size() / 2);
  size_t start = 0;
  while (start < tagged.size()) {
    size_t end = tagged.find('\n', start);
    if (end == std::string_view::npos) end = tagged.size();
    const std::string_view line = tagged.substr(start, end - start);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
      if (!out.empty()) out.push_back('\n');
      AppendSentence(line, &out);
    }
    start = end + 1;
  }
  if (!out.empty()) out.push_back('\n');
  return out;
}

bool IsBrownFileName(std::string_view name) {
  return name.size() == 4 && name[0] == 'c' && name[1] >= 'a' && name[1] <= 'r' && name[2] >= '0' &&
         name[2] <= '9' && name[3] >= '0' && name[3] <= '9';
}

}  // namespace flopwise::data
