// FETCH data items (RFC 3501 6.4.5, 7.4.2): parsed from the client's list or macro, and
// the section of a message each BODY[...] item selects.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proto/parser.hpp"

namespace mailstead::mime {
struct Part;
}

namespace mailstead::imap {

struct FetchItem {
  enum class Kind { flags, uid, internaldate, size, envelope, bodystructure, body, section, modseq, binary_size } kind =
      Kind::flags;
  // section items
  bool peek = false;
  bool binary = false;  // BINARY[…] (RFC 3516): part numbers only, content-transfer-decoded
  std::vector<std::uint32_t> path;  // part numbers, empty for the whole message
  enum class Spec { all, header, header_fields, header_fields_not, text, mime } spec = Spec::all;
  std::vector<std::string> fields;  // HEADER.FIELDS (…)
  std::optional<std::uint64_t> offset, length;  // <offset.length>
  std::string label;  // the response item name: "BODY[HEADER.FIELDS (FROM)]", "RFC822.HEADER", …
};

// Parses FETCH's argument (an atom, a macro or a list). Errors are for a BAD reply.
std::variant<std::vector<FetchItem>, std::string> parse_fetch_items(const Token& t);

// Bytes of `message` (= prefix + blob; `root` parsed from the blob alone) that a section
// item selects, before any partial; nullopt when the part does not exist (empty result).
std::optional<std::string> section_bytes(std::string_view prefix, std::string_view blob, const mime::Part& root,
                                         const FetchItem& item);

// BINARY[section] and BINARY.SIZE[section] (RFC 3516): the part's content with its
// Content-Transfer-Encoding undone (base64, quoted-printable; 7bit, 8bit and binary as
// they are). An empty section is the whole message, as stored.
struct UnknownCte {};  // an encoding the server cannot undo: NO [UNKNOWN-CTE]
using BinaryResult = std::variant<std::string, UnknownCte>;
BinaryResult binary_bytes(std::string_view prefix, std::string_view blob, const mime::Part& root, const FetchItem& item);

// Quoted-printable (RFC 2045 6.7) decoded: soft line breaks removed, =XX bytes restored.
std::string decode_quoted_printable(std::string_view in);

}  // namespace mailstead::imap
