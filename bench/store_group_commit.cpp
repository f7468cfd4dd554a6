// bench-store: group commit against one fsync per batch (DESIGN principle 2).
// For 1, 8 and 64 concurrent submitters, each submitting a small batch and waiting for
// it to be durable before the next, reports batches/s with the group-commit writer
// (max_batches_per_commit = 1024) and with one transaction + fsync per batch (= 1).
// Each figure is the median of --runs runs of --seconds seconds, in a fresh store.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"
#include "util/bytes.hpp"

using namespace mailstead;
using Clock = std::chrono::steady_clock;

namespace {

struct Run {
  double batches_per_s = 0;
  double fsyncs_hint = 0;
};

double run_once(const std::string& dir, int submitters, std::uint32_t max_batches, double seconds) {
  std::filesystem::remove_all(dir);
  std::error_code ec;
  std::string why;
  auto s = store::open({dir, 1ull << 30, 4096, max_batches}, ec, why);
  if (!s) {
    std::fprintf(stderr, "bench-store: %s\n", why.c_str());
    std::exit(1);
  }
  std::atomic<bool> stop{false};
  std::atomic<long> done{0};
  std::string payload(120, 'm');  // about one message record
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int t = 0; t < submitters; ++t) {
    threads.emplace_back([&, t] {
      for (std::uint32_t i = 0; !stop; ++i) {
        auto e = s->commit_sync([&, t, i](store::WriteTxn& txn) {
          return txn.put(store::Table::messages, key_u64_u32(static_cast<std::uint64_t>(t), i), payload);
        });
        if (!e) ++done;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : threads) th.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  s.reset();
  std::filesystem::remove_all(dir);
  return static_cast<double>(done) / elapsed;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = std::filesystem::temp_directory_path() / "mailstead-bench-store";
  int runs = 3;
  double seconds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--dir") dir = argv[i + 1];
    else if (a == "--runs") runs = std::atoi(argv[i + 1]);
    else if (a == "--seconds") seconds = std::atof(argv[i + 1]);
  }
  std::printf("| submitters | group commit (batches/s) | fsync per batch (batches/s) | ratio |\n");
  std::printf("|---:|---:|---:|---:|\n");
  for (int submitters : {1, 8, 64}) {
    std::vector<double> group, single;
    for (int r = 0; r < runs; ++r) {
      group.push_back(run_once(dir, submitters, 1024, seconds));
      single.push_back(run_once(dir, submitters, 1, seconds));
    }
    double g = median(group), s = median(single);
    std::printf("| %d | %.0f | %.0f | %.2f |\n", submitters, g, s, g / s);
    std::fflush(stdout);
  }
}
