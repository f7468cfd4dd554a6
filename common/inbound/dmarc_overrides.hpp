// The administrator's per-domain DMARC overrides (store table dmarc_overrides): for mail
// whose From domain (or its organizational domain) is listed, the listed action replaces
// what the domain's published policy asks. The admin operations (`mailstead dmarc
// override`, PUT /api/v1/dmarc-overrides/{domain}) write them; smtpd reads them per
// message. docs/authentication.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "util/error.hpp"

namespace mailstead::store {
class ReadTxn;
class WriteTxn;
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
// The key of a domain: normalised (IDNA, lower case); an invalid one is an error naming it.
Result<std::string> override_key(std::string_view domain);
// `key` as override_key made it. Sets or replaces the domain's override.
std::error_code put_override(store::WriteTxn& txn, const std::string& key, Override action);
// not_found when the domain has no override.
Result<void> remove_override(store::WriteTxn& txn, const std::string& key);

}  // namespace mailstead::inbound
