// AuthChecker: the order of the checks, their deadlines, the Authentication-Results
// clauses and the disposition. See auth_checks.hpp and docs/authentication.md.
#include "inbound/auth_checks.hpp"

#include <boost/asio/thread_pool.hpp>
#include <algorithm>
#include <cctype>

#include "config/core_settings.hpp"
#include "inbound/message_checks.hpp"
#include "inbound/dns_bridge.hpp"
#include "mime/header.hpp"

namespace mailstead::inbound {

const char* disposition_name(Disposition d) {
  switch (d) {
    case Disposition::deliver: return "deliver";
    case Disposition::junk: return "junk";
    case Disposition::reject: return "reject";
    case Disposition::defer: return "defer";
  }
  return "?";
}

AuthChecker::AuthChecker(const AuthSettings& settings, const config::CoreSettings& core)
    : settings_(settings), authserv_id_(settings.authserv_id.empty() ? core.hostname : settings.authserv_id) {
  dns::Options o;
  o.nameservers = core.dns.nameservers;
  o.timeout = core.dns.timeout;
  o.tries = core.dns.tries;
  dns_ = std::make_unique<DnsBridge>(o, core.dns.cache_entries);
  pool_ = std::make_unique<boost::asio::thread_pool>(settings.threads);
  init_dmarc(settings.public_suffix_list);
}

AuthChecker::~AuthChecker() {
  pool_->join();
  pool_.reset();
  dns_.reset();
}

namespace {

using clock = std::chrono::steady_clock;

Action downgrade(Action a) { return a == Action::reject ? Action::quarantine : Action::none; }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const char* policy_name(char p) { return p == 'r' ? "reject" : p == 'q' ? "quarantine" : "none"; }

}  // namespace

AuthVerdict AuthChecker::check(const AuthInput& in, const OverrideLookup& overrides) const {
  AuthVerdict v;
  const auto& s = settings_;
  const auto start = clock::now();
  const auto all = start + s.timeout;

  // SPF: MAIL FROM (or postmaster@HELO for the null sender), then HELO (RFC 7208 2.3, 2.4).
  SpfResult spf;
  std::string spf_identity = in.mail_from.empty() ? (in.helo.empty() ? "" : "postmaster@" + in.helo) : in.mail_from;
  if (s.spf_enabled) {
    LookupScope scope(*dns_, std::min(all, clock::now() + s.spf_timeout));
    spf = check_spf(in.ip, in.helo, in.mail_from, false);
    Clause c{"spf", spf.result, spf.comment, "", {}};
    if (!spf_identity.empty()) c.properties.push_back({"smtp.mailfrom", spf_identity});
    v.clauses.push_back(std::move(c));
    if (s.spf_helo && !in.helo.empty() && !in.mail_from.empty()) {
      auto h = check_spf(in.ip, in.helo, "", true);
      v.clauses.push_back({"spf", h.result, h.comment, "", {{"smtp.helo", in.helo}}});
    }
  }

  // DKIM: every signature up to the limit (RFC 6376 6; RFC 8601 2.7.1 one result each).
  std::vector<DkimResult> sigs;
  if (s.dkim_enabled) {
    LookupScope scope(*dns_, std::min(all, clock::now() + s.dkim_timeout));
    sigs = verify_dkim(in.message, s.max_signatures);
    if (sigs.empty()) v.clauses.push_back({"dkim", "none", "", "", {}});
    for (const auto& k : sigs) {
      Clause c{"dkim", k.result, k.comment, "", {}};
      if (!k.domain.empty()) c.properties.push_back({"header.d", k.domain});
      if (!k.selector.empty()) c.properties.push_back({"header.s", k.selector});
      if (!k.b.empty()) c.properties.push_back({"header.b", k.b});
      v.clauses.push_back(std::move(c));
    }
  }

  // DMARC on the From domain.
  auto header = in.message.substr(0, mime::header_end(in.message));
  auto from = from_domain_of(header);
  if (!from.error.empty()) {
    v.dmarc = "permerror";
    v.clauses.push_back({"dmarc", "permerror", from.error, "", {}});
    return v;
  }
  v.from_domain = from.domain;
  std::optional<Override> ovr;
  if (overrides) {
    ovr = overrides(from.domain);
    if (!ovr) {
      auto o = organizational_domain(from.domain);
      if (o != from.domain) ovr = overrides(o);
    }
  }
  if (ovr == Override::ignore) {
    v.dmarc = "none";
    v.policy = "override:ignore";
    v.clauses.push_back({"dmarc", "none", "not evaluated: local policy", "", {{"header.from", from.domain}}});
    return v;
  }
  // A failure an aligned identity's temporary DNS error may have caused (RFC 7489 3.1
  // relaxed alignment: the same organizational domain).
  const auto org = organizational_domain(from.domain);
  bool temporary = s.spf_enabled && spf.result == "temperror" && organizational_domain(lower(spf.domain)) == org;
  for (const auto& k : sigs) temporary |= k.result == "temperror" && organizational_domain(lower(k.domain)) == org;
  DmarcInput din;
  din.ip = in.ip;
  din.from_domain = from.domain;
  if (s.spf_enabled) {
    din.spf_result = spf.result;
    din.spf_domain = spf.domain;
    din.spf_from_helo = in.mail_from.empty();
  }
  din.dkim = sigs;
  DmarcResult dm;
  {
    LookupScope scope(*dns_, std::max(all, clock::now() + std::chrono::seconds(1)));
    dm = check_dmarc(din);
  }
  v.dmarc = dm.result;
  std::string comment = dm.comment;
  if (dm.policy) {
    comment = std::string("p=") + policy_name(dm.policy);
    if (dm.record_domain != from.domain) comment += " (from " + dm.record_domain + ")";
    if (dm.sampled_out) comment += " pct-sampled-out";
  }
  Action action = Action::none;
  if (dm.result == "fail") {
    action = dm.policy == 'r' ? s.reject_action : dm.policy == 'q' ? s.quarantine_action : Action::none;
    if (dm.sampled_out) action = std::min(action, downgrade(dm.policy == 'r' ? Action::reject : Action::quarantine));
    v.policy = action_name(action);
    if (ovr) {
      action = *ovr == Override::reject ? Action::reject : *ovr == Override::quarantine ? Action::quarantine : Action::none;
      v.policy = std::string("override:") + override_name(*ovr);
    }
    if (action != Action::none && temporary && s.temperror_defer) {
      v.disposition = Disposition::defer;
      v.reply = "DMARC check of " + from.domain + " failed on a temporary DNS error, try again later";
      v.policy += "+defer";
    } else if (action == Action::reject) {
      v.disposition = Disposition::reject;
      v.reply = "Message rejected: " + from.domain + "'s DMARC policy (RFC 7489) and this message's SPF and DKIM results";
    } else if (action == Action::quarantine) {
      v.disposition = Disposition::junk;
    }
    comment += std::string(comment.empty() ? "" : " ") + "dis=" + action_name(action);
  }
  v.clauses.push_back({"dmarc", dm.result, comment, "", {{"header.from", from.domain}}});
  return v;
}

}  // namespace mailstead::inbound
