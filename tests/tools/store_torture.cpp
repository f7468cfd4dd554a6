// store-torture: drives the real store from several processes for the integration tests.
//   write  --dir D --writer W --count N [--concurrency C] [--map-size BYTES]
//          commits N batches (key t:W:i, and a per-writer counter) from C threads and
//          prints "ack W i" only after each batch's completion reported it durable
//   verify --dir D --writer W --count N      exit 0 when all N keys and the counter agree
//   check  --dir D                           reads "ack W i" lines on stdin; exit 0 when all are present
#include <atomic>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"
#include "util/bytes.hpp"

using namespace mailstead;

namespace {

std::string key(int writer, long i) { return "t:" + std::to_string(writer) + ":" + std::to_string(i); }

std::unique_ptr<store::Store> open_at(const std::string& dir, std::uint64_t map_size) {
  std::error_code ec;
  std::string why;
  auto s = store::open({dir, map_size, 4096, 1024}, ec, why);
  if (!s) {
    std::fprintf(stderr, "store-torture: %s\n", why.c_str());
    std::exit(1);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: store-torture write|verify|check --dir D ...\n");
    return 2;
  }
  std::string mode = argv[1];
  std::map<std::string, std::string> o;
  for (int i = 2; i + 1 < argc; i += 2) o[argv[i]] = argv[i + 1];
  std::string dir = o["--dir"];
  int writer = std::atoi(o.count("--writer") ? o["--writer"].c_str() : "0");
  long count = std::atol(o.count("--count") ? o["--count"].c_str() : "0");
  int concurrency = std::atoi(o.count("--concurrency") ? o["--concurrency"].c_str() : "16");
  std::uint64_t map_size = o.count("--map-size") ? std::stoull(o["--map-size"]) : (1ull << 30);

  auto s = open_at(dir, map_size);
  if (mode == "write") {
    std::atomic<long> next{0};
    std::mutex out;
    std::atomic<int> failures{0};
    std::string payload(100, 'p');
    std::vector<std::thread> threads;
    for (int t = 0; t < concurrency; ++t) {
      threads.emplace_back([&] {
        for (long i; (i = next++) < count;) {
          auto ec = s->commit_sync([&, i](store::WriteTxn& txn) -> std::error_code {
            if (auto e = txn.put(store::Table::meta, key(writer, i), payload)) return e;
            auto ck = "count:" + std::to_string(writer);
            std::uint64_t n = 0;
            if (auto v = txn.get(store::Table::meta, ck); v && v->size() == 8) n = get_be64(*v);
            return txn.put(store::Table::meta, ck, key_u64(n + 1));
          });
          if (ec) {
            ++failures;
            continue;
          }
          std::lock_guard l(out);
          std::printf("ack %d %ld\n", writer, i);
          std::fflush(stdout);
        }
      });
    }
    for (auto& t : threads) t.join();
    return failures ? 1 : 0;
  }
  if (mode == "verify") {
    auto r = s->read();
    long present = 0;
    for (long i = 0; i < count; ++i) present += r->get(store::Table::meta, key(writer, i)).has_value();
    auto v = r->get(store::Table::meta, "count:" + std::to_string(writer));
    std::uint64_t counter = v && v->size() == 8 ? get_be64(*v) : 0;
    std::printf("present %ld counter %llu\n", present, static_cast<unsigned long long>(counter));
    return present == count && counter == static_cast<std::uint64_t>(count) ? 0 : 1;
  }
  if (mode == "check") {
    auto r = s->read();
    std::string word;
    int w = 0;
    long i = 0, acked = 0, missing = 0;
    while (std::cin >> word >> w >> i) {
      if (word != "ack") continue;
      ++acked;
      if (!r->get(store::Table::meta, key(w, i))) ++missing;
    }
    std::printf("acked %ld missing %ld\n", acked, missing);
    return missing == 0 ? 0 : 1;
  }
  std::fprintf(stderr, "store-torture: unknown mode %s\n", mode.c_str());
  return 2;
}
