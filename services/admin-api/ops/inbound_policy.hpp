// The MX's whole inbound policy as one JSON document: the settings in force ([dnsbl],
// [greylist], the [smtpd] rates and reverse DNS policy, [dmarc], [spf], [dkim_verify],
// [spam]) with the administrator's lists and DMARC overrides from the store. The same
// document answers `mailstead policy show --json` and GET /api/v1/policy (docs/inbound.md).
#pragma once

#include <boost/json/object.hpp>

#include <functional>

#include "ops/admin_ops.hpp"
#include "../../smtpd/settings.hpp"

namespace mailstead::admin {

// What smtpd was configured with, as the admin process reads the same file.
struct MxPolicySettings {
  inbound::ProtectionSettings protection;
  inbound::AuthSettings auth;
  std::uint32_t max_connections_per_ip = 20;
};

MxPolicySettings mx_policy_of(const smtp::Settings& smtpd);

// How a block or allow rule is shown (the CLI and the API each have their shape).
using RuleFormat = std::function<boost::json::object(const InboundRuleView&)>;
boost::json::object policy_json(const MxPolicySettings& mx, Ops& ops, const RuleFormat& rule);
// The [dmarc], [spf] and [dkim_verify] part with the overrides: `mailstead dmarc show --json`.
boost::json::object dmarc_json(const MxPolicySettings& mx, Ops& ops);

}  // namespace mailstead::admin
