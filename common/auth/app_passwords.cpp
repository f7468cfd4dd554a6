// App passwords (see app_passwords.hpp; table app_passwords in docs/storage.md).
#include "auth/app_passwords.hpp"

#include <sodium.h>

#include "store/store.hpp"
#include "util/bytes.hpp"

namespace mailstead::auth {

namespace {

// No 0/o, 1/l/i: the text is read off one screen and typed on another.
constexpr std::string_view alphabet = "abcdefghjkmnpqrstuvwxyz23456789";

std::string key(std::uint64_t user, std::string_view id) { return key_u64_str(user, id); }

std::string encode(const AppPasswordRecord& r) {
  Encoder e;
  e.str(r.id).str(r.name).str(r.hash).i64(r.created);
  return e.take();
}

std::optional<AppPasswordRecord> decode(std::string_view v) {
  Decoder d(v);
  AppPasswordRecord r;
  r.id = d.str();
  r.name = d.str();
  r.hash = d.str();
  r.created = d.i64();
  if (!d.ok()) return std::nullopt;
  return r;
}

}  // namespace

std::string new_app_password() {
  std::string out;
  for (int group = 0; group < 5; ++group) {
    if (group) out.push_back('-');
    for (int i = 0; i < 4; ++i)
      out.push_back(alphabet[randombytes_uniform(static_cast<std::uint32_t>(alphabet.size()))]);
  }
  return out;
}

std::string app_password_id(std::string_view text) {
  if (text.size() != 24) return "";
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i % 5 == 4) {
      if (text[i] != '-') return "";
    } else if (alphabet.find(text[i]) == std::string_view::npos) {
      return "";
    }
  }
  return std::string(text.substr(0, 4));
}

std::vector<AppPasswordRecord> list_app_passwords(store::ReadTxn& txn, std::uint64_t user) {
  std::vector<AppPasswordRecord> out;
  auto prefix = key_u64(user);
  auto c = txn.cursor(store::Table::app_passwords);
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next())
    if (auto r = decode(c->value())) out.push_back(std::move(*r));
  return out;
}

std::optional<AppPasswordRecord> get_app_password(store::ReadTxn& txn, std::uint64_t user, std::string_view id) {
  auto v = txn.get(store::Table::app_passwords, key(user, id));
  return v ? decode(*v) : std::nullopt;
}

Result<void> add_app_password(store::WriteTxn& txn, std::uint64_t user, const AppPasswordRecord& rec) {
  if (get_app_password(txn, user, rec.id)) return conflict("the app password id is taken");
  for (const auto& r : list_app_passwords(txn, user))
    if (r.name == rec.name) return about(conflict("an app password named '" + rec.name + "' exists"), "name");
  if (auto ec = txn.put(store::Table::app_passwords, key(user, rec.id), encode(rec)))
    return internal("store: " + ec.message());
  return {};
}

bool remove_app_password(store::WriteTxn& txn, std::uint64_t user, std::string_view id) {
  return txn.del(store::Table::app_passwords, key(user, id));
}

void remove_all_app_passwords(store::WriteTxn& txn, std::uint64_t user) {
  for (const auto& r : list_app_passwords(txn, user)) txn.del(store::Table::app_passwords, key(user, r.id));
}

}  // namespace mailstead::auth
