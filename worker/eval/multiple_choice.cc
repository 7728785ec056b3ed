#include "worker/eval/multiple_choice.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace flopwise::eval {
namespace {

absl::StatusOr<McDocument> ParseDocument(const std::string& line) {
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("not a JSON object");
  McDocument doc;
  const char* context_key = j.contains("query") ? "query" : "context";
  if (!j.contains(context_key) || !j[context_key].is_string()) {
    return absl::InvalidArgumentError("needs a string \"query\" or \"context\"");
  }
  doc.context = j[context_key].get<std::string>();
  if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].size() < 2) {
    return absl::InvalidArgumentError("needs \"choices\": an array of at least two strings");
  }
  for (const auto& choice : j["choices"]) {
    if (!choice.is_string()) return absl::InvalidArgumentError("\"choices\" must hold strings");
    doc.choices.push_back(choice.get<std::string>());
  }
  if (!j.contains("gold") || !j["gold"].is_number_integer()) {
    return absl::InvalidArgumentError("needs an integer \"gold\"");
  }
  doc.gold = j["gold"].get<int>();
  if (doc.gold < 0 || doc.gold >= static_cast<int>(doc.choices.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"gold\" ", doc.gold, " is not an index of the ", doc.choices.size(), " choices"));
  }
  return doc;
}

// lm-evaluation-harness's pair encoding: trailing spaces of the context move
// to the continuation; the continuation's ids are those of the joined text
// after the context's own ids.
absl::Status EncodePair(const data::Tokenizer& tokenizer, std::string context,
                        std::string continuation, LoglikelihoodRequest* request) {
  const size_t kept = context.find_last_not_of(' ');
  const size_t cut = kept == std::string::npos ? 0 : kept + 1;
  continuation = context.substr(cut) + continuation;
  context.resize(cut);
  std::vector<int32_t> whole, context_ids;
  if (absl::Status s =
          tokenizer.Encode(context + continuation, data::SpecialTokens::kAsText, &whole);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = tokenizer.Encode(context, data::SpecialTokens::kAsText, &context_ids);
      !s.ok()) {
    return s;
  }
  request->context = {tokenizer.eot_id()};
  request->context.insert(request->context.end(), context_ids.begin(), context_ids.end());
  request->continuation.assign(whole.begin() + std::min(context_ids.size(), whole.size()),
                               whole.end());
  if (request->continuation.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("choice \"", continuation, "\" has no tokens"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<McDocument>> ReadMcTaskFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("task file ", path, ": cannot be read"));
  std::vector<McDocument> documents;
  std::string line;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto doc = ParseDocument(line);
    if (!doc.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("task file ", path, ":", line_number, ": ", doc.status().message()));
    }
    documents.push_back(*std::move(doc));
  }
  if (documents.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("task file ", path, ": holds no documents"));
  }
  return documents;
}

absl::Status WriteMcTaskFile(const std::vector<McDocument>& documents, const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  for (const McDocument& doc : documents) {
    out << nlohmann::json{{"query", doc.context}, {"choices", doc.choices}, {"gold", doc.gold}}
               .dump()
        << "\n";
  }
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("task file ", path, ": cannot be written"));
  return absl::OkStatus();
}

int ArgMax(const std::vector<double>& values) {
  int best = 0;
  for (size_t i = 1; i < values.size(); ++i) {
    if (values[i] > values[best]) best = static_cast<int>(i);
  }
  return best;
}

double AccOf(const std::vector<double>& loglikelihoods, int gold) {
  return ArgMax(loglikelihoods) == gold ? 1.0 : 0.0;
}

double AccNormOf(const std::vector<double>& loglikelihoods, const std::vector<std::string>& choices,
                 int gold) {
  std::vector<double> per_character(loglikelihoods.size());
  for (size_t i = 0; i < loglikelihoods.size(); ++i) {
    per_character[i] = loglikelihoods[i] / static_cast<double>(CharacterCount(choices[i]));
  }
  return ArgMax(per_character) == gold ? 1.0 : 0.0;
}

int64_t CharacterCount(const std::string& utf8) {
  int64_t count = 0;
  for (unsigned char c : utf8) count += (c & 0xC0) != 0x80;  // count lead bytes
  return count;
}

absl::StatusOr<McResult> ScoreMultipleChoice(const std::string& task,
                                             const std::vector<McDocument>& documents,
                                             const data::Tokenizer& tokenizer,
                                             LanguageModel* model) {
  McResult result;
  result.task = task;
  // Every choice of every document in one call, so the model fills its batches.
  std::vector<LoglikelihoodRequest> requests;
  for (size_t d = 0; d < documents.size(); ++d) {
    const McDocument& doc = documents[d];
    for (const std::string& choice : doc.choices) {
      LoglikelihoodRequest request;
      if (absl::Status s = EncodePair(tokenizer, doc.context, " " + choice, &request); !s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(task, ": document ", d + 1, ": ", s.message()));
      }
      requests.push_back(std::move(request));
    }
  }
  auto loglikelihoods = model->Loglikelihoods(requests);
  if (!loglikelihoods.ok()) return loglikelihoods.status();
  size_t at = 0;
  for (const McDocument& doc : documents) {
    const std::vector<double> scores(loglikelihoods->begin() + at,
                                     loglikelihoods->begin() + at + doc.choices.size());
    at += doc.choices.size();
    result.acc += AccOf(scores, doc.gold);
    result.acc_norm += AccNormOf(scores, doc.choices, doc.gold);
    ++result.documents;
  }
  if (result.documents > 0) {
    result.acc /= result.documents;
    result.acc_norm /= result.documents;
  }
  return result;
}

}  // namespace flopwise::eval
