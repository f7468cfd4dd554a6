// Message authentication on the MX: SPF (libspf2) on MAIL FROM and HELO, DKIM (libopendkim)
// on every signature up to a bound, DMARC (libopendmarc) on the From domain, each answered
// within a deadline, and what the result means for the message (deliver, Junk, 550, 451).
// The libraries' DNS goes through common/dns (c-ares, [dns] nameservers) on a thread of
// its own; the checks run on a pool of their own and may block there, never on a session
// thread. docs/authentication.md, docs/architecture.md ("Message authentication").
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inbound/auth_results.hpp"
#include "inbound/auth_settings.hpp"
#include "inbound/dmarc_overrides.hpp"

namespace boost::asio {
class thread_pool;
}
namespace mailstead::config {
struct CoreSettings;
}

namespace mailstead::inbound {

struct AuthInput {
  std::string ip;         // the client's address ("192.0.2.1", "2001:db8::1")
  std::string helo;       // as the client gave it
  std::string mail_from;  // the reverse path; "" for the null sender
  std::string_view message;  // header and body as received (CRLF lines)
};

enum class Disposition { deliver, junk, reject, defer };
const char* disposition_name(Disposition d);

struct AuthVerdict {
  std::vector<Clause> clauses;  // spf, dkim (one per signature), dmarc: for the A-R field
  Disposition disposition = Disposition::deliver;
  std::string from_domain;      // the RFC 5322 From domain DMARC looked at ("" : none)
  std::string dmarc;            // the dmarc result ("pass", "fail", "none", "temperror"…)
  std::string policy;           // the policy applied ("reject", "quarantine", "none", "override:…")
  std::string reply;            // the SMTP reply text for reject/defer
};

// Looks up the administrator's override for a domain (reads the store; may be empty).
using OverrideLookup = std::function<std::optional<Override>(std::string_view domain)>;

class DnsBridge;

class AuthChecker {
 public:
  // Starts the DNS thread and the check pool. Throws std::runtime_error when the resolver
  // cannot start (a malformed [dns] nameserver).
  AuthChecker(const AuthSettings& settings, const config::CoreSettings& core);
  ~AuthChecker();
  AuthChecker(const AuthChecker&) = delete;
  AuthChecker& operator=(const AuthChecker&) = delete;

  // Runs every check for one message; blocks the calling thread (run it on pool()).
  AuthVerdict check(const AuthInput& in, const OverrideLookup& overrides) const;
  boost::asio::thread_pool& pool() { return *pool_; }
  const std::string& authserv_id() const { return authserv_id_; }
  const AuthSettings& settings() const { return settings_; }

 private:
  AuthSettings settings_;
  std::string authserv_id_;
  std::unique_ptr<DnsBridge> dns_;
  std::unique_ptr<boost::asio::thread_pool> pool_;
};

}  // namespace mailstead::inbound
