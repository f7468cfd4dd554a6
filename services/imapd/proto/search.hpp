// SEARCH keys (RFC 3501 6.4.4, RFC 9051 6.4.4) as a tree, and their evaluation against
// one message. Text keys match case-insensitively after RFC 2047 decoding (headers) and
// transfer decoding of text parts (BODY, TEXT).
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proto/parser.hpp"

namespace mailstead::imap {

struct SearchKey {
  enum class Kind {
    all, and_, or_, not_, seqset, uidset, flag_set, flag_clear, keyword, unkeyword, header, body, text,
    before, on, since, sent_before, sent_on, sent_since, larger, smaller, new_, old, recent, modseq
  } kind = Kind::all;
  std::vector<SearchKey> children;
  SequenceSet set;
  std::uint32_t flag = 0;   // store::Flag bits for flag_set/flag_clear
  std::string a, b;         // keyword; header name and value; text
  std::int64_t day = 0;     // days since the epoch for date keys
  std::uint64_t size = 0;
};

// Bounds on one command's search program. The tree is walked recursively (parse, match,
// needs, destruction), so its depth is what keeps the stack safe: every NOT, OR and
// parenthesised list is one level.
struct SearchLimits {
  std::size_t max_depth = 100;    // NOT/OR/(…) nesting
  std::size_t max_keys = 10000;   // search keys in one command
};

// Parses the keys after SEARCH (and after CHARSET x, which the caller handles). An error
// names the limit it hit, for a BAD reply.
std::variant<SearchKey, std::string> parse_search(const std::vector<Token>& args, std::size_t from,
                                                  SearchLimits limits = {});

// What a key needs of one message.
struct SearchMessage {
  std::uint32_t seq = 0, uid = 0, flags = 0;
  const std::vector<std::string>* keywords = nullptr;
  std::int64_t internaldate = 0;
  std::uint64_t size = 0;
  std::string_view prefix, blob;  // the message is prefix + blob
  std::uint32_t max_seq = 0, max_uid = 0;  // the values of *
  std::uint64_t modseq = 0;
  const std::vector<std::uint32_t>* saved = nullptr;  // UIDs of "$" (RFC 5182), ascending
};

bool matches(const SearchKey& key, const SearchMessage& m);

// How much of each message a key reads: only the session's view (flags, UIDs, MODSEQ), also
// the stored record (INTERNALDATE, size), or also the message's bytes (headers, text).
enum class SearchNeeds { view = 0, record = 1, content = 2 };
SearchNeeds needs(const SearchKey& key);

// "1-Feb-2024" → days since the epoch.
bool parse_search_date(std::string_view s, std::int64_t& day);

}  // namespace mailstead::imap
