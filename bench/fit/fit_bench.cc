// Benchmark of the fits: 4 architectures x 1,376 checkpoints from the paper's
// laws, all three methods, N bootstrap resamples (default 1,000), timed; then
// the same fits with SciPy (bench/fit/scipy_peer.py) on the same data and the
// same resamples, in the same run, which prints the coefficient agreement and
// the speed ratio.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "fitting/fit.h"
#include "fitting/resample.h"
#include "fitting/synthetic.h"

namespace flopwise::fitting {
namespace {

nlohmann::json Coefs(const CoefVector& c) {
  nlohmann::json j = nlohmann::json::object();
  for (int i = 0; i < kCoefCount; ++i) {
    j[std::string(CoefName(static_cast<Coef>(i)))] =
        std::isfinite(c[i]) ? nlohmann::json(c[i]) : nlohmann::json(nullptr);
  }
  return j;
}

int Main(int argc, char** argv) {
  CLI::App app{"flopwise fitting benchmark"};
  int resamples = 1000, peer_resamples = 20, sizes = 8, checkpoints = 172;
  std::string out_dir = (std::filesystem::temp_directory_path() / "flopwise_bench_fit").string();
  std::string peer = "bench/fit/scipy_peer.py";
  std::string law = "paper";
  app.add_option("--resamples", resamples, "bootstrap resamples (flopwise)")->capture_default_str();
  app.add_option("--peer-resamples", peer_resamples,
                 "bootstrap resamples SciPy runs (timed, then scaled)")
      ->capture_default_str();
  app.add_option("--sizes", sizes, "model sizes per architecture")->capture_default_str();
  app.add_option("--checkpoints", checkpoints, "checkpoints per run")->capture_default_str();
  app.add_option("--out", out_dir, "folder for the data handed to the peer")->capture_default_str();
  app.add_option("--peer", peer, "SciPy peer script")->capture_default_str();
  app.add_option("--law", law,
                 "data from the paper's four laws, or Chinchilla's L(N,D) with four E")
      ->check(CLI::IsMember({"paper", "chinchilla"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<CheckpointRecord> records;
  const char* kArchs[] = {"llama", "tnl", "hgrn2", "cos2"};
  for (int a = 0; a < 4; ++a) {
    std::vector<CheckpointRecord> r;
    if (law == "paper") {
      PaperCurveOptions data;
      data.model_sizes = sizes;
      data.checkpoints_per_run = checkpoints;
      data.span_decades = 0.8;
      data.loss_noise = 0.01;
      data.seed = a + 1;
      r = PaperLawRecords(PublishedPaperLaws()[a], data);
    } else {
      ChinchillaLaw chinchilla;
      chinchilla.e = 1.69 + 0.05 * a;
      ChinchillaCurveOptions data;
      data.arch = kArchs[a];
      data.model_sizes.clear();
      for (int i = 0; i < sizes; ++i)
        data.model_sizes.push_back(1e7 * std::pow(10.0, 3.5 * i / (sizes - 1)));
      data.checkpoints_per_run = checkpoints;
      data.loss_noise = 0.01;
      data.seed = a + 1;
      r = ChinchillaRecords(chinchilla, data);
    }
    records.insert(records.end(), r.begin(), r.end());
  }
  FitOptions options;
  options.unit = ComputeUnit::kPfDays;
  options.bootstrap_resamples = resamples;
  std::printf(
      "data: %s laws, %zu checkpoints (4 archs x %d sizes x %d), C in PF-days, bootstrap %d\n",
      law.c_str(), records.size(), sizes, checkpoints, resamples);
  // One timed fit per method (each with its holdout and bootstrap); the
  // coefficients of a method come from its own fit.
  nlohmann::json cpu_seconds = nlohmann::json::object();
  std::vector<CoefVector> coefs(4), draws(4 * resamples);
  std::vector<int> run_counts(4);
  double total_cpu = 0, total_wall = 0;
  for (auto [method, name] : {std::pair{kPaper, "paper"}, std::pair{kApproach2, "approach2"},
                              std::pair{kApproach3, "approach3"}}) {
    options.methods = method;
    const auto start = std::chrono::steady_clock::now();
    const std::clock_t cpu_start = std::clock();
    auto fit = FitScalingLaws(records, options);
    const double cpu = double(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!fit.ok()) {
      std::fprintf(stderr, "%s fit failed: %s\n", name,
                   std::string(fit.status().message()).c_str());
      return 1;
    }
    std::printf(
        "flopwise %-9s full fit + holdout + %d resamples x 4 archs: %7.2f s CPU (%.2f s wall)\n",
        name, resamples, cpu, wall);
    cpu_seconds[name] = cpu;
    total_cpu += cpu;
    total_wall += wall;
    for (size_t a = 0; a < 4; ++a) {
      const ArchFit& f = fit->archs[a];
      run_counts[a] = f.runs;
      auto merge = [&](CoefVector& into, const CoefVector& from) {
        for (int c = 0; c < kCoefCount; ++c) {
          if (std::isfinite(from[c])) into[c] = from[c];
        }
      };
      if (method == kPaper) coefs[a].fill(NAN);
      merge(coefs[a], f.coefs);
      for (int b = 0; b < resamples; ++b) {
        if (method == kPaper) draws[a * resamples + b].fill(NAN);
        merge(draws[a * resamples + b], f.draws[b]);
      }
    }
  }
  std::printf("flopwise all methods: %.2f s CPU (%.2f s wall)\n", total_cpu, total_wall);

  std::filesystem::create_directories(out_dir);
  {
    std::ofstream csv(out_dir + "/records.csv");
    csv << "arch,run,n_params,tokens,flops,loss\n";
    csv.precision(17);
    for (const CheckpointRecord& r : records) {
      csv << r.arch << ',' << r.run << ',' << r.n_params << ',' << r.tokens << ',' << r.flops << ','
          << r.loss << '\n';
    }
  }
  nlohmann::json doc = {{"cpu_seconds", cpu_seconds},
                        {"resamples", resamples},
                        {"peer_resamples", std::min(peer_resamples, resamples)},
                        {"envelope_grid_points", options.envelope_grid_points},
                        {"isoflop_levels", options.isoflop_levels},
                        {"huber_delta", options.approach3.huber_delta},
                        {"solves", options.approach3.solves},
                        {"bootstrap_solves", options.approach3.bootstrap_solves},
                        {"grid",
                         {{"log_a", options.approach3.log_a},
                          {"log_b", options.approach3.log_b},
                          {"log_e", options.approach3.log_e},
                          {"alpha", options.approach3.alpha},
                          {"beta", options.approach3.beta}}},
                        {"archs", nlohmann::json::array()}};
  const char* kSorted[] = {"cos2", "hgrn2", "llama", "tnl"};  // the fit's arch order
  for (size_t a = 0; a < 4; ++a) {
    nlohmann::json arch = {
        {"arch", kSorted[a]}, {"coefs", Coefs(coefs[a])}, {"draws", nlohmann::json::array()}};
    for (int b = 0; b < std::min(peer_resamples, resamples); ++b) {
      arch["draws"].push_back({{"runs", ResampleRuns(run_counts[a], options.seed, a, b)},
                               {"coefs", Coefs(draws[a * resamples + b])}});
    }
    doc["archs"].push_back(std::move(arch));
  }
  std::ofstream(out_dir + "/flopwise.json") << doc.dump();
  std::fflush(stdout);
  // Single-threaded BLAS in the peer, as flopwise runs on one thread.
  const std::string command =
      "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 " + peer + " " + out_dir;
  return std::system(command.c_str()) == 0 ? 0 : 1;
}

}  // namespace
}  // namespace flopwise::fitting

int main(int argc, char** argv) { return flopwise::fitting::Main(argc, argv); }
