// libFuzzer: IMAP framing and the command parser with the server's real limits (a
// command's text outside literals up to max_line_length, literals up to max_literal_size),
// then what the session does next with the tokens: SEARCH programs parsed with the
// server's limits and matched against a message, FETCH items, sequence sets, mailbox
// names, and CATENATE's IMAP URLs (whose SECTION is walked over the message like a FETCH).
//
// Inputs are expanded before framing, so a short input can stand for a command as long as
// the limits allow (a 64 KB chain of NOTs, thousands of literals): "\0R" + two bytes n
// (big-endian) + segment + "\0E" stands for the segment repeated n times. The expansion
// stops at 256 KiB (four times the line limit; larger inputs only slow the search).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/fetch.hpp"
#include "proto/imapurl.hpp"
#include "proto/mutf7.hpp"
#include "proto/parser.hpp"
#include "mime/mime.hpp"
#include "proto/search.hpp"
#include "proto/thread.hpp"
#include "proto/wildcard.hpp"
#include "imapd/settings.hpp"  // the server's defaults

using namespace mailstead::imap;

namespace {

constexpr std::size_t kMaxExpanded = 256u << 10;

std::string expand(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  while (i < in.size() && out.size() < kMaxExpanded) {
    if (in.compare(i, 2, std::string_view("\0R", 2)) == 0 && i + 4 <= in.size()) {
      std::size_t n = (static_cast<unsigned char>(in[i + 2]) << 8) | static_cast<unsigned char>(in[i + 3]);
      auto end = in.find(std::string_view("\0E", 2), i + 4);
      if (end == std::string_view::npos) end = in.size();
      auto seg = in.substr(i + 4, end - i - 4);
      for (std::size_t k = 0; k < n && !seg.empty() && out.size() < kMaxExpanded; ++k) out.append(seg);
      i = end == in.size() ? end : end + 2;
      continue;
    }
    out.push_back(in[i++]);
  }
  return out;
}

// LIST wildcards by their definition (backtracking: short inputs only).
bool reference_match(std::string_view p, std::string_view n) {
  if (p.empty()) return n.empty();
  if (p[0] == '*' || p[0] == '%') {
    for (std::size_t i = 0; i <= n.size(); ++i) {
      if (reference_match(p.substr(1), n.substr(i))) return true;
      if (i < n.size() && p[0] == '%' && n[i] == '/') return false;
    }
    return false;
  }
  return !n.empty() && p[0] == n[0] && reference_match(p.substr(1), n.substr(1));
}

void use_command(const Command& c, const Settings& st) {
  // LIST-like: the automaton must agree with the definition, and finish on long inputs.
  if (c.args.size() >= 2) {
    const auto& p = c.args[0].text;
    const auto& n = c.args[1].text;
    bool got = ListPattern(p).matches(n);
    if (p.size() <= 12 && n.size() <= 16 && got != reference_match(p, n)) std::abort();
  }
  // The per-argument parsers see the first arguments only: long commands are here for the
  // framing and the SEARCH limits, and checking each of 16,000 tokens would slow every run.
  const std::string* message = nullptr;  // a string argument, taken as a message below
  for (std::size_t i = 0; i < c.args.size() && i < 64; ++i) {
    const auto& a = c.args[i];
    if (a.kind == Token::Kind::string && !message) message = &a.text;
    (void)new_mailbox_name_problem(a.text);
    (void)decode_quoted_printable(a.text);
    if (i < 4) (void)base_subject(a.text);
    // FETCH items against the message: BODY and BINARY sections walk its part numbers.
    auto items = parse_fetch_items(a);
    if (auto* list = std::get_if<std::vector<FetchItem>>(&items); list && message) {
      auto root = mailstead::mime::parse(*message);
      for (const auto& it : *list) {
        if (it.kind != FetchItem::Kind::section && it.kind != FetchItem::Kind::binary_size) continue;
        if (it.binary) {
          auto r = binary_bytes("", *message, root, it);
          if (it.path.empty() && std::get<std::string>(r) != *message) std::abort();
        } else if (auto b = section_bytes("", *message, root, it); b && it.path.empty() &&
                                                                   it.spec == FetchItem::Spec::all && *b != *message) {
          std::abort();
        }
      }
    }
    (void)parse_sequence_set(a.text);
    // CATENATE (TEXT … URL "…"): a URL names one message, and its SECTION parses as a FETCH's.
    if (auto u = parse_imap_url(a.text)) {
      if (u->uid == 0 || (!u->relative_to_selected && u->mailbox.empty())) std::abort();
      if (!u->section.empty() && message) {
        Token t;
        t.text = "BODY.PEEK[" + u->section + "]";
        auto its = parse_fetch_items(t);
        if (auto* list = std::get_if<std::vector<FetchItem>>(&its); list && list->size() == 1)
          (void)section_bytes("", *message, mailstead::mime::parse(*message), list->front());
      }
    }
    if (auto u = mutf7_to_utf8(a.text)) {
      if (mutf7_to_utf8(utf8_to_mutf7(*u)) != *u) std::abort();
    }
  }
  SearchLimits limits{st.max_search_depth, st.max_search_keys};
  for (std::size_t from = 0; from < c.args.size() && from < 3; ++from) {
    auto r = parse_search(c.args, from, limits);
    if (auto* k = std::get_if<SearchKey>(&r)) {
      static const std::string blob =
          "From: A <a@example.test>\r\nDate: Mon, 1 Jan 2024 23:30:00 -0500\r\nSubject: =?utf-8?q?hi?=\r\n\r\nbody\r\n";
      SearchMessage m;
      m.seq = m.uid = 1;
      m.max_seq = m.max_uid = 3;
      m.size = blob.size();
      m.blob = blob;
      (void)matches(*k, m);
      (void)needs(*k);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Settings st;
  const std::string all = expand(std::string_view(reinterpret_cast<const char*>(data), size));
  std::string_view buf = all;
  // Frame as the session does: the text of all a command's lines counts against
  // max_line_length, each literal against max_literal_size.
  std::size_t scan = 0, text = 0;
  while (!buf.empty()) {
    auto f = frame(buf, scan, st.max_line_length - std::min<std::size_t>(text, st.max_line_length));
    if (f.status == Framing::Status::need_literal) {
      if (f.literal > st.max_literal_size || f.literal > buf.size() || buf.size() - f.literal < f.literal_at) break;
      text += f.literal_at - scan;
      scan = f.literal_at + f.literal;
      continue;
    }
    if (f.status != Framing::Status::complete) break;
    auto parsed = parse_command(buf.substr(0, f.end));
    if (auto* c = std::get_if<Command>(&parsed)) use_command(*c, st);
    buf.remove_prefix(f.end);
    scan = text = 0;
  }
  return 0;
}
