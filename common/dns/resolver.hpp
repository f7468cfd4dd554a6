// The asynchronous resolver every check and the delivery service share: c-ares does the
// DNS protocol (retries, TCP fallback, server rotation), driven by the caller's Asio
// io_context (c-ares tells which sockets to watch; Asio waits and hands readiness back).
// Answers are cached by (name, type) for their TTL in a bounded cache that many resolvers
// (one per thread) may share. No blocking, no thread per query.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dns/message.hpp"

namespace boost::asio {
class io_context;
}

namespace mailstead::dns {

// A TTL-honouring answer cache, bounded: when full, expired entries go first, then the
// least recently used. Thread-safe.
class Cache {
 public:
  explicit Cache(std::size_t max_entries = 10000, std::uint32_t max_ttl = 86400);
  ~Cache();
  std::optional<Answer> get(std::string_view name, Type type);
  void put(std::string_view name, Type type, const Answer& answer);
  std::size_t size();
  // For tests: pretend `seconds` have passed.
  void advance(std::chrono::seconds seconds);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct Options {
  std::vector<std::string> nameservers;  // "host:port" or "[v6]:port"; empty: /etc/resolv.conf
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // per try
  std::uint32_t tries = 2;
};

class Resolver {
 public:
  // `cache` may be null (no caching). Throws std::runtime_error when c-ares cannot start
  // or a nameserver is malformed.
  Resolver(boost::asio::io_context& io, const Options& options, std::shared_ptr<Cache> cache);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Completes on the io_context, never inline.
  void async_query(std::string_view name, Type type, std::function<void(Answer)> done);
  boost::asio::awaitable<Answer> query(std::string name, Type type);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace mailstead::dns
