// Administrative operations (see admin_ops.hpp).
#include "ops/admin_ops.hpp"

#include <ctime>

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

Ops::Ops(store::Store& store, const config::CoreSettings& core)
    : store_(store), core_(core), routing_{core.routing.recipient_delimiter, {}, core.srs.max_age_days} {}

// Runs `fn` as one batch. When it returns an error the batch is undone, so a refused
// change writes nothing.
template <class T, class Fn>
Result<T> Ops::write(Fn fn) {
  std::optional<Result<T>> out;
  auto ec = store_.commit_sync([&](store::WriteTxn& txn) -> std::error_code {
    out.emplace(fn(txn));
    return out->has_value() ? std::error_code{} : store::Errc::aborted;
  });
  if (out && !out->has_value()) return *out;
  if (ec) return internal("the store did not commit the change: " + ec.message());
  return *out;
}

Result<std::string> Ops::new_address(std::string_view address) {
  auto n = directory::normalize_admin_address(address, routing_.delimiter);
  if (!n) return n.error();
  return n->address();
}

namespace {
std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }
}  // namespace

Result<directory::DomainRecord> Ops::add_domain(std::string_view name) {
  // Every domain signs what it sends from the start (docs/outbound.md). The key is made
  // before the batch: RSA generation is slow and the writer serves everyone.
  auto key = dkim::generate(dkim::Algorithm::rsa);
  if (!key) return key.error();
  return write<directory::DomainRecord>([&](store::WriteTxn& t) -> Result<directory::DomainRecord> {
    auto d = directory::add_domain(t, name);
    if (!d) return d;
    if (auto k = dkim::add_key(t, d->name, "", *key, d->created); !k) return k.error();
    return d;
  });
}

Result<void> Ops::remove_domain(std::string_view name) {
  return write<void>([&](store::WriteTxn& t) -> Result<void> {
    if (auto r = directory::remove_domain(t, name); !r) return r;
    dkim::remove_keys(t, name);
    if (auto d = directory::normalize_domain(name)) (void)relay::clear(t, *d);
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

Result<directory::UserRecord> Ops::add_user(std::string_view address, std::string_view password,
                                            std::string_view display_name, std::uint64_t quota) {
  auto a = new_address(address);
  if (!a) return a.error();
  auto hash = auth::hash_password(password);  // outside the batch: it is slow on purpose
  if (!hash) return hash.error();
  directory::NewUser nu{*a, *hash, std::string(display_name), quota};
  return write<directory::UserRecord>([&](store::WriteTxn& t) { return directory::add_user(t, nu); });
}

Result<void> Ops::set_password(std::string_view address, std::string_view password) {
  auto hash = auth::hash_password(password);
  if (!hash) return hash.error();
  return write<void>([&](store::WriteTxn& t) { return directory::set_password_hash(t, address, *hash); });
}

Result<void> Ops::set_enabled(std::string_view address, bool enabled) {
  return write<void>([&](store::WriteTxn& t) { return directory::set_enabled(t, address, enabled); });
}

Result<void> Ops::allow_sender(std::string_view address, std::string_view sender, bool allow) {
  return write<void>([&](store::WriteTxn& t) { return directory::set_allowed_sender(t, address, sender, allow); });
}

Result<void> Ops::remove_user(std::string_view address) {
  return write<void>([&](store::WriteTxn& t) { return directory::remove_user(t, address); });
}

std::vector<UserView> Ops::list_users() {
  auto txn = store_.read();
  std::vector<UserView> out;
  auto aliases = directory::list_aliases(*txn);
  for (auto& u : directory::list_users(*txn)) {
    UserView v{std::move(u), {}};
    for (const auto& a : aliases)
      if (a.user == v.user.id) v.aliases.push_back(a.address);
    out.push_back(std::move(v));
  }
  return out;
}

Result<directory::AliasRecord> Ops::add_alias(std::string_view alias, std::string_view user) {
  auto a = new_address(alias);
  if (!a) return a.error();
  return write<directory::AliasRecord>([&](store::WriteTxn& t) { return directory::add_alias(t, *a, user); });
}

Result<void> Ops::remove_alias(std::string_view alias) {
  return write<void>([&](store::WriteTxn& t) { return directory::remove_alias(t, alias); });
}

std::vector<std::pair<std::string, std::string>> Ops::list_aliases() {
  auto txn = store_.read();
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& a : directory::list_aliases(*txn)) {
    auto u = directory::get_user(*txn, a.user);
    out.emplace_back(a.address, u ? u->address : "?");
  }
  return out;
}

Result<directory::GroupRecord> Ops::add_group(std::string_view address, const std::vector<std::string>& members) {
  auto a = new_address(address);
  if (!a) return a.error();
  return write<directory::GroupRecord>([&](store::WriteTxn& t) { return directory::add_group(t, *a, members); });
}

Result<void> Ops::add_group_member(std::string_view group, std::string_view member) {
  return write<void>([&](store::WriteTxn& t) { return directory::add_group_member(t, group, member); });
}

Result<void> Ops::remove_group_member(std::string_view group, std::string_view member) {
  return write<void>([&](store::WriteTxn& t) { return directory::remove_group_member(t, group, member); });
}

Result<void> Ops::set_group_policy(std::string_view group, std::string_view policy) {
  auto p = directory::parse_policy(policy);
  if (!p) return invalid("policy must be anyone, members or domain, not '" + std::string(policy) + "'");
  return write<void>([&](store::WriteTxn& t) { return directory::set_group_policy(t, group, *p); });
}

Result<void> Ops::remove_group(std::string_view group) {
  return write<void>([&](store::WriteTxn& t) { return directory::remove_group(t, group); });
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
  std::vector<directory::GroupRecord> groups;
  {
    auto txn = store_.read();
    groups = directory::list_groups(*txn);
  }
  for (auto& g : groups) {
    auto members = user_addresses(g.members);
    out.push_back({std::move(g), std::move(members)});
  }
  return out;
}

Result<void> Ops::set_catchall(std::string_view domain, const std::vector<std::string>& users) {
  return write<void>([&](store::WriteTxn& t) { return directory::set_catchall(t, domain, users); });
}

Result<void> Ops::clear_catchall(std::string_view domain) {
  return write<void>([&](store::WriteTxn& t) { return directory::clear_catchall(t, domain); });
}

std::vector<CatchallView> Ops::list_catchalls() {
  std::vector<CatchallView> out;
  for (const auto& d : list_domains()) out.push_back({d.name, user_addresses(d.catchall)});
  return out;
}

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
    if (!u) return not_found("no user " + std::string(authenticated_as));
    ctx.authenticated_user = u->id;
  }
  return directory::resolve(*txn, routing, recipient, ctx);
}

Result<std::vector<store::MailboxRecord>> Ops::list_mailboxes(std::string_view user) {
  auto txn = store_.read();
  auto u = directory::find_user(*txn, directory::lowercase_ascii(user));
  if (!u) return not_found("no user " + std::string(user));
  return store::list_mailboxes(*txn, u->id);
}

namespace {
Result<store::MailboxRecord> require_mailbox(store::ReadTxn& txn, std::string_view user, std::string_view mailbox) {
  auto u = directory::find_user(txn, directory::lowercase_ascii(user));
  if (!u) return not_found("no user " + std::string(user));
  auto mb = store::find_mailbox(txn, u->id, mailbox);
  if (!mb) return not_found(u->address + " has no mailbox " + std::string(mailbox));
  return *mb;
}
}  // namespace

namespace {
Result<std::uint64_t> require_user_id(store::ReadTxn& txn, std::string_view user) {
  auto u = directory::find_user(txn, directory::lowercase_ascii(user));
  if (!u) return not_found("no user " + std::string(user));
  return u->id;
}
}  // namespace

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
  if (!text) return not_found("no script " + std::string(name));
  return *text;
}

Result<std::vector<std::string>> Ops::put_script(std::string_view user, std::string_view name, std::string_view text) {
  if (name.empty() || name.size() > 128) return invalid("a script name is 1 to 128 bytes");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7F) return invalid("a script name has no control characters");
  auto parsed = sieve::parse(text, sieve::limits_of(core_));
  if (!parsed.script) return invalid(parsed.error);
  auto limit = core_.sieve.max_scripts;
  auto ok = write<void>([&](store::WriteTxn& t) -> Result<void> {
    auto id = require_user_id(t, user);
    if (!id) return id.error();
    if (!sieve::get_script(t, *id, name) && sieve::list_scripts(t, *id).size() >= limit)
      return invalid("too many scripts (limit " + std::to_string(limit) + ")");
    if (auto ec = sieve::put_script(t, *id, name, text)) return internal(ec.message());
    return {};
  });
  if (!ok) return ok.error();
  return parsed.warnings;
}

Result<void> Ops::activate_script(std::string_view user, std::string_view name) {
  return write<void>([&](store::WriteTxn& t) -> Result<void> {
    auto id = require_user_id(t, user);
    if (!id) return id.error();
    if (!sieve::set_active(t, *id, name)) return not_found("no script " + std::string(name));
    return {};
  });
}

Result<void> Ops::delete_script(std::string_view user, std::string_view name) {
  return write<void>([&](store::WriteTxn& t) -> Result<void> {
    auto id = require_user_id(t, user);
    if (!id) return id.error();
    if (auto a = sieve::active_script(t, *id); a && *a == name) return conflict("the active script cannot be deleted");
    if (!sieve::delete_script(t, *id, name)) return not_found("no script " + std::string(name));
    return {};
  });
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

Result<std::string> Ops::get_queued(std::uint64_t id) {
  auto txn = store_.read();
  auto v = txn->get(store::Table::queue, key_u64(id));
  auto q = v ? store::QueueRecord::decode(*v) : std::nullopt;
  if (!q) return not_found("no queued message " + std::to_string(id));
  auto blob = store::get_blob(*txn, q->blob);
  if (!blob) return internal("the message's stored bytes are missing");
  return q->prefix + std::string(*blob);
}

Result<std::string> Ops::get_message(std::string_view user, std::string_view mailbox, std::uint32_t uid) {
  auto txn = store_.read();
  auto mb = require_mailbox(*txn, user, mailbox);
  if (!mb) return mb.error();
  auto m = store::get_message(*txn, mb->id, uid);
  if (!m) return not_found("no message with UID " + std::to_string(uid) + " in " + std::string(mailbox));
  auto blob = store::get_blob(*txn, m->blob);
  if (!blob) return internal("the message's stored bytes are missing");
  return m->prefix + std::string(*blob);
}

}  // namespace mailstead::admin
