// The administrator's per-domain DMARC overrides (store table dmarc_overrides): for mail
// whose From domain (or its organizational domain) is listed, the listed action replaces
// what the domain's published policy asks. `mailstead dmarc override` manages them;
// docs/authentication.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace mailstead::store {
class ReadTxn;
class Store;
}  // namespace mailstead::store

namespace mailstead::inbound {

// none: deliver whatever DMARC says; quarantine / reject: the action on a DMARC failure
// whatever the published p=; ignore: DMARC is not evaluated for the domain at all.
enum class Override : char { none = 'n', quarantine = 'q', reject = 'r', ignore = 'i' };
const char* override_name(Override o);
std::optional<Override> parse_override(std::string_view s);

struct OverrideEntry {
  std::string domain;
  Override action;
};

std::optional<Override> find_override(store::ReadTxn& txn, std::string_view domain);
std::vector<OverrideEntry> list_overrides(store::ReadTxn& txn);
// `domain` is normalised (IDNA, lower case); an invalid one is an error naming it.
Result<std::string> set_override(store::Store& store, std::string_view domain, Override action);
// Error when the domain has no override.
Result<std::string> clear_override(store::Store& store, std::string_view domain);

}  // namespace mailstead::inbound
