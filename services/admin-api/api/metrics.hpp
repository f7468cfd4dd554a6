// The admin API's own counters, in Prometheus' text format on [admin] metrics_listen, with
// gauges read from the store when scraped (docs/admin-api.md "Metrics").
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace mailstead::api {

class Histogram {
 public:
  static constexpr std::array<double, 12> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                 0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  void observe(double seconds);
  std::string render(const std::string& name, const std::string& help) const;

 private:
  mutable std::mutex mu_;
  std::array<std::uint64_t, bounds.size()> counts_{};
  std::uint64_t count_ = 0;
  double sum_ = 0;
};

struct Metrics {
  std::atomic<std::uint64_t> requests_2xx{0}, requests_4xx{0}, requests_5xx{0};
  std::atomic<std::uint64_t> logins_ok{0}, logins_failed{0}, logins_throttled{0};
  Histogram commit_seconds;  // the admin API's store commits, submit to durable
};

}  // namespace mailstead::api
