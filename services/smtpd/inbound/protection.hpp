// What every MX session shares for the inbound protections (docs/inbound.md): the per-IP
// connection rate, one DNS resolver per I/O thread over one TTL cache, the trusted clients.
// Thread-safe.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/core_settings.hpp"
#include "dns/resolver.hpp"
#include "inbound/rules.hpp"
#include "inbound/settings.hpp"

namespace mailstead::inbound {

// New connections per IP per minute: a token bucket per address (capacity = the rate,
// refilled continuously), in a bounded map (idle full buckets are dropped first).
class RateLimiter {
 public:
  explicit RateLimiter(std::uint32_t per_minute, std::size_t max_entries = 100000)
      : per_minute_(per_minute), max_entries_(max_entries) {}
  bool admit(const std::string& ip, std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  std::uint32_t per_minute_;
  std::size_t max_entries_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// A reply that refuses a recipient (or the connection).
struct Refusal {
  int code = 0;
  std::string enhanced, text;
};

class Protection {
 public:
  Protection(const ProtectionSettings& settings, const config::CoreSettings& core);
  ~Protection();

  const ProtectionSettings& settings;
  // False when the client made too many connections in the last minute.
  bool admit(const std::string& ip);
  bool trusted(const std::string& ip) const;
  // The resolver of the calling session's io_context (made on first use).
  dns::Resolver& resolver(boost::asio::io_context& io);
  // Drops the resolvers: call once the I/O threads have stopped, before the io_contexts go.
  void shutdown();

 private:
  dns::Options options_;
  std::shared_ptr<dns::Cache> cache_;
  RateLimiter rate_;
  std::vector<mailstead::inbound::Cidr> trusted_;
  std::mutex mu_;
  std::map<boost::asio::io_context*, std::unique_ptr<dns::Resolver>> resolvers_;
};

}  // namespace mailstead::inbound
