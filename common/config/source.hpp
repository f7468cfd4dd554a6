// The bootstrap configuration as a source of typed, validated values: the TOML file,
// the separate secrets file, and MAILSTEAD_<SECTION>_<KEY> environment overrides.
// Every key read is recorded, so unknown keys can be reported with the file that has them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace mailstead::config {

// Start-up stops with this message: it names the file, the key and why.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Source {
 public:
  // Reads `path` (empty: only defaults and the environment). Throws ConfigError.
  static Source load(const std::string& path);
  // A source built from TOML text, for tests.
  static Source from_string(const std::string& toml_text, const std::string& name = "<string>");

  Source(Source&&) noexcept;
  Source& operator=(Source&&) noexcept;
  ~Source();

  // Each getter leaves `out` (the default) alone when the key is absent. `section` is ""
  // for top-level keys. Environment overrides win over the file.
  void get(const std::string& section, const std::string& key, std::string& out);
  void get(const std::string& section, const std::string& key, bool& out);
  void get(const std::string& section, const std::string& key, std::uint32_t& out,
           std::uint64_t min = 0, std::uint64_t max = UINT32_MAX);
  void get(const std::string& section, const std::string& key, std::vector<std::string>& out);
  // A number, integer or not (thresholds such as [spam] junk_threshold).
  void get(const std::string& section, const std::string& key, double& out, double min, double max);
  // Sizes: an integer of bytes or a string with a K/M/G suffix ("25M").
  void get_size(const std::string& section, const std::string& key, std::uint64_t& out,
                std::uint64_t min = 0, std::uint64_t max = UINT64_MAX);
  // Durations: an integer of seconds or a string with an ms/s/m/h suffix ("5m").
  void get_duration(const std::string& section, const std::string& key,
                    std::chrono::milliseconds& out);
  // Listener addresses "host:port" or "[v6]:port"; checked here.
  void get_listeners(const std::string& section, const std::string& key,
                     std::vector<std::string>& out);
  // Whether the key is set (in the file or the environment), whatever its type.
  bool has(const std::string& section, const std::string& key);
  // A value from the secrets file (or MAILSTEAD_SECRET_<SECTION>_<KEY>); never logged.
  void get_secret(const std::string& section, const std::string& key, std::string& out);

  // Throws ConfigError naming the first key in the file that no getter asked for.
  // Sections in `foreign` belong to other processes, which check them themselves.
  void check_unknown(const std::set<std::string>& foreign = {}) const;

  const std::string& path() const;
  [[noreturn]] void fail(const std::string& section, const std::string& key,
                         const std::string& why) const;

 private:
  struct Impl;
  explicit Source(std::unique_ptr<Impl>);
  std::unique_ptr<Impl> impl_;
};

// Splits "host:port" / "[v6]:port". Returns false when malformed.
bool split_host_port(const std::string& s, std::string& host, std::uint16_t& port);

}  // namespace mailstead::config

namespace mailstead::config {
// "1048576", "25M", "1G" → bytes. False when malformed.
bool parse_size(const std::string& s, std::uint64_t& out);
}  // namespace mailstead::config

namespace mailstead::config {
// The keys every protocol service's section has alike: threads, connection and error limits
// (docs/configuration.md). The failed-login limits are in [auth] (CoreSettings::Auth).
template <class Settings>
void get_protocol_limits(Source& src, const std::string& sec, Settings& s) {
  src.get(sec, "threads", s.threads, 0, 256);
  src.get(sec, "max_errors", s.max_errors, 1, 1000);
  src.get(sec, "max_connections", s.max_connections, 1, 1000000);
  src.get(sec, "max_connections_per_ip", s.max_connections_per_ip, 1, 1000000);
  // The failed-login limits are one budget for smtpd, imapd and sieved: they live in [auth].
  for (const char* key : {"auth_max_failures_per_ip", "auth_max_failures_per_account", "auth_failure_window",
                          "auth_failure_delay"}) {
    if (src.has(sec, key))
      src.fail(sec, key, std::string("moved to [auth] ") + (key + 5) + " (one budget shared by smtpd, imapd and sieved)");
  }
}
}  // namespace mailstead::config
