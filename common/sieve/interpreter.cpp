// Runs a parsed Sieve script against one message (RFC 5228 2.10): tests read the header,
// envelope, body and dates; commands collect actions; the implicit keep is added at the end
// unless an action cancelled it. Any run-time error throws inside and becomes Outcome.error
// with a plain keep, so a broken script never loses mail.
#include <algorithm>
#include <charconv>
#include <ctime>
#include <functional>
#include <set>
#include <stdexcept>
#include <time.h>

#include "mime/header.hpp"
#include "mime/mime.hpp"
#include "mime/text.hpp"
#include "sieve/ast.hpp"
#include "sieve/regex.hpp"
#include "sieve/sieve.hpp"
#include "util/text.hpp"

namespace mailstead::sieve {

namespace {

struct RunError : std::runtime_error {
  RunError(int line, const std::string& what) : std::runtime_error("line " + std::to_string(line) + ": " + what) {}
};
struct Stop {};    // stop: ends the whole run
struct Return {};  // return: ends the current included script

enum class Cmp { octet, casemap, numeric };
enum class Match { is, contains, matches, regex, count, value };

bool ieq_char(char a, char b) { return ascii_lower(a) == ascii_lower(b); }

constexpr std::size_t kMaxRegexSubject = 64 * 1024;  // bytes of a value a :regex key sees

// i;ascii-numeric (RFC 4790 9.1): the leading digits as a number; none → positive infinity.
int numeric_compare(std::string_view a, std::string_view b) {
  auto digits = [](std::string_view s) {
    std::size_t n = 0;
    while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
    auto d = s.substr(0, n);
    while (d.size() > 1 && d[0] == '0') d.remove_prefix(1);
    return std::pair<bool, std::string_view>{n > 0, d};
  };
  auto [ha, da] = digits(a);
  auto [hb, db] = digits(b);
  if (!ha || !hb) return ha == hb ? 0 : (ha ? -1 : 1);
  if (da.size() != db.size()) return da.size() < db.size() ? -1 : 1;
  return da.compare(db) < 0 ? -1 : da.compare(db) > 0 ? 1 : 0;
}

int compare(Cmp c, std::string_view a, std::string_view b) {
  if (c == Cmp::numeric) return numeric_compare(a, b);
  if (c == Cmp::casemap) {
    auto la = lower(a), lb = lower(b);
    return la < lb ? -1 : la > lb ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

bool relation(const std::string& op, int r) {
  if (op == "gt") return r > 0;
  if (op == "ge") return r >= 0;
  if (op == "lt") return r < 0;
  if (op == "le") return r <= 0;
  if (op == "eq") return r == 0;
  return r != 0;  // ne
}

// :matches with "*" and "?" ("\" escapes), leftmost wildcards as short as possible; the
// wildcards' matches go to `caps` (RFC 5229 3.2). Backtracking only to the last "*" keeps it
// at most |pat| × |s| steps; `tick` is called every 64 Ki of them (the CPU-time check).
bool glob(std::string_view pat, std::string_view s, bool casemap, std::vector<std::string>* caps,
          const std::function<void()>& tick) {
  struct El {
    char kind;  // 'c' literal, '?' one, '*' any
    char c;
  };
  std::vector<El> el;
  for (std::size_t i = 0; i < pat.size(); ++i) {
    if (pat[i] == '\\' && i + 1 < pat.size()) el.push_back({'c', pat[++i]});
    else if (pat[i] == '*' || pat[i] == '?') el.push_back({pat[i], 0});
    else el.push_back({'c', pat[i]});
  }
  std::vector<std::size_t> start(el.size(), 0), end(el.size(), 0);
  std::size_t i = 0, j = 0;
  long star = -1;
  std::size_t star_j = 0;
  auto eq = [&](char a, char b) { return casemap ? ieq_char(a, b) : a == b; };
  std::uint32_t work = 0;
  while (j < s.size()) {
    if (++work == 0x10000) {
      work = 0;
      tick();
    }
    if (i < el.size() && el[i].kind == '?') {
      start[i] = j;
      end[i] = j + 1;
      ++i;
      ++j;
    } else if (i < el.size() && el[i].kind == 'c' && eq(el[i].c, s[j])) {
      ++i;
      ++j;
    } else if (i < el.size() && el[i].kind == '*') {
      star = static_cast<long>(i);
      star_j = j;
      start[i] = end[i] = j;
      ++i;
    } else if (star >= 0) {
      i = static_cast<std::size_t>(star) + 1;
      j = ++star_j;
      end[static_cast<std::size_t>(star)] = j;
    } else {
      return false;
    }
  }
  while (i < el.size() && el[i].kind == '*') {
    start[i] = end[i] = j;
    ++i;
  }
  if (i != el.size()) return false;
  if (caps) {
    caps->assign(1, std::string(s));
    for (std::size_t k = 0; k < el.size(); ++k)
      if (el[k].kind != 'c') caps->push_back(std::string(s.substr(start[k], end[k] - start[k])));
  }
  return true;
}

// :contains in time linear in |value| + |key| (Boyer-Moore), whatever the two hold.
bool contains(std::string_view value, std::string_view key, bool casemap) {
  if (key.empty()) return true;
  if (key.size() > value.size()) return false;
  if (!casemap) return std::search(value.begin(), value.end(), std::boyer_moore_searcher(key.begin(), key.end())) != value.end();
  auto v = lower(value), k = lower(key);
  return std::search(v.begin(), v.end(), std::boyer_moore_searcher(k.begin(), k.end())) != v.end();
}

// The CPU time this thread has used: a run happens on one thread from start to end.
std::chrono::nanoseconds thread_cpu_time() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// `s` cut to at most `n` bytes, on a UTF-8 character boundary.
void truncate_utf8(std::string& s, std::size_t n) {
  if (s.size() <= n) return;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
}

std::string two(unsigned v) {
  char b[4];
  std::snprintf(b, sizeof b, "%02u", v % 100);
  return b;
}

class Runner {
 public:
  Runner(std::string_view message, const Envelope& envelope, Environment& env, const RunOptions& options,
         const Limits& limits)
      : message_(message), envelope_(envelope), env_(env), options_(options), limits_(limits), cpu_start_(thread_cpu_time()) {
    auto end = mime::header_end(message);
    for (auto& f : mime::header_fields(message.substr(0, end))) fields_.push_back(f);
    body_ = message.substr(std::min(end, message.size()));
  }

  Outcome run(const Script& script) {
    Outcome out;
    try {
      Frame frame{&script, {}, {}};
      try {
        block(frame, script.commands);
      } catch (const Return&) {
      }
    } catch (const Stop&) {
    } catch (const RunError& e) {
      out.error = e.what();
    } catch (const std::exception& e) {
      out.error = std::string("error: ") + e.what();
    }
    if (out.error.empty()) out.error = check_conflicts();
    if (!out.error.empty()) {
      Action keep;
      keep.implicit = true;  // the implicit keep, as if the script had done nothing
      out.actions.assign(1, keep);  // keep, nothing else (RFC 5228 2.10.6)
      return out;
    }
    if (implicit_keep_) {
      Action keep;
      keep.implicit = true;
      keep.flags = flags_list(internal_flags_);
      actions_.insert(actions_.begin(), keep);
    }
    out.actions = std::move(actions_);
    if (header_edited_) {
      std::string h;
      for (const auto& [name, value] : fields_) h += name + ": " + value + "\r\n";
      out.header = h;
    }
    out.duplicates = std::move(duplicates_);
    return out;
  }

 private:
  struct Frame {
    const Script* script;
    std::map<std::string, std::string> locals;
    std::set<std::string> globals;  // names declared global in this script
  };

  // ---- helpers ----
  void step(int line) {
    if (++steps_ > limits_.max_steps) throw RunError(line, "too many steps (limit " + std::to_string(limits_.max_steps) + ")");
    tick(line);
  }
  // Stops the run once it has used its CPU time: max_steps counts commands and tests, but
  // one test may compare thousands of values with thousands of keys.
  void check_cpu(int line) {
    if (limits_.max_cpu_time.count() <= 0) return;
    if (thread_cpu_time() - cpu_start_ > limits_.max_cpu_time)
      throw RunError(line, "stopped after " + std::to_string(limits_.max_cpu_time.count()) + " ms of CPU time (max_cpu_time)");
  }
  // For cheap steps: the clock is read every 16th.
  void tick(int line) {
    if ((++ticks_ & 15) == 0) check_cpu(line);
  }
  void add(Action a, int line) {
    if (actions_.size() >= limits_.max_actions) throw RunError(line, "too many actions");
    actions_.push_back(std::move(a));
  }

  std::string& var(Frame& f, const std::string& name) {
    auto n = lower(name);
    if (f.globals.count(n)) return globals_[n];
    return f.locals[n];
  }

  // ${name} and ${N} (RFC 5229 3) when the script requires "variables"; the result is cut
  // at max_variable_size (RFC 5229 3 lets an implementation truncate).
  std::string expand(Frame& f, const std::string& s) {
    if (!f.script->require.count("variables") || s.find("${") == std::string::npos) return s;
    std::string out;
    std::size_t i = 0;
    while (i < s.size() && out.size() <= limits_.max_variable_size) {
      if (s.compare(i, 2, "${") == 0) {
        auto close = s.find('}', i + 2);
        if (close != std::string::npos) {
          auto name = s.substr(i + 2, close - i - 2);
          bool digits = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
          bool ident = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0])) &&
                       std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; });
          if (digits) {
            std::size_t k = 0;
            std::from_chars(name.data(), name.data() + name.size(), k);
            if (k < match_vars_.size()) out += match_vars_[k];
            i = close + 1;
            continue;
          }
          if (ident) {
            auto n = lower(name);
            auto& vars = f.globals.count(n) ? globals_ : f.locals;
            if (auto it = vars.find(n); it != vars.end()) out += it->second;
            i = close + 1;
            continue;
          }
        }
      }
      out += s[i++];
    }
    truncate_utf8(out, limits_.max_variable_size);
    return out;
  }
  std::vector<std::string> expand(Frame& f, const std::vector<std::string>& v) {
    std::vector<std::string> out;
    for (const auto& s : v) out.push_back(expand(f, s));
    return out;
  }

  std::vector<std::string> header_values(std::string_view name, const Call& c, int line, bool decode = true) {
    std::vector<std::string> all;
    if (decoded_.size() != fields_.size()) decoded_.assign(fields_.size(), std::nullopt);  // after editheader
    for (std::size_t i = 0; i < fields_.size(); ++i) {
      if (!iequals(fields_[i].first, name)) continue;
      if (!decode) {
        all.push_back(fields_[i].second);
        continue;
      }
      // RFC 2047 decoding once per field and message, however many tests read it
      if (!decoded_[i]) decoded_[i] = mime::decode_words(fields_[i].second);
      all.push_back(*decoded_[i]);
    }
    if (c.has("index")) {
      auto n = c.tags.at("index").number;
      if (n == 0) throw RunError(line, ":index starts at 1");
      if (n > all.size()) return {};
      auto pick = c.has("last") ? all[all.size() - n] : all[n - 1];
      return {pick};
    }
    return all;
  }

  // ---- matching ----
  struct MatchSpec {
    Match type = Match::is;
    Cmp cmp = Cmp::casemap;
    std::string rel;
  };
  MatchSpec match_spec(const Call& c) {
    MatchSpec m;
    if (c.has("contains")) m.type = Match::contains;
    else if (c.has("matches")) m.type = Match::matches;
    else if (c.has("regex")) m.type = Match::regex;
    else if (c.has("count")) {
      m.type = Match::count;
      m.rel = lower(c.str("count"));
    } else if (c.has("value")) {
      m.type = Match::value;
      m.rel = lower(c.str("value"));
    }
    if (c.has("comparator")) {
      auto name = lower(c.str("comparator"));
      m.cmp = name == "i;octet" ? Cmp::octet : name == "i;ascii-numeric" ? Cmp::numeric : Cmp::casemap;
    }
    return m;
  }

  bool one(const MatchSpec& m, const std::string& value, const std::string& key, std::vector<std::string>* caps,
           int line) {
    switch (m.type) {
      case Match::is: return compare(m.cmp, value, key) == 0;
      case Match::contains: return contains(value, key, m.cmp != Cmp::octet);
      case Match::matches: return glob(key, value, m.cmp != Cmp::octet, caps, [&] { check_cpu(line); });
      case Match::regex: {
        // Compiled once per process and pattern (a key built from variables too), within
        // max_regex_length and max_regex_memory; RE2 matches in time linear in the subject,
        // which is cut at 64 KiB.
        auto re = cached_regex(key, m.cmp == Cmp::casemap, limits_);
        if (!re->ok()) throw RunError(line, re->error());
        check_cpu(line);
        return re->search(std::string_view(value).substr(0, kMaxRegexSubject), caps);
      }
      case Match::value: return relation(m.rel, compare(m.cmp, value, key));
      case Match::count: return false;  // handled by the caller
    }
    return false;
  }

  bool match(Frame& f, const Call& c, const std::vector<std::string>& values, const std::vector<std::string>& raw_keys, int line) {
    auto m = match_spec(c);
    auto keys = expand(f, raw_keys);
    if (m.type == Match::count) {
      auto count = std::to_string(values.size());
      for (const auto& k : keys)
        if (relation(m.rel, numeric_compare(count, k))) return true;
      return false;
    }
    bool capture = f.script->require.count("variables") && (m.type == Match::matches || m.type == Match::regex);
    std::vector<std::string> caps;
    for (const auto& v : values)
      for (const auto& k : keys) {
        tick(line);
        if (one(m, v, k, capture ? &caps : nullptr, line)) {
          if (capture) match_vars_ = caps;
          return true;
        }
      }
    return false;
  }

  // ---- addresses ----
  std::string address_part(const Call& c, std::string_view local, std::string_view domain) {
    if (c.has("localpart")) return std::string(local);
    if (c.has("domain")) return std::string(domain);
    if (c.has("user") || c.has("detail")) {
      auto sep = local.find(options_.subaddress_separator);
      if (c.has("user")) return std::string(local.substr(0, sep));
      if (sep == std::string_view::npos) return "\x01none";  // no detail: the test fails
      return std::string(local.substr(sep + 1));
    }
    return domain.empty() ? std::string(local) : std::string(local) + "@" + std::string(domain);
  }
  std::vector<std::string> parts_of(const Call& c, const std::vector<std::string>& addresses) {
    std::vector<std::string> out;
    for (const auto& a : addresses) {
      auto at = a.rfind('@');
      auto p = at == std::string::npos ? address_part(c, a, "") : address_part(c, a.substr(0, at), a.substr(at + 1));
      if (p != "\x01none") out.push_back(p);
    }
    return out;
  }

  // ---- dates ----
  std::optional<std::string> date_part(std::int64_t t, int zone, const std::string& part) {
    std::int64_t local = t + zone;
    auto days = (local >= 0 ? local : local - 86399) / 86400;
    auto secs = local - days * 86400;
    int y;
    unsigned m, d;
    mime::civil_from_days(days, y, m, d);
    unsigned hh = static_cast<unsigned>(secs / 3600), mi = static_cast<unsigned>(secs / 60 % 60), ss = static_cast<unsigned>(secs % 60);
    char zbuf[16];
    int za = zone < 0 ? -zone : zone;
    std::snprintf(zbuf, sizeof zbuf, "%c%02d%02d", zone < 0 ? '-' : '+', za / 3600, za / 60 % 60);
    char ybuf[16];
    std::snprintf(ybuf, sizeof ybuf, "%04d", y);
    std::string date = std::string(ybuf) + "-" + two(m) + "-" + two(d);
    std::string time = two(hh) + ":" + two(mi) + ":" + two(ss);
    if (part == "year") return std::string(ybuf);
    if (part == "month") return two(m);
    if (part == "day") return two(d);
    if (part == "date") return date;
    if (part == "julian") return std::to_string(days + 40587);  // days since 1858-11-17
    if (part == "hour") return two(hh);
    if (part == "minute") return two(mi);
    if (part == "second") return two(ss);
    if (part == "time") return time;
    if (part == "zone") return std::string(zbuf);
    if (part == "weekday") return std::to_string(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
    if (part == "iso8601") {
      std::string z = std::string(zbuf);
      return date + "T" + time + z.substr(0, 3) + ":" + z.substr(3);
    }
    if (part == "std11") {
      static const char* wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
      static const char* mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
      return std::string(wd[((days % 7) + 11) % 7]) + ", " + std::to_string(d) + " " + mo[m - 1] + " " + ybuf + " " + time + " " + zbuf;
    }
    return std::nullopt;
  }
  static std::optional<int> parse_zone(const std::string& z) {
    if (z.size() != 5 || (z[0] != '+' && z[0] != '-')) return std::nullopt;
    for (std::size_t i = 1; i < 5; ++i)
      if (!std::isdigit(static_cast<unsigned char>(z[i]))) return std::nullopt;
    int v = ((z[1] - '0') * 10 + (z[2] - '0')) * 3600 + ((z[3] - '0') * 10 + (z[4] - '0')) * 60;
    return z[0] == '-' ? -v : v;
  }

  // ---- flags ----
  static std::vector<std::string> split_flags(const std::vector<std::string>& in) {
    std::vector<std::string> out;
    for (const auto& s : in) {
      std::size_t p = 0;
      while (p < s.size()) {
        while (p < s.size() && s[p] == ' ') ++p;
        auto b = p;
        while (p < s.size() && s[p] != ' ') ++p;
        if (p > b) {
          auto flag = s.substr(b, p - b);
          bool dup = false;
          for (const auto& o : out) dup |= iequals(o, flag);
          if (!dup) out.push_back(flag);
        }
      }
    }
    return out;
  }
  static std::string join_flags(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
    return out;
  }
  static std::vector<std::string> flags_list(const std::string& s) { return split_flags({s}); }

  // ---- tests ----
  bool test(Frame& f, const Test& t) {
    step(t.line);
    const auto& n = t.name;
    if (n == "true") return true;
    if (n == "false") return false;
    if (n == "not") return !test(f, t.tests[0]);
    if (n == "allof") {
      for (const auto& s : t.tests)
        if (!test(f, s)) return false;
      return true;
    }
    if (n == "anyof") {
      for (const auto& s : t.tests)
        if (test(f, s)) return true;
      return false;
    }
    auto c = call_of(t);
    auto strs = [&](std::size_t i) { return expand(f, c.positional[i]->strings); };
    if (n == "header") {
      std::vector<std::string> values;
      for (const auto& h : strs(0))
        for (auto& v : header_values(h, c, t.line)) values.push_back(std::string(trim(v)));
      return match(f, c, values, c.positional[1]->strings, t.line);
    }
    if (n == "address") {
      std::vector<std::string> addrs;
      for (const auto& h : strs(0))
        for (const auto& v : header_values(h, c, t.line, false))
          for (const auto& a : mime::parse_addresses(v))
            if (!a.group_start && !a.group_end) addrs.push_back(a.host.empty() ? a.mailbox : a.mailbox + "@" + a.host);
      return match(f, c, parts_of(c, addrs), c.positional[1]->strings, t.line);
    }
    if (n == "envelope") {
      std::vector<std::string> values;
      for (const auto& part : strs(0)) {
        auto p = lower(part);
        const std::string& a = p == "from" ? envelope_.from : p == "to" ? envelope_.to : envelope_.auth;
        if (a.empty()) {
          if (p == "from") values.push_back("");  // the null reverse path matches ""
          continue;
        }
        for (auto& v : parts_of(c, {a})) values.push_back(v);
      }
      return match(f, c, values, c.positional[1]->strings, t.line);
    }
    if (n == "exists") {
      for (const auto& h : strs(0)) {
        bool found = false;
        for (const auto& [k, v] : fields_) found |= iequals(k, h);
        if (!found) return false;
      }
      return true;
    }
    if (n == "size") {
      auto limit = c.positional[0]->number;
      return c.has("over") ? message_.size() > limit : message_.size() < limit;
    }
    if (n == "body") {
      std::string text;
      auto part = mime::parse(message_);
      if (c.has("raw")) {
        text = std::string(body_);
      } else if (c.has("content")) {
        auto types = expand(f, c.tags.at("content").strings);
        collect_content(part, types, text);
      } else {
        text = mime::decoded_text(message_, part);
      }
      return match(f, c, {text}, c.positional[0]->strings, t.line);
    }
    if (n == "date" || n == "currentdate") {
      std::int64_t when = 0;
      int original = 0;
      std::size_t at = 0;
      if (n == "date") {
        auto values = header_values(expand(f, c.positional[0]->strings[0]), c, t.line);
        if (values.empty() || !mime::parse_date(values.front(), when, &original)) return false;
        at = 1;
      } else {
        when = env_.now();
      }
      int zone = 0;  // the server's zone: UTC
      if (c.has("originalzone")) zone = original;
      if (c.has("zone")) {
        auto z = parse_zone(expand(f, c.str("zone")));
        if (!z) return false;
        zone = *z;
      }
      auto part = date_part(when, zone, lower(expand(f, c.positional[at]->strings[0])));
      if (!part) return false;
      return match(f, c, {*part}, c.positional[at + 1]->strings, t.line);
    }
    if (n == "spamtest") {
      // RFC 5235 3.1/3.2: "0" when the message was not tested; :count counts one value
      // when it was.
      const auto& sp = options_.spam;
      std::vector<std::string> values;
      if (sp.tested || !c.has("count"))
        values.push_back(std::to_string(c.has("percent") ? spamtest_percent(sp) : spamtest_value(sp)));
      return match(f, c, values, c.positional[0]->strings, t.line);
    }
    if (n == "environment") {
      // RFC 5183 4: an item this implementation does not know makes the test false.
      auto it = options_.environment.find(lower(expand(f, c.positional[0]->strings[0])));
      if (it == options_.environment.end()) return false;
      return match(f, c, {it->second}, c.positional[1]->strings, t.line);
    }
    if (n == "string") {
      auto values = strs(0);
      if (c.has("count")) values.erase(std::remove(values.begin(), values.end(), std::string()), values.end());
      return match(f, c, values, c.positional[1]->strings, t.line);
    }
    if (n == "hasflag") {
      std::vector<std::string> flags;
      if (c.positional.size() == 2) {
        for (const auto& v : strs(0))
          for (auto& fl : flags_list(var(f, v))) flags.push_back(fl);
      } else {
        flags = flags_list(internal_flags_);
      }
      return match(f, c, flags, c.positional.back()->strings, t.line);
    }
    if (n == "mailboxexists") {
      for (const auto& m : strs(0))
        if (!env_.mailbox_exists(m)) return false;
      return true;
    }
    if (n == "duplicate") {
      std::string id;
      if (c.has("uniqueid")) {
        id = expand(f, c.str("uniqueid"));
      } else {
        auto values = header_values(c.has("header") ? expand(f, c.str("header")) : "message-id", Call{}, t.line, false);
        if (values.empty()) return false;
        id = std::string(trim(values.front()));
      }
      std::string key = (c.has("handle") ? expand(f, c.str("handle")) : "") + '\0' + id;
      std::int64_t period = c.has("seconds") ? static_cast<std::int64_t>(c.tags.at("seconds").number) : 7 * 86400;
      period = std::min<std::int64_t>(period, 90 * 86400);
      bool seen = env_.seen(key) || std::any_of(duplicates_.begin(), duplicates_.end(), [&](const auto& d) { return d.first == key; });
      duplicates_.push_back({key, period});
      return seen;
    }
    if (n == "valid_notify_method") {
      for (const auto& m : strs(0))
        if (!valid_mailto(m)) return false;
      return true;
    }
    if (n == "notify_method_capability") {
      auto uri = expand(f, c.positional[0]->strings[0]);
      auto cap = lower(expand(f, c.positional[1]->strings[0]));
      if (!valid_mailto(uri) || cap != "online") return false;
      return match(f, c, {"maybe"}, c.positional[2]->strings, t.line);
    }
    throw RunError(t.line, "unknown test " + n);
  }

  void collect_content(const mime::Part& p, const std::vector<std::string>& types, std::string& out) {
    if (p.is_multipart() || (p.is_message() && !p.children.empty())) {
      for (const auto& ch : p.children) collect_content(ch, types, out);
      return;
    }
    for (const auto& ty : types) {
      if (ty.empty() || iequals(ty, p.type) || iequals(ty, p.type + "/" + p.subtype)) {
        if (p.type == "text") out += mime::decoded_text(message_, p);
        else out += std::string(message_.substr(p.header_end, p.body_end - p.header_end));
        out += "\n";
        return;
      }
    }
  }

  static bool valid_mailto(std::string_view uri) {
    if (uri.size() < 8 || !iequals(uri.substr(0, 7), "mailto:")) return false;
    auto addr = mailto_address(uri);
    auto at = addr.find('@');
    return at != std::string_view::npos && at > 0 && at + 1 < addr.size() && addr.find_first_of(" <>\"") == std::string_view::npos;
  }

  // ---- commands ----
  void block(Frame& f, const std::vector<Command>& cmds) {
    bool chain_taken = false;
    for (const auto& c : cmds) {
      step(c.line);
      const auto& n = c.name;
      if (n == "require") continue;
      if (n == "if") {
        chain_taken = test(f, c.tests[0]);
        if (chain_taken) block(f, c.block);
        continue;
      }
      if (n == "elsif") {
        if (chain_taken) continue;
        chain_taken = test(f, c.tests[0]);
        if (chain_taken) block(f, c.block);
        continue;
      }
      if (n == "else") {
        if (!chain_taken) block(f, c.block);
        chain_taken = true;
        continue;
      }
      command(f, c);
    }
  }

  void command(Frame& f, const Command& cmd) {
    const auto& n = cmd.name;
    auto c = call_of(cmd);
    auto str = [&](std::size_t i) { return expand(f, c.positional[i]->strings[0]); };
    auto use_flags = [&]() {
      if (c.has("flags")) return split_flags(expand(f, c.tags.at("flags").strings));
      return flags_list(internal_flags_);
    };
    if (n == "stop") throw Stop{};
    if (n == "return") throw Return{};
    if (n == "keep") {
      Action a;
      a.flags = use_flags();
      add(a, cmd.line);
      implicit_keep_ = false;
      return;
    }
    if (n == "discard") {
      implicit_keep_ = false;
      return;
    }
    if (n == "fileinto") {
      Action a;
      a.kind = Action::Kind::fileinto;
      a.mailbox = str(0);
      if (a.mailbox.empty()) throw RunError(cmd.line, "fileinto needs a mailbox name");
      a.create = c.has("create");
      a.flags = use_flags();
      add(a, cmd.line);
      if (!c.has("copy")) implicit_keep_ = false;
      return;
    }
    if (n == "redirect") {
      auto to = str(0);
      auto list = mime::parse_address_list(to);
      if (list.size() != 1 || list[0].find('@') == std::string::npos) throw RunError(cmd.line, "redirect to an invalid address \"" + to + "\"");
      if (++redirects_ > limits_.max_redirects)
        throw RunError(cmd.line, "more than " + std::to_string(limits_.max_redirects) + " redirects");
      // Loop protection: a message this user redirected before comes back marked.
      for (const auto& [k, v] : fields_)
        if (iequals(k, "X-Mailstead-Redirected-By") && iequals(trim(v), envelope_.to))
          throw RunError(cmd.line, "redirect loop: this message was already redirected by " + envelope_.to);
      Action a;
      a.kind = Action::Kind::redirect;
      a.address = list[0];
      add(a, cmd.line);
      if (!c.has("copy")) implicit_keep_ = false;
      return;
    }
    if (n == "reject" || n == "ereject") {
      Action a;
      a.kind = n == "reject" ? Action::Kind::reject : Action::Kind::ereject;
      a.text = str(0);
      if (std::any_of(actions_.begin(), actions_.end(), [](const Action& x) { return x.kind == Action::Kind::reject || x.kind == Action::Kind::ereject; }))
        throw RunError(cmd.line, "only one reject per message");
      add(a, cmd.line);
      implicit_keep_ = false;
      return;
    }
    if (n == "vacation") return vacation(f, cmd, c);
    if (n == "setflag" || n == "addflag" || n == "removeflag") {
      std::string& target = c.positional.size() == 2 ? var(f, str(0)) : internal_flags_;
      auto given = split_flags(expand(f, c.positional.back()->strings));
      auto current = flags_list(target);
      if (n == "setflag") {
        current = given;
      } else if (n == "addflag") {
        current = split_flags({join_flags(current), join_flags(given)});
      } else {
        current.erase(std::remove_if(current.begin(), current.end(), [&](const std::string& fl) {
                        return std::any_of(given.begin(), given.end(), [&](const std::string& g) { return iequals(g, fl); });
                      }),
                      current.end());
      }
      target = join_flags(current);
      return;
    }
    if (n == "set") {
      auto value = str(1);
      if (c.has("lower")) value = lower(value);
      if (c.has("upper")) value = upper(value);
      if (c.has("lowerfirst") && !value.empty()) value[0] = ascii_lower(value[0]);
      if (c.has("upperfirst") && !value.empty()) value[0] = ascii_upper(value[0]);
      if (c.has("quotewildcard")) {
        std::string q;
        for (char ch : value) {
          if (ch == '*' || ch == '?' || ch == '\\') q += '\\';
          q += ch;
        }
        value = q;
      }
      if (c.has("quoteregex")) {
        std::string q;
        for (char ch : value) {
          if (std::string_view("\\^$.[]|()?*+{}").find(ch) != std::string_view::npos) q += '\\';
          q += ch;
        }
        value = q;
      }
      if (c.has("length")) {
        // characters, not bytes (UTF-8)
        std::size_t chars = 0;
        for (unsigned char ch : value) chars += (ch & 0xC0) != 0x80;
        value = std::to_string(chars);
      }
      truncate_utf8(value, limits_.max_variable_size);
      var(f, c.positional[0]->strings[0]) = value;
      return;
    }
    if (n == "global") {
      for (const auto& name : c.positional[0]->strings) f.globals.insert(lower(name));
      return;
    }
    if (n == "include") return include(f, cmd, c);
    if (n == "addheader") {
      auto name = str(0);
      auto value = str(1);
      if (!editable(name) || name.find_first_of(": \t\r\n") != std::string::npos) return;  // silently refused (RFC 5293 6)
      for (auto& ch : value)
        if (ch == '\r' || ch == '\n') ch = ' ';
      if (c.has("last")) fields_.emplace_back(name, value);
      else fields_.insert(fields_.begin(), {name, value});
      decoded_.clear();
      header_edited_ = true;
      return;
    }
    if (n == "deleteheader") {
      auto name = str(0);
      if (!editable(name)) return;
      std::vector<std::string> patterns;
      if (c.positional.size() == 2) patterns = c.positional[1]->strings;
      std::vector<std::size_t> idx;
      for (std::size_t i = 0; i < fields_.size(); ++i)
        if (iequals(fields_[i].first, name)) idx.push_back(i);
      if (c.has("index")) {
        auto k = c.tags.at("index").number;
        if (k == 0 || k > idx.size()) return;
        idx = {c.has("last") ? idx[idx.size() - k] : idx[k - 1]};
      }
      std::vector<std::size_t> remove;
      for (auto i : idx)
        if (patterns.empty() || match(f, c, {std::string(trim(mime::decode_words(fields_[i].second)))}, patterns, cmd.line))
          remove.push_back(i);
      for (auto it = remove.rbegin(); it != remove.rend(); ++it) fields_.erase(fields_.begin() + static_cast<long>(*it));
      if (!remove.empty()) decoded_.clear();
      header_edited_ |= !remove.empty();
      return;
    }
    if (n == "notify") {
      auto method = str(0);
      if (!valid_mailto(method)) throw RunError(cmd.line, "notify: unsupported or invalid method \"" + method + "\"");
      // RFC 5436 2.7: never notify about automatically submitted mail.
      for (const auto& [k, v] : fields_)
        if (iequals(k, "Auto-Submitted") && !iequals(trim(v), "no")) return;
      Action a;
      a.kind = Action::Kind::notify;
      a.notify.method = method;
      if (c.has("from")) a.notify.from = expand(f, c.str("from"));
      if (c.has("importance")) a.notify.importance = expand(f, c.str("importance"));
      if (c.has("options")) a.notify.options = expand(f, c.tags.at("options").strings);
      if (c.has("message")) a.notify.message = expand(f, c.str("message"));
      else a.notify.message = "New mail from " + first_header("From") + ": " + first_header("Subject");
      add(a, cmd.line);
      return;
    }
    throw RunError(cmd.line, "unknown command " + n);
  }

  static bool editable(const std::string& name) {
    // RFC 5293 6: never the trace fields that loop detection and DKIM rely on.
    return !iequals(name, "Received") && !iequals(name, "Auto-Submitted") && !iequals(name, "DKIM-Signature") &&
           !iequals(name, "X-Mailstead-Redirected-By");
  }

  std::string first_header(std::string_view name) {
    for (const auto& [k, v] : fields_)
      if (iequals(k, name)) return std::string(trim(mime::decode_words(v)));
    return "";
  }

  void vacation(Frame& f, const Command& cmd, const Call& c) {
    if (vacation_done_) throw RunError(cmd.line, "only one vacation per message");
    vacation_done_ = true;
    // RFC 3834 and RFC 5230 4.5: never answer these.
    const auto& sender = envelope_.from;
    if (sender.empty()) return;
    auto local = lower(sender.substr(0, sender.rfind('@')));
    if (local == "mailer-daemon" || local == "postmaster" || local.starts_with("owner-") || local.ends_with("-request") ||
        local == "listserv" || local == "majordomo" || local.ends_with("-bounces") || local.starts_with("bounce"))
      return;
    for (const auto& [k, v] : fields_) {
      auto name = lower(k);
      auto val = lower(trim(v));
      if (name == "auto-submitted" && val != "no") return;
      if (name.starts_with("list-")) return;
      if (name == "precedence" && (val == "bulk" || val == "list" || val == "junk")) return;
      if (name == "x-auto-response-suppress" && (val.find("all") != std::string::npos || val.find("oof") != std::string::npos)) return;
    }
    // Only mail addressed to the user (RFC 5230 4.5).
    std::vector<std::string> mine = options_.user_addresses;
    mine.push_back(envelope_.to);
    if (c.has("addresses"))
      for (auto& a : expand(f, c.tags.at("addresses").strings)) mine.push_back(a);
    bool to_me = false;
    for (const auto& [k, v] : fields_) {
      auto name = lower(k);
      if (name != "to" && name != "cc" && name != "bcc" && name != "resent-to" && name != "resent-cc" && name != "resent-bcc") continue;
      for (const auto& a : mime::parse_address_list(v))
        for (const auto& m : mine) to_me |= iequals(a, m);
    }
    if (!to_me) return;
    Action a;
    a.kind = Action::Kind::vacation;
    auto& v = a.vacation;
    v.reason = expand(f, c.positional[0]->strings[0]);
    if (c.has("subject")) v.subject = expand(f, c.str("subject"));
    if (c.has("from")) v.from = expand(f, c.str("from"));
    if (c.has("handle")) v.handle = expand(f, c.str("handle"));
    if (c.has("addresses")) v.addresses = expand(f, c.tags.at("addresses").strings);
    v.mime = c.has("mime");
    if (c.has("seconds")) v.period = static_cast<std::int64_t>(c.tags.at("seconds").number);
    else if (c.has("days")) v.period = std::max<std::int64_t>(1, static_cast<std::int64_t>(c.tags.at("days").number)) * 86400;
    v.period = std::min<std::int64_t>(v.period, 365 * 86400);
    v.recipient = sender;
    if (v.subject.empty()) {
      auto s = first_header("Subject");
      v.subject = "Auto: " + (s.empty() ? std::string("your message") : s);
    }
    add(a, cmd.line);
  }

  void include(Frame& f, const Command& cmd, const Call& c) {
    auto name = expand(f, c.positional[0]->strings[0]);
    bool global = c.has("global");
    auto key = std::string(global ? "g:" : "p:") + name;
    if (c.has("once") && included_.count(key)) return;
    if (depth_ + 1 > limits_.max_include_depth) throw RunError(cmd.line, "include nested deeper than " + std::to_string(limits_.max_include_depth));
    for (const auto& k : stack_)
      if (k == key) throw RunError(cmd.line, "include loop through \"" + name + "\"");
    auto text = env_.script(name, global);
    if (!text) {
      if (c.has("optional")) return;
      throw RunError(cmd.line, "include: no script \"" + name + "\"");
    }
    auto parsed = parse(*text, limits_);
    if (!parsed.script) throw RunError(cmd.line, "include \"" + name + "\": " + parsed.error);
    included_.insert(key);
    stack_.push_back(key);
    ++depth_;
    Frame inner{parsed.script.get(), {}, {}};
    try {
      block(inner, parsed.script->commands);
    } catch (const Return&) {
    }
    --depth_;
    stack_.pop_back();
  }

  std::string check_conflicts() {
    bool reject = false, other = false;
    for (const auto& a : actions_) {
      if (a.kind == Action::Kind::reject || a.kind == Action::Kind::ereject) reject = true;
      else if (a.kind == Action::Kind::keep || a.kind == Action::Kind::fileinto || a.kind == Action::Kind::vacation) other = true;
    }
    if (reject && other) return "reject cannot be combined with keep, fileinto or vacation (RFC 5429 2.1)";
    return "";
  }

  std::string_view message_;
  const Envelope& envelope_;
  Environment& env_;
  const RunOptions& options_;
  const Limits& limits_;
  std::vector<std::pair<std::string, std::string>> fields_;
  std::vector<std::optional<std::string>> decoded_;  // fields_' values, RFC 2047 decoded, on demand
  std::string_view body_;
  std::map<std::string, std::string> globals_;
  std::vector<std::string> match_vars_;
  std::string internal_flags_;
  std::vector<Action> actions_;
  std::vector<std::pair<std::string, std::int64_t>> duplicates_;
  std::set<std::string> included_;
  std::vector<std::string> stack_;
  std::uint32_t steps_ = 0, redirects_ = 0, depth_ = 0, ticks_ = 0;
  std::chrono::nanoseconds cpu_start_;
  bool implicit_keep_ = true, vacation_done_ = false, header_edited_ = false;
};

}  // namespace

std::string_view mailto_address(std::string_view uri) {
  auto rest = uri.substr(std::min<std::size_t>(7, uri.size()));  // after "mailto:"
  return rest.substr(0, rest.find('?'));
}

int spamtest_value(const SpamScore& s) {
  if (!s.tested) return 0;
  if (s.score >= s.reject) return 10;
  if (s.score >= s.junk) {
    double span = s.reject - s.junk;
    int v = span > 0 ? 5 + static_cast<int>(5 * (s.score - s.junk) / span) : 9;
    return std::clamp(v, 5, 9);
  }
  if (s.score <= 0 || s.junk <= 0) return 1;
  return std::clamp(1 + static_cast<int>(4 * s.score / s.junk), 1, 4);
}

int spamtest_percent(const SpamScore& s) {
  if (!s.tested) return 0;
  if (s.score >= s.reject) return 100;
  if (s.score >= s.junk) {
    double span = s.reject - s.junk;
    int v = span > 0 ? 50 + static_cast<int>(50 * (s.score - s.junk) / span) : 99;
    return std::clamp(v, 50, 99);
  }
  if (s.score <= 0 || s.junk <= 0) return 0;
  return std::clamp(static_cast<int>(50 * s.score / s.junk), 0, 49);
}

Outcome run(const Script& script, std::string_view message, const Envelope& envelope, Environment& env,
            const RunOptions& options, const Limits& limits) {
  Runner r(message, envelope, env, options, limits);
  return r.run(script);
}

}  // namespace mailstead::sieve
