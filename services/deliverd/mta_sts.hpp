// MTA-STS for the delivery service (RFC 8461 3.3, 5.1): look up `_mta-sts.<domain>` TXT,
// fetch the policy over HTTPS (certificate checked, no redirects, size-limited), keep it in
// the store's `mta_sts` table for its max_age, and fetch again when the TXT id changes.
// What the policy means for each MX host is decided in security.cpp.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "proto/mta_sts.hpp"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio
namespace mailstead::store {
class Store;
class ReadTxn;
class WriteTxn;
}  // namespace mailstead::store
namespace mailstead::dns {
class Resolver;
}

namespace mailstead::outbound::mta_sts {

// A policy as cached in the store (table mta_sts, key: the domain).
struct Cached {
  std::string id;            // the TXT record's id when it was fetched
  std::int64_t fetched = 0;  // seconds since 1970
  std::int64_t expires = 0;  // fetched + max_age
  std::string body;          // the policy as served (parsed again when read)
};
std::optional<Cached> load(store::ReadTxn& txn, std::string_view domain);
std::error_code save(store::WriteTxn& txn, std::string_view domain, const Cached& c);

// What applies to one delivery to a domain.
struct Applied {
  std::optional<Policy> policy;  // none: the domain has no (usable) policy
  std::string id;
  bool from_cache = false;
  // For the send log: "mta-sts enforce id=… (cached)"; "" without a policy.
  std::string describe() const;
};

struct FetchOptions {
  std::uint16_t port = 443;  // a test setting (`mta_sts_https_port`): tests cannot bind 443
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::size_t max_size = default_max_policy_size;
};

struct Fetched {
  std::string body;   // the policy body when `error` is empty
  std::string error;  // why not, in words
};

// GET https://mta-sts.<domain>:<port>/.well-known/mta-sts.txt: the name resolved with
// `resolver`, the certificate checked against `tls`'s CAs and the name mta-sts.<domain>,
// 200 with text/plain only, no redirects followed (3.3), at most max_size bytes.
boost::asio::awaitable<Fetched> fetch(boost::asio::io_context& io, dns::Resolver& resolver, boost::asio::ssl::context& tls,
                                      std::string domain, FetchOptions options);

class Client {
 public:
  Client(boost::asio::io_context& io, dns::Resolver& resolver, store::Store& store, boost::asio::ssl::context& tls,
         FetchOptions options)
      : io_(io), resolver_(resolver), store_(store), tls_(tls), options_(options) {}
  // RFC 8461 5.1: the TXT id names the current policy; a cached, unexpired policy with that
  // id is used as it is; otherwise the policy is fetched (and cached). When the fetch fails
  // (or there is no TXT record) an unexpired cached policy still applies; without one the
  // domain is treated as having no policy.
  boost::asio::awaitable<Applied> policy_for(std::string domain);

 private:
  boost::asio::io_context& io_;
  dns::Resolver& resolver_;
  store::Store& store_;
  boost::asio::ssl::context& tls_;
  FetchOptions options_;
};

}  // namespace mailstead::outbound::mta_sts
