// Threading and base subjects (RFC 5256): ORDEREDSUBJECT and REFERENCES over the headers
// of the matching messages, rendered as the THREAD response's parenthesised trees.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailstead::imap {

// A UTF-8 string in the canonical form of the i;unicode-casemap collation (RFC 5051):
// titlecase, then NFKD. Two strings are equal under the collation when these are equal,
// and order by these bytes.
std::string unicode_casemap(std::string_view utf8);

struct BaseSubject {
  std::string text;    // decoded, without Re:/Fwd:/[blob] leaders and (fwd), in i;unicode-casemap form
  bool reply = false;  // something was removed: a reply or forward (RFC 5256 2.1, 5.5)
};
BaseSubject base_subject(std::string_view raw);

// Message IDs ("<...>") of a References or In-Reply-To value, in order.
std::vector<std::string> message_ids(std::string_view value);

struct ThreadMessage {
  std::uint32_t number = 0;  // sequence number or UID, as the client asked
  std::int64_t sent = 0;     // Date: header, else INTERNALDATE
  std::string subject;       // raw Subject value
  std::string message_id;    // raw Message-ID value
  std::string references;    // raw References value
  std::string in_reply_to;   // raw In-Reply-To value
};

// The THREAD response's data after "THREAD", e.g. "(1 2)(3 (4)(5))". Messages come in
// sequence order; ties in sent date keep that order.
std::string thread_orderedsubject(const std::vector<ThreadMessage>& messages);
std::string thread_references(const std::vector<ThreadMessage>& messages);

}  // namespace mailstead::imap
