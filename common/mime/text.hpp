// Dates (RFC 5322 Date:, civil calendar arithmetic) and the decoded text of a message's
// text parts: what IMAP SEARCH/SORT and Sieve's date and body tests share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mime/mime.hpp"

namespace mailstead::mime {

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);
void civil_from_days(std::int64_t days, int& y, unsigned& m, unsigned& d);
// "jan".."dec" (any case) → 1..12; 0 otherwise.
int month_index(std::string_view m);
// An RFC 5322 Date: value → seconds since the epoch (UTC); its zone offset in seconds too.
bool parse_date(std::string_view s, std::int64_t& t, int* zone_seconds = nullptr);
// The body of one leaf part with its transfer encoding (quoted-printable, base64) undone.
std::string decoded_body(std::string_view message, const Part& p);
// Decoded text (quoted-printable, base64) of every text/* part under `p`, concatenated.
std::string decoded_text(std::string_view message, const Part& p);

}  // namespace mailstead::mime
