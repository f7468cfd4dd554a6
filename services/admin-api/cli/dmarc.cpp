// `mailstead dmarc …`: the administrator's per-domain DMARC overrides (the store's
// dmarc_overrides table) and, with `dmarc show`, the policy in force from [dmarc], [spf]
// and [dkim_verify]. docs/authentication.md.
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>

#include "cli/cli.hpp"
#include "config/source.hpp"
#include "log/log.hpp"
#include "service/service.hpp"
#include "store/store.hpp"
#include "../../smtpd/inbound/dmarc_overrides.hpp"

namespace mailstead::cli {

namespace {

int usage_error(const char* text) {
  std::fprintf(stderr, "mailstead: %s\n  mailstead dmarc override DOMAIN none|quarantine|reject|ignore\n"
                       "  mailstead dmarc clear DOMAIN\n  mailstead dmarc show [--json]\n", text);
  return 2;
}

}  // namespace

int run_dmarc(const Args& args) {
  if (args.words.empty() || args.words[0] != "dmarc") return -1;
  const std::string verb = args.words.size() > 1 ? args.words[1] : "";
  std::size_t operands = verb == "override" ? 4 : verb == "clear" ? 3 : verb == "show" ? 2 : 0;
  if (!operands) return usage_error("unknown or missing verb for 'dmarc'");
  if (args.words.size() != operands) return usage_error("wrong number of arguments");
  for (const auto& [name, _] : args.opts) {
    std::fprintf(stderr, "mailstead: unknown option --%s for 'dmarc %s'\n", name.c_str(), verb.c_str());
    return 2;
  }
  std::optional<inbound::Override> action;
  if (verb == "override") {
    action = inbound::parse_override(args.words[3]);
    if (!action) return usage_error(("unknown action '" + args.words[3] + "'").c_str());
  }
  int rc = 0;
  auto loaded = load_for_command(args, rc);
  if (!loaded) return rc;
  const AllSettings& settings = *loaded;
  auto store = open_store_for(settings.core, rc);
  if (!store) return rc;
  if (verb == "override" || verb == "clear") {
    auto r = verb == "override" ? inbound::set_override(*store, args.words[2], *action)
                                : inbound::clear_override(*store, args.words[2]);
    if (!r) {
      std::fprintf(stderr, "mailstead: %s\n", r.error().message.c_str());
      return 1;
    }
    if (action) std::printf("DMARC for %s: %s; it applies to the next message\n", r->c_str(), inbound::override_name(*action));
    else std::printf("DMARC for %s: the published policy again\n", r->c_str());
    return 0;
  }
  const auto& a = settings.smtpd.auth;
  std::vector<inbound::OverrideEntry> list;
  {
    auto txn = store->read();
    list = inbound::list_overrides(*txn);
  }
  if (args.json) {
    boost::json::object o;
    o["enabled"] = a.enabled;
    o["authserv_id"] = a.authserv_id.empty() ? settings.core.hostname : a.authserv_id;
    o["reject_action"] = inbound::action_name(a.reject_action);
    o["quarantine_action"] = inbound::action_name(a.quarantine_action);
    o["temperror_action"] = a.temperror_defer ? "defer" : "policy";
    o["timeout_ms"] = a.timeout.count();
    o["spf"] = {{"enabled", a.spf_enabled}, {"helo", a.spf_helo}, {"timeout_ms", a.spf_timeout.count()}};
    o["dkim_verify"] = {{"enabled", a.dkim_enabled}, {"max_signatures", a.max_signatures},
                        {"timeout_ms", a.dkim_timeout.count()}};
    boost::json::array arr;
    for (const auto& e : list) arr.push_back({{"domain", e.domain}, {"action", inbound::override_name(e.action)}});
    o["overrides"] = std::move(arr);
    std::cout << boost::json::serialize(o) << "\n";
    return 0;
  }
  std::printf("message authentication on the MX: %s (authserv-id %s)\n", a.enabled ? "on" : "off",
              (a.authserv_id.empty() ? settings.core.hostname : a.authserv_id).c_str());
  std::printf("p=reject failing: %s; p=quarantine failing: %s; temporary DNS errors: %s\n",
              inbound::action_name(a.reject_action), inbound::action_name(a.quarantine_action),
              a.temperror_defer ? "defer (451 4.7.0)" : "apply the policy");
  std::printf("spf: %s%s; dkim: %s, at most %u signatures\n", a.spf_enabled ? "on" : "off",
              a.spf_helo ? " (MAIL FROM and HELO)" : " (MAIL FROM)", a.dkim_enabled ? "on" : "off", a.max_signatures);
  if (list.empty()) std::printf("no per-domain override\n");
  for (const auto& e : list) std::printf("override %s %s\n", e.domain.c_str(), inbound::override_name(e.action));
  return 0;
}

}  // namespace mailstead::cli
