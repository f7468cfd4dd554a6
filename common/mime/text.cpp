// Dates and decoded text shared by IMAP SEARCH/SORT and Sieve.
#include "mime/text.hpp"

#include <cctype>
#include <cstdio>
#include <cstring>

#include "util/base64.hpp"
#include "util/text.hpp"

namespace mailstead::mime {

namespace {
const char* const months[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};

}  // namespace

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int month_index(std::string_view m) {
  auto f = lower(m);
  for (int i = 0; i < 12; ++i)
    if (f == months[i]) return i + 1;
  return 0;
}


void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
}

bool parse_date(std::string_view s, std::int64_t& t, int* zone_seconds) {
  // [day-name ","] day month year hour ":" minute [":" second] zone
  std::string v(s);
  if (auto comma = v.find(','); comma != std::string::npos) v = v.substr(comma + 1);
  char mon[8] = {0}, zone[16] = {0};
  int dd = 0, yy = 0, h = 0, mi = 0, sec = 0;
  int n = std::sscanf(v.c_str(), " %d %7s %d %d:%d:%d %15s", &dd, mon, &yy, &h, &mi, &sec, zone);
  if (n < 5) return false;
  if (n == 5) {
    // no seconds: "12:30 +0000"
    n = std::sscanf(v.c_str(), " %d %7s %d %d:%d %15s", &dd, mon, &yy, &h, &mi, zone);
    sec = 0;
  }
  int mm = month_index(mon);
  if (!mm) return false;
  if (yy < 100) yy += yy < 50 ? 2000 : 1900;
  std::int64_t offset = 0;
  if ((zone[0] == '+' || zone[0] == '-') && std::strlen(zone) >= 5) {
    int z = std::atoi(zone + 1);
    offset = ((z / 100) * 60 + z % 100) * 60;
    if (zone[0] == '-') offset = -offset;
  }
  if (zone_seconds) *zone_seconds = static_cast<int>(offset);
  t = days_from_civil(yy, static_cast<unsigned>(mm), static_cast<unsigned>(dd)) * 86400 + h * 3600 + mi * 60 + sec - offset;
  return true;
}

// Decoded text of every text/* part (quoted-printable, base64) for BODY and TEXT.
std::string decoded_text(std::string_view blob, const mime::Part& p) {
  std::string out;
  if (p.is_multipart() || (p.is_message() && !p.children.empty())) {
    for (const auto& c : p.children) out += decoded_text(blob, c);
    return out;
  }
  if (p.type != "text") return out;
  return decoded_body(blob, p);
}

std::string decoded_body(std::string_view blob, const mime::Part& p) {
  std::string out;
  if (p.body_end <= p.header_end || p.body_end > blob.size()) return out;
  auto body = blob.substr(p.header_end, p.body_end - p.header_end);
  if (p.encoding == "base64") {
    std::string clean;
    for (char c : body)
      if (!std::isspace(static_cast<unsigned char>(c))) clean.push_back(c);
    if (auto d = base64_decode(clean)) return *d;
    return out;
  }
  if (p.encoding == "quoted-printable") {
    for (std::size_t i = 0; i < body.size(); ++i) {
      if (body[i] == '=' && i + 2 < body.size() + 1) {
        if (i + 1 < body.size() && body[i + 1] == '\r') { i += 2; continue; }
        if (i + 1 < body.size() && body[i + 1] == '\n') { i += 1; continue; }
        if (i + 2 < body.size() && std::isxdigit(static_cast<unsigned char>(body[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(body[i + 2]))) {
          out.push_back(static_cast<char>(std::stoi(std::string(body.substr(i + 1, 2)), nullptr, 16)));
          i += 2;
          continue;
        }
      }
      out.push_back(body[i]);
    }
    return out;
  }
  return std::string(body);
}

}  // namespace mailstead::mime
