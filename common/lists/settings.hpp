// The [lists] section (docs/configuration.md, docs/lists.md): pattern-matched lists. Read
// by smtpd (posting checks, fan-out), the admin API and the CLI (the default site domain).
#pragma once

#include <cstdint>
#include <string>

namespace mailstead::config {
class Source;
}

namespace mailstead::lists {

struct Settings {
  // The domain of the senders' aliases (username@site_domain) and of List-Id, for lists
  // added without one of their own. Empty: each list must name its own.
  std::string site_domain;
  // A post from a session that did not log in is taken only when DMARC passes for its From
  // domain or SPF passes for an envelope sender in that domain (the message's own proof
  // that it comes from the account's address). false: the envelope sender's account is
  // believed as it is (testing, or a trusted network in front).
  bool verify_senders = true;
  // The most copies one post may make; a larger list refuses the post (552 5.5.3).
  std::uint32_t max_members = 1000;
};

Settings load_settings(config::Source& src);

}  // namespace mailstead::lists
