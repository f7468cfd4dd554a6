// MTA-STS policy discovery, fetching and caching (see mta_sts.hpp; RFC 8461 3.1, 3.3, 5.1).
#include "mta_sts.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <ctime>

#include "dns/resolver.hpp"
#include "http_client.hpp"
#include "log/log.hpp"
#include "store/async.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"

namespace mailstead::outbound::mta_sts {

namespace asio = boost::asio;

namespace {
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// One attempt at one address, with the delivery service's HTTP client (http_client.hpp).
asio::awaitable<Fetched> fetch_from(asio::io_context& io, asio::ssl::context& tls, const std::string& host,
                                    const std::string& address, const FetchOptions& o) {
  http_client::Request req;
  req.host = host;  // RFC 8461 3.3: the certificate must be valid for mta-sts.<domain>
  req.address = address;
  req.port = o.port;
  req.target = "/.well-known/mta-sts.txt";
  http_client::Options options{o.timeout, o.max_size};
  const std::string where = http_client::describe(req);
  auto res = co_await http_client::send(io, tls, req, options);
  if (res.failure == http_client::Failure::too_large)
    co_return Fetched{"", "the policy at " + where + " is larger than " + std::to_string(o.max_size) + " bytes"};
  if (res.failure != http_client::Failure::none) co_return Fetched{"", res.error};
  auto status = res.status;
  if (status >= 300 && status < 400)
    co_return Fetched{"", "HTTP " + std::to_string(status) + " from " + where + ": redirects are not followed (RFC 8461 3.3)"};
  if (status != 200) co_return Fetched{"", "HTTP " + std::to_string(status) + " from " + where};
  // RFC 8461 3.2: the policy is served as text/plain.
  auto type = lower(res.content_type);
  if (!type.starts_with("text/plain"))
    co_return Fetched{"", "the policy at " + where + " is served as '" + type + "', not text/plain"};
  co_return Fetched{std::move(res.body), ""};
}

}  // namespace

struct Client::InFlight {
  explicit InFlight(asio::io_context& io) : done(io) { done.expires_at(asio::steady_timer::time_point::max()); }
  asio::steady_timer done;  // cancelled when the fetch has ended
  bool finished = false;
  Applied result;
};

std::string Applied::describe() const {
  if (!policy) return "";
  return std::string("mta-sts ") + mode_name(policy->mode) + " id=" + id + (from_cache ? " (cached)" : "");
}

std::optional<Cached> load(store::ReadTxn& txn, std::string_view domain) {
  auto v = txn.get(store::Table::mta_sts, domain);
  if (!v) return std::nullopt;
  Decoder d(*v);
  Cached c;
  c.id = d.str();
  c.fetched = d.i64();
  c.expires = d.i64();
  c.body = d.str();
  if (!d.ok() || !d.at_end()) return std::nullopt;
  return c;
}

std::error_code save(store::WriteTxn& txn, std::string_view domain, const Cached& c) {
  Encoder e;
  e.str(c.id).i64(c.fetched).i64(c.expires).str(c.body);
  return txn.put(store::Table::mta_sts, domain, e.take());
}

asio::awaitable<Fetched> fetch(asio::io_context& io, dns::Resolver& resolver, asio::ssl::context& tls,
                               const std::string& domain, FetchOptions options) {
  const std::string host = "mta-sts." + domain;
  std::vector<std::string> addresses;
  std::string why;
  for (auto type : {dns::Type::a, dns::Type::aaaa}) {
    auto a = co_await resolver.query(host, type);
    if (a.ok()) addresses.insert(addresses.end(), a.addresses.begin(), a.addresses.end());
    else if (why.empty() && a.status != dns::Status::nodata) why = a.error.empty() ? dns::status_name(a.status) : a.error;
  }
  if (addresses.empty()) co_return Fetched{"", host + " has no address" + (why.empty() ? "" : ": " + why)};
  Fetched last;
  for (const auto& address : addresses) {
    last = co_await fetch_from(io, tls, host, address, options);
    if (last.error.empty()) break;
  }
  co_return last;
}

asio::awaitable<Applied> Client::policy_for(const std::string& domain) {
  Applied out;
  auto now = now_s();
  std::string name = "_mta-sts." + domain;
  auto txt = co_await resolver_.query(name, dns::Type::txt);
  std::string txt_why;
  std::optional<std::string> id;
  if (txt.ok()) id = parse_txt(txt.texts, &txt_why);
  std::optional<Cached> cached;
  {
    auto rtxn = store_.read();
    cached = load(*rtxn, domain);
  }
  std::optional<Policy> cached_policy;
  if (cached && cached->expires > now) {
    auto p = parse_policy(cached->body);
    if (p.policy) cached_policy = std::move(p.policy);
  }
  auto use_cached = [&] {
    out.policy = cached_policy;
    out.id = cached->id;
    out.from_cache = true;
  };
  if (!id) {
    // 5.1: no TXT record (or a broken one) does not withdraw a cached policy.
    if (cached_policy) use_cached();
    if (txt.ok() && !txt_why.empty() && txt_why != "no v=STSv1 TXT record")
      log::info("mta_sts.txt.invalid", {{"domain", domain}, {"why", txt_why}});
    co_return out;
  }
  if (cached_policy && cached->id == *id) {
    use_cached();
    co_return out;
  }
  if (auto it = fetching_.find(domain); it != fetching_.end()) {
    auto running = it->second;
    while (!running->finished) co_await running->done.async_wait(tuple_awaitable);
    co_return running->result;
  }
  auto running = std::make_shared<InFlight>(io_);
  fetching_[domain] = running;
  const std::string& current_id = *id;
  running->result = co_await fetch_and_cache(domain, current_id, cached, cached_policy);
  running->finished = true;
  running->done.cancel();
  fetching_.erase(domain);
  co_return running->result;
}

asio::awaitable<Applied> Client::fetch_and_cache(const std::string& domain, const std::string& id,
                                                 const std::optional<Cached>& cached,
                                                 const std::optional<Policy>& cached_policy) {
  Applied out;
  auto now = now_s();
  auto fetched = co_await fetch(io_, resolver_, tls_, domain, options_);
  if (fetched.error.empty()) {
    auto parsed = parse_policy(fetched.body);
    if (parsed.policy) {
      Cached c{id, now, now + parsed.policy->max_age, fetched.body};
      std::function<std::error_code(store::WriteTxn&)> write = [&](store::WriteTxn& t) { return save(t, domain, c); };
      auto ec = co_await store::async_commit(store_, write, asio::use_awaitable);
      if (ec) log::warn("mta_sts.cache.failed", {{"domain", domain}, {"error", ec.message()}});
      log::info("mta_sts.policy.fetched", {{"domain", domain}, {"id", id}, {"mode", mode_name(parsed.policy->mode)},
                                           {"max_age", parsed.policy->max_age}});
      out.policy = std::move(parsed.policy);
      out.id = id;
      co_return out;
    }
    fetched.error = "the policy of " + domain + " is invalid: " + parsed.error;
  }
  log::warn("mta_sts.fetch.failed", {{"domain", domain}, {"id", id}, {"why", fetched.error},
                                     {"cached", cached_policy ? "used" : "none"}});
  if (cached_policy) {
    out.policy = cached_policy;
    out.id = cached->id;
    out.from_cache = true;
  }
  co_return out;
}

}  // namespace mailstead::outbound::mta_sts
