// Synchronous DNS for the authentication libraries, which ask for records from inside
// their own code (libspf2's DNS layer, libopendkim's key lookup): the question goes to a
// common/dns Resolver on the bridge's own io_context thread, and the asking thread (a
// check pool thread, never a session thread) waits for the answer until a deadline.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "dns/message.hpp"
#include "dns/resolver.hpp"

namespace mailstead::inbound {

class DnsBridge {
 public:
  DnsBridge(const dns::Options& options, std::size_t cache_entries);
  ~DnsBridge();
  // Blocks until the answer or `deadline` (then a timeout answer).
  dns::Answer lookup(const std::string& name, dns::Type type, std::chrono::steady_clock::time_point deadline);

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<dns::Resolver> resolver_;
  std::thread thread_;
};

// The deadline and resolver of the check running on this thread: the libraries' callbacks
// find them here (they give no context pointer of their own).
struct LookupScope {
  LookupScope(DnsBridge& dns, std::chrono::steady_clock::time_point deadline);
  ~LookupScope();
  DnsBridge& dns;
  std::chrono::steady_clock::time_point deadline;
  unsigned lookups = 0;
  bool expired = false;  // a lookup was refused or timed out for the deadline
  static LookupScope* current();
  // lookup() through the current scope; a servfail answer when there is none.
  static dns::Answer ask(const std::string& name, dns::Type type);

 private:
  LookupScope* previous_;
};

}  // namespace mailstead::inbound
