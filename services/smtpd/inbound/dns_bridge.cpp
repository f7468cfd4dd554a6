// See dns_bridge.hpp.
#include "inbound/dns_bridge.hpp"

#include <boost/asio/post.hpp>
#include <future>

namespace mailstead::inbound {

DnsBridge::DnsBridge(const dns::Options& options, std::size_t cache_entries)
    : work_(io_.get_executor()) {
  std::shared_ptr<dns::Cache> cache;
  if (cache_entries) cache = std::make_shared<dns::Cache>(cache_entries);
  resolver_ = std::make_unique<dns::Resolver>(io_, options, cache);
  thread_ = std::thread([this] { io_.run(); });
}

DnsBridge::~DnsBridge() {
  work_.reset();
  io_.stop();
  thread_.join();
  resolver_.reset();
}

dns::Answer DnsBridge::lookup(const std::string& name, dns::Type type, std::chrono::steady_clock::time_point deadline) {
  auto promise = std::make_shared<std::promise<dns::Answer>>();
  auto future = promise->get_future();
  boost::asio::post(io_, [this, promise, name, type] {
    resolver_->async_query(name, type, [promise](dns::Answer a) { promise->set_value(std::move(a)); });
  });
  dns::Answer timeout;
  timeout.status = dns::Status::timeout;
  timeout.error = "no answer within the check's time";
  if (future.wait_until(deadline) != std::future_status::ready) return timeout;
  try {
    return future.get();
  } catch (const std::exception&) {
    return timeout;
  }
}

namespace {
thread_local LookupScope* scope = nullptr;
}

LookupScope::LookupScope(DnsBridge& d, std::chrono::steady_clock::time_point dl) : dns(d), deadline(dl), previous_(scope) {
  scope = this;
}
LookupScope::~LookupScope() { scope = previous_; }
LookupScope* LookupScope::current() { return scope; }

dns::Answer LookupScope::ask(const std::string& name, dns::Type type) {
  dns::Answer a;
  auto* s = scope;
  if (!s) {
    a.error = "no lookup scope";
    return a;
  }
  ++s->lookups;
  if (std::chrono::steady_clock::now() >= s->deadline) {
    s->expired = true;
    a.status = dns::Status::timeout;
    a.error = "the check's time is up";
    return a;
  }
  a = s->dns.lookup(name, type, s->deadline);
  if (a.status == dns::Status::timeout) s->expired = true;
  return a;
}

}  // namespace mailstead::inbound
