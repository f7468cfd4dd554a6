// The metrics registry and its text exposition (format 0.0.4): the exact lines, label and
// help escaping, cumulative histogram buckets, and counts from many threads at once.
#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace mailstead::metrics {
namespace {

TEST(Metrics, RendersCountersAndGaugesWithHelpAndType) {
  Registry r;
  auto& ok = r.counter("x_logins_total", "Logins, by result", {{"result", "ok"}});
  auto& bad = r.counter("x_logins_total", "ignored on the second child", {{"result", "failed"}});
  ok.inc(3);
  ++bad;
  r.gauge("x_open", "Open now").set(-2);
  EXPECT_EQ(&ok, &r.counter("x_logins_total", "", {{"result", "ok"}}));  // the same child again
  EXPECT_EQ(r.render(),
            "# HELP x_logins_total Logins, by result\n"
            "# TYPE x_logins_total counter\n"
            "x_logins_total{result=\"ok\"} 3\n"
            "x_logins_total{result=\"failed\"} 1\n"
            "# HELP x_open Open now\n"
            "# TYPE x_open gauge\n"
            "x_open -2\n");
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
  Registry r;
  r.counter("x_total", "a \\ back\nslash", {{"path", "a\"b\\c\nd"}}).inc();
  EXPECT_EQ(r.render(),
            "# HELP x_total a \\\\ back\\nslash\n"
            "# TYPE x_total counter\n"
            "x_total{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  auto& h = r.histogram("x_seconds", "Latency", {0.001, 0.01, 0.1}, {{"op", "commit"}});
  h.observe(0.0005);
  h.observe(0.001);  // le is inclusive
  h.observe(0.05);
  h.observe(3);
  r.histogram("x_small_seconds", "Small", {0.0005});
  EXPECT_EQ(r.render(),
            "# HELP x_seconds Latency\n"
            "# TYPE x_seconds histogram\n"
            "x_seconds_bucket{op=\"commit\",le=\"0.001\"} 2\n"
            "x_seconds_bucket{op=\"commit\",le=\"0.01\"} 2\n"
            "x_seconds_bucket{op=\"commit\",le=\"0.1\"} 3\n"
            "x_seconds_bucket{op=\"commit\",le=\"+Inf\"} 4\n"
            "x_seconds_sum{op=\"commit\"} 3.0515\n"
            "x_seconds_count{op=\"commit\"} 4\n"
            "# HELP x_small_seconds Small\n"
            "# TYPE x_small_seconds histogram\n"
            "x_small_seconds_bucket{le=\"0.0005\"} 0\n"
            "x_small_seconds_bucket{le=\"+Inf\"} 0\n"
            "x_small_seconds_sum 0\n"
            "x_small_seconds_count 0\n");
}

TEST(Metrics, GaugeFunctionsAreReadWhenRendered) {
  Registry r;
  double v = 1.5;
  r.gauge_fn("x_depth", "Depth", [&] { return v; });
  EXPECT_NE(r.render().find("x_depth 1.5\n"), std::string::npos);
  v = 7;
  EXPECT_NE(r.render().find("x_depth 7\n"), std::string::npos);
}

TEST(Metrics, CountsFromManyThreadsAreExact) {
  Registry r;
  auto& c = r.counter("x_total", "n");
  auto& g = r.gauge("x_open", "n");
  auto& h = r.histogram("x_seconds", "n", latency_buckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) {
        ++c;
        GaugeHold hold(g);
        h.observe(0.002);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 400000u);
  EXPECT_EQ(g.value(), 0);
  EXPECT_EQ(h.cumulative().back(), 400000u);
}

}  // namespace
}  // namespace mailstead::metrics
