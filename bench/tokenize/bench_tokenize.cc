// cl100k_base encoding speed on the Brown corpus: ours on one thread and on
// N threads, against js-tiktoken under node on the same documents, measured
// in the same run. Prints `ours=... js=... ratio=...`.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "worker/data/corpus.h"
#include "worker/data/data_dir.h"
#include "worker/data/tokenizer.h"

namespace {

using flopwise::data::Document;
using flopwise::data::SpecialTokens;
using flopwise::data::Tokenizer;
using Clock = std::chrono::steady_clock;

// Encodes every document with `threads` threads; returns the token count.
int64_t EncodeAll(const Tokenizer& tokenizer, const std::vector<Document>& docs, int threads) {
  std::atomic<size_t> next{0};
  std::atomic<int64_t> tokens{0};
  const auto work = [&] {
    std::vector<int32_t> ids;
    for (size_t i = next++; i < docs.size(); i = next++) {
      ids.clear();
      if (!tokenizer.Encode(docs[i].text, SpecialTokens::kAsText, &ids).ok()) std::abort();
      tokens += static_cast<int64_t>(ids.size());
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& thread : pool) thread.join();
  return tokens;
}

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct Speed {
  double wall_mb_per_s;  // best repetition, wall clock
  double cpu_mb_per_s;   // all repetitions, per CPU-second of the process
};

// Repeats encoding the corpus for `seconds` in all.
Speed Measure(const Tokenizer& tokenizer, const std::vector<Document>& docs, int threads,
              double seconds, uint64_t bytes) {
  double best = 1e30;
  int repetitions = 0;
  const double cpu_start = ProcessCpuSeconds();
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  do {
    const auto start = Clock::now();
    EncodeAll(tokenizer, docs, threads);
    best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
    ++repetitions;
  } while (Clock::now() < deadline);
  const double cpu = ProcessCpuSeconds() - cpu_start;
  return {bytes / 1e6 / best, repetitions * bytes / 1e6 / cpu};
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const int threads =
      argc > 2 ? std::atoi(argv[2]) : static_cast<int>(std::thread::hardware_concurrency());
  auto tokenizer = Tokenizer::Load("cl100k_base");
  auto reader = flopwise::data::DocumentReader::Open({"brown"}, {});
  auto package =
      flopwise::data::FindDataFile("npm/node_modules/js-tiktoken", "run scripts/install-deps.sh");
  if (!tokenizer.ok() || !reader.ok() || !package.ok()) {
    std::fprintf(stderr, "bench_tokenize: %s %s %s\n", tokenizer.status().ToString().c_str(),
                 reader.status().ToString().c_str(), package.status().ToString().c_str());
    return 1;
  }
  std::vector<Document> docs;
  uint64_t bytes = 0;
  for (Document doc; (*reader)->Next(&doc).value_or(false);) {
    bytes += doc.text.size();
    docs.push_back(doc);
  }
  const int64_t tokens = EncodeAll(**tokenizer, docs, 1);
  const Speed ours_1 = Measure(**tokenizer, docs, 1, seconds, bytes);
  const Speed ours_n = Measure(**tokenizer, docs, threads, seconds, bytes);

  const auto docs_path = std::filesystem::temp_directory_path() /
                         ("flopwise-bench-docs-" + std::to_string(::getpid()) + ".json");
  {
    nlohmann::json texts = nlohmann::json::array();
    for (const Document& doc : docs) texts.push_back(doc.text);
    std::ofstream(docs_path) << texts.dump();
  }
  const std::string command = std::string("node ") + FLOPWISE_SOURCE_DIR +
                              "/bench/tokenize/js_tiktoken_bench.mjs " + *package + " " +
                              docs_path.string() + " " + std::to_string(seconds);
  std::string js_output;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[512];
    while (std::fgets(buffer, sizeof(buffer), pipe)) js_output += buffer;
    ::pclose(pipe);
  }
  std::filesystem::remove(docs_path);
  const nlohmann::json js = nlohmann::json::parse(js_output, nullptr, false);
  if (js.is_discarded() || !js.contains("mb_per_s")) {
    std::fprintf(stderr, "bench_tokenize: the js-tiktoken peer failed: %s\n", command.c_str());
    return 1;
  }
  const double js_mb_per_s = js["mb_per_s"].get<double>();
  std::printf("corpus: brown, %zu documents, %.2f MB, %lld tokens (js-tiktoken: %lld)\n",
              docs.size(), bytes / 1e6, static_cast<long long>(tokens),
              js["tokens"].get<long long>());
  std::printf("ours=%.2f MB/s js=%.2f MB/s ratio=%.2f (one thread each, wall clock)\n",
              ours_1.wall_mb_per_s, js_mb_per_s, ours_1.wall_mb_per_s / js_mb_per_s);
  std::printf("threads=%d ours=%.2f MB/s scaling=%.2fx (wall clock)\n", threads,
              ours_n.wall_mb_per_s, ours_n.wall_mb_per_s / ours_1.wall_mb_per_s);
  const double js_cpu_mb_per_s = js.value("cpu_mb_per_s", 0.0);
  std::printf("per CPU-second: ours=%.2f MB js=%.2f MB ratio=%.2f (one thread each)\n",
              ours_1.cpu_mb_per_s, js_cpu_mb_per_s, ours_1.cpu_mb_per_s / js_cpu_mb_per_s);
  std::printf("per CPU-second: 1 thread %.2f MB, %d threads %.2f MB (parallel efficiency %.2f)\n",
              ours_1.cpu_mb_per_s, threads, ours_n.cpu_mb_per_s,
              ours_n.cpu_mb_per_s / ours_1.cpu_mb_per_s);
  std::ifstream loadavg("/proc/loadavg");
  std::string load_1min;
  if (loadavg >> load_1min) std::printf("load average (1 min) at the end: %s\n", load_1min.c_str());
  return 0;
}
