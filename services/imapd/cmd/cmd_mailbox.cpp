// Mailbox commands (RFC 3501 6.3): SELECT/EXAMINE, CREATE, DELETE, RENAME,
// (UN)SUBSCRIBE, LIST/LSUB (with RFC 5258 selection and RETURN options accepted, and
// RFC 6154 special-use and CHILDREN attributes), STATUS, APPEND (UIDPLUS), IDLE; and the
// mailbox view that turns others' changes into EXISTS/EXPUNGE/FETCH responses.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <cctype>
#include <ctime>
#include <deque>
#include <map>

#include <unistr.h>

#include "directory/directory.hpp"
#include "log/log.hpp"
#include "mime/cache.hpp"
#include "mime/imap_structure.hpp"
#include "mime/mime.hpp"
#include "proto/fetch.hpp"
#include "proto/imapurl.hpp"
#include "proto/mutf7.hpp"
#include "proto/search.hpp"
#include "proto/wildcard.hpp"
#include "session.hpp"
#include "store/async.hpp"
#include "store_errors.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"
#include "util/text.hpp"

namespace mailstead::imap {

namespace {

std::string_view flag_name(std::uint32_t bit) {
  switch (bit) {
    case store::flag_seen: return "\\Seen";
    case store::flag_answered: return "\\Answered";
    case store::flag_flagged: return "\\Flagged";
    case store::flag_deleted: return "\\Deleted";
    case store::flag_draft: return "\\Draft";
  }
  return "";
}

const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// "17-Jul-1996 02:44:25 -0700" (RFC 3501 date-time) → seconds since the epoch.
bool parse_date_time(std::string_view s, std::int64_t& t) {
  int dd = 0, yy = 0, h = 0, mi = 0, se = 0, zone = 0;
  char mon[4] = {0}, sign = '+';
  std::string v(s);
  if (std::sscanf(v.c_str(), "%2d-%3s-%4d %2d:%2d:%2d %c%4d", &dd, mon, &yy, &h, &mi, &se, &sign, &zone) != 8) return false;
  int m = 0;
  for (int i = 0; i < 12; ++i)
    if (upper(mon) == upper(months[i])) m = i + 1;
  if (!m) return false;
  std::int64_t day = 0;
  if (!parse_search_date(std::to_string(dd) + "-" + months[m - 1] + "-" + std::to_string(yy), day)) return false;
  std::int64_t off = ((zone / 100) * 60 + zone % 100) * 60;
  t = day * 86400 + h * 3600 + mi * 60 + se - (sign == '-' ? -off : off);
  return true;
}

}  // namespace

std::optional<std::string> Session::name_in(std::string_view wire) const {
  if (!utf8_) return mutf7_to_utf8(wire);
  // RFC 6855 3: once enabled, names are UTF-8 as they stand ("&" is an ordinary character).
  if (u8_check(reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size())) return std::nullopt;
  return std::string(wire);
}

std::optional<std::string> Session::mailbox_arg(const Token& t, bool for_create) const {
  if (t.kind == Token::Kind::list) return std::nullopt;
  auto utf8 = name_in(t.text);
  if (utf8 && for_create && utf8->size() > 1 && utf8->back() == '/') utf8->pop_back();
  if (!utf8 || utf8->empty() || utf8->size() > 400) return std::nullopt;
  auto n = normalize_mailbox(*utf8);
  if (n.front() == '/' || n.back() == '/' || n.find("//") != std::string::npos) return std::nullopt;
  return n;
}

std::string Session::mailbox_out(const std::string& utf8_name) const {
  if (!utf8_) return mime::imap_string(utf8_to_mutf7(utf8_name));
  // RFC 6855 3: a quoted string may hold UTF-8; a literal only for what cannot be quoted.
  bool quotable = utf8_name.size() < 1024;
  for (unsigned char ch : utf8_name) quotable &= ch >= 0x20 && ch != 0x7f;
  if (!quotable) return mime::imap_string(utf8_name);
  std::string out = "\"";
  for (char ch : utf8_name) {
    if (ch == '"' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  return out + "\"";
}

void Session::flags_responses() {
  std::string kw;
  for (const auto& k : selected_->keywords) kw += " " + k;
  untagged("FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw + ")");
  untagged(selected_->read_only ? "OK [PERMANENTFLAGS ()] Read-only mailbox"
                                : "OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw +
                                      " \\*)] Flags permitted");
}

void Session::announce_keywords(const ViewMessage& m) {
  if (!selected_) return;
  bool added = false;
  for (const auto& k : m.keywords) {
    auto& known = selected_->keywords;
    if (std::none_of(known.begin(), known.end(), [&](const std::string& x) { return iequals(x, k); })) {
      known.push_back(k);
      added = true;
    }
  }
  if (added) flags_responses();
}

void append_flags(std::string& out, const ViewMessage& m) {
  out += '(';
  auto at = out.size();
  auto sep = [&] {
    if (out.size() > at) out += ' ';
  };
  for (std::uint32_t bit : {store::flag_seen, store::flag_answered, store::flag_flagged, store::flag_deleted, store::flag_draft})
    if (m.flags & bit) {
      sep();
      out += flag_name(bit);
    }
  for (const auto& k : m.keywords) {
    sep();
    out += k;
  }
  out += ')';
}

std::string Session::flags_text(const ViewMessage& m) {
  announce_keywords(m);
  std::string out;
  append_flags(out, m);
  return out;
}

std::string Session::modseq_item(const ViewMessage& m) const {
  return condstore_ ? " MODSEQ (" + std::to_string(m.modseq) + ")" : "";
}

void Session::report_expunged(const std::vector<std::size_t>& indexes_desc) {
  if (indexes_desc.empty()) return;
  search_updates_expunging(indexes_desc);
  if (qresync_) {
    std::vector<std::uint32_t> uids;
    for (auto i : indexes_desc) uids.push_back(selected_->messages[i].uid);
    std::sort(uids.begin(), uids.end());
    std::string set;
    for (std::size_t i = 0; i < uids.size();) {
      std::size_t j = i;
      while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
      set += (set.empty() ? "" : ",") + std::to_string(uids[i]) + (j > i ? ":" + std::to_string(uids[j]) : "");
      i = j + 1;
    }
    untagged("VANISHED " + set);
  } else {
    for (auto i : indexes_desc) untagged(std::to_string(i + 1) + " EXPUNGE");
  }
  for (auto i : indexes_desc) selected_->messages.erase(selected_->messages.begin() + static_cast<long>(i));
}

std::vector<std::uint32_t> Session::expunged_since(std::uint64_t modseq, const SequenceSet* uids) {
  std::vector<std::uint32_t> out;
  auto txn = shared_.store.read();
  auto c = txn->cursor(store::Table::expunge_log);
  auto start = key_u64_u64(selected_->id, modseq + 1);
  auto prefix = key_u64(selected_->id);
  std::uint32_t star = selected_->uidnext ? selected_->uidnext - 1 : 0;
  for (bool ok = c->seek(start); ok && c->key().starts_with(prefix); ok = c->next()) {
    auto uid = get_be32(c->value());
    if (!uids || uids->contains(uid, star)) out.push_back(uid);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::uint64_t> Session::owner_mailbox(const std::string& name) {
  auto txn = shared_.store.read();
  auto m = store::find_mailbox(*txn, *user_id_, name);
  if (!m) return std::nullopt;
  return m->id;
}

void Session::load_view(std::uint64_t id) {
  auto txn = shared_.store.read();
  auto m = store::get_mailbox(*txn, id);
  MailboxView v;
  v.id = id;
  v.name = m->name;
  v.uidvalidity = m->uidvalidity;
  v.uidnext = m->uidnext;
  v.highestmodseq = m->highestmodseq;
  v.messages_total = m->messages;
  auto prefix = key_u64(id);
  auto c = txn->cursor(store::Table::messages);
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next()) {
    auto rec = store::MessageRecord::decode(c->value());
    if (!rec) continue;
    v.messages.push_back({get_be32(c->key().substr(8)), rec->flags, std::move(rec->keywords), rec->modseq});
  }
  bool ro = selected_ && selected_->read_only;
  selected_ = std::move(v);
  selected_->read_only = ro;
}

void Session::refresh(bool expunges) {
  refresh_view(expunges);
  // Updates of kept searches go where expunges may (RFC 5267 4.3 follows RFC 3501 7.4.1).
  if (expunges && !logout_) send_search_updates();
}

void Session::refresh_view(bool expunges) {
  if (!selected_) return;
  auto& v = *selected_;
  auto txn = shared_.store.read();
  auto m = store::get_mailbox(*txn, v.id);
  if (!m) {
    // Deleted under us (another session): the client must leave it.
    untagged("BYE Selected mailbox was deleted");
    logout_ = true;
    v.behind = true;  // its messages are gone: nothing may be answered from the view
    return;
  }
  if (m->highestmodseq == v.highestmodseq && m->uidnext == v.uidnext) return;
  std::vector<ViewMessage> now;
  auto prefix = key_u64(v.id);
  auto c = txn->cursor(store::Table::messages);
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next())
    if (auto rec = store::MessageRecord::decode(c->value()))
      now.push_back({get_be32(c->key().substr(8)), rec->flags, std::move(rec->keywords), rec->modseq});
  auto find = [&](std::uint32_t uid) -> ViewMessage* {
    auto it = std::lower_bound(now.begin(), now.end(), uid, [](const ViewMessage& a, std::uint32_t u) { return a.uid < u; });
    return it != now.end() && it->uid == uid ? &*it : nullptr;
  };
  bool complete = true;
  if (expunges) {
    std::vector<std::size_t> gone;
    for (std::size_t i = v.messages.size(); i-- > 0;)
      if (!find(v.messages[i].uid)) gone.push_back(i);
    report_expunged(gone);
  }
  for (std::size_t i = 0; i < v.messages.size(); ++i) {
    auto* cur = find(v.messages[i].uid);
    if (!cur) {
      complete = false;  // expunged elsewhere, reported later
      continue;
    }
    if (cur->modseq != v.messages[i].modseq) {
      v.messages[i] = *cur;
      // With QRESYNC, unsolicited FETCH carries the UID (RFC 7162 3.2.4).
      untagged(std::to_string(i + 1) + " FETCH (" + (qresync_ ? "UID " + std::to_string(cur->uid) + " " : "") + "FLAGS " +
               flags_text(v.messages[i]) + modseq_item(v.messages[i]) + ")");
    }
  }
  std::uint32_t last = v.messages.empty() ? 0 : v.messages.back().uid;
  bool grew = false;
  for (const auto& n : now)
    if (n.uid > last) {
      v.messages.push_back(n);
      grew = true;
    }
  if (grew) untagged(std::to_string(v.messages.size()) + " EXISTS");
  v.uidnext = m->uidnext;
  // Stay behind on MODSEQ while an expunge is still unreported, so the next refresh looks again.
  if (complete) v.highestmodseq = m->highestmodseq;
  v.behind = !complete;
}

std::vector<std::size_t> Session::resolve_set(const SequenceSet& set, bool uid) const {
  std::vector<std::size_t> out;
  const auto& msgs = selected_->messages;
  if (msgs.empty()) return out;
  if (set.saved) {
    // "$" names the same messages for UID and sequence-number commands (RFC 5182 2.1).
    for (std::size_t i = 0; i < msgs.size(); ++i)
      if (std::binary_search(saved_.begin(), saved_.end(), msgs[i].uid)) out.push_back(i);
    return out;
  }
  // Each range is looked up (the view is in UID order), not each message tested against
  // every range: "UID FETCH 4711" costs a binary search, not a pass over the mailbox. The
  // ranges' index intervals are merged before any index is listed, so a set of many
  // overlapping ranges ("1:*,1:*,…") costs its ranges plus the mailbox, never their product.
  auto star = uid ? msgs.back().uid : static_cast<std::uint32_t>(msgs.size());
  std::vector<std::pair<std::size_t, std::size_t>> spans;  // indexes [first, last)
  spans.reserve(set.ranges.size());
  for (auto [a, b] : set.ranges) {
    std::uint32_t lo = a ? a : star, hi = b ? b : star;
    if (lo > hi) std::swap(lo, hi);
    std::size_t first, last;
    if (uid) {
      auto below = [](const ViewMessage& m, std::uint32_t u) { return m.uid < u; };
      auto above = [](std::uint32_t u, const ViewMessage& m) { return u < m.uid; };
      first = static_cast<std::size_t>(std::lower_bound(msgs.begin(), msgs.end(), lo, below) - msgs.begin());
      last = static_cast<std::size_t>(std::upper_bound(msgs.begin(), msgs.end(), hi, above) - msgs.begin());
    } else {
      first = std::min<std::size_t>(lo ? lo - 1 : 0, msgs.size());
      last = std::min<std::size_t>(hi, msgs.size());
    }
    if (first < last) spans.emplace_back(first, last);
  }
  std::sort(spans.begin(), spans.end());
  std::size_t next = 0;  // the first index not listed yet
  for (auto [first, last] : spans) {
    for (auto i = std::max(first, next); i < last; ++i) out.push_back(i);
    next = std::max(next, last);
  }
  return out;
}

void Session::cmd_select(Command& c, bool read_only) {
  if (c.args.empty() || c.args.size() > 2) return bad(c.tag, c.name + " takes a mailbox name");
  // SELECT mailbox [(CONDSTORE)] | [(QRESYNC (uidvalidity modseq [known-uids]))] (RFC 7162)
  std::optional<std::uint32_t> q_validity;
  std::uint64_t q_modseq = 0;
  std::optional<SequenceSet> q_known;
  if (c.args.size() == 2) {
    if (c.args[1].kind != Token::Kind::list || c.args[1].items.empty()) return bad(c.tag, "Bad SELECT parameters");
    const auto& p = c.args[1].items;
    if (p[0].is_atom("CONDSTORE") && p.size() == 1) {
      condstore_ = true;
    } else if (p[0].is_atom("QRESYNC") && p.size() == 2 && p[1].kind == Token::Kind::list) {
      if (!qresync_) return bad(c.tag, "ENABLE QRESYNC first");
      const auto& q = p[1].items;
      if (q.size() < 2 || q.size() > 4) return bad(c.tag, "Bad QRESYNC parameters");
      try {
        q_validity = static_cast<std::uint32_t>(std::stoul(q[0].text));
        q_modseq = std::stoull(q[1].text);
      } catch (...) {
        return bad(c.tag, "Bad QRESYNC parameters");
      }
      if (q.size() >= 3) {
        q_known = parse_sequence_set(q[2].text);
        if (!q_known) return bad(c.tag, "Bad QRESYNC known UIDs");
      }
    } else {
      return bad(c.tag, "Unknown SELECT parameter");
    }
  }
  auto name = mailbox_arg(c.args[0]);
  if (!name) return tagged(c.tag, "NO", "Invalid mailbox name");
  // RFC 7162 3.2.11 (QRESYNC is advertised): the mailbox this closes is reported closed
  // before anything about the new one, so no response is taken for the wrong mailbox.
  if (selected_) untagged("OK [CLOSED] Previous mailbox closed");
  selected_.reset();  // RFC 3501 6.3.1: a failed SELECT leaves no mailbox selected
  updates_.clear();   // kept searches belong to the mailbox (RFC 5267 4.3)
  saved_.clear();     // and so does "$" (RFC 5182 2.1)
  auto id = owner_mailbox(*name);
  if (!id) return tagged(c.tag, "NO", "[NONEXISTENT] No such mailbox");
  selected_.emplace();
  selected_->read_only = read_only;
  load_view(*id);
  auto& v = *selected_;
  std::size_t first_unseen = 0;
  v.keywords.clear();
  for (std::size_t i = 0; i < v.messages.size(); ++i) {
    for (const auto& k : v.messages[i].keywords)
      if (std::none_of(v.keywords.begin(), v.keywords.end(), [&](const std::string& x) { return iequals(x, k); }))
        v.keywords.push_back(k);
    if (!first_unseen && !(v.messages[i].flags & store::flag_seen)) first_unseen = i + 1;
  }
  flags_responses();
  untagged(std::to_string(v.messages.size()) + " EXISTS");
  untagged("0 RECENT");
  if (first_unseen) untagged("OK [UNSEEN " + std::to_string(first_unseen) + "] First unseen");
  untagged("OK [UIDVALIDITY " + std::to_string(v.uidvalidity) + "] UIDs valid");
  untagged("OK [UIDNEXT " + std::to_string(v.uidnext) + "] Predicted next UID");
  if (condstore_) untagged("OK [HIGHESTMODSEQ " + std::to_string(v.highestmodseq) + "] Highest");
  if (q_validity && *q_validity == v.uidvalidity) {
    // Resynchronisation (RFC 7162 3.2.5.1): what vanished and what changed since q_modseq.
    auto vanished = expunged_since(q_modseq, q_known ? &*q_known : nullptr);
    if (!vanished.empty()) {
      std::string set;
      for (std::size_t i = 0; i < vanished.size();) {
        std::size_t j = i;
        while (j + 1 < vanished.size() && vanished[j + 1] == vanished[j] + 1) ++j;
        set += (set.empty() ? "" : ",") + std::to_string(vanished[i]) + (j > i ? ":" + std::to_string(vanished[j]) : "");
        i = j + 1;
      }
      untagged("VANISHED (EARLIER) " + set);
    }
    for (std::size_t i = 0; i < v.messages.size(); ++i)
      if (v.messages[i].modseq > q_modseq)
        untagged(std::to_string(i + 1) + " FETCH (UID " + std::to_string(v.messages[i].uid) + " FLAGS " +
                 flags_text(v.messages[i]) + modseq_item(v.messages[i]) + ")");
  }
  tagged(c.tag, "OK", std::string(read_only ? "[READ-ONLY]" : "[READ-WRITE]") + " " + c.name + " completed");
}

// The STATUS data items of `m` that `items` names, or "" and `bad_item` set.
static std::string status_items(const store::MailboxRecord& m, const std::vector<Token>& items, std::string& bad_item,
                                bool& wants_modseq, std::uint64_t append_limit) {
  std::string out;
  for (const auto& it : items) {
    auto u = upper(it.text);
    std::string value;
    if (u == "MESSAGES") value = std::to_string(m.messages);
    else if (u == "UIDNEXT") value = std::to_string(m.uidnext);
    else if (u == "UIDVALIDITY") value = std::to_string(m.uidvalidity);
    else if (u == "UNSEEN") value = std::to_string(m.unseen);
    else if (u == "RECENT") value = "0";
    else if (u == "SIZE") value = std::to_string(m.bytes);
    else if (u == "APPENDLIMIT") value = std::to_string(append_limit);  // RFC 7889 4: one limit for all
    else if (u == "HIGHESTMODSEQ") {
      wants_modseq = true;
      value = std::to_string(m.highestmodseq);
    } else {
      bad_item = it.text;
      return "";
    }
    out += (out.empty() ? "" : " ") + u + " " + value;
  }
  return out;
}

void Session::cmd_list(Command& c, bool lsub) {
  // LIST [(selection)] reference pattern(s) [RETURN (options)] — RFC 3501 6.3.8, RFC 5258
  // (LIST-EXTENDED), RFC 5819 (LIST-STATUS), RFC 6154 (SPECIAL-USE).
  std::size_t i = 0;
  bool only_subscribed = lsub, return_subscribed = lsub, recursive = false, only_special = false;
  const Token* status = nullptr;
  if (!lsub && i < c.args.size() && c.args[i].kind == Token::Kind::list) {
    for (const auto& o : c.args[i].items) {
      if (o.is_atom("SUBSCRIBED")) only_subscribed = return_subscribed = true;
      else if (o.is_atom("RECURSIVEMATCH")) recursive = true;
      else if (o.is_atom("SPECIAL-USE")) only_special = true;
      else if (!o.is_atom("REMOTE")) return bad(c.tag, "Unknown LIST selection option " + o.text);
    }
    // RFC 5258 3.1: RECURSIVEMATCH only with another selection option.
    if (recursive && !only_subscribed && !only_special) return bad(c.tag, "RECURSIVEMATCH needs another selection option");
    ++i;
  }
  if (c.args.size() < i + 2) return bad(c.tag, c.name + " takes a reference and a pattern");
  auto ref = name_in(c.args[i].text);
  std::vector<std::string> patterns;
  if (c.args[i + 1].kind == Token::Kind::list) {
    for (const auto& p : c.args[i + 1].items) patterns.push_back(p.text);
  } else {
    patterns.push_back(c.args[i + 1].text);
  }
  if (!lsub && c.args.size() > i + 2) {
    if (c.args.size() != i + 4 || !c.args[i + 2].is_atom("RETURN") || c.args[i + 3].kind != Token::Kind::list)
      return bad(c.tag, "Bad LIST options");
    const auto& opts = c.args[i + 3].items;
    for (std::size_t k = 0; k < opts.size(); ++k) {
      if (opts[k].is_atom("SUBSCRIBED")) return_subscribed = true;
      else if (opts[k].is_atom("STATUS") && k + 1 < opts.size() && opts[k + 1].kind == Token::Kind::list) status = &opts[++k];
      else if (!opts[k].is_atom("CHILDREN") && !opts[k].is_atom("SPECIAL-USE"))
        return bad(c.tag, "Unknown LIST return option " + opts[k].text);  // CHILDREN, SPECIAL-USE: always returned
    }
  }
  if (!ref) return bad(c.tag, "Bad reference name");
  if (patterns.size() == 1 && patterns[0].empty()) {
    untagged(std::string(lsub ? "LSUB" : "LIST") + " (\\Noselect) \"/\" \"\"");
    return tagged(c.tag, "OK", c.name + " completed");
  }
  // Patterns are matched by an automaton (proto/wildcard.hpp), in time linear in each name;
  // their total length is bounded, so one LIST costs at most names × max_list_pattern / 64.
  std::vector<ListPattern> matchers;
  std::vector<std::string> inbox_patterns;
  std::size_t pattern_bytes = 0;
  for (const auto& p : patterns) {
    auto pu = name_in(p);
    if (!pu) continue;  // matches no name
    auto full = *ref + *pu;
    pattern_bytes += full.size();
    if (pattern_bytes > shared_.settings.max_list_pattern)
      return tagged(c.tag, "NO", "[LIMIT] LIST patterns longer than " + std::to_string(shared_.settings.max_list_pattern) +
                                     " bytes");
    matchers.emplace_back(full);
    inbox_patterns.push_back(upper(full));
  }
  // The names LIST and LSUB can report: every mailbox, every subscribed name (a
  // subscription outlives its mailbox, RFC 3501 6.3.6), and the superiors of subscribed
  // names (LSUB's \Noselect parents, RECURSIVEMATCH's CHILDINFO), in byte order, so a
  // name's descendants ("name/…") are one contiguous run.
  struct Entry {
    std::string name;
    const store::MailboxRecord* box = nullptr;  // null: no such mailbox
    bool subscribed = false;
    bool selected = false;  // meets the selection options
  };
  std::vector<store::MailboxRecord> boxes;
  std::vector<std::string> subscribed;
  {
    auto txn = shared_.store.read();
    boxes = store::list_mailboxes(*txn, *user_id_);
    subscribed = store::subscriptions(*txn, *user_id_);
  }
  std::map<std::string, Entry> by_name;
  for (const auto& b : boxes) by_name[b.name].box = &b;
  for (const auto& n : subscribed) {
    by_name[n].subscribed = true;
    for (auto slash = n.find('/'); slash != std::string::npos; slash = n.find('/', slash + 1)) by_name[n.substr(0, slash)];
  }
  std::vector<Entry> entries;
  entries.reserve(by_name.size());
  for (auto& [name, e] : by_name) {
    e.name = name;
    // Without SUBSCRIBED only mailboxes are selected; with it, subscribed names, existing or not.
    e.selected = (only_subscribed ? e.subscribed : e.box != nullptr) &&
                 (!only_special || (e.box && !e.box->special_use.empty()));
    entries.push_back(std::move(e));
  }
  std::vector<std::size_t> selected_before(entries.size() + 1, 0), boxes_before(entries.size() + 1, 0);
  for (std::size_t k = 0; k < entries.size(); ++k) {
    selected_before[k + 1] = selected_before[k] + entries[k].selected;
    boxes_before[k + 1] = boxes_before[k] + (entries[k].box != nullptr);
  }
  auto descendants = [&](const std::string& name) {  // [first, last) in `entries`
    auto at = [&](const std::string& key) {
      return static_cast<std::size_t>(
          std::lower_bound(entries.begin(), entries.end(), key, [](const Entry& e, const std::string& k) { return e.name < k; }) -
          entries.begin());
    };
    return std::make_pair(at(name + "/"), at(name + "0"));
  };
  auto matches = [&](const std::string& name) {
    for (std::size_t k = 0; k < matchers.size(); ++k)
      // INBOX matches case-insensitively.
      if ((name == "INBOX" && inbox_patterns[k] == "INBOX") || matchers[k].matches(name)) return true;
    return false;
  };
  std::vector<const Entry*> order;  // INBOX first, as clients list it
  for (const auto& e : entries)
    if (e.name == "INBOX") order.push_back(&e);
  for (const auto& e : entries)
    if (e.name != "INBOX") order.push_back(&e);
  bool percent = std::any_of(patterns.begin(), patterns.end(), [](const std::string& p) { return p.find('%') != std::string::npos; });
  for (const Entry* e : order) {
    if (!matches(e->name)) continue;
    auto [first, last] = descendants(e->name);
    std::string attrs, childinfo;
    auto add = [&](std::string_view a) { attrs += (attrs.empty() ? "" : " ") + std::string(a); };
    if (lsub) {
      // RFC 3501 6.3.9: subscribed names; with "%", an unsubscribed superior of a
      // subscribed name matched by the pattern is listed \Noselect.
      bool sub_below = selected_before[last] > selected_before[first];
      if (!e->subscribed && !(percent && sub_below)) continue;
      if (!e->subscribed || !e->box) add("\\Noselect");
    } else if (!e->selected) {
      // RECURSIVEMATCH: a name whose descendant meets the selection is listed with CHILDINFO.
      if (!recursive || selected_before[last] == selected_before[first]) continue;
      childinfo = std::string(" (\"CHILDINFO\" (") + (only_subscribed ? "\"SUBSCRIBED\"" : "\"SPECIAL-USE\"") + "))";
    }
    if (e->box) {
      add(boxes_before[last] > boxes_before[first] ? "\\HasChildren" : "\\HasNoChildren");
      if (!e->box->special_use.empty()) add(e->box->special_use);
    } else if (!lsub) {
      add("\\NonExistent");  // RFC 5258: implies \Noselect
    }
    if (!lsub && return_subscribed && e->subscribed) add("\\Subscribed");
    untagged(std::string(lsub ? "LSUB" : "LIST") + " (" + attrs + ") \"/\" " + mailbox_out(e->name) + childinfo);
    if (status && e->box) {
      std::string bad_item;
      bool modseq = false;
      auto items = status_items(*e->box, status->items, bad_item, modseq, shared_.settings.max_literal_size);
      if (!bad_item.empty()) return bad(c.tag, "Unknown STATUS item " + bad_item);
      if (modseq) enable_condstore();
      untagged("STATUS " + mailbox_out(e->name) + " (" + items + ")");
    }
  }
  tagged(c.tag, "OK", c.name + " completed");
}

void Session::cmd_status(Command& c) {
  if (c.args.size() != 2 || c.args[1].kind != Token::Kind::list) return bad(c.tag, "STATUS takes a mailbox and a list");
  auto name = mailbox_arg(c.args[0]);
  if (!name) return tagged(c.tag, "NO", "Invalid mailbox name");
  // A STATUS of the selected mailbox also reports what changed (RFC 3501 6.3.10 note).
  if (selected_ && selected_->name == *name) refresh(true);
  std::optional<store::MailboxRecord> m;
  {
    auto txn = shared_.store.read();
    m = store::find_mailbox(*txn, *user_id_, *name);
  }
  if (!m) return tagged(c.tag, "NO", "[NONEXISTENT] No such mailbox");
  std::string bad_item;
  bool modseq = false;
  auto items = status_items(*m, c.args[1].items, bad_item, modseq, shared_.settings.max_literal_size);
  if (!bad_item.empty()) return bad(c.tag, "Unknown STATUS item " + bad_item);
  if (modseq) enable_condstore();
  untagged("STATUS " + mailbox_out(m->name) + " (" + items + ")");
  tagged(c.tag, "OK", "STATUS completed");
}

asio::awaitable<void> Session::cmd_create(Command& c) {
  if (c.args.empty() || c.args.size() > 2) co_return bad(c.tag, "CREATE takes a mailbox name");
  auto name = mailbox_arg(c.args[0], true);
  if (!name) co_return tagged(c.tag, "NO", "Invalid mailbox name");
  if (*name == "INBOX") co_return tagged(c.tag, "NO", "[ALREADYEXISTS] INBOX exists");
  if (auto problem = new_mailbox_name_problem(*name); !problem.empty())
    co_return tagged(c.tag, "NO", "[CANNOT] " + problem);
  // CREATE name (USE (\\Sent)) — RFC 6154 CREATE-SPECIAL-USE
  std::string special;
  if (c.args.size() == 2) {
    const auto& o = c.args[1];
    if (o.kind != Token::Kind::list || o.items.size() != 2 || !o.items[0].is_atom("USE") ||
        o.items[1].kind != Token::Kind::list || o.items[1].items.size() > 1)
      co_return bad(c.tag, "Bad CREATE parameters");
    if (!o.items[1].items.empty()) {
      static const char* allowed[] = {"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"};
      for (const char* a : allowed)
        if (iequals(o.items[1].items[0].text, a)) special = a;
      if (special.empty()) co_return tagged(c.tag, "NO", "[USEATTR] Unsupported special-use attribute");
    }
  }
  std::optional<Error> err;
  auto owner = *user_id_;
  auto ec = co_await store::async_commit(
      shared_.store,
      [&, owner](store::WriteTxn& t) -> std::error_code {
        err.reset();
        if (store::find_mailbox(t, owner, *name)) {
          err = conflict("[ALREADYEXISTS] Mailbox exists");
          return store::Errc::aborted;
        }
        // RFC 3501 6.3.3: create the superior levels too.
        for (std::size_t pos = name->find('/'); pos != std::string::npos; pos = name->find('/', pos + 1)) {
          auto parent = name->substr(0, pos);
          if (!store::find_mailbox(t, owner, parent)) {
            auto r = store::create_mailbox(t, owner, parent);
            if (!r) { err = r.error(); return store::Errc::aborted; }
          }
        }
        auto r = store::create_mailbox(t, owner, *name, special);
        if (!r) { err = r.error(); return store::Errc::aborted; }
        return {};
      },
      asio::use_awaitable);
  if (err) co_return tagged(c.tag, "NO", err->message);
  if (ec) co_return tagged(c.tag, "NO", store_failure(id_, c.name, ec, "create the mailbox"));
  tagged(c.tag, "OK", "CREATE completed");
}

asio::awaitable<void> Session::cmd_delete(Command& c) {
  if (c.args.size() != 1) co_return bad(c.tag, "DELETE takes a mailbox name");
  auto name = mailbox_arg(c.args[0]);
  if (!name) co_return tagged(c.tag, "NO", "Invalid mailbox name");
  if (*name == "INBOX") co_return tagged(c.tag, "NO", "INBOX cannot be deleted");
  std::optional<std::string> err;
  auto owner = *user_id_;
  auto ec = co_await store::async_commit(
      shared_.store,
      [&, owner](store::WriteTxn& t) -> std::error_code {
        err.reset();
        auto m = store::find_mailbox(t, owner, *name);
        if (!m) { err = "[NONEXISTENT] No such mailbox"; return store::Errc::aborted; }
        for (const auto& o : store::list_mailboxes(t, owner))
          if (o.name.starts_with(*name + "/")) { err = "[INUSE] Delete the mailboxes inside it first"; return store::Errc::aborted; }
        return store::delete_mailbox(t, m->id);
      },
      asio::use_awaitable);
  if (err) co_return tagged(c.tag, "NO", *err);
  if (ec) co_return tagged(c.tag, "NO", store_failure(id_, c.name, ec, "delete the mailbox"));
  if (selected_ && selected_->name == *name) {
    selected_.reset();
    updates_.clear();
    saved_.clear();
  }
  tagged(c.tag, "OK", "DELETE completed");
}

asio::awaitable<void> Session::cmd_rename(Command& c) {
  if (c.args.size() != 2) co_return bad(c.tag, "RENAME takes two mailbox names");
  auto from = mailbox_arg(c.args[0]);
  auto to = mailbox_arg(c.args[1]);
  if (!from || !to) co_return tagged(c.tag, "NO", "Invalid mailbox name");
  if (*from == "INBOX") co_return tagged(c.tag, "NO", "Renaming INBOX is not supported");
  if (*to == "INBOX") co_return tagged(c.tag, "NO", "[ALREADYEXISTS] INBOX exists");
  if (auto problem = new_mailbox_name_problem(*to); !problem.empty())
    co_return tagged(c.tag, "NO", "[CANNOT] " + problem);
  std::optional<std::string> err;
  auto owner = *user_id_;
  auto ec = co_await store::async_commit(
      shared_.store,
      [&, owner](store::WriteTxn& t) -> std::error_code {
        err.reset();
        auto m = store::find_mailbox(t, owner, *from);
        if (!m) { err = "[NONEXISTENT] No such mailbox"; return store::Errc::aborted; }
        if (store::find_mailbox(t, owner, *to)) { err = "[ALREADYEXISTS] Target mailbox exists"; return store::Errc::aborted; }
        // The mailbox and everything below it move together (RFC 3501 6.3.5).
        for (const auto& o : store::list_mailboxes(t, owner)) {
          if (o.name != *from && !o.name.starts_with(*from + "/")) continue;
          auto new_name = *to + o.name.substr(from->size());
          auto r = store::rename_mailbox(t, o.id, new_name);
          if (!r) { err = r.error().message; return store::Errc::aborted; }
          // The subscription follows the mailbox it named.
          if (store::is_subscribed(t, owner, o.name)) {
            if (auto e = store::set_subscription(t, owner, o.name, false)) return e;
            if (auto e = store::set_subscription(t, owner, new_name, true)) return e;
          }
        }
        return {};
      },
      asio::use_awaitable);
  if (err) co_return tagged(c.tag, "NO", *err);
  if (ec) co_return tagged(c.tag, "NO", store_failure(id_, c.name, ec, "rename the mailbox"));
  if (selected_ && selected_->name == *from) selected_->name = *to;
  tagged(c.tag, "OK", "RENAME completed");
}

asio::awaitable<void> Session::cmd_subscribe(Command& c, bool subscribe) {
  // Subscriptions are kept by name, whether or not the mailbox exists (RFC 3501 6.3.6): a
  // name may be subscribed before it is created and stays subscribed after DELETE, until
  // UNSUBSCRIBE; LIST (SUBSCRIBED) marks such a name \NonExistent.
  if (c.args.size() != 1) co_return bad(c.tag, c.name + " takes a mailbox name");
  auto name = mailbox_arg(c.args[0]);
  if (!name) co_return tagged(c.tag, "NO", "Invalid mailbox name");
  // Only names that could be created may be subscribed; any may be unsubscribed.
  if (auto problem = new_mailbox_name_problem(*name); subscribe && *name != "INBOX" && !problem.empty())
    co_return tagged(c.tag, "NO", "[CANNOT] " + problem);
  auto owner = *user_id_;
  auto ec = co_await store::async_commit(
      shared_.store,
      [&, owner](store::WriteTxn& t) -> std::error_code { return store::set_subscription(t, owner, *name, subscribe); },
      asio::use_awaitable);
  if (ec) co_return tagged(c.tag, "NO", "[SERVERBUG] Cannot change the subscription now");
  tagged(c.tag, "OK", c.name + " completed");
}

std::string Session::catenate_url(const std::string& url, std::string& out) {
  // RFC 4469 5: the URL names a message or part of this user's own mailboxes; without
  // URLAUTH (RFC 4467, not offered) only the user's own, on this server.
  auto u = parse_imap_url(url);
  if (!u) return "Not an IMAP URL of a message";
  if (u->urlauth) return "URLAUTH is not supported";
  if (u->absolute) {
    if (u->host != lower(shared_.core.hostname) && u->host != "localhost")
      return "The URL names another server";
    if (!u->user.empty() && !iequals(u->user, user_address_)) return "The URL names another user";
  }
  std::uint64_t box = 0;
  std::uint32_t validity = 0;
  auto txn = shared_.store.read();
  if (u->relative_to_selected) {
    if (!selected_) return "A relative URL needs a selected mailbox";
    box = selected_->id;
    validity = selected_->uidvalidity;
  } else {
    auto m = store::find_mailbox(*txn, *user_id_, normalize_mailbox(u->mailbox));
    if (!m) return "No such mailbox";
    box = m->id;
    validity = m->uidvalidity;
  }
  if (u->uidvalidity && *u->uidvalidity != validity) return "UIDVALIDITY differs";
  auto rec = store::get_message(*txn, box, u->uid);
  if (!rec) return "No such message";
  auto blob = store::get_blob(*txn, rec->blob);
  if (!blob) return "The message cannot be read";
  std::string data;
  if (u->section.empty()) {
    data = rec->prefix + std::string(*blob);
  } else {
    Token t;
    t.text = "BODY.PEEK[" + u->section + "]";
    auto parsed = parse_fetch_items(t);
    auto* items = std::get_if<std::vector<FetchItem>>(&parsed);
    if (!items || items->size() != 1 || (*items)[0].kind != FetchItem::Kind::section) return "Bad SECTION";
    auto tree = mime::parse(*blob);
    auto bytes = section_bytes(rec->prefix, *blob, tree, (*items)[0]);
    if (!bytes) return "No such part";
    data = std::move(*bytes);
  }
  if (u->partial_offset) {
    auto off = std::min<std::uint64_t>(*u->partial_offset, data.size());
    auto len = std::min<std::uint64_t>(u->partial_length.value_or(data.size()), data.size() - off);
    data = data.substr(off, len);
  }
  out += data;
  return "";
}

asio::awaitable<void> Session::cmd_append(Command& c) {
  // APPEND mailbox 1*([(flags)] [date-time] data) — RFC 3501 6.3.11 and MULTIAPPEND
  // (RFC 3502): every message is stored in one transaction, or none is. The data is a
  // literal ({n}, or ~{n} with BINARY), which tells it from a quoted date-time; or
  // CATENATE (TEXT literal / URL url …) (RFC 4469); or UTF8 (~{n}) (RFC 6855 4).
  if (c.args.size() < 2) co_return bad(c.tag, "APPEND takes a mailbox, optional flags and date, and a message");
  auto name = mailbox_arg(c.args[0]);
  struct Message {
    std::uint32_t flags = 0;
    std::vector<std::string> keywords;
    std::int64_t date = static_cast<std::int64_t>(std::time(nullptr));
    const std::string* bytes = nullptr;
    std::string built;  // CATENATE's result
  };
  std::deque<Message> messages(1);  // a deque: `bytes` may point into an element's `built`
  const auto limit = shared_.settings.max_literal_size;
  for (std::size_t i = 1; i < c.args.size(); ++i) {
    const auto& a = c.args[i];
    auto& m = messages.back();
    bool data_item = false;
    if (a.kind == Token::Kind::list && !m.bytes) {
      for (const auto& f : a.items) {
        if (auto bit = store::system_flag(f.text)) m.flags |= bit;
        else if (!f.text.empty() && f.text[0] == '\\') co_return bad(c.tag, "Unknown system flag " + f.text);
        else m.keywords.push_back(f.text);
      }
    } else if (a.kind == Token::Kind::string && a.literal) {
      m.bytes = &a.text;
      data_item = true;
    } else if (a.is_atom("UTF8")) {
      // RFC 6855 4: a message with UTF-8 header fields, in a literal8.
      if (!utf8_) co_return bad(c.tag, "APPEND UTF8 needs ENABLE UTF8=ACCEPT first");
      if (i + 1 >= c.args.size() || c.args[i + 1].kind != Token::Kind::list || c.args[i + 1].items.size() != 1 ||
          !c.args[i + 1].items[0].literal8)
        co_return bad(c.tag, "UTF8 takes a literal8 in parentheses: UTF8 (~{n}…)");
      m.bytes = &c.args[++i].items[0].text;
      data_item = true;
    } else if (a.is_atom("CATENATE")) {
      if (i + 1 >= c.args.size() || c.args[i + 1].kind != Token::Kind::list || c.args[i + 1].items.empty())
        co_return bad(c.tag, "CATENATE takes a list of TEXT and URL parts");
      const auto& parts = c.args[++i].items;
      for (std::size_t k = 0; k < parts.size(); ++k) {
        const auto& kind = parts[k];
        if (k + 1 >= parts.size()) co_return bad(c.tag, "CATENATE part without its value");
        const auto& value = parts[++k];
        if (kind.is_atom("TEXT")) {
          if (value.kind != Token::Kind::string || !value.literal) co_return bad(c.tag, "CATENATE TEXT takes a literal");
          m.built += value.text;
        } else if (kind.is_atom("UTF8")) {
          if (!utf8_) co_return bad(c.tag, "UTF8 needs ENABLE UTF8=ACCEPT first");
          if (value.kind != Token::Kind::list || value.items.size() != 1 || !value.items[0].literal8)
            co_return bad(c.tag, "UTF8 takes a literal8 in parentheses");
          m.built += value.items[0].text;
        } else if (kind.is_atom("URL")) {
          if (value.kind == Token::Kind::list) co_return bad(c.tag, "CATENATE URL takes a string");
          auto before = m.built.size();
          auto why = catenate_url(value.text, m.built);
          if (!why.empty()) {
            std::string shown = value.text.substr(0, 1000);
            std::erase_if(shown, [](char ch) { return ch == ']' || static_cast<unsigned char>(ch) < 0x20; });
            co_return tagged(c.tag, "NO", "[BADURL " + shown + "] " + why);
          }
          // The bytes a URL brings in are held like a literal's: they count against the
          // process's max_literal_memory until the command has run (released by run()).
          auto grown = m.built.size() - before;
          if (!shared_.literal_budget.reserve(grown)) {
            m.built.resize(before);
            co_return tagged(c.tag, "NO", "[UNAVAILABLE] The server holds too much data now; try again later");
          }
          literal_reserved_ += grown;
        } else {
          co_return bad(c.tag, "CATENATE parts are TEXT and URL");
        }
        if (m.built.size() > limit)
          co_return tagged(c.tag, "NO", "[TOOBIG] The message would be larger than the limit of " + std::to_string(limit) + " bytes");
      }
      m.bytes = &m.built;
      data_item = true;
    } else if (a.kind == Token::Kind::string && !parse_date_time(a.text, m.date)) {
      co_return bad(c.tag, "Bad APPEND date-time");
    } else if (a.kind != Token::Kind::string) {
      co_return bad(c.tag, "APPEND takes a mailbox, optional flags and date, and a message");
    }
    if (data_item && i + 1 < c.args.size()) messages.emplace_back();
  }
  if (!messages.back().bytes) co_return bad(c.tag, "APPEND needs a message as a literal");
  if (!name) co_return tagged(c.tag, "NO", "Invalid mailbox name");
  std::uint64_t total = 0;
  for (const auto& m : messages) {
    if (m.bytes->empty()) co_return tagged(c.tag, "NO", "Empty message");
    total += m.bytes->size();
  }
  auto owner = *user_id_;
  // Quota (RFC 9208): the user's mailboxes together.
  {
    auto txn = shared_.store.read();
    auto u = directory::get_user(*txn, owner);
    if (u && u->quota) {
      std::uint64_t used = 0;
      for (const auto& mb : store::list_mailboxes(*txn, owner)) used += mb.bytes;
      if (used + total > u->quota) co_return tagged(c.tag, "NO", "[OVERQUOTA] Quota exceeded");
    }
  }
  std::vector<std::string> keys, caches;
  for (const auto& m : messages) {
    keys.push_back(store::blob_key(*m.bytes));
    caches.push_back(mime::build_cache(*m.bytes).encode());
  }
  std::optional<std::string> err;
  std::vector<std::uint32_t> uids;
  std::uint32_t uidvalidity = 0;
  auto ec = co_await store::async_commit(
      shared_.store,
      [&, owner](store::WriteTxn& t) -> std::error_code {
        err.reset();
        uids.clear();
        auto box = store::find_mailbox(t, owner, *name);
        if (!box) { err = "[TRYCREATE] No such mailbox"; return store::Errc::aborted; }
        uidvalidity = box->uidvalidity;
        for (std::size_t k = 0; k < messages.size(); ++k) {
          if (auto e = store::put_blob(t, keys[k], *messages[k].bytes)) return e;
          if (!t.get(store::Table::blob_cache, keys[k]))
            if (auto e = t.put(store::Table::blob_cache, keys[k], caches[k])) return e;
          store::MessageRecord rec;
          rec.blob = keys[k];
          rec.flags = messages[k].flags;
          rec.keywords = messages[k].keywords;
          rec.internaldate = messages[k].date;
          auto r = store::append(t, box->id, std::move(rec));
          if (!r) { err = r.error().message; return store::Errc::aborted; }
          uids.push_back(r->uid);
        }
        return {};
      },
      asio::use_awaitable);
  if (err) co_return tagged(c.tag, "NO", *err);
  if (ec) co_return tagged(c.tag, "NO", store_failure(id_, c.name, ec, "store the message"));
  if (selected_ && selected_->name == *name) refresh(false);
  // APPENDUID with the UIDs in order (RFC 4315; one range, as they are consecutive).
  std::string set = std::to_string(uids.front()) + (uids.size() > 1 ? ":" + std::to_string(uids.back()) : "");
  tagged(c.tag, "OK", "[APPENDUID " + std::to_string(uidvalidity) + " " + set + "] APPEND completed");
}

void Session::cmd_quota(Command& c, bool root) {
  // RFC 9208: one quota root per user, "" , over all its mailboxes; STORAGE in KiB.
  if (c.args.size() != 1) return bad(c.tag, c.name + " takes one argument");
  std::uint64_t used = 0, limit = 0;
  {
    auto txn = shared_.store.read();
    if (auto u = directory::get_user(*txn, *user_id_)) limit = u->quota;
    for (const auto& mb : store::list_mailboxes(*txn, *user_id_)) used += mb.bytes;
  }
  if (root) {
    auto name = mailbox_arg(c.args[0]);
    if (!name || !owner_mailbox(*name)) return tagged(c.tag, "NO", "[NONEXISTENT] No such mailbox");
    untagged("QUOTAROOT " + mailbox_out(*name) + (limit ? " \"\"" : ""));
  } else if (!c.args[0].text.empty()) {
    return tagged(c.tag, "NO", "No such quota root");
  }
  if (limit) untagged("QUOTA \"\" (STORAGE " + std::to_string((used + 1023) / 1024) + " " + std::to_string(limit / 1024) + ")");
  else if (!root) return tagged(c.tag, "NO", "No quota");
  tagged(c.tag, "OK", c.name + " completed");
}

asio::awaitable<void> Session::cmd_idle(Command& c) {
  // RFC 2177: "+ idling", then changes as they happen, until the client sends DONE.
  if (selected_) refresh(true);
  out_ += "+ idling\r\n";
  if (!co_await flush()) {
    logout_ = true;
    co_return;
  }
  metrics::GaugeHold idling(counters().idle);  // mailstead_imap_idle_sessions until DONE
  // A watcher reports changes while this coroutine waits for DONE; an SSL stream allows
  // one read and one write at a time, and only the watcher writes until DONE. The process's
  // Watcher wakes it when the selected mailbox changes (store commit counter or Redis).
  // Both coroutines run on this session's single-threaded executor, so the flags below
  // need no lock; `done` is set before the cancel, and checked before waiting, because
  // the helper can end first (its write failed) and a cancel with no waiter is lost.
  struct Idle {
    explicit Idle(const asio::any_io_executor& ex) : finished(ex, asio::steady_timer::time_point::max()) {}
    bool active = true, done = false;
    asio::steady_timer finished;
  };
  auto ex = co_await asio::this_coro::executor;
  auto idle = std::make_shared<Idle>(ex);
  auto wake = std::make_shared<Wake>(ex);
  std::optional<std::uint64_t> token;
  if (selected_) token = shared_.watcher.watch(selected_->id, selected_->highestmodseq, ex, wake);
  asio::co_spawn(
      ex,
      [this, idle, wake]() -> asio::awaitable<void> {
        while (idle->active) {
          if (!wake->woken) {
            wake->timer.expires_at(asio::steady_timer::time_point::max());
            store::no_transaction_open("imap.idle.wait");
            co_await wake->timer.async_wait(asio::as_tuple(asio::use_awaitable));
          }
          wake->woken = false;
          if (!idle->active) break;
          refresh(true);
          if (!out_.empty() && !co_await flush()) break;
        }
        idle->done = true;
        idle->finished.cancel();
      },
      asio::detached);
  auto line = co_await read_line(false);
  idle->active = false;
  if (token) shared_.watcher.unwatch(*token);
  wake->timer.cancel();
  if (!idle->done) co_await idle->finished.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!line) {
    logout_ = true;
    co_return;
  }
  if (upper(*line) != "DONE") co_return bad(c.tag, "Expected DONE");
  tagged(c.tag, "OK", "IDLE terminated");
}

}  // namespace mailstead::imap
