// The dmarc_overrides table. See dmarc_overrides.hpp.
#include "inbound/dmarc_overrides.hpp"

#include "directory/address.hpp"
#include "store/store.hpp"

namespace mailstead::inbound {

const char* override_name(Override o) {
  switch (o) {
    case Override::none: return "none";
    case Override::quarantine: return "quarantine";
    case Override::reject: return "reject";
    case Override::ignore: return "ignore";
  }
  return "?";
}

std::optional<Override> parse_override(std::string_view s) {
  for (auto o : {Override::none, Override::quarantine, Override::reject, Override::ignore})
    if (s == override_name(o)) return o;
  return std::nullopt;
}

std::optional<Override> find_override(store::ReadTxn& txn, std::string_view domain) {
  auto v = txn.get(store::Table::dmarc_overrides, domain);
  if (!v || v->size() != 1) return std::nullopt;
  auto o = static_cast<Override>((*v)[0]);
  if (parse_override(override_name(o))) return o;
  return std::nullopt;
}

std::vector<OverrideEntry> list_overrides(store::ReadTxn& txn) {
  std::vector<OverrideEntry> out;
  auto c = txn.cursor(store::Table::dmarc_overrides);
  for (bool ok = c->first(); ok; ok = c->next()) {
    if (c->value().size() != 1) continue;
    out.push_back({std::string(c->key()), static_cast<Override>(c->value()[0])});
  }
  return out;
}

Result<std::string> override_key(std::string_view domain) {
  auto d = directory::normalize_domain(domain);
  if (!d) return d.error();
  return *d;
}

std::error_code put_override(store::WriteTxn& txn, const std::string& key, Override action) {
  const char v = static_cast<char>(action);
  return txn.put(store::Table::dmarc_overrides, key, std::string_view(&v, 1));
}

Result<void> remove_override(store::WriteTxn& txn, const std::string& key) {
  if (!txn.del(store::Table::dmarc_overrides, key)) return not_found("no DMARC override for " + key);
  return {};
}

}  // namespace mailstead::inbound
