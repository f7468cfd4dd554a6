// The metrics registry and its text exposition (format 0.0.4: `# HELP`, `# TYPE`, then one
// `name{labels} value` line per sample; histograms as `_bucket{le=...}`, `_sum`, `_count`).
#include "metrics/metrics.hpp"

#include <cmath>
#include <charconv>
#include <cstdlib>
#include <variant>

namespace mailstead::metrics {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) noexcept {
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) out[i] = running += counts_[i].load(std::memory_order_relaxed);
  return out;
}

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

namespace {

enum Type { counter_type, gauge_type, histogram_type };
const char* type_name(int t) { return t == counter_type ? "counter" : t == gauge_type ? "gauge" : "histogram"; }

// Label values: backslash, double quote and line feed escaped. HELP: backslash and line feed.
std::string escape(const std::string& s, bool quote) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quote) out += "\\\"";
    else out += c;
  }
  return out;
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  // The shortest text that reads back the same, without an exponent in the usual range
  // ("0.0005", not "5e-04").
  char buf[400];
  auto fmt = std::fabs(v) >= 1e-6 ? std::chars_format::fixed : std::chars_format::general;
  auto r = std::to_chars(buf, buf + sizeof buf, v, fmt);
  return std::string(buf, r.ptr);
}

std::string label_text(const Labels& labels, const std::string& extra_name = "", const std::string& extra_value = "") {
  if (labels.empty() && extra_name.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [n, v] : labels) {
    out += (first ? "" : ",") + n + "=\"" + escape(v, true) + "\"";
    first = false;
  }
  if (!extra_name.empty()) out += (first ? "" : ",") + extra_name + "=\"" + extra_value + "\"";
  return out + "}";
}

}  // namespace

struct Registry::Family {
  std::string name, help;
  int type;
  struct Child {
    Labels labels;
    std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>, std::unique_ptr<Histogram>, std::function<double()>>
        metric;
  };
  std::vector<Child> children;
  Child* find(const Labels& labels) {
    for (auto& c : children)
      if (c.labels == labels) return &c;
    return nullptr;
  }
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Family& Registry::family(const std::string& name, const std::string& help, int type) {
  for (auto& f : families_) {
    if (f->name != name) continue;
    if (f->type != type) std::abort();  // one name, two types: a programming error
    return *f;
  }
  families_.push_back(std::make_unique<Family>(Family{name, help, type, {}}));
  return *families_.back();
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& f = family(name, help, counter_type);
  if (auto* c = f.find(labels)) return *std::get<std::unique_ptr<Counter>>(c->metric);
  f.children.push_back({labels, std::make_unique<Counter>()});
  return *std::get<std::unique_ptr<Counter>>(f.children.back().metric);
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& f = family(name, help, gauge_type);
  if (auto* c = f.find(labels)) return *std::get<std::unique_ptr<Gauge>>(c->metric);
  f.children.push_back({labels, std::make_unique<Gauge>()});
  return *std::get<std::unique_ptr<Gauge>>(f.children.back().metric);
}

Histogram& Registry::histogram(const std::string& name, const std::string& help, const std::vector<double>& bounds,
                               const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& f = family(name, help, histogram_type);
  if (auto* c = f.find(labels)) return *std::get<std::unique_ptr<Histogram>>(c->metric);
  f.children.push_back({labels, std::make_unique<Histogram>(bounds)});
  return *std::get<std::unique_ptr<Histogram>>(f.children.back().metric);
}

void Registry::gauge_fn(const std::string& name, const std::string& help, std::function<double()> read,
                        const Labels& labels) {
  std::lock_guard lock(mu_);
  auto& f = family(name, help, gauge_type);
  if (auto* c = f.find(labels)) {
    c->metric = std::move(read);
    return;
  }
  f.children.push_back({labels, std::move(read)});
}

std::string Registry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  out.reserve(families_.size() * 160);
  for (const auto& f : families_) {
    out += "# HELP " + f->name + " " + escape(f->help, false) + "\n";
    out += "# TYPE " + f->name + " " + type_name(f->type) + "\n";
    for (const auto& c : f->children) {
      if (auto* h = std::get_if<std::unique_ptr<Histogram>>(&c.metric)) {
        auto counts = (*h)->cumulative();
        const auto& b = (*h)->bounds();
        for (std::size_t i = 0; i < b.size(); ++i)
          out += f->name + "_bucket" + label_text(c.labels, "le", number(b[i])) + " " + std::to_string(counts[i]) + "\n";
        out += f->name + "_bucket" + label_text(c.labels, "le", "+Inf") + " " + std::to_string(counts.back()) + "\n";
        out += f->name + "_sum" + label_text(c.labels) + " " + number((*h)->sum()) + "\n";
        out += f->name + "_count" + label_text(c.labels) + " " + std::to_string(counts.back()) + "\n";
        continue;
      }
      std::string value;
      if (auto* k = std::get_if<std::unique_ptr<Counter>>(&c.metric)) value = std::to_string((*k)->value());
      else if (auto* g = std::get_if<std::unique_ptr<Gauge>>(&c.metric)) value = std::to_string((*g)->value());
      else value = number(std::get<std::function<double()>>(c.metric)());
      out += f->name + label_text(c.labels) + " " + value + "\n";
    }
  }
  return out;
}

Registry& process() {
  static Registry registry;
  return registry;
}

}  // namespace mailstead::metrics
