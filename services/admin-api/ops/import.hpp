// Bulk import of domains, users and aliases (`mailstead import FILE`, docs/cli.md): all of it
// in one store batch, so a file with one bad entry changes nothing. Users may come with a
// password (hashed here with argon2id, slow on purpose) or an argon2id hash made elsewhere
// (`password_hash`, e.g. moved from another server), which makes 10,000 users a matter of
// seconds.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mailstead::admin {

struct ImportUser {
  std::string address, password, password_hash, name;
  std::uint64_t quota = 0;
};

struct ImportData {
  std::vector<std::string> domains;  // added unless they exist already (each gets a DKIM key)
  std::vector<ImportUser> users;
  std::vector<std::pair<std::string, std::string>> aliases;  // alias → user
};

struct ImportCounts {
  std::uint64_t domains = 0, users = 0, aliases = 0;
};

}  // namespace mailstead::admin
