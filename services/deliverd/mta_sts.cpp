// MTA-STS policy discovery, fetching and caching (see mta_sts.hpp; RFC 8461 3.1, 3.3, 5.1).
#include "mta_sts.hpp"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <ctime>

#include "dns/resolver.hpp"
#include "log/log.hpp"
#include "store/async.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"

namespace mailstead::outbound::mta_sts {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);
std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// One attempt at one address.
asio::awaitable<Fetched> fetch_from(asio::io_context& io, asio::ssl::context& tls, const std::string& host,
                                    const std::string& address, const FetchOptions& o) {
  Fetched out;
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  if (ec) co_return Fetched{"", "'" + address + "' is not an address"};
  const std::string where = host + " [" + address + "]:" + std::to_string(o.port);
  beast::ssl_stream<beast::tcp_stream> stream(io, tls);
  SSL* ssl = stream.native_handle();
  SSL_set_tlsext_host_name(ssl, host.c_str());
  // RFC 8461 3.3: the certificate must be valid for mta-sts.<domain> (PKIX, RFC 6125).
  SSL_set1_host(ssl, host.c_str());
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  auto& tcp_layer = beast::get_lowest_layer(stream);
  tcp_layer.expires_after(o.timeout);
  tcp::endpoint endpoint(ip, o.port);
  auto [cec] = co_await tcp_layer.async_connect(endpoint, tuple_awaitable);
  if (cec) co_return Fetched{"", "cannot connect to " + where + ": " + cec.message()};
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, tuple_awaitable);
  if (hec) {
    std::string why = hec.message();
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) why += " (" + std::string(X509_verify_cert_error_string(v)) + ")";
    co_return Fetched{"", "TLS with " + where + " failed: " + why};
  }
  http::request<http::empty_body> req{http::verb::get, "/.well-known/mta-sts.txt", 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "Mailstead");
  req.set(http::field::connection, "close");
  auto [wec, wn] = co_await http::async_write(stream, req, tuple_awaitable);
  (void)wn;
  if (wec) co_return Fetched{"", "sending the request to " + where + " failed: " + wec.message()};
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(o.max_size);
  parser.header_limit(16 * 1024);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, tuple_awaitable);
  (void)rn;
  if (rec == http::error::body_limit)
    co_return Fetched{"", "the policy at " + where + " is larger than " + std::to_string(o.max_size) + " bytes"};
  if (rec) co_return Fetched{"", "reading the policy from " + where + " failed: " + rec.message()};
  auto& res = parser.get();
  auto status = res.result_int();
  if (status >= 300 && status < 400)
    co_return Fetched{"", "HTTP " + std::to_string(status) + " from " + where + ": redirects are not followed (RFC 8461 3.3)"};
  if (status != 200) co_return Fetched{"", "HTTP " + std::to_string(status) + " from " + where};
  // RFC 8461 3.2: the policy is served as text/plain.
  auto type = lower(std::string(res[http::field::content_type]));
  if (!type.starts_with("text/plain"))
    co_return Fetched{"", "the policy at " + where + " is served as '" + type + "', not text/plain"};
  out.body = std::move(res.body());
  tcp_layer.expires_after(std::chrono::seconds(2));
  co_await stream.async_shutdown(tuple_awaitable);
  co_return out;
}

}  // namespace

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

asio::awaitable<Fetched> fetch(asio::io_context& io, dns::Resolver& resolver, asio::ssl::context& tls, std::string domain,
                               FetchOptions options) {
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

asio::awaitable<Applied> Client::policy_for(std::string domain) {
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
  auto fetched = co_await fetch(io_, resolver_, tls_, domain, options_);
  if (fetched.error.empty()) {
    auto parsed = parse_policy(fetched.body);
    if (parsed.policy) {
      Cached c{*id, now, now + parsed.policy->max_age, fetched.body};
      std::function<std::error_code(store::WriteTxn&)> write = [&](store::WriteTxn& t) { return save(t, domain, c); };
      auto ec = co_await store::async_commit(store_, write, asio::use_awaitable);
      if (ec) log::warn("mta_sts.cache.failed", {{"domain", domain}, {"error", ec.message()}});
      log::info("mta_sts.policy.fetched", {{"domain", domain}, {"id", *id}, {"mode", mode_name(parsed.policy->mode)},
                                           {"max_age", parsed.policy->max_age}});
      out.policy = std::move(parsed.policy);
      out.id = *id;
      co_return out;
    }
    fetched.error = "the policy of " + domain + " is invalid: " + parsed.error;
  }
  log::warn("mta_sts.fetch.failed", {{"domain", domain}, {"id", *id}, {"why", fetched.error},
                                     {"cached", cached_policy ? "used" : "none"}});
  if (cached_policy) use_cached();
  co_return out;
}

}  // namespace mailstead::outbound::mta_sts
