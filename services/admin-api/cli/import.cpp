// `mailstead import FILE|-`: domains, users and aliases from a JSON document in one store
// batch (services/admin-api/ops/import.hpp; the format is in docs/cli.md). Nothing is
// written when any entry is refused; the error names the entry.
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/cli.hpp"
#include "config/source.hpp"
#include "log/log.hpp"
#include "ops/admin_ops.hpp"
#include "service/service.hpp"
#include "store/store.hpp"

namespace mailstead::cli {

namespace {

namespace json = boost::json;

struct Bad {
  std::string text;
};

const json::object& object_at(const json::value& v, const std::string& where) {
  if (!v.is_object()) throw Bad{where + " must be an object"};
  return v.as_object();
}

std::string string_field(const json::object& o, const char* key, const std::string& where, bool required) {
  auto it = o.find(key);
  if (it == o.end()) {
    if (required) throw Bad{where + "." + key + " is missing"};
    return "";
  }
  if (!it->value().is_string()) throw Bad{where + "." + key + " must be a string"};
  return std::string(it->value().as_string());
}

void only(const json::object& o, std::initializer_list<const char*> keys, const std::string& where) {
  for (const auto& [k, _] : o) {
    bool known = false;
    for (auto* n : keys) known |= k == n;
    if (!known) throw Bad{where + ": unknown field '" + std::string(k) + "'"};
  }
}

const json::array& array_field(const json::object& o, const char* key) {
  static const json::array empty;
  auto it = o.find(key);
  if (it == o.end()) return empty;
  if (!it->value().is_array()) throw Bad{std::string(key) + " must be an array"};
  return it->value().as_array();
}

admin::ImportData parse(const std::string& text) {
  boost::system::error_code ec;
  auto doc = json::parse(text, ec);
  if (ec) throw Bad{"the file is not JSON: " + ec.message()};
  const auto& top = object_at(doc, "the document");
  only(top, {"domains", "users", "aliases"}, "the document");
  admin::ImportData d;
  const auto& domains = array_field(top, "domains");
  for (std::size_t i = 0; i < domains.size(); ++i) {
    if (!domains[i].is_string()) throw Bad{"domains[" + std::to_string(i) + "] must be a string"};
    d.domains.emplace_back(domains[i].as_string());
  }
  const auto& users = array_field(top, "users");
  for (std::size_t i = 0; i < users.size(); ++i) {
    auto where = "users[" + std::to_string(i) + "]";
    const auto& o = object_at(users[i], where);
    only(o, {"address", "password", "password_hash", "name", "quota"}, where);
    admin::ImportUser u;
    u.address = string_field(o, "address", where, true);
    u.password = string_field(o, "password", where, false);
    u.password_hash = string_field(o, "password_hash", where, false);
    if (u.password.empty() && u.password_hash.empty()) throw Bad{where + " needs password or password_hash"};
    u.name = string_field(o, "name", where, false);
    if (auto it = o.find("quota"); it != o.end()) {
      if (it->value().is_uint64()) u.quota = it->value().as_uint64();
      else if (it->value().is_int64() && it->value().as_int64() >= 0) u.quota = static_cast<std::uint64_t>(it->value().as_int64());
      else throw Bad{where + ".quota must be a number of bytes (0: none)"};
    }
    d.users.push_back(std::move(u));
  }
  const auto& aliases = array_field(top, "aliases");
  for (std::size_t i = 0; i < aliases.size(); ++i) {
    auto where = "aliases[" + std::to_string(i) + "]";
    const auto& o = object_at(aliases[i], where);
    only(o, {"alias", "user"}, where);
    d.aliases.emplace_back(string_field(o, "alias", where, true), string_field(o, "user", where, true));
  }
  return d;
}

}  // namespace

int run_import(const Args& args) {
  if (args.words.size() != 2 || !args.opts.empty()) {
    std::fprintf(stderr, "mailstead: usage: mailstead import FILE|- [--json]\n");
    return 2;
  }
  std::string text;
  if (args.words[1] == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    std::ifstream in(args.words[1], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "mailstead: cannot read %s\n", args.words[1].c_str());
      return 1;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  admin::ImportData data;
  try {
    data = parse(text);
  } catch (const Bad& b) {
    std::fprintf(stderr, "mailstead: import: %s; nothing was imported\n", b.text.c_str());
    return 1;
  }
  int rc = 0;
  auto loaded = load_for_command(args, rc);
  if (!loaded) return rc;
  const config::CoreSettings& core = loaded->core;
  auto store = open_store_for(core, rc);
  if (!store) return rc;
  admin::Ops ops(*store, core);
  auto r = ops.import(data);
  store->close();
  if (!r) {
    std::fprintf(stderr, "mailstead: import: %s; nothing was imported\n", r.error().message.c_str());
    return 1;
  }
  if (args.json)
    std::cout << json::serialize(json::object{{"domains", r->domains}, {"users", r->users}, {"aliases", r->aliases}})
              << "\n";
  else
    std::printf("imported %llu domains, %llu users, %llu aliases\n", static_cast<unsigned long long>(r->domains),
                static_cast<unsigned long long>(r->users), static_cast<unsigned long long>(r->aliases));
  return 0;
}

}  // namespace mailstead::cli
