// Pattern-matched lists: checking, matching, expanding, the routing step and the store
// records (docs/lists.md).
#include "lists/lists.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <ctime>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "directory/address.hpp"
#include "directory/directory.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"

namespace mailstead::lists {

namespace {

using store::Table;

// RE2 spells a named group "(?P<name>…)"; the Perl/.NET "(?<name>…)" most people write is
// accepted too (RE2 has no look-behind, so "(?<=" and "(?<!" stay errors).
std::string re2_syntax(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 8);
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    out += pattern[i];
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      out += pattern[++i];
      continue;
    }
    if (pattern[i] == '(' && pattern.substr(i + 1, 2) == "?<" && i + 3 < pattern.size() && pattern[i + 3] != '=' &&
        pattern[i + 3] != '!') {
      out += "?P<";
      i += 2;
    }
  }
  return out;
}

// Compiled patterns, shared by every session of the process (RE2 matching is thread-safe).
std::shared_ptr<const RE2> compiled(std::string_view pattern) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::shared_ptr<const RE2>> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(std::string(pattern));
  if (it != cache.end()) return it->second;
  RE2::Options o;
  o.set_log_errors(false);
  auto re = std::make_shared<const RE2>(re2_syntax(pattern), o);
  if (cache.size() >= 1024) cache.clear();  // lists come and go; never grow without bound
  cache.emplace(std::string(pattern), re);
  return re;
}

bool capture_ok(std::string_view v) {
  if (v.empty()) return false;
  for (unsigned char c : v)
    if (c <= ' ' || c == '@' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ',' || c == '{' || c == '}')
      return false;
  return true;
}

// The placeholders of a template, or nullopt when its braces do not pair up.
std::optional<std::vector<std::string>> placeholders(std::string_view t) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '}') return std::nullopt;
    if (t[i] != '{') continue;
    auto end = t.find('}', i);
    if (end == std::string_view::npos) return std::nullopt;
    auto name = t.substr(i + 1, end - i - 1);
    if (name.empty() || name.find('{') != std::string_view::npos) return std::nullopt;
    names.emplace_back(name);
    i = end;
  }
  return names;
}

std::string external_key(std::string_view address) { return directory::lowercase_ascii(address); }
std::string by_user_key(std::uint64_t user, std::string_view address) {
  return key_u64_str(user, address);
}

}  // namespace

std::string ListRecord::encode() const {
  Encoder e;
  e.u8(1).str(name).str(pattern).strings(templates).str(site_domain).i64(created);
  return e.take();
}

std::optional<ListRecord> ListRecord::decode(std::string_view v) {
  Decoder d(v);
  ListRecord r;
  if (d.u8() != 1) return std::nullopt;
  r.name = d.str();
  r.pattern = d.str();
  r.templates = d.strings();
  r.site_domain = d.str();
  r.created = d.i64();
  if (!d.ok()) return std::nullopt;
  return r;
}

Result<ListRecord> check(std::string_view name, std::string_view pattern, const std::vector<std::string>& templates,
                         std::string_view site_domain) {
  ListRecord r;
  r.name = directory::lowercase_ascii(name);
  if (r.name.empty() || r.name.size() > 64 || r.name.front() == '.' || r.name.back() == '.' ||
      !std::all_of(r.name.begin(), r.name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
      }))
    return Error(ErrorKind::invalid, "a list name is 1 to 64 of a-z, 0-9, '-', '_' and '.' (not at the ends)", "name");
  if (pattern.empty() || pattern.size() > 1000) return Error(ErrorKind::invalid, "the pattern must be 1 to 1000 bytes", "pattern");
  auto re = compiled(pattern);
  if (!re->ok()) return Error(ErrorKind::invalid, "the pattern is not a regular expression RE2 accepts: " + re->error(), "pattern");
  if (templates.empty()) return Error(ErrorKind::invalid, "a list needs at least one member template", "templates");
  const auto& groups = re->NamedCapturingGroups();
  for (const auto& t : templates) {
    auto names = placeholders(t);
    if (!names) return Error(ErrorKind::invalid, "template '" + t + "': braces must pair up as {capture}", "templates");
    std::map<std::string, std::string> sample;
    for (const auto& n : *names) {
      if (!groups.count(n))
        return Error(ErrorKind::invalid, "template '" + t + "' names {" + n + "}, which the pattern does not capture (use (?<" + n + ">…))",
                     "templates");
      sample[n] = "x";
    }
    auto filled = fill(t, sample);
    if (!filled) return Error(ErrorKind::invalid, "template '" + t + "' does not make an address (local@domain)", "templates");
    r.templates.push_back(t);
  }
  auto d = directory::normalize_domain(site_domain);
  if (site_domain.empty() || !d)
    return Error(ErrorKind::invalid, "a list needs a site domain for its senders' aliases ([lists] site_domain or --site-domain)",
                 "site_domain");
  r.site_domain = *d;
  r.pattern = std::string(pattern);
  return r;
}

std::optional<std::map<std::string, std::string>> match(std::string_view pattern, std::string_view address) {
  auto re = compiled(pattern);
  if (!re->ok()) return std::nullopt;
  int n = re->NumberOfCapturingGroups();
  std::vector<re2::StringPiece> values(static_cast<std::size_t>(n));
  std::vector<RE2::Arg> args(static_cast<std::size_t>(n));
  std::vector<const RE2::Arg*> ptrs(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    args[static_cast<std::size_t>(i)] = &values[static_cast<std::size_t>(i)];
    ptrs[static_cast<std::size_t>(i)] = &args[static_cast<std::size_t>(i)];
  }
  if (!RE2::FullMatchN(re2::StringPiece(address.data(), address.size()), *re, ptrs.data(), n)) return std::nullopt;
  std::map<std::string, std::string> out;
  for (const auto& [name, index] : re->NamedCapturingGroups()) {
    const auto& v = values[static_cast<std::size_t>(index - 1)];
    out[name] = std::string(v.data() ? v.data() : "", v.size());
  }
  return out;
}

std::optional<std::string> fill(std::string_view tmpl, const std::map<std::string, std::string>& captures) {
  std::string out;
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '{') {
      out += tmpl[i];
      continue;
    }
    auto end = tmpl.find('}', i);
    if (end == std::string_view::npos) return std::nullopt;
    auto it = captures.find(std::string(tmpl.substr(i + 1, end - i - 1)));
    if (it == captures.end() || !capture_ok(it->second)) return std::nullopt;
    out += it->second;
    i = end;
  }
  auto p = directory::parse_address(out);
  if (!p || !p->has_domain || p->quoted || p->ip_literal || p->trailing_dot || !p->source_route.empty() ||
      p->local.empty() || !directory::is_dot_atom(p->local))
    return std::nullopt;
  auto d = directory::normalize_domain(p->domain);
  if (!d) return std::nullopt;
  return directory::lowercase_ascii(p->local) + "@" + *d;
}

std::vector<Member> expand(store::ReadTxn& txn, const ListRecord& list, const std::map<std::string, std::string>& captures) {
  std::vector<Member> out;
  auto add = [&](std::string address, std::uint64_t user) {
    for (const auto& m : out)
      if (m.address == address || (user != 0 && m.user == user)) return;
    out.push_back({std::move(address), user});
  };
  auto add_user = [&](std::uint64_t id) {
    if (auto u = directory::get_user(txn, id); u && u->enabled) add(u->address, u->id);
  };
  for (const auto& t : list.templates) {
    auto a = fill(t, captures);
    if (!a) continue;
    auto domain = a->substr(a->rfind('@') + 1);
    if (!directory::get_domain(txn, domain)) {
      add(*a, 0);
      continue;
    }
    if (auto id = directory::user_for_address(txn, *a)) {
      add_user(*id);
    } else if (auto g = directory::get_group(txn, *a)) {
      for (auto m : g->members) add_user(m);
    }
  }
  return out;
}

// ---- the store ----

std::optional<ListRecord> get_list(store::ReadTxn& txn, std::string_view name) {
  auto v = txn.get(Table::lists, directory::lowercase_ascii(name));
  if (!v) return std::nullopt;
  return ListRecord::decode(*v);
}

std::vector<ListRecord> all_lists(store::ReadTxn& txn) {
  std::vector<ListRecord> out;
  auto c = txn.cursor(Table::lists);
  for (bool ok = c->first(); ok; ok = c->next())
    if (auto r = ListRecord::decode(c->value())) out.push_back(std::move(*r));
  return out;
}

Result<void> add_list(store::WriteTxn& txn, ListRecord list) {
  if (txn.get(Table::lists, list.name)) return Error(ErrorKind::conflict, "a list named " + list.name + " exists", "name");
  if (list.created == 0) list.created = static_cast<std::int64_t>(std::time(nullptr));
  if (auto ec = txn.put(Table::lists, list.name, list.encode())) return internal("store: " + ec.message());
  return {};
}

Result<void> remove_list(store::WriteTxn& txn, std::string_view name) {
  auto key = directory::lowercase_ascii(name);
  if (!txn.get(Table::lists, key)) return Error(ErrorKind::not_found, "no list " + key, "name");
  txn.del(Table::lists, key);
  return {};
}

Result<void> add_external(store::WriteTxn& txn, std::uint64_t user, std::string_view address) {
  auto p = directory::parse_address(address);
  if (!p || !p->has_domain || p->ip_literal || p->trailing_dot || !p->source_route.empty() || p->local.empty())
    return Error(ErrorKind::invalid, "'" + std::string(address) + "' is not an address", "address");
  auto d = directory::normalize_domain(p->domain);
  if (!d) return Error(ErrorKind::invalid, "'" + std::string(address) + "': " + d.error().message, "address");
  if (directory::get_domain(txn, *d))
    return Error(ErrorKind::invalid, *d + " is a local domain: its addresses are users or aliases, not external addresses", "address");
  auto key = external_key(p->local + "@" + *d);
  if (auto v = txn.get(Table::external_addresses, key)) {
    if (v->size() == 8 && get_be64(*v) == user) return {};
    return Error(ErrorKind::conflict, key + " is registered to another account", "address");
  }
  if (auto ec = txn.put(Table::external_addresses, key, key_u64(user))) return internal("store: " + ec.message());
  if (auto ec = txn.put(Table::external_by_user, by_user_key(user, key), "")) return internal("store: " + ec.message());
  return {};
}

Result<void> remove_external(store::WriteTxn& txn, std::string_view address) {
  auto key = external_key(address);
  auto v = txn.get(Table::external_addresses, key);
  if (!v || v->size() != 8) return Error(ErrorKind::not_found, "no registered address " + key, "address");
  auto user = get_be64(*v);
  txn.del(Table::external_addresses, key);
  txn.del(Table::external_by_user, by_user_key(user, key));
  return {};
}

std::optional<std::uint64_t> external_owner(store::ReadTxn& txn, std::string_view address) {
  auto v = txn.get(Table::external_addresses, external_key(address));
  if (!v || v->size() != 8) return std::nullopt;
  auto id = get_be64(*v);
  if (!directory::get_user(txn, id)) return std::nullopt;  // the user was removed
  return id;
}

std::vector<std::string> externals_of(store::ReadTxn& txn, std::uint64_t user) {
  std::vector<std::string> out;
  auto prefix = key_u64(user);
  auto c = txn.cursor(Table::external_by_user);
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next())
    out.emplace_back(c->key().substr(8));
  return out;
}

std::optional<std::uint64_t> account_of(store::ReadTxn& txn, std::string_view address, std::string_view delimiter) {
  auto p = directory::parse_address(address);
  if (!p || !p->has_domain || p->ip_literal || !p->source_route.empty()) return std::nullopt;
  auto d = directory::normalize_domain(p->domain);
  if (!d) return std::nullopt;
  std::string base, tag;
  directory::split_tag(directory::lowercase_ascii(p->local), delimiter, base, tag);
  if (auto id = directory::user_for_address(txn, base + "@" + *d)) return id;
  if (auto id = external_owner(txn, directory::lowercase_ascii(p->local) + "@" + *d)) return id;
  return std::nullopt;
}

std::string site_alias(std::string_view primary_address, std::string_view site_domain) {
  return std::string(primary_address.substr(0, primary_address.rfind('@'))) + "@" + std::string(site_domain);
}

std::optional<std::uint64_t> site_alias_owner(store::ReadTxn& txn, std::string_view alias) {
  auto local = alias.substr(0, alias.rfind('@'));
  std::optional<std::uint64_t> found;
  for (const auto& u : directory::list_users(txn)) {
    if (std::string_view(u.address).substr(0, u.address.rfind('@')) != local) continue;
    if (found) return std::nullopt;  // two users share it: no alias (docs/lists.md)
    found = u.id;
  }
  return found;
}

std::optional<directory::Route> route(store::ReadTxn& txn, const directory::RoutingSettings& settings,
                                      const std::string& address, const directory::RouteContext& ctx) {
  auto lists = all_lists(txn);
  if (lists.empty()) return std::nullopt;
  for (const auto& l : lists) {
    auto captures = match(l.pattern, address);
    if (!captures) continue;
    if (expand(txn, l, *captures).empty()) return directory::Rejection{550, "5.1.1", "No such list here (it has no members)"};
    // Who posts: the authenticated user, else the account the envelope sender belongs to
    // (which smtpd proves at DATA with SPF/DMARC: docs/lists.md).
    std::optional<std::uint64_t> poster;
    if (ctx.authenticated_user && *ctx.authenticated_user != 0) poster = *ctx.authenticated_user;
    else if (!ctx.sender.empty()) poster = account_of(txn, ctx.sender, settings.delimiter);
    auto u = poster ? directory::get_user(txn, *poster) : std::nullopt;
    if (!u || !u->enabled)
      return directory::Rejection{550, "5.7.1",
                                  "Only senders with an account here may post to this list; <" + ctx.sender +
                                      "> is not associated with one"};
    directory::Delivery d;
    d.kind = directory::RouteKind::list;
    d.address = address;
    d.list = l.name;
    d.list_poster = u->id;
    return d;
  }
  // A reply to a sender's site alias: the one user whose primary address has that local part.
  auto domain = address.substr(address.rfind('@') + 1);
  bool site = false;
  for (const auto& l : lists) site |= l.site_domain == domain;
  if (!site) return std::nullopt;
  auto owner = site_alias_owner(txn, address);
  if (!owner) return std::nullopt;
  auto found = directory::get_user(txn, *owner);
  if (!found) return std::nullopt;
  if (!found->enabled) return directory::Rejection{550, "5.2.1", "Mailbox disabled"};
  directory::Delivery d;
  d.kind = directory::RouteKind::alias;
  d.address = address;
  d.users = {found->id};
  return d;
}

}  // namespace mailstead::lists
