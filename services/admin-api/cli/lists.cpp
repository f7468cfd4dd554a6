// `mailstead list …` and `mailstead user address …` (docs/cli.md, docs/lists.md):
// pattern-matched lists and the external addresses registered to accounts, through the
// admin operations (ops/lists.hpp).
#include <boost/json.hpp>
#include <cstdio>
#include <iostream>

#include "cli/cli.hpp"
#include "cli/operands.hpp"
#include "ops/admin_ops.hpp"
#include "ops/lists.hpp"
#include "store/store.hpp"
#include "util/text.hpp"

namespace mailstead::cli {

namespace {

namespace json = boost::json;

using operands::expect_operands;
using operands::operand;
using operands::opt;
using operands::Usage;

struct Env {
  const Args& args;
  admin::ListOps& lists;
  admin::Ops& ops;
};

int fail(const Error& e) {
  std::fprintf(stderr, "mailstead: %s%s%s\n", e.message.c_str(), e.field.empty() ? "" : " (", e.field.empty() ? "" : (e.field + ")").c_str());
  return 1;
}


json::object list_json(const lists::ListRecord& l) {
  json::array templates;
  for (const auto& t : l.templates) templates.push_back(json::value(t));
  return json::object{{"name", l.name}, {"pattern", l.pattern}, {"templates", templates},
                      {"site_domain", l.site_domain}, {"created", rfc5322_date(l.created)}};
}

void print_list(const lists::ListRecord& l) {
  std::printf("%s  %s  (site %s)\n", l.name.c_str(), l.pattern.c_str(), l.site_domain.c_str());
  for (const auto& t : l.templates) std::printf("  -> %s\n", t.c_str());
}

int list_add(Env& e) {
  const auto& name = operand(e.args, 2, "NAME");
  const auto& pattern = operand(e.args, 3, "PATTERN");
  std::vector<std::string> templates(e.args.words.begin() + std::min<std::ptrdiff_t>(4, static_cast<std::ptrdiff_t>(e.args.words.size())),
                                     e.args.words.end());
  if (templates.empty()) throw Usage{"missing TEMPLATE"};
  auto r = e.ops.run(e.lists.plan_add(name, pattern, templates, opt(e.args, "site-domain")));
  if (!r) return fail(r.error());
  if (e.args.json) std::cout << json::serialize(list_json(*r)) << "\n";
  else print_list(*r);
  return 0;
}

int list_remove(Env& e) {
  const auto& name = operand(e.args, 2, "NAME");
  expect_operands(e.args, 3);
  auto r = e.ops.run(e.lists.plan_remove(name));
  if (!r) return fail(r.error());
  return 0;
}

int list_show(Env& e) {
  expect_operands(e.args, 3);
  if (e.args.words.size() > 2) {
    auto l = e.lists.get(e.args.words[2]);
    if (!l) return fail(l.error());
    if (e.args.json) std::cout << json::serialize(list_json(*l)) << "\n";
    else print_list(*l);
    return 0;
  }
  auto all = e.lists.list();
  if (e.args.json) {
    json::array arr;
    for (const auto& l : all) arr.push_back(list_json(l));
    std::cout << json::serialize(arr) << "\n";
    return 0;
  }
  for (const auto& l : all) print_list(l);
  return 0;
}

int address_cmd(Env& e) {
  const auto& verb = operand(e.args, 2, "add|remove|list");
  const auto& user = operand(e.args, 3, "USER");
  if (verb == "list") {
    expect_operands(e.args, 4);
    auto a = e.lists.addresses(user);
    if (!a) return fail(a.error());
    if (e.args.json) {
      json::array arr;
      for (const auto& x : *a) arr.push_back(json::value(x));
      std::cout << json::serialize(arr) << "\n";
    } else {
      for (const auto& x : *a) std::printf("%s\n", x.c_str());
    }
    return 0;
  }
  if (verb != "add" && verb != "remove") throw Usage{"the verb is add, remove or list, not '" + verb + "'"};
  const auto& external = operand(e.args, 4, "EXTERNAL");
  expect_operands(e.args, 5);
  auto r = verb == "add" ? e.ops.run(e.lists.plan_add_address(user, external))
                         : e.ops.run(e.lists.plan_remove_address(user, external));
  if (!r) return fail(r.error());
  return 0;
}

struct Command {
  const char* noun;
  const char* verb;
  const char* usage;
  int (*handler)(Env&);
};

const Command commands[] = {
    {"list", "add", "list add NAME PATTERN TEMPLATE... [--site-domain D] [--json]   (a pattern-matched list; docs/lists.md)", list_add},
    {"list", "remove", "list remove NAME", list_remove},
    {"list", "show", "list show [NAME] [--json]", list_show},
    {"user", "address", "user address add|remove|list USER [EXTERNAL] [--json]   (external addresses that may post to lists)", address_cmd},
};

}  // namespace

std::vector<std::string> lists_usage() {
  std::vector<std::string> out;
  for (const auto& c : commands) out.push_back(c.usage);
  return out;
}

int run_lists(const Args& args) {
  if (args.words.empty()) return -1;
  bool noun = args.words[0] == "list";
  const Command* cmd = nullptr;
  for (const auto& c : commands)
    if (args.words[0] == c.noun && args.words.size() > 1 && args.words[1] == c.verb) cmd = &c;
  if (!cmd && !noun) return -1;  // `user …` verbs other than address are main's
  if (!cmd) {
    std::fprintf(stderr, "mailstead: unknown or missing verb for 'list'; one of:\n");
    for (const auto& c : commands)
      if (std::string_view(c.noun) == "list") std::fprintf(stderr, "  mailstead %s\n", c.usage);
    return 2;
  }
  if (int rc = check_options(args, cmd->usage)) return rc;
  int rc = 0;
  auto loaded = load_for_command(args, rc);
  if (!loaded) return rc;
  auto store = open_store_for(loaded->core, rc);
  if (!store) return rc;
  admin::Ops ops(*store, loaded->core);
  admin::ListOps lists(ops, loaded->admin.lists);
  Env env{args, lists, ops};
  try {
    return cmd->handler(env);
  } catch (const Usage& u) {
    return operands::usage_error(u, cmd->usage);
  }
}

}  // namespace mailstead::cli
