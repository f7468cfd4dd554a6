// SEARCH parsing and matching.
#include "proto/search.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>

#include "mime/header.hpp"
#include "mime/mime.hpp"
#include "mime/text.hpp"
#include "store/records.hpp"
#include "util/base64.hpp"
#include "util/text.hpp"

namespace mailstead::imap {

namespace {

bool contains_ci(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != hay.end();
}

using Result = std::variant<SearchKey, std::string>;

// Recursive descent, with the depth bounded by SearchLimits (one level per NOT, OR and list).
class P {
 public:
  P(const std::vector<Token>& a, std::size_t i, SearchLimits limits, std::size_t& keys, std::size_t depth = 0)
      : args_(a), i_(i), limits_(limits), keys_(keys), depth_(depth) {}
  bool done() const { return i_ >= args_.size(); }

  Result key() {
    if (done()) return std::string("SEARCH key missing");
    if (++keys_ > limits_.max_keys)
      return "Too many SEARCH keys (the limit is " + std::to_string(limits_.max_keys) + ")";
    const Token& t = args_[i_++];
    SearchKey k;
    auto deeper = [&]() -> std::optional<std::string> {
      if (depth_ + 1 > limits_.max_depth)
        return "SEARCH keys nested too deeply (NOT, OR and parentheses: the limit is " +
               std::to_string(limits_.max_depth) + " levels)";
      return std::nullopt;
    };
    if (t.kind == Token::Kind::list) {
      if (auto e = deeper()) return *e;
      P inner(t.items, 0, limits_, keys_, depth_ + 1);
      k.kind = SearchKey::Kind::and_;
      while (!inner.done()) {
        auto r = inner.key();
        if (auto* e = std::get_if<std::string>(&r)) return *e;
        k.children.push_back(std::get<SearchKey>(r));
      }
      if (k.children.empty()) return std::string("Empty SEARCH list");
      return k;
    }
    if (t.kind != Token::Kind::atom) return std::string("Bad SEARCH key");
    auto u = upper(t.text);
    using K = SearchKey::Kind;
    auto flag = [&](K kind, std::uint32_t bit) {
      k.kind = kind;
      k.flag = bit;
      return Result(k);
    };
    if (u == "ALL") { k.kind = K::all; return k; }
    if (u == "SEEN") return flag(K::flag_set, store::flag_seen);
    if (u == "UNSEEN") return flag(K::flag_clear, store::flag_seen);
    if (u == "ANSWERED") return flag(K::flag_set, store::flag_answered);
    if (u == "UNANSWERED") return flag(K::flag_clear, store::flag_answered);
    if (u == "DELETED") return flag(K::flag_set, store::flag_deleted);
    if (u == "UNDELETED") return flag(K::flag_clear, store::flag_deleted);
    if (u == "FLAGGED") return flag(K::flag_set, store::flag_flagged);
    if (u == "UNFLAGGED") return flag(K::flag_clear, store::flag_flagged);
    if (u == "DRAFT") return flag(K::flag_set, store::flag_draft);
    if (u == "UNDRAFT") return flag(K::flag_clear, store::flag_draft);
    if (u == "NEW") { k.kind = K::new_; return k; }
    if (u == "OLD") { k.kind = K::old; return k; }
    if (u == "RECENT") { k.kind = K::recent; return k; }
    if (u == "NOT") {
      if (auto e = deeper()) return *e;
      auto r = nested();
      if (auto* e = std::get_if<std::string>(&r)) return *e;
      k.kind = K::not_;
      k.children.push_back(std::get<SearchKey>(r));
      return k;
    }
    if (u == "OR") {
      if (auto e = deeper()) return *e;
      auto a = nested();
      if (auto* e = std::get_if<std::string>(&a)) return *e;
      auto b = nested();
      if (auto* e = std::get_if<std::string>(&b)) return *e;
      k.kind = K::or_;
      k.children.push_back(std::get<SearchKey>(a));
      k.children.push_back(std::get<SearchKey>(b));
      return k;
    }
    if (u == "KEYWORD" || u == "UNKEYWORD") {
      if (done()) return std::string(u + " needs a keyword");
      k.kind = u == "KEYWORD" ? K::keyword : K::unkeyword;
      k.a = args_[i_++].text;
      return k;
    }
    if (u == "HEADER") {
      if (i_ + 1 >= args_.size() + 0 && i_ + 2 > args_.size()) return std::string("HEADER needs a field and a string");
      k.kind = K::header;
      k.a = args_[i_++].text;
      k.b = args_[i_++].text;
      return k;
    }
    if (u == "FROM" || u == "TO" || u == "CC" || u == "BCC" || u == "SUBJECT") {
      if (done()) return std::string(u + " needs a string");
      k.kind = K::header;
      k.a = u;
      k.b = args_[i_++].text;
      return k;
    }
    if (u == "BODY" || u == "TEXT") {
      if (done()) return std::string(u + " needs a string");
      k.kind = u == "BODY" ? K::body : K::text;
      k.a = args_[i_++].text;
      return k;
    }
    if (u == "BEFORE" || u == "ON" || u == "SINCE" || u == "SENTBEFORE" || u == "SENTON" || u == "SENTSINCE") {
      if (done() || !parse_search_date(args_[i_].text, k.day)) return std::string(u + " needs a date like 1-Feb-2024");
      ++i_;
      k.kind = u == "BEFORE" ? K::before : u == "ON" ? K::on : u == "SINCE" ? K::since
             : u == "SENTBEFORE" ? K::sent_before : u == "SENTON" ? K::sent_on : K::sent_since;
      return k;
    }
    if (u == "LARGER" || u == "SMALLER") {
      if (done()) return std::string(u + " needs a number");
      auto& v = args_[i_++].text;
      try {
        std::size_t used = 0;
        k.size = std::stoull(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
      } catch (...) {
        return std::string(u + " needs a number");
      }
      k.kind = u == "LARGER" ? K::larger : K::smaller;
      return k;
    }
    if (u == "MODSEQ") {
      // MODSEQ [entry-name entry-type-req] mod-sequence-valzer (RFC 7162 3.1.5)
      if (done()) return std::string("MODSEQ needs a number");
      if (args_[i_].kind == Token::Kind::string) {
        if (i_ + 2 >= args_.size() + 0 && i_ + 3 > args_.size()) return std::string("Bad MODSEQ");
        i_ += 2;  // per-flag modseqs are not kept: the message's MODSEQ stands for all
      }
      if (done()) return std::string("MODSEQ needs a number");
      try {
        std::size_t used = 0;
        const auto& v = args_[i_++].text;
        k.size = std::stoull(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
      } catch (...) {
        return std::string("MODSEQ needs a number");
      }
      k.kind = K::modseq;
      return k;
    }
    if (u == "UID") {
      if (done()) return std::string("UID needs a set");
      auto s = parse_sequence_set(args_[i_++].text);
      if (!s) return std::string("Bad UID set");
      k.kind = K::uidset;
      k.set = *s;
      return k;
    }
    if (auto s = parse_sequence_set(t.text)) {
      k.kind = K::seqset;
      k.set = *s;
      return k;
    }
    return "Unknown SEARCH key " + t.text;
  }

 private:
  // The operand of NOT or OR: one level deeper, from the same arguments.
  Result nested() {
    ++depth_;
    auto r = key();
    --depth_;
    return r;
  }
  const std::vector<Token>& args_;
  std::size_t i_;
  SearchLimits limits_;
  std::size_t& keys_;
  std::size_t depth_;
};

bool header_matches(const SearchMessage& m, std::string_view name, std::string_view value) {
  std::string header(m.prefix);
  // Only the header: finding its end is a scan for the blank line, not a MIME parse.
  header.append(m.blob.substr(0, std::min(m.blob.size(), mime::header_end(m.blob))));
  for (const auto& [k, v] : mime::header_fields(header))
    if (iequals(k, name) && contains_ci(mime::decode_words(v), value)) return true;
  return false;
}

std::int64_t day_of(std::int64_t t) { return (t >= 0 ? t : t - 86399) / 86400; }

}  // namespace

bool parse_search_date(std::string_view s, std::int64_t& day) {
  if (s.size() >= 2 && s.front() == '"') s = s.substr(1, s.size() - 2);
  auto d1 = s.find('-');
  auto d2 = d1 == std::string_view::npos ? d1 : s.find('-', d1 + 1);
  if (d2 == std::string_view::npos) return false;
  int dd = 0, yy = 0;
  try {
    dd = std::stoi(std::string(s.substr(0, d1)));
    yy = std::stoi(std::string(s.substr(d2 + 1)));
  } catch (...) {
    return false;
  }
  int mm = mime::month_index(s.substr(d1 + 1, d2 - d1 - 1));
  if (!mm || dd < 1 || dd > 31 || yy < 1900 || yy > 9999) return false;
  day = mime::days_from_civil(yy, static_cast<unsigned>(mm), static_cast<unsigned>(dd));
  return true;
}

std::variant<SearchKey, std::string> parse_search(const std::vector<Token>& args, std::size_t from,
                                                  SearchLimits limits) {
  std::size_t keys = 0;
  P p(args, from, limits, keys);
  SearchKey all;
  all.kind = SearchKey::Kind::and_;
  while (!p.done()) {
    auto r = p.key();
    if (auto* e = std::get_if<std::string>(&r)) return *e;
    all.children.push_back(std::get<SearchKey>(r));
  }
  if (all.children.empty()) return std::string("SEARCH needs a key");
  return all;
}

SearchNeeds needs(const SearchKey& k) {
  using K = SearchKey::Kind;
  auto most = SearchNeeds::view;
  for (const auto& c : k.children) most = std::max(most, needs(c));
  switch (k.kind) {
    case K::header:
    case K::body:
    case K::text:
    case K::sent_before:
    case K::sent_on:
    case K::sent_since: return SearchNeeds::content;
    case K::before:
    case K::on:
    case K::since:
    case K::larger:
    case K::smaller: return std::max(most, SearchNeeds::record);
    default: return most;
  }
}

bool matches(const SearchKey& k, const SearchMessage& m) {
  using K = SearchKey::Kind;
  switch (k.kind) {
    case K::all: return true;
    case K::and_:
      for (const auto& c : k.children)
        if (!matches(c, m)) return false;
      return true;
    case K::or_: return matches(k.children[0], m) || matches(k.children[1], m);
    case K::not_: return !matches(k.children[0], m);
    case K::seqset:
    case K::uidset:
      if (k.set.saved) return m.saved && std::binary_search(m.saved->begin(), m.saved->end(), m.uid);
      return k.kind == K::seqset ? k.set.contains(m.seq, m.max_seq) : k.set.contains(m.uid, m.max_uid);
    case K::flag_set: return (m.flags & k.flag) != 0;
    case K::flag_clear: return (m.flags & k.flag) == 0;
    case K::keyword:
    case K::unkeyword: {
      bool has = m.keywords && std::any_of(m.keywords->begin(), m.keywords->end(),
                                           [&](const std::string& w) { return lower(w) == lower(k.a); });
      return k.kind == K::keyword ? has : !has;
    }
    // This server keeps no \Recent state (RFC 9051 removed it): nothing is recent.
    case K::recent:
    case K::new_: return false;
    case K::old: return true;
    case K::header: return header_matches(m, k.a, k.b);
    case K::body:
    case K::text: {
      auto root = mime::parse(m.blob);
      std::string_view hay = k.kind == K::text ? m.blob : m.blob.substr(root.header_end);
      if (contains_ci(hay, k.a)) return true;
      if (k.kind == K::text && header_matches(m, "subject", k.a)) return true;
      return contains_ci(mime::decoded_text(m.blob, root), k.a);
    }
    // The internal date is kept, and reported by FETCH INTERNALDATE, in UTC ("+0000"): its
    // own date is the UTC date.
    case K::before: return day_of(m.internaldate) < k.day;
    case K::on: return day_of(m.internaldate) == k.day;
    case K::since: return day_of(m.internaldate) >= k.day;
    case K::sent_before:
    case K::sent_on:
    case K::sent_since: {
      // RFC 3501 6.4.4: the Date: header's own date, "disregarding time and timezone" —
      // the calendar day as written (23:30 -0500 on the 1st is the 1st, though in UTC it is
      // the 2nd). Without a usable Date:, the internal date stands in.
      std::string header(m.blob.substr(0, mime::header_end(m.blob)));
      std::int64_t t = m.internaldate;
      for (const auto& [name, v] : mime::header_fields(header))
        if (lower(name) == "date") {
          int zone = 0;
          if (mime::parse_date(v, t, &zone)) t += zone;
          break;
        }
      auto d = day_of(t);
      return k.kind == K::sent_before ? d < k.day : k.kind == K::sent_on ? d == k.day : d >= k.day;
    }
    case K::modseq: return m.modseq >= k.size;
    case K::larger: return m.size > k.size;
    case K::smaller: return m.size < k.size;
  }
  return false;
}

}  // namespace mailstead::imap
