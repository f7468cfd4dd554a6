// IMAP's views of a parsed message (RFC 3501 7.4.2, RFC 9051 7.5.2): ENVELOPE, BODY and
// BODYSTRUCTURE, computed once at delivery and cached with the message (DESIGN principle 4).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mime/header.hpp"
#include "mime/mime.hpp"

namespace mailstead::mime {

// An IMAP string: quoted when it can be, else a literal; "NIL" for absent values.
std::string imap_string(std::string_view s);
std::string imap_nstring(std::string_view s);  // "" → NIL

// `p` is a message: the root, or the child of a message/rfc822 part.
std::string envelope(std::string_view message, const Part& p);
std::string bodystructure(std::string_view message, const Part& p, bool extended);

}  // namespace mailstead::mime
