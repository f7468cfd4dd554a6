// The MX's inbound policy view and the DMARC override operations. See inbound_policy.hpp
// and admin_ops.hpp; docs/inbound.md, docs/authentication.md.
#include "ops/inbound_policy.hpp"

#include <boost/json.hpp>

#include "store/store.hpp"

namespace mailstead::admin {

namespace json = boost::json;

Change<inbound::OverrideEntry> Ops::plan_set_dmarc_override(std::string_view domain, inbound::Override action) {
  auto key = inbound::override_key(domain);
  if (!key) return about(key.error(), "domain");
  return Change<inbound::OverrideEntry>([k = *key, action](store::WriteTxn& t) -> Result<inbound::OverrideEntry> {
    if (auto ec = inbound::put_override(t, k, action)) return internal("store: " + ec.message());
    return inbound::OverrideEntry{k, action};
  });
}

Change<std::string> Ops::plan_clear_dmarc_override(std::string_view domain) {
  auto key = inbound::override_key(domain);
  if (!key) return about(key.error(), "domain");
  return Change<std::string>([k = *key](store::WriteTxn& t) -> Result<std::string> {
    if (auto gone = inbound::remove_override(t, k); !gone) return about(gone.error(), "domain");
    return k;
  });
}

std::vector<inbound::OverrideEntry> Ops::list_dmarc_overrides() {
  auto txn = store_.read();
  return inbound::list_overrides(*txn);
}

MxPolicySettings mx_policy_of(const smtp::Settings& smtpd) {
  return MxPolicySettings{smtpd.inbound, smtpd.auth, smtpd.max_connections_per_ip};
}

namespace {

std::int64_t seconds(std::chrono::milliseconds m) {
  return std::chrono::duration_cast<std::chrono::seconds>(m).count();
}

}  // namespace

json::object dmarc_json(const MxPolicySettings& mx, Ops& ops) {
  const auto& a = mx.auth;
  json::array overrides;
  for (const auto& e : ops.list_dmarc_overrides())
    overrides.push_back(json::object{{"domain", e.domain}, {"action", inbound::override_name(e.action)}});
  return json::object{
      {"enabled", a.enabled},
      {"authserv_id", a.authserv_id.empty() ? ops.core().hostname : a.authserv_id},
      {"reject_action", inbound::action_name(a.reject_action)},
      {"quarantine_action", inbound::action_name(a.quarantine_action)},
      {"temperror_action", a.temperror_defer ? "defer" : "policy"},
      {"timeout_ms", a.timeout.count()},
      {"spf", json::object{{"enabled", a.spf_enabled}, {"helo", a.spf_helo}, {"timeout_ms", a.spf_timeout.count()}}},
      {"dkim_verify", json::object{{"enabled", a.dkim_enabled},
                                   {"max_signatures", a.max_signatures},
                                   {"timeout_ms", a.dkim_timeout.count()}}},
      {"arc", "not verified"},
      {"overrides", std::move(overrides)},
  };
}

json::object policy_json(const MxPolicySettings& mx, Ops& ops, const RuleFormat& rule) {
  const auto& s = mx.protection;
  const auto& sp = ops.core().spam;
  json::array zones, exempt, trusted, nameservers, allow, block;
  for (const auto& z : s.dnsbl.zones) zones.push_back(json::object{{"zone", z.zone}, {"weight", z.weight}});
  for (const auto& e : s.dnsbl.exempt_recipients) exempt.push_back(json::value(e));
  for (const auto& t : s.trusted_clients) trusted.push_back(json::value(t));
  for (const auto& n : ops.core().dns.nameservers) nameservers.push_back(json::value(n));
  for (auto& v : ops.list_inbound_rules()) (v.rule.list == inbound::List::allow ? allow : block).push_back(rule(v));
  std::size_t grey = 0;
  {
    auto txn = ops.store().read();
    grey = inbound::greylist_size(*txn);
  }
  return json::object{
      {"dnsbl", json::object{{"enabled", s.dnsbl.enabled},
                             {"zones", zones},
                             {"threshold", s.dnsbl.threshold},
                             {"timeout_ms", s.dnsbl.timeout.count()},
                             {"exempt_recipients", exempt}}},
      {"greylist", json::object{{"enabled", s.greylist.enabled},
                                {"delay_seconds", seconds(s.greylist.delay)},
                                {"retry_window_seconds", seconds(s.greylist.retry_window)},
                                {"expiry_seconds", seconds(s.greylist.expiry)},
                                {"triplets", grey}}},
      {"connection_rate_per_ip_per_minute", s.max_connection_rate_per_ip},
      {"max_connections_per_ip", mx.max_connections_per_ip},
      {"iprev_policy", s.iprev_reject ? "reject" : "record"},
      {"helo_policy", "record"},
      {"trusted_clients", trusted},
      {"dns_nameservers", nameservers},
      {"allowlist", allow},
      {"blocklist", block},
      {"dmarc", dmarc_json(mx, ops)},
      {"spam", json::object{{"enabled", sp.enabled},
                            {"junk_threshold", sp.junk_threshold},
                            {"reject_threshold", sp.reject_threshold},
                            {"max_size", sp.max_size},
                            {"timeout_ms", sp.timeout.count()},
                            {"scan_submission", sp.scan_submission},
                            {"learn", sp.learn}}},
  };
}

}  // namespace mailstead::admin
