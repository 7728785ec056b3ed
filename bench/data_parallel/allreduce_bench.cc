// bench_allreduce: the Gloo communicator's all-reduce throughput against the
// loopback link it runs on, in the same run (docs/perf.md, "Data-parallel
// efficiency"). R ranks on threads of this process meet through a file
// rendezvous and all-reduce a buffer of --floats floats --iters times; the
// link is a TCP connection over 127.0.0.1 carrying the same bytes one way,
// --iters times. The two sides alternate --repeats times; each line prints
// the median and min-max:
//
//   allreduce bytes=<B> ranks=<R> algbw_GBps=<m> [<min>-<max>] busbw_GBps=…
//     link_GBps=… busbw/link=… n=<repeats>
//
// algbw = bytes / time of one all-reduce; busbw = algbw · 2(R-1)/R, the bytes
// each rank sends and receives in a ring all-reduce (the convention of
// nccl-tests), which is what the link has to carry.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "comm/communicator.h"
#include "comm/file_key_value_store.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string line;
  std::getline(in, line);
  return line;
}

// Seconds for `iters` all-reduces of `floats` floats on each of `ranks` ranks
// (rank 0's clock, after a first all-reduce that connects the buffers).
double TimeAllReduce(const std::string& dir, int ranks, int64_t floats, int iters) {
  std::vector<double> seconds(static_cast<size_t>(ranks));
  std::vector<std::thread> threads;
  for (int rank = 0; rank < ranks; ++rank) {
    threads.emplace_back([&, rank] {
      auto store = flopwise::comm::FileKeyValueStore::Open(dir);
      if (!store.ok()) {
        std::fprintf(stderr, "rendezvous: %s\n", store.status().ToString().c_str());
        std::exit(1);
      }
      auto comm =
          flopwise::comm::MakeGlooCommunicator(**store, rank, ranks, flopwise::comm::GlooOptions{});
      if (!comm.ok()) {
        std::fprintf(stderr, "rank %d: %s\n", rank, comm.status().ToString().c_str());
        std::exit(1);
      }
      std::vector<float> data(static_cast<size_t>(floats), 1.0f);
      auto reduce = [&] {
        if (absl::Status s = (*comm)->AllReduceSum(data.data(), floats); !s.ok()) {
          std::fprintf(stderr, "rank %d: %s\n", rank, s.ToString().c_str());
          std::exit(1);
        }
      };
      reduce();
      if (absl::Status s = (*comm)->Barrier(); !s.ok()) std::exit(1);
      const Clock::time_point start = Clock::now();
      for (int i = 0; i < iters; ++i) reduce();
      seconds[static_cast<size_t>(rank)] = Seconds(start);
    });
  }
  for (std::thread& t : threads) t.join();
  return seconds[0];
}

// Seconds to send `bytes` over a loopback TCP connection `iters` times (the
// receiver's clock, until the last byte arrived).
double TimeLoopback(int64_t bytes, int iters) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::perror("loopback listener");
    std::exit(1);
  }
  std::thread sender([&] {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      std::perror("loopback connect");
      std::exit(1);
    }
    std::vector<char> buffer(static_cast<size_t>(bytes), 'x');
    for (int i = 0; i < iters; ++i) {
      for (int64_t sent = 0; sent < bytes;) {
        const ssize_t n = send(fd, buffer.data() + sent, static_cast<size_t>(bytes - sent), 0);
        if (n <= 0) std::exit(1);
        sent += n;
      }
    }
    close(fd);
  });
  const int fd = accept(listener, nullptr, nullptr);
  std::vector<char> buffer(static_cast<size_t>(bytes));
  const Clock::time_point start = Clock::now();
  for (int64_t received = 0; received < bytes * iters;) {
    const ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
    if (n <= 0) std::exit(1);
    received += n;
  }
  const double seconds = Seconds(start);
  sender.join();
  close(fd);
  close(listener);
  return seconds;
}

struct Spread {
  double median, min, max;
};

Spread SpreadOf(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return {values[values.size() / 2], values.front(), values.back()};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Gloo all-reduce throughput against the loopback link (docs/perf.md)"};
  int64_t floats = int64_t{1} << 20;
  int ranks = 2, iters = 20, repeats = 5;
  app.add_option("--floats", floats, "floats per all-reduce (default: one 4 MiB gradient bucket)")
      ->check(CLI::PositiveNumber);
  app.add_option("--ranks", ranks, "ranks, on threads of this process")->check(CLI::Range(2, 64));
  app.add_option("--iters", iters, "all-reduces (and link transfers) per repeat")
      ->check(CLI::PositiveNumber);
  app.add_option("--repeats", repeats, "repeats per side, interleaved")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  std::printf("# loadavg at the start: %s\n", LoadAverage().c_str());
  const int64_t bytes = floats * int64_t{sizeof(float)};
  const std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("flopwise-allreduce-" + std::to_string(getpid()));
  std::vector<double> algbw, busbw, link, ratio;
  for (int r = 0; r < repeats; ++r) {
    const std::filesystem::path dir = root / std::to_string(r);
    std::filesystem::create_directories(dir);
    const double reduce_s = TimeAllReduce(dir.string(), ranks, floats, iters) / iters;
    const double link_s = TimeLoopback(bytes, iters) / iters;
    const double alg = double(bytes) / reduce_s / 1e9;
    const double bus = alg * 2.0 * (ranks - 1) / ranks;
    const double wire = double(bytes) / link_s / 1e9;
    algbw.push_back(alg);
    busbw.push_back(bus);
    link.push_back(wire);
    ratio.push_back(bus / wire);
  }
  std::filesystem::remove_all(root);
  auto show = [](const char* name, const std::vector<double>& values) {
    const Spread s = SpreadOf(values);
    std::printf(" %s=%.3f [%.3f-%.3f]", name, s.median, s.min, s.max);
  };
  std::printf("allreduce bytes=%lld ranks=%d", static_cast<long long>(bytes), ranks);
  show("algbw_GBps", algbw);
  show("busbw_GBps", busbw);
  show("link_GBps", link);
  show("busbw/link", ratio);
  std::printf(" n=%d\n# loadavg at the end: %s\n", repeats, LoadAverage().c_str());
  return 0;
}
