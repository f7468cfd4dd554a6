#include "sieve/storage.hpp"

#include "store/mailstore.hpp"
#include "util/bytes.hpp"

namespace mailstead::sieve {

using store::Table;

std::string script_name_error(std::string_view name) {
  if (name.empty() || name.size() > 128) return "a script name is 1 to 128 bytes";
  if (name == "." || name == "..") return "a script name cannot be \".\" or \"..\"";
  if (name.find_first_of("/\\") != std::string_view::npos) return "a script name cannot contain \"/\" or \"\\\"";
  for (std::size_t i = 0; i < name.size();) {
    auto c = static_cast<unsigned char>(name[i]);
    std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > name.size()) return "a script name must be UTF-8";
    std::uint32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (std::size_t k = 1; k < len; ++k) {
      auto b = static_cast<unsigned char>(name[i + k]);
      if ((b & 0xC0) != 0x80) return "a script name must be UTF-8";
      cp = cp << 6 | (b & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return "a script name must be UTF-8";
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029)
      return "a script name cannot contain control characters";
    i += len;
  }
  return "";
}

std::vector<ScriptInfo> list_scripts(store::ReadTxn& txn, std::uint64_t user) {
  std::vector<ScriptInfo> out;
  auto active = active_script(txn, user);
  auto prefix = key_u64(user);
  auto cur = txn.cursor(Table::sieve_scripts);
  for (bool ok = cur->seek(prefix); ok && cur->key().starts_with(prefix); ok = cur->next()) {
    std::string name(cur->key().substr(8));
    out.push_back({name, active && *active == name, cur->value().size()});
  }
  return out;
}

std::optional<std::string> get_script(store::ReadTxn& txn, std::uint64_t user, std::string_view name) {
  auto v = txn.get(Table::sieve_scripts, key_u64_str(user, name));
  if (!v) return std::nullopt;
  return std::string(*v);
}

std::optional<std::string> active_script(store::ReadTxn& txn, std::uint64_t user) {
  auto v = txn.get(Table::sieve_active, key_u64(user));
  if (!v || v->empty()) return std::nullopt;
  return std::string(*v);
}

std::error_code put_script(store::WriteTxn& txn, std::uint64_t user, std::string_view name, std::string_view text) {
  return txn.put(Table::sieve_scripts, key_u64_str(user, name), text);
}

bool delete_script(store::WriteTxn& txn, std::uint64_t user, std::string_view name) {
  return txn.del(Table::sieve_scripts, key_u64_str(user, name));
}

bool rename_script(store::WriteTxn& txn, std::uint64_t user, std::string_view from, std::string_view to) {
  auto text = get_script(txn, user, from);
  if (!text) return false;
  if (txn.put(Table::sieve_scripts, key_u64_str(user, to), *text)) return false;
  txn.del(Table::sieve_scripts, key_u64_str(user, from));
  if (auto a = active_script(txn, user); a && *a == from) txn.put(Table::sieve_active, key_u64(user), to);
  return true;
}

bool set_active(store::WriteTxn& txn, std::uint64_t user, std::string_view name) {
  if (name.empty()) {
    txn.del(Table::sieve_active, key_u64(user));
    return true;
  }
  if (!txn.get(Table::sieve_scripts, key_u64_str(user, name))) return false;
  return !txn.put(Table::sieve_active, key_u64(user), name);
}

std::uint64_t used_space(store::ReadTxn& txn, std::uint64_t user) {
  std::uint64_t n = 0;
  for (const auto& s : list_scripts(txn, user)) n += s.size;
  return n;
}

namespace {
std::string tracking_key(std::uint64_t user, char kind, std::string_view key) {
  auto k = key_u64(user);
  k += kind;
  k += store::blob_key(key);  // a fixed-width hash: keys can be long
  return k;
}
}  // namespace

bool tracked(store::ReadTxn& txn, std::uint64_t user, char kind, std::string_view key, std::int64_t now) {
  auto v = txn.get(Table::sieve_tracking, tracking_key(user, kind, key));
  return v && v->size() == 8 && static_cast<std::int64_t>(get_be64(*v)) > now;
}

std::error_code track(store::WriteTxn& txn, std::uint64_t user, char kind, std::string_view key, std::int64_t expires) {
  std::string v;
  put_be64(v, static_cast<std::uint64_t>(expires));
  return txn.put(Table::sieve_tracking, tracking_key(user, kind, key), v);
}

bool StoreEnvironment::mailbox_exists(std::string_view name) {
  return store::find_mailbox(txn_, user_, name).has_value();
}

std::optional<std::string> StoreEnvironment::script(std::string_view name, bool global) {
  return get_script(txn_, global ? kGlobalOwner : user_, name);
}

bool StoreEnvironment::seen(std::string_view id) { return tracked(txn_, user_, 'd', id, now_); }

}  // namespace mailstead::sieve
