// `mailstead dmarc …`: the administrator's per-domain DMARC overrides (the store's
// dmarc_overrides table, through the admin operations as the API's routes) and, with `dmarc show`, the policy in force from [dmarc], [spf]
// and [dkim_verify]. docs/authentication.md.
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>

#include "cli/cli.hpp"
#include "config/source.hpp"
#include "log/log.hpp"
#include "service/service.hpp"
#include "store/store.hpp"
#include "inbound/dmarc_overrides.hpp"
#include "ops/inbound_policy.hpp"

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
  admin::Ops ops(*store, settings.core);
  if (verb == "override") {
    auto r = ops.run(ops.plan_set_dmarc_override(args.words[2], *action));
    if (!r) {
      std::fprintf(stderr, "mailstead: %s\n", r.error().message.c_str());
      return 1;
    }
    std::printf("DMARC for %s: %s; it applies to the next message\n", r->domain.c_str(), inbound::override_name(*action));
    return 0;
  }
  if (verb == "clear") {
    auto r = ops.run(ops.plan_clear_dmarc_override(args.words[2]));
    if (!r) {
      std::fprintf(stderr, "mailstead: %s\n", r.error().message.c_str());
      return 1;
    }
    std::printf("DMARC for %s: the published policy again\n", r->c_str());
    return 0;
  }
  const auto& a = settings.smtpd.auth;
  if (args.json) {
    std::cout << boost::json::serialize(admin::dmarc_json(admin::mx_policy_of(settings.smtpd), ops)) << "\n";
    return 0;
  }
  auto list = ops.list_dmarc_overrides();
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
