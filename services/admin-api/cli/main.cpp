// `mailstead`: administration on the same store as the services, and `mailstead up`.
// Every command is a row of one table; an error prints one line and exits non-zero
// (1: refused or failed, 2: usage, 78: configuration), leaving the store unchanged.
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <iostream>
#include <string>
#include <variant>

#include "cli/cli.hpp"
#include "cli/operands.hpp"
#include "config/source.hpp"
#include "log/log.hpp"
#include "ops/admin_ops.hpp"
#include "service/service.hpp"
#include "store/store.hpp"

namespace mailstead::cli {

namespace json = boost::json;

int check_options(const Args& args, const char* usage) {
  for (const auto& [name, _] : args.opts) {
    if (std::string(usage).find("--" + name) == std::string::npos) {
      std::fprintf(stderr, "mailstead: unknown option --%s for '%s'\n", name.c_str(), usage);
      return 2;
    }
  }
  return 0;
}

std::optional<AllSettings> load_for_command(const Args& args, int& rc) {
  try {
    auto s = load_all_settings(args.config_path);
    log::init("mailstead", "warn");
    return s;
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "mailstead: %s\n", e.what());
    rc = 78;  // EX_CONFIG
    return std::nullopt;
  }
}

std::unique_ptr<store::Store> open_store_for(const config::CoreSettings& core, int& rc) {
  std::error_code ec;
  std::string why;
  auto store = store::open(service::store_options(core), ec, why);
  if (!store) {
    std::fprintf(stderr, "mailstead: %s\n", why.c_str());
    rc = 1;
  }
  return store;
}

AllSettings load_all_settings(const std::string& path) {
  auto src = config::Source::load(path);
  AllSettings all;
  all.core = config::load_core(src);
  all.smtpd = smtp::load_settings(src);
  all.imapd = imap::load_settings(src);
  all.sieved = managesieve::load_settings(src);
  all.admin = admin::load_settings(src);
  all.outbound = outbound::load_settings(src);
  src.check_unknown();
  return all;
}

namespace {

using operands::expect_operands;
using operands::fail;
using operands::operand;
using operands::opt;
using operands::Usage;

struct Env {
  Args& args;
  admin::Ops& ops;
};

template <class T>
int done(const Result<T>& r, const std::string& ok_text) {
  if (!r) return fail(r.error());
  std::printf("%s\n", ok_text.c_str());
  return 0;
}

void print_json(const json::value& v) { std::cout << json::serialize(v) << "\n"; }

std::string read_password(const Args& a) {
  if (a.opts.count("password-stdin")) {
    std::string line;
    if (!std::getline(std::cin, line)) throw Usage{"--password-stdin: nothing on standard input"};
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  }
  if (auto it = a.opts.find("password"); it != a.opts.end()) return it->second;
  throw Usage{"give the password with --password-stdin (or --password P)"};
}

// ---- domain ----
int domain_add(Env& e) {
  auto& name = operand(e.args, 2, "DOMAIN");
  expect_operands(e.args, 3);
  auto r = e.ops.add_domain(name);
  return done(r, r ? "added domain " + r->name : "");
}
int domain_remove(Env& e) {
  auto& name = operand(e.args, 2, "DOMAIN");
  expect_operands(e.args, 3);
  return done(e.ops.remove_domain(name), "removed domain " + name);
}
int domain_list(Env& e) {
  expect_operands(e.args, 2);
  auto ds = e.ops.list_domains();
  if (e.args.json) {
    json::array arr;
    for (auto& d : ds) arr.push_back(json::object{{"domain", d.name}, {"created", d.created}});
    print_json(arr);
  } else {
    for (auto& d : ds) std::printf("%s\n", d.name.c_str());
  }
  return 0;
}

// ---- user ----
int user_add(Env& e) {
  auto& address = operand(e.args, 2, "ADDRESS");
  expect_operands(e.args, 3);
  std::uint64_t quota = 0;
  auto q = opt(e.args, "quota", "0");
  if (!config::parse_size(q, quota)) throw Usage{"--quota takes bytes or a size such as 1G, not '" + q + "'"};
  auto r = e.ops.add_user(address, read_password(e.args), opt(e.args, "name"), quota);
  return done(r, r ? "added user " + r->address : "");
}
int user_passwd(Env& e) {
  auto& address = operand(e.args, 2, "ADDRESS");
  expect_operands(e.args, 3);
  return done(e.ops.set_password(address, read_password(e.args)), "changed the password of " + address);
}
int user_enable(Env& e) {
  auto& address = operand(e.args, 2, "ADDRESS");
  expect_operands(e.args, 3);
  return done(e.ops.set_enabled(address, true), "enabled " + address);
}
int user_disable(Env& e) {
  auto& address = operand(e.args, 2, "ADDRESS");
  expect_operands(e.args, 3);
  return done(e.ops.set_enabled(address, false), "disabled " + address);
}
int user_remove(Env& e) {
  auto& address = operand(e.args, 2, "ADDRESS");
  expect_operands(e.args, 3);
  return done(e.ops.remove_user(address), "removed user " + address + " and its mailboxes");
}
int user_allow_sender(Env& e) {
  auto& address = operand(e.args, 2, "ADDRESS");
  auto& sender = operand(e.args, 3, "SENDER");
  expect_operands(e.args, 4);
  return done(e.ops.allow_sender(address, sender, true), address + " may now send as " + sender);
}
int user_deny_sender(Env& e) {
  auto& address = operand(e.args, 2, "ADDRESS");
  auto& sender = operand(e.args, 3, "SENDER");
  expect_operands(e.args, 4);
  return done(e.ops.allow_sender(address, sender, false), address + " may no longer send as " + sender);
}
int user_list(Env& e) {
  expect_operands(e.args, 2);
  auto users = e.ops.list_users();
  if (e.args.json) {
    json::array arr;
    for (auto& v : users) {
      json::array aliases, senders;
      for (auto& a : v.aliases) aliases.push_back(json::string(a));
      for (auto& s : v.user.allowed_senders) senders.push_back(json::string(s));
      arr.push_back(json::object{{"address", v.user.address}, {"name", v.user.display_name},
                                 {"quota", v.user.quota}, {"enabled", v.user.enabled},
                                 {"aliases", aliases}, {"allowed_senders", senders}});
    }
    print_json(arr);
  } else {
    for (auto& v : users) {
      std::string extra;
      if (!v.user.enabled) extra += " (disabled)";
      if (v.user.quota) extra += " quota=" + std::to_string(v.user.quota);
      if (!v.aliases.empty()) {
        extra += " aliases=";
        for (std::size_t i = 0; i < v.aliases.size(); ++i) extra += (i ? "," : "") + v.aliases[i];
      }
      std::printf("%s%s%s%s\n", v.user.address.c_str(), v.user.display_name.empty() ? "" : " \"",
                  v.user.display_name.empty() ? "" : (v.user.display_name + "\"").c_str(), extra.c_str());
    }
  }
  return 0;
}

// ---- alias ----
int alias_add(Env& e) {
  auto& alias = operand(e.args, 2, "ALIAS");
  auto& user = operand(e.args, 3, "USER");
  expect_operands(e.args, 4);
  auto r = e.ops.add_alias(alias, user);
  return done(r, r ? "added alias " + r->address + " -> " + user : "");
}
int alias_remove(Env& e) {
  auto& alias = operand(e.args, 2, "ALIAS");
  expect_operands(e.args, 3);
  return done(e.ops.remove_alias(alias), "removed alias " + alias);
}
int alias_list(Env& e) {
  expect_operands(e.args, 2);
  auto as = e.ops.list_aliases();
  if (e.args.json) {
    json::array arr;
    for (auto& [a, u] : as) arr.push_back(json::object{{"alias", a}, {"user", u}});
    print_json(arr);
  } else {
    for (auto& [a, u] : as) std::printf("%s -> %s\n", a.c_str(), u.c_str());
  }
  return 0;
}

// ---- group ----
int group_add(Env& e) {
  auto& group = operand(e.args, 2, "GROUP");
  std::vector<std::string> members(e.args.words.begin() + 3, e.args.words.end());
  auto r = e.ops.add_group(group, members);
  return done(r, r ? "added group " + r->address + " with " + std::to_string(r->members.size()) + " members" : "");
}
int group_add_member(Env& e) {
  auto& group = operand(e.args, 2, "GROUP");
  auto& member = operand(e.args, 3, "MEMBER");
  expect_operands(e.args, 4);
  return done(e.ops.add_group_member(group, member), "added " + member + " to " + group);
}
int group_remove_member(Env& e) {
  auto& group = operand(e.args, 2, "GROUP");
  auto& member = operand(e.args, 3, "MEMBER");
  expect_operands(e.args, 4);
  return done(e.ops.remove_group_member(group, member), "removed " + member + " from " + group);
}
int group_policy(Env& e) {
  auto& group = operand(e.args, 2, "GROUP");
  auto& policy = operand(e.args, 3, "anyone|members|domain");
  expect_operands(e.args, 4);
  return done(e.ops.set_group_policy(group, policy), "posting policy of " + group + " is now " + policy);
}
int group_remove(Env& e) {
  auto& group = operand(e.args, 2, "GROUP");
  expect_operands(e.args, 3);
  return done(e.ops.remove_group(group), "removed group " + group);
}
int group_list(Env& e) {
  expect_operands(e.args, 2);
  auto gs = e.ops.list_groups();
  if (e.args.json) {
    json::array arr;
    for (auto& g : gs) {
      json::array members;
      for (auto& m : g.members) members.push_back(json::string(m));
      arr.push_back(json::object{{"group", g.group.address}, {"policy", directory::policy_name(g.group.policy)},
                                 {"members", members}});
    }
    print_json(arr);
  } else {
    for (auto& g : gs) {
      std::string ms;
      for (std::size_t i = 0; i < g.members.size(); ++i) ms += (i ? "," : "") + g.members[i];
      std::printf("%s policy=%s members=%s\n", g.group.address.c_str(), directory::policy_name(g.group.policy),
                  ms.c_str());
    }
  }
  return 0;
}

// ---- catch-all ----
int catchall_set(Env& e) {
  auto& domain = operand(e.args, 2, "DOMAIN");
  operand(e.args, 3, "USER");
  std::vector<std::string> users(e.args.words.begin() + 3, e.args.words.end());
  return done(e.ops.set_catchall(domain, users), "catch-all of " + domain + " set");
}
int catchall_clear(Env& e) {
  auto& domain = operand(e.args, 2, "DOMAIN");
  expect_operands(e.args, 3);
  return done(e.ops.clear_catchall(domain), "catch-all of " + domain + " cleared");
}
int catchall_show(Env& e) {
  std::string only = e.args.words.size() > 2 ? e.args.words[2] : "";
  expect_operands(e.args, 3);
  auto cs = e.ops.list_catchalls();
  if (e.args.json) {
    json::array arr;
    for (auto& c : cs) {
      if (!only.empty() && c.domain != only) continue;
      json::array users;
      for (auto& u : c.users) users.push_back(json::string(u));
      arr.push_back(json::object{{"domain", c.domain}, {"users", users}});
    }
    print_json(arr);
  } else {
    for (auto& c : cs) {
      if (!only.empty() && c.domain != only) continue;
      std::string us;
      for (std::size_t i = 0; i < c.users.size(); ++i) us += (i ? "," : "") + c.users[i];
      std::printf("%s %s\n", c.domain.c_str(), us.empty() ? "(none)" : us.c_str());
    }
  }
  return 0;
}

// ---- resolve ----
int resolve_cmd(Env& e) {
  auto& address = operand(e.args, 1, "ADDRESS");
  expect_operands(e.args, 2);
  auto r = e.ops.resolve(address, opt(e.args, "from"), opt(e.args, "authenticated-as"));
  if (!r) return fail(r.error());
  if (auto* d = std::get_if<directory::Delivery>(&*r)) {
    auto users = e.ops.user_addresses(d->users);
    if (e.args.json) {
      json::array us;
      for (auto& u : users) us.push_back(json::string(u));
      json::object o{{"action", "deliver"}, {"kind", directory::route_kind_name(d->kind)},
                     {"address", d->address}, {"tag", d->tag}, {"mailboxes", us}};
      if (d->kind == directory::RouteKind::stream) o["stream"] = d->stream;
      if (d->kind == directory::RouteKind::list) o["list"] = d->list;
      print_json(o);
    } else {
      std::string target;
      if (d->kind == directory::RouteKind::remote) target = "outbound queue";
      else if (d->kind == directory::RouteKind::stream) target = "stream " + d->stream;
      else if (d->kind == directory::RouteKind::list) target = "list " + d->list;
      else for (std::size_t i = 0; i < users.size(); ++i) target += (i ? "," : "") + users[i];
      std::printf("deliver %s via %s to %s%s\n", d->address.c_str(), directory::route_kind_name(d->kind),
                  target.c_str(), d->tag.empty() ? "" : (" tag=" + d->tag).c_str());
    }
  } else {
    auto& rej = std::get<directory::Rejection>(*r);
    if (e.args.json)
      print_json(json::object{{"action", "reject"}, {"code", rej.code}, {"enhanced", rej.enhanced}, {"text", rej.text}});
    else
      std::printf("reject %d %s %s\n", rej.code, rej.enhanced.c_str(), rej.text.c_str());
  }
  return 0;
}

// ---- mailbox ----
int mailbox_list(Env& e) {
  auto& user = operand(e.args, 2, "USER");
  expect_operands(e.args, 3);
  auto r = e.ops.list_mailboxes(user);
  if (!r) return fail(r.error());
  if (e.args.json) {
    json::array arr;
    for (auto& m : *r)
      arr.push_back(json::object{{"name", m.name}, {"special_use", m.special_use}, {"subscribed", m.subscribed},
                                 {"messages", m.messages}, {"unseen", m.unseen}, {"bytes", m.bytes},
                                 {"uidvalidity", m.uidvalidity}, {"uidnext", m.uidnext},
                                 {"highestmodseq", m.highestmodseq}});
    print_json(arr);
  } else {
    for (auto& m : *r)
      std::printf("%-20s %-10s messages=%u unseen=%u uidvalidity=%u uidnext=%u\n", m.name.c_str(),
                  m.special_use.empty() ? "-" : m.special_use.c_str(), m.messages, m.unseen, m.uidvalidity, m.uidnext);
  }
  return 0;
}

// ---- message ----
int message_list(Env& e) {
  auto& user = operand(e.args, 2, "USER");
  auto& mailbox = operand(e.args, 3, "MAILBOX");
  expect_operands(e.args, 4);
  auto r = e.ops.list_messages(user, mailbox);
  if (!r) return fail(r.error());
  if (e.args.json) {
    json::array arr;
    for (auto& m : *r) {
      json::array kw;
      for (auto& k : m.record.keywords) kw.push_back(json::string(k));
      arr.push_back(json::object{{"uid", m.uid}, {"size", m.record.size}, {"flags", m.record.flags},
                                 {"keywords", kw}, {"modseq", m.record.modseq},
                                 {"internaldate", m.record.internaldate}, {"envelope", m.envelope},
                                 {"bodystructure", m.bodystructure}});
    }
    print_json(arr);
  } else {
    for (auto& m : *r)
      std::printf("%u size=%llu flags=%u modseq=%llu\n", m.uid, static_cast<unsigned long long>(m.record.size),
                  m.record.flags, static_cast<unsigned long long>(m.record.modseq));
  }
  return 0;
}
int message_get(Env& e) {
  auto& user = operand(e.args, 2, "USER");
  auto& mailbox = operand(e.args, 3, "MAILBOX");
  auto& uid_text = operand(e.args, 4, "UID");
  expect_operands(e.args, 5);
  std::uint64_t uid = 0;
  if (!config::parse_size(uid_text, uid) || uid == 0 || uid > UINT32_MAX) throw Usage{"UID must be a number"};
  auto r = e.ops.get_message(user, mailbox, static_cast<std::uint32_t>(uid));
  if (!r) return fail(r.error());
  std::fwrite(r->data(), 1, r->size(), stdout);
  return 0;
}

// ---- sieve ----
int sieve_list(Env& e) {
  auto& user = operand(e.args, 2, "USER");
  expect_operands(e.args, 3);
  auto r = e.ops.list_scripts(user);
  if (!r) return fail(r.error());
  if (e.args.json) {
    json::array arr;
    for (auto& s : *r) arr.push_back(json::object{{"name", s.name}, {"active", s.active}, {"size", s.size}});
    print_json(arr);
  } else {
    for (auto& s : *r) std::printf("%s%s\n", s.name.c_str(), s.active ? " (active)" : "");
  }
  return 0;
}
int sieve_get(Env& e) {
  auto& user = operand(e.args, 2, "USER");
  auto& name = operand(e.args, 3, "NAME");
  expect_operands(e.args, 4);
  auto r = e.ops.get_script(user, name);
  if (!r) return fail(r.error());
  std::fwrite(r->data(), 1, r->size(), stdout);
  return 0;
}
int sieve_put(Env& e) {
  auto& user = operand(e.args, 2, "USER");
  auto& name = operand(e.args, 3, "NAME");
  auto& file = operand(e.args, 4, "FILE");
  expect_operands(e.args, 5);
  std::string text;
  FILE* f = file == "-" ? stdin : std::fopen(file.c_str(), "rb");
  if (!f) throw Usage{"cannot read " + file};
  char buf[8192];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  if (f != stdin) std::fclose(f);
  auto r = e.ops.put_script(user, name, text);
  if (!r) return fail(r.error());
  for (auto& w : *r) std::fprintf(stderr, "warning: %s\n", w.c_str());
  return 0;
}
int sieve_activate(Env& e) {
  auto& user = operand(e.args, 2, "USER");
  auto& name = operand(e.args, 3, "NAME");
  expect_operands(e.args, 4);
  auto r = e.ops.activate_script(user, name);
  return r ? 0 : fail(r.error());
}
int sieve_deactivate(Env& e) {
  auto& user = operand(e.args, 2, "USER");
  expect_operands(e.args, 3);
  auto r = e.ops.activate_script(user, "");
  return r ? 0 : fail(r.error());
}
int sieve_delete(Env& e) {
  auto& user = operand(e.args, 2, "USER");
  auto& name = operand(e.args, 3, "NAME");
  expect_operands(e.args, 4);
  auto r = e.ops.delete_script(user, name);
  return r ? 0 : fail(r.error());
}

// ---- dkim (docs/outbound.md): private keys are never printed ----
std::string utc_time(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A zone-file TXT record: DNS character-strings hold at most 255 bytes each.
std::string zone_line(const dkim::KeyRecord& k) {
  auto txt = k.txt();
  std::string out = k.dns_name() + ". IN TXT (";
  for (std::size_t i = 0; i < txt.size(); i += 255) out += " \"" + txt.substr(i, 255) + "\"";
  return out + " )";
}

json::object key_json(const dkim::KeyRecord& k) {
  return json::object{{"selector", k.selector},
                      {"algorithm", dkim::algorithm_name(k.algorithm)},
                      {"state", dkim::state_name(k.state)},
                      {"created", k.created},
                      {"retire_at", k.retire_at},
                      {"dns_name", k.dns_name()},
                      {"txt", k.txt()}};
}

int dkim_generate(Env& e) {
  auto& domain = operand(e.args, 2, "DOMAIN");
  expect_operands(e.args, 3);
  auto r = e.ops.generate_dkim_key(domain, opt(e.args, "selector"), opt(e.args, "algorithm", "rsa"));
  if (!r) return fail(r.error());
  if (e.args.json) {
    print_json(key_json(*r));
  } else {
    std::printf("generated %s key %s for %s; it signs from now on. Publish it in DNS:\n%s\n",
                dkim::algorithm_name(r->algorithm), r->selector.c_str(), r->domain.c_str(), zone_line(*r).c_str());
  }
  return 0;
}

int dkim_show(Env& e) {
  auto& domain = operand(e.args, 2, "DOMAIN");
  expect_operands(e.args, 3);
  auto r = e.ops.list_dkim_keys(domain);
  if (!r) return fail(r.error());
  if (e.args.json) {
    json::array arr;
    for (auto& k : *r) arr.push_back(key_json(k));
    print_json(arr);
  } else if (e.args.opts.count("txt")) {
    // One line per key to publish: the signing keys and the retired ones in their grace.
    for (auto& k : *r) std::printf("%s %s\n", k.selector.c_str(), k.txt().c_str());
  } else {
    if (r->empty()) std::printf("%s has no DKIM key: mail from it leaves unsigned\n", domain.c_str());
    for (auto& k : *r) {
      if (k.state == dkim::KeyState::active)
        std::printf("%s (%s, signing, created %s)\n", k.selector.c_str(), dkim::algorithm_name(k.algorithm),
                    utc_time(k.created).c_str());
      else
        std::printf("%s (%s, retired: keep it published until %s)\n", k.selector.c_str(),
                    dkim::algorithm_name(k.algorithm), utc_time(k.retire_at).c_str());
      std::printf("  %s\n", zone_line(k).c_str());
    }
  }
  return 0;
}

int dkim_rotate(Env& e) {
  auto& domain = operand(e.args, 2, "DOMAIN");
  expect_operands(e.args, 3);
  auto r = e.ops.rotate_dkim_keys(domain);
  if (!r) return fail(r.error());
  if (e.args.json) {
    json::array arr;
    for (auto& k : *r) arr.push_back(key_json(k));
    print_json(arr);
    return 0;
  }
  for (auto& k : *r)
    std::printf("new %s key %s signs for %s from now on; publish it in DNS:\n%s\n", dkim::algorithm_name(k.algorithm),
                k.selector.c_str(), k.domain.c_str(), zone_line(k).c_str());
  std::printf("the replaced keys stay listed (mailstead dkim show %s) until their grace ends\n", domain.c_str());
  return 0;
}

// ---- relay (docs/outbound.md): the password is read from standard input and never printed ----
int relay_set(Env& e) {
  if (e.args.opts.count("password"))
    throw Usage{"give the relay password on standard input (--password-stdin), not on the command line"};
  relay::SetRequest req;
  if (e.args.words.size() > 2) req.host_port = e.args.words[2];
  expect_operands(e.args, 3);
  req.preset = opt(e.args, "preset");
  if (e.args.opts.count("security")) req.security = opt(e.args, "security");
  req.user = opt(e.args, "user");
  req.domain = opt(e.args, "domain");
  if (e.args.opts.count("password-stdin")) {
    std::string line;
    if (!std::getline(std::cin, line)) throw Usage{"--password-stdin: nothing on standard input"};
    if (!line.empty() && line.back() == '\r') line.pop_back();
    req.password = std::move(line);
  }
  auto r = e.ops.set_relay(req);
  if (!r) return fail(r.error());
  for (auto& w : r->warnings) std::fprintf(stderr, "mailstead: warning: %s\n", w.c_str());
  const auto& rec = r->record;
  std::string pw = rec.password == relay::PasswordSource::stored        ? ", password stored encrypted"
                   : rec.password == relay::PasswordSource::secrets_file ? ", password from the secrets file"
                                                                         : "";
  std::printf("relay for %s: %s:%u (%s)%s%s; it applies to the next message\n",
              rec.domain.empty() ? "all senders" : rec.domain.c_str(), rec.host.c_str(), rec.port,
              relay::security_name(rec.security), rec.user.empty() ? ", no login" : (", user " + rec.user).c_str(),
              pw.c_str());
  return 0;
}

int relay_show(Env& e) {
  expect_operands(e.args, 2);
  auto all = e.ops.list_relays();
  if (e.args.json) {
    json::array arr;
    for (auto& r : all) {
      json::value domain = r.domain.empty() ? json::value(nullptr) : json::value(r.domain);
      arr.push_back(json::object{{"domain", domain},
                                 {"host", r.host},
                                 {"port", r.port},
                                 {"security", relay::security_name(r.security)},
                                 {"user", r.user},
                                 {"password", relay::password_source_name(r.password)},
                                 {"preset", r.preset},
                                 {"updated", r.updated}});
    }
    print_json(arr);
    return 0;
  }
  if (all.empty()) std::printf("no relay: mail goes straight to each recipient's MX\n");
  for (auto& r : all)
    std::printf("%s: %s:%u security=%s user=%s password=%s%s\n", r.domain.empty() ? "default" : r.domain.c_str(),
                r.host.c_str(), r.port, relay::security_name(r.security), r.user.empty() ? "-" : r.user.c_str(),
                relay::password_source_name(r.password), r.preset.empty() ? "" : (" preset=" + r.preset).c_str());
  return 0;
}

int relay_clear(Env& e) {
  expect_operands(e.args, 2);
  auto d = opt(e.args, "domain");
  return done(e.ops.clear_relay(d), d.empty() ? "cleared the default relay" : "cleared the relay for " + d);
}

// ---- queue ----
int queue_get(Env& e) {
  auto& id_text = operand(e.args, 2, "ID");
  expect_operands(e.args, 3);
  std::uint64_t id = 0;
  if (!config::parse_size(id_text, id) || id == 0) throw Usage{"ID must be a number"};
  auto r = e.ops.get_queued(id);
  if (!r) return fail(r.error());
  std::fwrite(r->data(), 1, r->size(), stdout);
  return 0;
}
// ---- admin role and API tokens (docs/admin-api.md) ----
int admin_grant(Env& e) {
  auto& address = operand(e.args, 2, "ADDRESS");
  expect_operands(e.args, 3);
  return done(e.ops.grant_admin(address), address + " is now an administrator");
}
int admin_revoke(Env& e) {
  auto& address = operand(e.args, 2, "ADDRESS");
  expect_operands(e.args, 3);
  return done(e.ops.revoke_admin(address), address + " is no longer an administrator");
}
int admin_list(Env& e) {
  expect_operands(e.args, 2);
  auto admins = e.ops.list_admins();
  if (e.args.json) {
    json::array arr;
    for (auto& a : admins) arr.push_back(json::object{{"address", a}});
    print_json(arr);
  } else {
    for (auto& a : admins) std::printf("%s\n", a.c_str());
  }
  return 0;
}
int token_create(Env& e) {
  expect_operands(e.args, 2);
  auto name = opt(e.args, "name");
  if (name.empty()) throw Usage{"give the token a name with --name N"};
  auto r = e.ops.create_token(name);
  if (!r) return fail(r.error());
  if (e.args.json)
    print_json(json::object{{"id", r->record.id}, {"name", r->record.name}, {"token", r->text}});
  else
    std::printf("%s\n", r->text.c_str());  // the only time the secret is shown
  return 0;
}
int token_list(Env& e) {
  expect_operands(e.args, 2);
  auto tokens = e.ops.list_tokens();
  if (e.args.json) {
    json::array arr;
    for (auto& t : tokens) arr.push_back(json::object{{"id", t.id}, {"name", t.name}, {"created", t.created}});
    print_json(arr);
  } else {
    for (auto& t : tokens) std::printf("%llu %s\n", static_cast<unsigned long long>(t.id), t.name.c_str());
  }
  return 0;
}
int token_revoke(Env& e) {
  auto& id_text = operand(e.args, 2, "ID");
  expect_operands(e.args, 3);
  std::uint64_t id = 0;
  if (!config::parse_size(id_text, id) || id == 0) throw Usage{"ID must be a number (mailstead token list shows them)"};
  return done(e.ops.revoke_token(id), "revoked token " + id_text);
}

struct Command {
  const char* noun;
  const char* verb;  // "" for one-word commands
  const char* usage;
  int (*handler)(Env&);
};

const Command commands[] = {
    {"domain", "add", "domain add DOMAIN", domain_add},
    {"domain", "list", "domain list [--json]", domain_list},
    {"domain", "remove", "domain remove DOMAIN", domain_remove},
    {"user", "add", "user add ADDRESS (--password-stdin | --password P) [--name N] [--quota BYTES]", user_add},
    {"user", "passwd", "user passwd ADDRESS (--password-stdin | --password P)", user_passwd},
    {"user", "list", "user list [--json]", user_list},
    {"user", "remove", "user remove ADDRESS", user_remove},
    {"user", "enable", "user enable ADDRESS", user_enable},
    {"user", "disable", "user disable ADDRESS", user_disable},
    {"user", "allow-sender", "user allow-sender ADDRESS SENDER|@DOMAIN", user_allow_sender},
    {"user", "deny-sender", "user deny-sender ADDRESS SENDER|@DOMAIN", user_deny_sender},
    {"alias", "add", "alias add ALIAS USER", alias_add},
    {"alias", "remove", "alias remove ALIAS", alias_remove},
    {"alias", "list", "alias list [--json]", alias_list},
    {"group", "add", "group add GROUP [MEMBER...]", group_add},
    {"group", "add-member", "group add-member GROUP MEMBER", group_add_member},
    {"group", "remove-member", "group remove-member GROUP MEMBER", group_remove_member},
    {"group", "policy", "group policy GROUP anyone|members|domain", group_policy},
    {"group", "remove", "group remove GROUP", group_remove},
    {"group", "list", "group list [--json]", group_list},
    {"catchall", "set", "catchall set DOMAIN USER...", catchall_set},
    {"catchall", "clear", "catchall clear DOMAIN", catchall_clear},
    {"catchall", "show", "catchall show [DOMAIN] [--json]", catchall_show},
    {"resolve", "", "resolve ADDRESS [--from SENDER] [--authenticated-as USER] [--json]", resolve_cmd},
    {"mailbox", "list", "mailbox list USER [--json]", mailbox_list},
    {"message", "list", "message list USER MAILBOX [--json]", message_list},
    {"message", "get", "message get USER MAILBOX UID", message_get},
    {"sieve", "list", "sieve list USER [--json]", sieve_list},
    {"sieve", "get", "sieve get USER NAME", sieve_get},
    {"sieve", "put", "sieve put USER NAME FILE|-   (validated; warnings on stderr)", sieve_put},
    {"sieve", "activate", "sieve activate USER NAME", sieve_activate},
    {"sieve", "deactivate", "sieve deactivate USER", sieve_deactivate},
    {"sieve", "delete", "sieve delete USER NAME", sieve_delete},
    {"dkim", "generate", "dkim generate DOMAIN [--selector S] [--algorithm rsa|ed25519]", dkim_generate},
    {"dkim", "show", "dkim show DOMAIN [--txt] [--json]", dkim_show},
    {"dkim", "rotate", "dkim rotate DOMAIN", dkim_rotate},
    {"relay", "set",
     "relay set HOST:PORT [--security starttls|tls|none] [--user USER --password-stdin] [--domain SENDER-DOMAIN] "
     "[--preset ses|mailgun|postmark|sendgrid|gmail|smtp]",
     relay_set},
    {"relay", "show", "relay show [--json]", relay_show},
    {"relay", "clear", "relay clear [--domain D]", relay_clear},
    {"queue", "get", "queue get ID   (a queued message's bytes)", queue_get},
    {"admin", "grant", "admin grant ADDRESS", admin_grant},
    {"admin", "revoke", "admin revoke ADDRESS", admin_revoke},
    {"admin", "list", "admin list [--json]", admin_list},
    {"token", "create", "token create --name N [--json]   (prints the token once)", token_create},
    {"token", "list", "token list [--json]", token_list},
    {"token", "revoke", "token revoke ID", token_revoke},
};

void usage(FILE* out) {
  std::fprintf(out, "usage: mailstead [--config FILE] [--json] COMMAND ...\n\ncommands:\n");
  std::fprintf(out, "  up [--standard-ports] [--no-demo]   start and supervise every service\n");
  std::fprintf(out, "  init --domain DOMAIN --admin ADDRESS [--password-stdin]   first start without `up` (containers)\n");
  std::fprintf(out, "  backup DIR                          a consistent copy of the store, configuration and keys, while serving\n");
  std::fprintf(out, "  restore DIR                         put a backup back into a stopped deployment\n");
  std::fprintf(out, "  import FILE|- [--json]              domains, users (password or argon2id hash) and aliases from JSON, in one batch\n");
  for (const auto& c : commands) std::fprintf(out, "  %s\n", c.usage);
  for (const auto& u : outbound_usage()) std::fprintf(out, "  %s\n", u.c_str());
  std::fprintf(out, "  dmarc override DOMAIN none|quarantine|reject|ignore   per-domain DMARC action (docs/authentication.md)\n");
  std::fprintf(out, "  dmarc clear DOMAIN | dmarc show [--json]\n");
  for (const auto& u : streams_usage()) std::fprintf(out, "  %s\n", u.c_str());
  for (const auto& u : lists_usage()) std::fprintf(out, "  %s\n", u.c_str());
  for (const auto& u : inbound_usage()) std::fprintf(out, "  %s\n", u.c_str());
}

// Options that take a value; every other --option is a flag.
bool takes_value(const std::string& name) {
  return name == "config" || name == "password" || name == "name" || name == "quota" || name == "from" ||
         name == "authenticated-as" || name == "selector" || name == "algorithm" || name == "security" ||
         name == "user" || name == "domain" || name == "preset" || name == "admin" || name == "since" ||
         name == "slug" || name == "description" || name == "email-posting" || name == "topic" || name == "as" ||
         name == "note" || name == "for" || name == "site-domain" || name == "site" || name == "bot-email" ||
         name == "api-key-file" || name == "url-file" || name == "stream";
}

}  // namespace
}  // namespace mailstead::cli

int main(int argc, char** argv) {
  using namespace mailstead;
  using namespace mailstead::cli;
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      for (++i; i < argc; ++i) args.words.push_back(argv[i]);
      break;
    }
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string name = a.substr(2), value;
      auto eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (takes_value(name)) {
        if (i + 1 >= argc) {
          std::fprintf(stderr, "mailstead: --%s needs a value\n", name.c_str());
          return 2;
        }
        value = argv[++i];
      }
      if (name == "help") { usage(stdout); return 0; }
      if (name == "json") args.json = true;
      else if (name == "config") args.config_path = value;
      else args.opts[name] = value;
    } else {
      args.words.push_back(a);
    }
  }
  if (args.words.empty()) {
    usage(stderr);
    return 2;
  }
  // Without --config, MAILSTEAD_CONFIG names the file (the container image sets it, so
  // `docker compose exec SERVICE mailstead …` works on the deployment's store).
  if (args.config_path.empty()) {
    if (const char* env = std::getenv("MAILSTEAD_CONFIG"); env && *env) args.config_path = env;
  }
  if (args.words[0] == "up") return run_up(args);
  if (args.words[0] == "init") return run_init(args);
  if (args.words[0] == "backup") return run_backup(args);
  if (args.words[0] == "restore") return run_restore(args);
  if (args.words[0] == "import") return run_import(args);
  if (int rc = run_outbound(args); rc >= 0) return rc;
  if (int rc = run_dmarc(args); rc >= 0) return rc;
  if (int rc = run_streams(args); rc >= 0) return rc;
  if (int rc = run_lists(args); rc >= 0) return rc;
  if (int rc = run_inbound(args); rc >= 0) return rc;

  const Command* cmd = nullptr;
  bool noun_known = false;
  for (const auto& c : commands) {
    if (args.words[0] != c.noun) continue;
    noun_known = true;
    if (std::string(c.verb).empty() || (args.words.size() > 1 && args.words[1] == c.verb)) {
      cmd = &c;
      break;
    }
  }
  if (!cmd) {
    if (noun_known) {
      std::fprintf(stderr, "mailstead: unknown or missing verb for '%s'; one of:\n", args.words[0].c_str());
      for (const auto& c : commands)
        if (args.words[0] == c.noun) std::fprintf(stderr, "  mailstead %s\n", c.usage);
    } else {
      std::fprintf(stderr, "mailstead: unknown command '%s' (mailstead --help lists them)\n", args.words[0].c_str());
    }
    return 2;
  }
  if (int rc = check_options(args, cmd->usage)) return rc;

  int rc = 0;
  auto loaded = load_for_command(args, rc);
  if (!loaded) return rc;
  const config::CoreSettings& core = loaded->core;
  auto store = open_store_for(core, rc);
  if (!store) return rc;
  admin::Ops ops(*store, core);
  Env env{args, ops};
  try {
    return cmd->handler(env);
  } catch (const Usage& u) {
    return operands::usage_error(u, cmd->usage);
  }
}
