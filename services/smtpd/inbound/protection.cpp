// The MX's shared protection state: the connection rate per IP and the per-thread resolvers.
#include "inbound/protection.hpp"

#include "dns/resolver.hpp"

namespace mailstead::inbound {

bool RateLimiter::admit(const std::string& ip, std::chrono::steady_clock::time_point now) {
  if (per_minute_ == 0) return true;
  const double capacity = per_minute_, per_second = per_minute_ / 60.0;
  std::lock_guard lock(mu_);
  auto it = buckets_.find(ip);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_entries_) {
      // Forget the buckets that have refilled: they hold nothing a new one would not.
      for (auto i = buckets_.begin(); i != buckets_.end();) {
        double t = i->second.tokens + std::chrono::duration<double>(now - i->second.at).count() * per_second;
        i = t >= capacity ? buckets_.erase(i) : std::next(i);
      }
      if (buckets_.size() >= max_entries_) buckets_.erase(buckets_.begin());
    }
    it = buckets_.emplace(ip, Bucket{capacity, now}).first;
  }
  auto& b = it->second;
  b.tokens = std::min(capacity, b.tokens + std::chrono::duration<double>(now - b.at).count() * per_second);
  b.at = now;
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

Protection::Protection(const ProtectionSettings& s, const config::CoreSettings& core)
    : settings(s),
      options_{core.dns.nameservers, s.dnsbl.timeout, 1},
      cache_(core.dns.cache_entries ? std::make_shared<dns::Cache>(core.dns.cache_entries) : nullptr),
      rate_(s.max_connection_rate_per_ip) {
  for (const auto& c : s.trusted_clients)
    if (auto cidr = mailstead::inbound::parse_cidr(c)) trusted_.push_back(*cidr);
}

Protection::~Protection() { shutdown(); }

bool Protection::admit(const std::string& ip) { return rate_.admit(ip); }

bool Protection::trusted(const std::string& ip) const {
  auto a = mailstead::inbound::parse_cidr(ip);
  if (!a) return false;
  for (const auto& c : trusted_)
    if (c.contains(*a)) return true;
  return false;
}

dns::Resolver& Protection::resolver(boost::asio::io_context& io) {
  std::lock_guard lock(mu_);
  auto& r = resolvers_[&io];
  if (!r) r = std::make_unique<dns::Resolver>(io, options_, cache_);
  return *r;
}

void Protection::shutdown() {
  std::lock_guard lock(mu_);
  resolvers_.clear();
}

}  // namespace mailstead::inbound
