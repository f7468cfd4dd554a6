// Administrative operations (see admin_ops.hpp).
#include "ops/admin_ops.hpp"

#include <ctime>
#include <set>
#include <unordered_map>

#include "auth/password.hpp"
#include "directory/address.hpp"
#include "mime/cache.hpp"
#include "sieve/delivery.hpp"
#include "sieve/sieve.hpp"
#include "srs/srs.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"

namespace mailstead::admin {

namespace {

std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }

// Errors of one operation are about its main input unless they say otherwise.
template <class T>
Result<T> tagged(Result<T> r, const char* field) {
  if (!r) return about(r.error(), field);
  return r;
}

Result<std::uint64_t> require_user_id(store::ReadTxn& txn, std::string_view user) {
  auto u = directory::find_user(txn, directory::lowercase_ascii(user));
  if (!u) return Error(ErrorKind::not_found, "no user " + std::string(user), "user");
  return u->id;
}

Result<store::MailboxRecord> require_mailbox(store::ReadTxn& txn, std::string_view user, std::string_view mailbox) {
  auto u = directory::find_user(txn, directory::lowercase_ascii(user));
  if (!u) return Error(ErrorKind::not_found, "no user " + std::string(user), "user");
  auto mb = store::find_mailbox(txn, u->id, mailbox);
  if (!mb) return Error(ErrorKind::not_found, u->address + " has no mailbox " + std::string(mailbox), "mailbox");
  return *mb;
}

}  // namespace

Ops::Ops(store::Store& store, const config::CoreSettings& core)
    : store_(store), core_(core), routing_{core.routing.recipient_delimiter, {}, core.srs.max_age_days} {}

std::error_code Ops::commit_batch(const std::function<bool(store::WriteTxn&)>& fn) {
  return store_.commit_sync([&](store::WriteTxn& txn) -> std::error_code {
    return fn(txn) ? std::error_code{} : store::Errc::aborted;
  });
}

Result<std::string> Ops::new_address(std::string_view address, const char* field) {
  auto n = directory::normalize_admin_address(address, routing_.delimiter);
  if (!n) return about(n.error(), field);
  return n->address();
}

namespace {
std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }
}  // namespace

// ---- domains ----
Change<directory::DomainRecord> Ops::plan_add_domain(std::string_view name) {
  // Every domain signs what it sends from the start (docs/outbound.md).
  auto key = dkim::generate(dkim::Algorithm::rsa);
  if (!key) return key.error();
  return Change<directory::DomainRecord>([n = std::string(name), k = std::move(*key)](store::WriteTxn& t)
                                             -> Result<directory::DomainRecord> {
    auto d = tagged(directory::add_domain(t, n), "domain");
    if (!d) return d;
    if (auto r = dkim::add_key(t, d->name, "", k, d->created); !r) return r.error();
    return d;
  });
}

Change<void> Ops::plan_remove_domain(std::string_view name) {
  return Change<void>([n = std::string(name)](store::WriteTxn& t) -> Result<void> {
    if (auto r = tagged(directory::remove_domain(t, n), "domain"); !r) return r;
    dkim::remove_keys(t, n);
    if (auto d = directory::normalize_domain(n)) (void)relay::clear(t, *d);
    return {};
  });
}

Result<dkim::KeyRecord> Ops::generate_dkim_key(std::string_view domain, std::string_view selector,
                                               std::string_view algorithm) {
  auto alg = dkim::parse_algorithm(algorithm.empty() ? "rsa" : algorithm);
  if (!alg) return invalid("--algorithm must be rsa or ed25519, not '" + std::string(algorithm) + "'");
  {
    // Refuse before the slow generation what the batch would refuse anyway.
    auto txn = store_.read();
    auto d = directory::normalize_domain(domain);
    if (!d) return d.error();
    if (!directory::get_domain(*txn, *d)) return not_found("no domain " + *d);
    if (!selector.empty())
      if (auto s = dkim::normalize_selector(selector); !s) return s.error();
  }
  auto key = dkim::generate(*alg);
  if (!key) return key.error();
  auto r = write<dkim::KeyRecord>([&](store::WriteTxn& t) { return dkim::add_key(t, domain, selector, *key, unix_now()); });
  if (r) r->private_key.clear();
  return r;
}

Result<std::vector<dkim::KeyRecord>> Ops::list_dkim_keys(std::string_view domain) {
  auto txn = store_.read();
  auto d = directory::normalize_domain(domain);
  if (!d) return d.error();
  if (!directory::get_domain(*txn, *d)) return not_found("no domain " + *d);
  auto keys = dkim::list_keys(*txn, *d, unix_now());
  for (auto& k : keys) k.private_key.clear();
  return keys;
}

Result<std::vector<dkim::KeyRecord>> Ops::rotate_dkim_keys(std::string_view domain) {
  std::vector<dkim::Algorithm> algs;
  {
    auto txn = store_.read();
    auto d = directory::normalize_domain(domain);
    if (!d) return d.error();
    if (!directory::get_domain(*txn, *d)) return not_found("no domain " + *d);
    algs = dkim::active_algorithms(*txn, *d);
  }
  std::vector<dkim::NewKey> fresh;
  for (auto a : algs) {
    auto k = dkim::generate(a);
    if (!k) return k.error();
    fresh.push_back(std::move(*k));
  }
  auto grace = static_cast<std::int64_t>(core_.dkim.rotate_grace.count());
  // If another rotation or generation changed the active set meanwhile, the batch says so
  // (a missing fresh key) and nothing changes.
  auto r = write<std::vector<dkim::KeyRecord>>(
      [&](store::WriteTxn& t) { return dkim::rotate(t, domain, fresh, unix_now(), grace); });
  if (r)
    for (auto& k : *r) k.private_key.clear();
  return r;
}

Result<relay::Prepared> Ops::set_relay(const relay::SetRequest& request) {
  auto p = relay::prepare(request, core_.secrets, unix_now());
  if (!p) return p.error();
  auto r = write<relay::RelayRecord>([&](store::WriteTxn& t) { return relay::put(t, p->record); });
  if (!r) return r.error();
  p->record.sealed_password.clear();
  return p;
}

std::vector<relay::RelayRecord> Ops::list_relays() {
  auto txn = store_.read();
  auto all = relay::list(*txn);
  for (auto& r : all) r.sealed_password.clear();
  return all;
}

Result<void> Ops::clear_relay(std::string_view domain) {
  return write<void>([&](store::WriteTxn& t) { return relay::clear(t, domain); });
}

std::vector<directory::DomainRecord> Ops::list_domains() {
  auto txn = store_.read();
  return directory::list_domains(*txn);
}

Result<directory::DomainRecord> Ops::get_domain(std::string_view name) {
  auto d = directory::normalize_domain(name);
  if (!d) return about(d.error(), "domain");
  auto txn = store_.read();
  auto r = directory::get_domain(*txn, *d);
  if (!r) return Error(ErrorKind::not_found, "no domain " + *d, "domain");
  return *r;
}

// ---- users ----
Change<directory::UserRecord> Ops::plan_add_user(std::string_view address, std::string_view password,
                                                 std::string_view display_name, std::uint64_t quota) {
  auto a = new_address(address, "address");
  if (!a) return a.error();
  if (auto p = auth::password_problem(password)) return Error(ErrorKind::invalid, *p, "password");
  if (display_name.size() > 200) return Error(ErrorKind::invalid, "a name is at most 200 bytes", "name");
  auto hash = auth::hash_password(password);  // outside the batch: it is slow on purpose
  if (!hash) return about(hash.error(), "password");
  directory::NewUser nu{*a, *hash, std::string(display_name), quota};
  return Change<directory::UserRecord>([nu](store::WriteTxn& t) { return tagged(directory::add_user(t, nu), "address"); });
}

Change<void> Ops::plan_set_password(std::string_view address, std::string_view password, std::string keep_session) {
  if (auto p = auth::password_problem(password)) return Error(ErrorKind::invalid, *p, "password");
  auto hash = auth::hash_password(password);
  if (!hash) return about(hash.error(), "password");
  return Change<void>([a = std::string(address), h = *hash, keep = std::move(keep_session)](store::WriteTxn& t) -> Result<void> {
    auto id = require_user_id(t, a);
    if (!id) return about(id.error(), "address");
    if (auto r = directory::set_password_hash(t, a, h); !r) return about(r.error(), "address");
    access::remove_user_sessions(t, *id, keep);  // a changed password ends the other sessions
    return {};
  });
}

Change<void> Ops::plan_set_enabled(std::string_view address, bool enabled) {
  return Change<void>([a = std::string(address), enabled](store::WriteTxn& t) {
    return tagged(directory::set_enabled(t, a, enabled), "address");
  });
}

Change<void> Ops::plan_set_quota(std::string_view address, std::uint64_t quota) {
  return Change<void>([a = std::string(address), quota](store::WriteTxn& t) {
    return tagged(directory::set_quota(t, a, quota), "address");
  });
}

Change<void> Ops::plan_set_display_name(std::string_view address, std::string_view name) {
  if (name.size() > 200) return Error(ErrorKind::invalid, "a name is at most 200 bytes", "name");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) return Error(ErrorKind::invalid, "a name has no control characters", "name");
  return Change<void>([a = std::string(address), n = std::string(name)](store::WriteTxn& t) {
    return tagged(directory::set_display_name(t, a, n), "address");
  });
}

Change<void> Ops::plan_allow_sender(std::string_view address, std::string_view sender, bool allow) {
  return Change<void>([a = std::string(address), s = std::string(sender), allow](store::WriteTxn& t) -> Result<void> {
    if (!directory::find_user(t, directory::lowercase_ascii(a)))
      return Error(ErrorKind::not_found, "no user " + a, "address");
    return tagged(directory::set_allowed_sender(t, a, s, allow), "sender");
  });
}

Change<void> Ops::plan_remove_user(std::string_view address) {
  return Change<void>([a = std::string(address)](store::WriteTxn& t) -> Result<void> {
    auto id = require_user_id(t, a);
    if (!id) return about(id.error(), "address");
    if (auto r = directory::remove_user(t, a); !r) return about(r.error(), "address");
    // What the admin API keeps about the user goes with it.
    t.del(store::Table::admins, key_u64(*id));
    auth::remove_all_app_passwords(t, *id);
    access::remove_user_sessions(t, *id);
    inbound::remove_user_rules(t, *id);
    return {};
  });
}

std::vector<UserView> Ops::list_users() {
  auto txn = store_.read();
  std::vector<UserView> out;
  auto aliases = directory::list_aliases(*txn);
  std::unordered_map<std::uint64_t, std::vector<std::string>> by_user;
  for (const auto& a : aliases) by_user[a.user].push_back(a.address);
  auto admins = access::list_admins(*txn);
  std::set<std::uint64_t> admin_set(admins.begin(), admins.end());
  for (auto& u : directory::list_users(*txn)) {
    UserView v{std::move(u), {}, false};
    if (auto it = by_user.find(v.user.id); it != by_user.end()) v.aliases = std::move(it->second);
    v.admin = admin_set.count(v.user.id) > 0;
    out.push_back(std::move(v));
  }
  return out;
}

Result<UserView> Ops::get_user(std::string_view address) {
  auto txn = store_.read();
  auto u = directory::find_user(*txn, directory::lowercase_ascii(address));
  if (!u) return Error(ErrorKind::not_found, "no user " + std::string(address), "address");
  UserView v{std::move(*u), {}, false};
  for (const auto& a : directory::list_aliases(*txn))
    if (a.user == v.user.id) v.aliases.push_back(a.address);
  v.admin = access::is_admin(*txn, v.user.id);
  return v;
}

Result<Usage> Ops::usage(std::string_view address) {
  auto txn = store_.read();
  auto u = directory::find_user(*txn, directory::lowercase_ascii(address));
  if (!u) return Error(ErrorKind::not_found, "no user " + std::string(address), "address");
  Usage out;
  out.quota = u->quota;
  for (const auto& m : store::list_mailboxes(*txn, u->id)) {
    out.bytes += m.bytes;
    out.messages += m.messages;
  }
  return out;
}

std::unordered_map<std::uint64_t, Usage> Ops::usage_by_user() {
  std::unordered_map<std::uint64_t, Usage> out;
  auto txn = store_.read();
  auto c = txn->cursor(store::Table::mailboxes);
  for (bool ok = c->first(); ok; ok = c->next())
    if (auto m = store::MailboxRecord::decode(c->value())) {
      auto& u = out[m->owner];
      u.bytes += m->bytes;
      u.messages += m->messages;
    }
  return out;
}

// ---- aliases ----
Change<directory::AliasRecord> Ops::plan_add_alias(std::string_view alias, std::string_view user) {
  auto a = new_address(alias, "alias");
  if (!a) return a.error();
  return Change<directory::AliasRecord>([a = *a, u = std::string(user)](store::WriteTxn& t) -> Result<directory::AliasRecord> {
    if (!directory::find_user(t, directory::lowercase_ascii(u)))
      return Error(ErrorKind::not_found, "no user " + u, "user");
    return tagged(directory::add_alias(t, a, u), "alias");
  });
}

Change<void> Ops::plan_remove_alias(std::string_view alias) {
  return Change<void>([a = std::string(alias)](store::WriteTxn& t) { return tagged(directory::remove_alias(t, a), "alias"); });
}

std::vector<std::pair<std::string, std::string>> Ops::list_aliases() {
  auto txn = store_.read();
  std::unordered_map<std::uint64_t, std::string> names;
  for (const auto& u : directory::list_users(*txn)) names[u.id] = u.address;
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& a : directory::list_aliases(*txn)) {
    auto it = names.find(a.user);
    out.emplace_back(a.address, it == names.end() ? "?" : it->second);
  }
  return out;
}

// ---- groups ----
Change<directory::GroupRecord> Ops::plan_add_group(std::string_view address, const std::vector<std::string>& members,
                                                   std::string_view policy) {
  auto a = new_address(address, "group");
  if (!a) return a.error();
  std::optional<directory::PostingPolicy> p;
  if (!policy.empty()) {
    p = directory::parse_policy(policy);
    if (!p) return Error(ErrorKind::invalid, "policy must be anyone, members or domain, not '" + std::string(policy) + "'", "policy");
  }
  return Change<directory::GroupRecord>([a = *a, members, p](store::WriteTxn& t) -> Result<directory::GroupRecord> {
    auto g = directory::add_group(t, a, members);
    if (!g) {
      auto e = g.error();
      return about(e, e.kind == ErrorKind::not_found ? "members" : "group");
    }
    if (p) {
      if (auto r = directory::set_group_policy(t, a, *p); !r) return about(r.error(), "policy");
      g->policy = *p;
    }
    return g;
  });
}

Change<void> Ops::plan_add_group_member(std::string_view group, std::string_view member) {
  return Change<void>([g = std::string(group), m = std::string(member)](store::WriteTxn& t) -> Result<void> {
    if (!directory::get_group(t, directory::lowercase_ascii(g)))
      return Error(ErrorKind::not_found, "no group " + g, "group");
    return tagged(directory::add_group_member(t, g, m), "member");
  });
}

Change<void> Ops::plan_remove_group_member(std::string_view group, std::string_view member) {
  return Change<void>([g = std::string(group), m = std::string(member)](store::WriteTxn& t) -> Result<void> {
    if (!directory::get_group(t, directory::lowercase_ascii(g)))
      return Error(ErrorKind::not_found, "no group " + g, "group");
    return tagged(directory::remove_group_member(t, g, m), "member");
  });
}

Change<void> Ops::plan_set_group_policy(std::string_view group, std::string_view policy) {
  auto p = directory::parse_policy(policy);
  if (!p) return Error(ErrorKind::invalid, "policy must be anyone, members or domain, not '" + std::string(policy) + "'", "policy");
  return Change<void>([g = std::string(group), p = *p](store::WriteTxn& t) {
    return tagged(directory::set_group_policy(t, g, p), "group");
  });
}

Change<void> Ops::plan_remove_group(std::string_view group) {
  return Change<void>([g = std::string(group)](store::WriteTxn& t) { return tagged(directory::remove_group(t, g), "group"); });
}

std::vector<std::string> Ops::user_addresses(const std::vector<std::uint64_t>& ids) {
  auto txn = store_.read();
  std::vector<std::string> out;
  for (auto id : ids)
    if (auto u = directory::get_user(*txn, id)) out.push_back(u->address);
  return out;
}

std::vector<GroupView> Ops::list_groups() {
  std::vector<GroupView> out;
  auto txn = store_.read();
  for (auto& g : directory::list_groups(*txn)) {
    std::vector<std::string> members;
    for (auto id : g.members)
      if (auto u = directory::get_user(*txn, id)) members.push_back(u->address);
    out.push_back({std::move(g), std::move(members)});
  }
  return out;
}

Result<GroupView> Ops::get_group(std::string_view address) {
  auto txn = store_.read();
  auto g = directory::get_group(*txn, directory::lowercase_ascii(address));
  if (!g) return Error(ErrorKind::not_found, "no group " + std::string(address), "group");
  GroupView v{std::move(*g), {}};
  for (auto id : v.group.members)
    if (auto u = directory::get_user(*txn, id)) v.members.push_back(u->address);
  return v;
}

// ---- catch-all ----
Change<void> Ops::plan_set_catchall(std::string_view domain, const std::vector<std::string>& users) {
  return Change<void>([d = std::string(domain), users](store::WriteTxn& t) -> Result<void> {
    auto r = directory::set_catchall(t, d, users);
    if (!r) {
      auto e = r.error();
      bool about_domain = e.message.rfind("no domain", 0) == 0;
      return about(e, about_domain ? "domain" : "users");
    }
    return {};
  });
}

Change<void> Ops::plan_clear_catchall(std::string_view domain) {
  return Change<void>([d = std::string(domain)](store::WriteTxn& t) { return tagged(directory::clear_catchall(t, d), "domain"); });
}

std::vector<CatchallView> Ops::list_catchalls() {
  std::vector<CatchallView> out;
  for (const auto& d : list_domains()) out.push_back({d.name, user_addresses(d.catchall)});
  return out;
}

// ---- routing, mailboxes, messages, queue ----
Result<directory::Route> Ops::resolve(std::string_view recipient, std::string_view from,
                                      std::string_view authenticated_as) {
  // The same SRS keys smtpd routes with, so `mailstead resolve` shows a bounce's route.
  auto routing = routing_;
  if (auto keys = srs::load_keys(store_, core_)) routing.srs_keys = std::move(*keys);
  else return keys.error();
  auto txn = store_.read();
  directory::RouteContext ctx;
  ctx.sender = std::string(from);
  if (!authenticated_as.empty()) {
    auto u = directory::find_user(*txn, directory::lowercase_ascii(authenticated_as));
    if (!u) return Error(ErrorKind::not_found, "no user " + std::string(authenticated_as), "authenticated_as");
    ctx.authenticated_user = u->id;
  }
  return directory::resolve(*txn, routing, recipient, ctx);
}

Result<std::vector<store::MailboxRecord>> Ops::list_mailboxes(std::string_view user) {
  auto txn = store_.read();
  auto id = require_user_id(*txn, user);
  if (!id) return id.error();
  return store::list_mailboxes(*txn, *id);
}

Result<std::vector<Ops::MessageView>> Ops::list_messages(std::string_view user, std::string_view mailbox) {
  auto txn = store_.read();
  auto mb = require_mailbox(*txn, user, mailbox);
  if (!mb) return mb.error();
  std::vector<MessageView> out;
  auto prefix = key_u64(mb->id);
  auto c = txn->cursor(store::Table::messages);
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next())
    if (auto m = store::MessageRecord::decode(c->value())) {
      MessageView v{get_be32(c->key().substr(8)), std::move(*m), {}, {}};
      if (auto cached = txn->get(store::Table::blob_cache, v.record.blob))
        if (auto parsed = mime::Cache::decode(*cached)) {
          v.envelope = parsed->envelope;
          v.bodystructure = parsed->bodystructure;
        }
      out.push_back(std::move(v));
    }
  return out;
}

std::vector<store::QueueRecord> Ops::list_queue() {
  auto txn = store_.read();
  std::vector<store::QueueRecord> out;
  auto c = txn->cursor(store::Table::queue);
  for (bool ok = c->first(); ok; ok = c->next())
    if (auto q = store::QueueRecord::decode(c->value())) out.push_back(std::move(*q));
  return out;
}

Result<store::QueueRecord> Ops::get_queue_record(std::uint64_t id) {
  auto txn = store_.read();
  auto v = txn->get(store::Table::queue, key_u64(id));
  auto q = v ? store::QueueRecord::decode(*v) : std::nullopt;
  if (!q) return Error(ErrorKind::not_found, "no queued message " + std::to_string(id), "id");
  return *q;
}

Result<std::string> Ops::get_queued(std::uint64_t id) {
  auto txn = store_.read();
  auto v = txn->get(store::Table::queue, key_u64(id));
  auto q = v ? store::QueueRecord::decode(*v) : std::nullopt;
  if (!q) return Error(ErrorKind::not_found, "no queued message " + std::to_string(id), "id");
  auto blob = store::get_blob(*txn, q->blob);
  if (!blob) return internal("the message's stored bytes are missing");
  return q->prefix + std::string(*blob);
}

Change<std::uint64_t> Ops::plan_retry_queue(std::optional<std::uint64_t> id) {
  return Change<std::uint64_t>([id](store::WriteTxn& t) -> Result<std::uint64_t> {
    std::vector<std::uint64_t> ids;
    if (id) {
      if (!store::get_queued(t, *id))
        return Error(ErrorKind::not_found, "no message " + std::to_string(*id) + " in the queue", "id");
      ids.push_back(*id);
    } else {
      for (const auto& r : queue::list(t)) ids.push_back(r.id);
    }
    auto now = now_s();
    for (auto i : ids)
      if (auto e = queue::retry_now(t, i, now)) return internal("the store failed: " + e.message());
    return static_cast<std::uint64_t>(ids.size());
  });
}

Change<void> Ops::plan_delete_queued(std::uint64_t id) {
  return Change<void>([id](store::WriteTxn& t) -> Result<void> {
    if (!store::get_queued(t, id))
      return Error(ErrorKind::not_found, "no message " + std::to_string(id) + " in the queue", "id");
    if (auto e = queue::remove(t, id)) return internal("the store failed: " + e.message());
    return {};
  });
}

std::vector<queue::LogEntry> Ops::send_log(std::int64_t since, std::size_t limit) {
  auto txn = store_.read();
  auto all = queue::read_log(*txn, since);
  if (all.size() > limit) all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(limit));
  return all;
}

Result<std::string> Ops::get_message(std::string_view user, std::string_view mailbox, std::uint32_t uid) {
  auto txn = store_.read();
  auto mb = require_mailbox(*txn, user, mailbox);
  if (!mb) return mb.error();
  auto m = store::get_message(*txn, mb->id, uid);
  if (!m) return Error(ErrorKind::not_found, "no message with UID " + std::to_string(uid) + " in " + std::string(mailbox), "uid");
  auto blob = store::get_blob(*txn, m->blob);
  if (!blob) return internal("the message's stored bytes are missing");
  return m->prefix + std::string(*blob);
}

// ---- Sieve ----
Result<std::vector<sieve::ScriptInfo>> Ops::list_scripts(std::string_view user) {
  auto txn = store_.read();
  auto id = require_user_id(*txn, user);
  if (!id) return id.error();
  return sieve::list_scripts(*txn, *id);
}

Result<std::string> Ops::get_script(std::string_view user, std::string_view name) {
  auto txn = store_.read();
  auto id = require_user_id(*txn, user);
  if (!id) return id.error();
  auto text = sieve::get_script(*txn, *id, name);
  if (!text) return Error(ErrorKind::not_found, "no script " + std::string(name), "name");
  return *text;
}

Change<std::vector<std::string>> Ops::plan_put_script(std::string_view user, std::string_view name, std::string_view text) {
  if (auto why = sieve::script_name_error(name); !why.empty()) return Error(ErrorKind::invalid, why, "name");
  auto parsed = sieve::parse(text, sieve::limits_of(core_));
  if (!parsed.script) return Error(ErrorKind::invalid, parsed.error, "script");
  auto limit = core_.sieve.max_scripts;
  return Change<std::vector<std::string>>(
      [u = std::string(user), n = std::string(name), body = std::string(text), limit,
       warnings = parsed.warnings](store::WriteTxn& t) -> Result<std::vector<std::string>> {
        auto id = require_user_id(t, u);
        if (!id) return id.error();
        if (!sieve::get_script(t, *id, n) && sieve::list_scripts(t, *id).size() >= limit)
          return Error(ErrorKind::invalid, "too many scripts (limit " + std::to_string(limit) + ")", "name");
        if (auto ec = sieve::put_script(t, *id, n, body)) return internal(ec.message());
        return warnings;
      });
}

Change<void> Ops::plan_activate_script(std::string_view user, std::string_view name) {
  return Change<void>([u = std::string(user), n = std::string(name)](store::WriteTxn& t) -> Result<void> {
    auto id = require_user_id(t, u);
    if (!id) return id.error();
    if (!sieve::set_active(t, *id, n)) return Error(ErrorKind::not_found, "no script " + n, "name");
    return {};
  });
}

Change<void> Ops::plan_delete_script(std::string_view user, std::string_view name) {
  return Change<void>([u = std::string(user), n = std::string(name)](store::WriteTxn& t) -> Result<void> {
    auto id = require_user_id(t, u);
    if (!id) return id.error();
    if (auto a = sieve::active_script(t, *id); a && *a == n)
      return Error(ErrorKind::conflict, "the active script cannot be deleted", "name");
    if (!sieve::delete_script(t, *id, n)) return Error(ErrorKind::not_found, "no script " + n, "name");
    return {};
  });
}

// ---- vacation and forwarding ----
namespace {
// The script the rules live in: the active one, or "roundcube" (made and activated) as
// Roundcube's managesieve plugin does for a user without scripts.
constexpr std::string_view default_script = "roundcube";

std::pair<std::string, std::string> rules_script(store::ReadTxn& txn, std::uint64_t user) {
  auto active = sieve::active_script(txn, user);
  std::string name = active ? *active : std::string(default_script);
  auto text = sieve::get_script(txn, user, name);
  return {name, text ? *text : std::string()};
}

template <class Rule, class Set>
Change<void> plan_rule(std::string user, Rule rule, Set set, const config::CoreSettings& core) {
  auto limits = sieve::limits_of(core);
  return Change<void>([user, rule, set, limits](store::WriteTxn& t) -> Result<void> {
    auto id = require_user_id(t, user);
    if (!id) return id.error();
    auto [name, text] = rules_script(t, *id);
    auto next = set(text, rule);
    if (!next) return next.error();
    auto check = sieve::parse(*next, limits);
    if (!check.script) return Error(ErrorKind::invalid, "the script would be invalid: " + check.error, "reason");
    if (auto ec = sieve::put_script(t, *id, name, *next)) return internal(ec.message());
    if (!sieve::active_script(t, *id)) sieve::set_active(t, *id, name);
    return {};
  });
}
}  // namespace

Result<rules::Vacation> Ops::get_vacation(std::string_view user) {
  auto txn = store_.read();
  auto id = require_user_id(*txn, user);
  if (!id) return id.error();
  auto [name, text] = rules_script(*txn, *id);
  auto v = rules::find_vacation(text);
  if (!v) return v.error();
  return v->value_or(rules::Vacation{});
}

Change<void> Ops::plan_set_vacation(std::string_view user, rules::Vacation v) {
  return plan_rule(std::string(user), std::move(v), &rules::set_vacation, core_);
}

Result<rules::Forward> Ops::get_forward(std::string_view user) {
  auto txn = store_.read();
  auto id = require_user_id(*txn, user);
  if (!id) return id.error();
  auto [name, text] = rules_script(*txn, *id);
  auto f = rules::find_forward(text);
  if (!f) return f.error();
  if (!*f) return rules::Forward{false, "", true};
  return **f;
}

Change<void> Ops::plan_set_forward(std::string_view user, rules::Forward f) {
  return plan_rule(std::string(user), std::move(f), &rules::set_forward, core_);
}

// ---- admin role ----
Change<void> Ops::plan_grant_admin(std::string_view address) {
  return Change<void>([a = std::string(address)](store::WriteTxn& t) -> Result<void> {
    auto id = require_user_id(t, a);
    if (!id) return about(id.error(), "address");
    return tagged(access::grant_admin(t, *id), "address");
  });
}

Change<void> Ops::plan_revoke_admin(std::string_view address) {
  return Change<void>([a = std::string(address)](store::WriteTxn& t) -> Result<void> {
    auto id = require_user_id(t, a);
    if (!id) return about(id.error(), "address");
    return tagged(access::revoke_admin(t, *id), "address");
  });
}

std::vector<std::string> Ops::list_admins() {
  std::vector<std::uint64_t> ids;
  {
    auto txn = store_.read();
    ids = access::list_admins(*txn);
  }
  return user_addresses(ids);
}

// ---- tokens ----
Change<NewToken> Ops::plan_create_token(std::string_view name) {
  auto secret = access::new_token_secret();
  return Change<NewToken>([n = std::string(name), secret](store::WriteTxn& t) -> Result<NewToken> {
    auto r = access::add_token(t, n, secret);
    if (!r) return r.error();
    return NewToken{*r, access::token_text(r->id, secret.text)};
  });
}

Change<void> Ops::plan_revoke_token(std::uint64_t id) {
  return Change<void>([id](store::WriteTxn& t) { return access::remove_token(t, id); });
}

std::vector<access::TokenRecord> Ops::list_tokens() {
  auto txn = store_.read();
  return access::list_tokens(*txn);
}

// ---- app passwords ----
Change<NewAppPassword> Ops::plan_create_app_password(std::string_view user, std::string_view name,
                                                     std::uint32_t max_per_user) {
  if (name.empty() || name.size() > 100) return Error(ErrorKind::invalid, "a name is 1 to 100 characters", "name");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) return Error(ErrorKind::invalid, "a name has no control characters", "name");
  auto text = auth::new_app_password();
  auto hash = auth::hash_password(text);
  if (!hash) return hash.error();
  auth::AppPasswordRecord rec{auth::app_password_id(text), std::string(name), *hash, now_s()};
  return Change<NewAppPassword>([u = std::string(user), rec, text, max_per_user](store::WriteTxn& t) -> Result<NewAppPassword> {
    auto id = require_user_id(t, u);
    if (!id) return id.error();
    if (auth::list_app_passwords(t, *id).size() >= max_per_user)
      return Error(ErrorKind::conflict, "at most " + std::to_string(max_per_user) + " app passwords per user; revoke one first", "name");
    if (auto r = auth::add_app_password(t, *id, rec); !r) return about(r.error(), "name");
    return NewAppPassword{rec, text};
  });
}

Change<void> Ops::plan_revoke_app_password(std::string_view user, std::string_view id) {
  return Change<void>([u = std::string(user), i = std::string(id)](store::WriteTxn& t) -> Result<void> {
    auto uid = require_user_id(t, u);
    if (!uid) return uid.error();
    if (!auth::remove_app_password(t, *uid, i)) return Error(ErrorKind::not_found, "no app password " + i, "id");
    return {};
  });
}

Result<std::vector<auth::AppPasswordRecord>> Ops::list_app_passwords(std::string_view user) {
  auto txn = store_.read();
  auto id = require_user_id(*txn, user);
  if (!id) return id.error();
  return auth::list_app_passwords(*txn, *id);
}

// ---- web sessions ----
Change<void> Ops::plan_open_session(access::SessionRecord rec) {
  return Change<void>([rec](store::WriteTxn& t) -> Result<void> {
    access::purge_expired(t, now_s());
    if (auto ec = access::put_session(t, rec)) return internal("store: " + ec.message());
    return {};
  });
}

Change<void> Ops::plan_close_session(std::string key) {
  return Change<void>([key](store::WriteTxn& t) -> Result<void> {
    access::remove_session_key(t, key);
    return {};
  });
}

Change<void> Ops::plan_revoke_session(std::string id, std::optional<std::uint64_t> user) {
  return Change<void>([id, user](store::WriteTxn& t) -> Result<void> {
    if (!access::remove_session(t, id, user)) return Error(ErrorKind::not_found, "no session " + id, "id");
    return {};
  });
}

std::vector<access::SessionRecord> Ops::list_sessions(std::optional<std::uint64_t> user) {
  auto txn = store_.read();
  return access::list_sessions(*txn, user, now_s());
}

Counts Ops::counts() {
  auto txn = store_.read();
  Counts c;
  auto count = [&](store::Table t) {
    std::uint64_t n = 0;
    auto cur = txn->cursor(t);
    for (bool ok = cur->first(); ok; ok = cur->next()) ++n;
    return n;
  };
  c.domains = count(store::Table::domains);
  c.users = count(store::Table::users);
  c.aliases = count(store::Table::aliases);
  c.groups = count(store::Table::groups);
  c.queue = count(store::Table::queue);
  c.admins = count(store::Table::admins);
  return c;
}

Result<std::uint64_t> parse_queue_id(std::string_view t) {
  std::uint64_t id = 0;
  bool ok = !t.empty() && t.size() <= 20;
  for (char c : t) {
    if (!ok || c < '0' || c > '9' || id > (UINT64_MAX - 9) / 10) {
      ok = false;
      break;
    }
    id = id * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (!ok || id == 0) return Error(ErrorKind::invalid, "a queue id is a number, not '" + std::string(t) + "'", "id");
  return id;
}

Result<std::int64_t> parse_since(std::string_view text, std::int64_t now) {
  if (text.empty()) return std::int64_t{0};
  auto bad = [&] {
    return Error(ErrorKind::invalid,
                 "'" + std::string(text) + "' is not a time: give seconds since 1970, 2024-01-02T03:04:05Z, or an age such as 90m, 2h, 7d",
                 "since");
  };
  if (text.size() > 32) return bad();
  std::string t(text);
  std::size_t i = 0;
  std::int64_t n = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9' && n < 100000000000LL) n = n * 10 + (t[i++] - '0');
  if (i == t.size()) return n;
  std::string unit = t.substr(i);
  std::int64_t mul = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : 0;
  if (i > 0 && mul != 0 && n <= 36500LL * 86400) return now - n * mul;
  std::tm tm{};
  const char* end = strptime(t.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end) {
    tm = {};
    end = strptime(t.c_str(), "%Y-%m-%d", &tm);
  }
  if (!end || *end) return bad();
  return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace mailstead::admin
