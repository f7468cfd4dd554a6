// Vacation and forwarding as rules inside the user's Sieve script, written in the form
// Roundcube's managesieve plugin writes (docs/admin-api.md "Vacation and forwarding"):
//
//   require ["date","relational","vacation"];
//   # rule:[vacation]
//   if allof (currentdate :zone "+0000" :value "ge" "date" "2026-07-01", currentdate ...)
//   {
//   	vacation :days 7 :subject "Away" "I am away.";
//   }
//
// so the web UI and Roundcube each read the rule the other wrote, and the user's other
// rules stay as they are. A switched-off rule is `if false # <its tests>`. Pure text in,
// text out: the ops layer reads and writes the script in one store batch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace mailstead::admin::rules {

struct Vacation {
  bool enabled = false;
  std::string subject;
  std::string reason;  // the reply's body
  std::string from;    // "" : the server's choice (the user's address)
  std::vector<std::string> addresses;
  std::uint32_t days = 0;  // 0: the Sieve default (7)
  std::string start, end;  // "YYYY-MM-DD" or ""
  std::string zone = "+0000";  // the dates' time zone, as Roundcube writes it
};

struct Forward {
  bool enabled = false;
  std::string target;     // an address
  bool keep_copy = true;  // redirect :copy (else the mail is only forwarded)
};

// The script's first vacation rule (a top-level `if` whose block starts with vacation).
// nullopt when there is none; an error when the script does not parse.
Result<std::optional<Vacation>> find_vacation(std::string_view script);
Result<std::optional<Forward>> find_forward(std::string_view script);

// The script with that rule replaced, or added as the first rule; the require line gains
// what the rule needs. Errors: the input is invalid (field named), or the script cannot be
// edited rule by rule (two commands on one line, the rule inside an if/elsif chain).
Result<std::string> set_vacation(std::string_view script, const Vacation& v);
Result<std::string> set_forward(std::string_view script, const Forward& f);

// A Sieve string in Roundcube's escaping: a quoted string, or `text:` for multi-line text.
std::string sieve_string(std::string_view s);

}  // namespace mailstead::admin::rules
