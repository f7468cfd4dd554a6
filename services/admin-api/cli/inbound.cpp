// The `mailstead` commands of inbound protection (docs/inbound.md): the administrator's
// block and allow lists (`block`, `allow`), and `policy show`, the MX's whole inbound
// policy as configured plus the lists.
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>

#include "cli/cli.hpp"
#include "cli/operands.hpp"
#include "config/source.hpp"
#include "directory/address.hpp"
#include "inbound/rules.hpp"
#include "log/log.hpp"
#include "ops/admin_ops.hpp"
#include "ops/inbound_policy.hpp"
#include "service/service.hpp"
#include "store/store.hpp"

namespace mailstead::cli {

namespace {

namespace json = boost::json;

using operands::expect_operands;
using operands::fail;
using operands::opt;
using operands::Usage;

struct Ctx {
  const Args& args;
  const AllSettings& settings;
  admin::Ops& ops;
};

inbound::List list_of(const Args& a) { return a.words[0] == "allow" ? inbound::List::allow : inbound::List::block; }

json::object rule_json(const admin::InboundRuleView& v) {
  return json::object{{"list", inbound::list_name(v.rule.list)},
                      {"kind", inbound::kind_name(v.rule.kind)},
                      {"value", v.rule.value},
                      {"user", v.user.empty() ? json::value(nullptr) : json::value(v.user)},
                      {"note", v.rule.note},
                      {"created", v.rule.created}};
}

int rule_add(Ctx& c) {
  if (c.args.words.size() != 3) throw Usage{"missing VALUE (an IP, CIDR, domain or address)"};
  auto r = c.ops.run(c.ops.plan_add_inbound_rule(list_of(c.args), c.args.words[2], opt(c.args, "user"), opt(c.args, "note")));
  if (!r) return fail(r.error());
  if (c.args.json) {
    std::cout << json::serialize(rule_json(*r)) << "\n";
    return 0;
  }
  std::printf("%s %s %s%s; it applies to the next RCPT\n", c.args.words[0] == "allow" ? "allowed" : "blocked",
              inbound::kind_name(r->rule.kind), r->rule.value.c_str(),
              r->user.empty() ? "" : (" for mail to " + r->user).c_str());
  return 0;
}

int rule_remove(Ctx& c) {
  if (c.args.words.size() != 3) throw Usage{"missing VALUE"};
  auto r = c.ops.run(c.ops.plan_remove_inbound_rule(list_of(c.args), c.args.words[2], opt(c.args, "user")));
  if (!r) return fail(r.error());
  std::printf("removed %s from the %s list%s\n", c.args.words[2].c_str(), inbound::list_name(list_of(c.args)),
              opt(c.args, "user").empty() ? "" : (" of " + opt(c.args, "user")).c_str());
  return 0;
}

int rule_list(Ctx& c) {
  expect_operands(c.args, 2);
  auto user = directory::lowercase_ascii(opt(c.args, "user"));
  auto list = list_of(c.args);
  json::array arr;
  for (auto& v : c.ops.list_inbound_rules()) {
    if (v.rule.list != list || (!user.empty() && v.user != user)) continue;
    if (c.args.json) arr.push_back(rule_json(v));
    else
      std::printf("%-8s %-40s %s%s\n", inbound::kind_name(v.rule.kind), v.rule.value.c_str(),
                  v.user.empty() ? "global" : v.user.c_str(), v.rule.note.empty() ? "" : ("  # " + v.rule.note).c_str());
  }
  if (c.args.json) std::cout << json::serialize(arr) << "\n";
  return 0;
}

int policy_show(Ctx& c) {
  expect_operands(c.args, 2);
  const auto mx = admin::mx_policy_of(c.settings.smtpd);
  json::object out = admin::policy_json(mx, c.ops, rule_json);
  if (c.args.json) {
    std::cout << json::serialize(out) << "\n";
    return 0;
  }
  const auto& s = mx.protection;
  const auto& sp = c.settings.core.spam;
  std::printf("dnsbl: %s, threshold %u, timeout %lldms\n", s.dnsbl.enabled ? "on" : "off", s.dnsbl.threshold,
              static_cast<long long>(s.dnsbl.timeout.count()));
  for (const auto& z : s.dnsbl.zones) std::printf("  zone %s weight %u\n", z.zone.c_str(), z.weight);
  std::printf("greylisting: %s (delay %llds, %llu triplets)\n", s.greylist.enabled ? "on" : "off",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(s.greylist.delay).count()),
              static_cast<unsigned long long>(out["greylist"].as_object()["triplets"].to_number<std::uint64_t>()));
  std::printf("connections per IP per minute: %u (0: no limit)\n", s.max_connection_rate_per_ip);
  std::printf("reverse DNS: %s; HELO: record\n", s.iprev_reject ? "reject on fail" : "record");
  std::printf("allowlist: %zu rules, blocklist: %zu rules (mailstead allow|block list)\n",
              out["allowlist"].as_array().size(), out["blocklist"].as_array().size());
  std::printf("dmarc: %s, %zu per-domain overrides (mailstead dmarc show)\n", mx.auth.enabled ? "on" : "off",
              out["dmarc"].as_object()["overrides"].as_array().size());
  std::printf("spam: %s, junk at %.1f, reject at %.1f\n", sp.enabled ? "on" : "off", sp.junk_threshold,
              sp.reject_threshold);
  return 0;
}

struct Command {
  const char* noun;
  const char* verb;
  const char* usage;
  int (*handler)(Ctx&);
};

const Command commands[] = {
    {"block", "add", "block add IP|CIDR|DOMAIN|ADDRESS [--user USER] [--note TEXT] [--json]", rule_add},
    {"block", "remove", "block remove IP|CIDR|DOMAIN|ADDRESS [--user USER]", rule_remove},
    {"block", "list", "block list [--user USER] [--json]", rule_list},
    {"allow", "add", "allow add IP|CIDR|DOMAIN|ADDRESS [--user USER] [--note TEXT] [--json]", rule_add},
    {"allow", "remove", "allow remove IP|CIDR|DOMAIN|ADDRESS [--user USER]", rule_remove},
    {"allow", "list", "allow list [--user USER] [--json]", rule_list},
    {"policy", "show", "policy show [--json]   (the MX's inbound policy: DNSBL, lists, rates, greylisting, DMARC, spam)", policy_show},
};

}  // namespace

std::vector<std::string> inbound_usage() {
  std::vector<std::string> out;
  for (const auto& c : commands) out.emplace_back(c.usage);
  return out;
}

int run_inbound(const Args& args) {
  if (args.words.empty()) return -1;
  const Command* cmd = nullptr;
  bool noun = false;
  for (const auto& c : commands) {
    if (args.words[0] != c.noun) continue;
    noun = true;
    if (args.words.size() > 1 && args.words[1] == c.verb) cmd = &c;
  }
  if (!noun) return -1;
  if (!cmd) {
    std::fprintf(stderr, "mailstead: unknown or missing verb for '%s'; one of:\n", args.words[0].c_str());
    for (const auto& c : commands)
      if (args.words[0] == c.noun) std::fprintf(stderr, "  mailstead %s\n", c.usage);
    return 2;
  }
  if (int rc = check_options(args, cmd->usage)) return rc;
  int rc = 0;
  auto loaded = load_for_command(args, rc);
  if (!loaded) return rc;
  const AllSettings& settings = *loaded;
  auto store = open_store_for(settings.core, rc);
  if (!store) return rc;
  admin::Ops ops(*store, settings.core);
  Ctx ctx{args, settings, ops};
  try {
    return cmd->handler(ctx);
  } catch (const Usage& u) {
    return operands::usage_error(u, cmd->usage);
  }
}

}  // namespace mailstead::cli
