// What delivery parses once and caches with the stored message (table blob_cache,
// docs/storage.md): ENVELOPE, BODYSTRUCTURE and BODY as IMAP writes them, every part's
// offsets (for BODY[section] fetches), and the top-level header's fields (for SEARCH and Sieve).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::mime {

struct CachedPart {
  std::string section;  // "" for the whole message, "1", "1.2", …
  std::uint64_t header_begin = 0, header_end = 0, body_end = 0;
};

struct HeaderField {
  std::string name;  // lower case
  std::uint64_t begin = 0, end = 0;  // the whole field, folding included
};

struct Cache {
  static constexpr std::uint8_t format = 1;
  std::string envelope;
  std::string bodystructure;
  std::string body;
  std::vector<CachedPart> parts;
  std::vector<HeaderField> header;

  std::string encode() const;
  static std::optional<Cache> decode(std::string_view v);
};

// Parses `message` (the stored bytes) and builds its cache.
Cache build_cache(std::string_view message);

}  // namespace mailstead::mime
