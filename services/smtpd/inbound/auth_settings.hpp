// Settings of message authentication on the MX: the [dmarc], [spf] and [dkim_verify]
// sections (docs/configuration.md, docs/authentication.md). Loaded with [smtpd].
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mailstead::config {
class Source;
}

namespace mailstead::inbound {

// What a DMARC failure under a policy leads to.
enum class Action : std::uint8_t { none = 0, quarantine = 1, reject = 2 };
const char* action_name(Action a);

struct AuthSettings {
  // [dmarc]
  bool enabled = true;      // SPF, DKIM and DMARC on port 25 (false: none of them, no header)
  std::string authserv_id;  // the id in Authentication-Results; "" : the hostname
  Action reject_action = Action::reject;          // a failure under p=reject
  Action quarantine_action = Action::quarantine;  // a failure under p=quarantine
  // A failure under p=reject or p=quarantine that a temporary DNS error may have caused
  // (SPF or DKIM temperror): 451 4.7.0 so the sender retries (true), or apply the policy.
  bool temperror_defer = true;
  std::chrono::milliseconds timeout{std::chrono::seconds(20)};  // every check of one message
  std::uint32_t threads = 4;  // the pool the checks run on (they wait on DNS there)
  std::string public_suffix_list = "/usr/share/publicsuffix/effective_tld_names.dat";

  // [spf]
  bool spf_enabled = true;
  bool spf_helo = true;  // also check the HELO identity (RFC 7208 2.3)
  std::chrono::milliseconds spf_timeout{std::chrono::seconds(10)};

  // [dkim_verify]
  bool dkim_enabled = true;
  std::uint32_t max_signatures = 5;  // verified per message; the rest are reported as policy
  std::chrono::milliseconds dkim_timeout{std::chrono::seconds(10)};
};

void load_auth_settings(config::Source& src, AuthSettings& s);

}  // namespace mailstead::inbound
