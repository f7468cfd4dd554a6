// An asynchronous spamd client on Asio (docs/spam.md): one request per connection, as
// spamd serves them, over TCP ("host:port") or a Unix socket ("/path"), the whole exchange
// bounded by a timeout. Failures are values: the caller decides to fail open.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "spam/protocol.hpp"

namespace mailstead::spam {

struct Exchange {
  std::optional<Reply> reply;  // set when spamd answered with a well-formed reply
  std::string error;           // otherwise: why ("timeout", "connection refused", a parse error…)
  bool timed_out = false;
};

// Sends `request` (build_request's bytes) to spamd at `address` and reads its reply, all
// within `timeout`, on the calling coroutine's executor. Never throws for network faults.
// By reference (the caller keeps them until the co_await ends): GCC 12 destroys by-value
// arguments of a coroutine called inside co_await twice.
boost::asio::awaitable<Exchange> exchange(const std::string& address, const std::string& request,
                                         std::chrono::milliseconds timeout);

}  // namespace mailstead::spam
