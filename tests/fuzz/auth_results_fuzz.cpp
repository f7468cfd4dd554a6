// libFuzzer: Authentication-Results handling (services/smtpd/inbound/auth_results.cpp).
// Input: an authserv-id line, then a message header. After removal no field naming our id
// is left (a second pass removes nothing) and every kept byte was in the input; our own
// rendered field, built from the same bytes as values, is one field (CRLF only before a
// fold), names our id when the id is a token, and is what removal takes away.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>
#include <cctype>

#include "inbound/auth_results.hpp"

using namespace mailstead::inbound;

namespace {
std::string part(std::string_view s, std::size_t pos, std::size_t n) { return pos < s.size() ? std::string(s.substr(pos, n)) : ""; }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nl = in.find('\n');
  std::string id(in.substr(0, std::min(nl, std::size_t(64))));
  std::string_view header = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);

  std::size_t removed = 0, again = 0;
  auto out = remove_forged_results(header, id, removed);
  if (out.size() > header.size()) std::abort();
  remove_forged_results(out, id, again);
  if (again != 0) std::abort();
  // The trace fields too: never longer, nothing left to remove the second time.
  ForgedFields forged, forged_again;
  auto cleaned = remove_forged_fields(header, id, forged);
  if (cleaned.size() > header.size() || forged.results != removed) std::abort();
  remove_forged_fields(cleaned, id, forged_again);
  if (forged_again.total() != 0) std::abort();

  std::vector<Clause> clauses{{"spf", "pass", part(header, 0, 40), "", {{"smtp.mailfrom", part(header, 0, 300)}}},
                              {part(header, 0, 10), "fail", "", part(header, 10, 50), {{"header.d", id}}}};
  auto field = render_authentication_results(id, clauses, 1024);
  if (!field.starts_with("Authentication-Results: ") || !field.ends_with("\r\n")) std::abort();
  for (std::size_t i = 0; i + 2 < field.size(); ++i) {
    char c = field[i];
    if (c == '\n' && (i == 0 || field[i - 1] != '\r')) std::abort();
    if (c == '\r' && (field[i + 1] != '\n' || field[i + 2] != '\t')) std::abort();
  }
  bool token = !id.empty();
  for (char c : id) token &= c > 0x20 && c < 0x7f && std::string_view("()<>,;:\\\"/[]?=").find(c) == std::string_view::npos;
  if (token) {
    std::string lower = id;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (authserv_id_of(field.substr(field.find(':') + 1)) != lower) std::abort();
    std::size_t n = 0;
    if (!remove_forged_results(field, id, n).empty() || n != 1) std::abort();
  }
  return 0;
}
