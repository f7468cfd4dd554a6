// Prometheus metrics: counters, gauges and histograms that cost one relaxed atomic add on
// the hot path, kept in a registry that renders the text exposition format 0.0.4 when
// scraped. Every service exports its process's registry on its `metrics_listen` address
// (docs/metrics.md lists each metric).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace mailstead::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  Counter& operator++() noexcept {
    inc();
    return *this;
  }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void inc(std::int64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  void dec(std::int64_t n = 1) noexcept { v_.fetch_sub(n, std::memory_order_relaxed); }
  void set(std::int64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

// Raises a gauge for as long as it lives (a session in progress, an IDLE in progress).
class GaugeHold {
 public:
  explicit GaugeHold(Gauge& g) noexcept : g_(&g) { g_->inc(); }
  GaugeHold(const GaugeHold&) = delete;
  GaugeHold& operator=(const GaugeHold&) = delete;
  ~GaugeHold() { g_->dec(); }

 private:
  Gauge* g_;
};

// Bucket counts are kept per bucket (not cumulative) so an observation is two atomic adds
// and one for the sum; the exposition adds them up.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v) noexcept;
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Cumulative counts per bound, then the +Inf count (== the total), and the sum.
  std::vector<std::uint64_t> cumulative() const;
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // bounds_.size() + 1 (the +Inf bucket)
  std::atomic<double> sum_{0};
};

// Latency buckets in seconds, 0.5 ms to 10 s: store commits, handshakes.
std::vector<double> latency_buckets();

// Families by name, in the order registered; children by label set. Asking again for the
// same name and labels gives the same metric, so services take references once at start
// and the hot path never touches the registry. Registering and rendering take a lock.
class Registry {
 public:
  Registry();
  ~Registry();
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
                       const Labels& labels = {});
  // A gauge computed when scraped (queue depth read from the store). `read` runs on the
  // scraping thread; it must be safe there.
  void gauge_fn(const std::string& name, const std::string& help, std::function<double()> read,
                const Labels& labels = {});
  // The text exposition format 0.0.4.
  std::string render() const;

 private:
  struct Family;
  Family& family(const std::string& name, const std::string& help, int type);
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
};

// The process's registry (one per process, as its logger is).
Registry& process();

// The Content-Type of the exposition.
inline constexpr const char* content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace mailstead::metrics
