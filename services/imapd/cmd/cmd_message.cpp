// Message commands of the selected state (RFC 3501 6.4): FETCH, STORE, SEARCH, COPY and
// MOVE (RFC 6851) with COPYUID (RFC 4315), EXPUNGE and UID EXPUNGE, CLOSE and UNSELECT.
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>

#include "directory/directory.hpp"
#include "mime/cache.hpp"
#include "mime/imap_structure.hpp"
#include "mime/header.hpp"
#include "mime/mime.hpp"
#include "proto/fetch.hpp"
#include "proto/mutf7.hpp"
#include "proto/search.hpp"
#include "mime/text.hpp"
#include "proto/thread.hpp"
#include "session.hpp"
#include "store/async.hpp"
#include "store_errors.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"
#include "util/text.hpp"

namespace mailstead::imap {

namespace {

std::string internaldate(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  static const char* mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%02d-%s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// An ordinary literal never carries NUL (RFC 3501 9: CHAR8 is %x01-ff): NUL bytes are sent
// as 0x80, as Dovecot does; the size stays the same, so RFC822.SIZE and partial offsets
// still hold. BINARY (RFC 3516) sends the true bytes in a literal8 instead.
std::string literal(std::string_view s) {
  std::string out = "{" + std::to_string(s.size()) + "}\r\n";
  auto at = out.size();
  out.append(s);
  std::replace(out.begin() + static_cast<long>(at), out.end(), '\0', '\x80');
  return out;
}
std::string literal8(std::string_view s) {
  if (s.find('\0') == std::string_view::npos) return literal(s);
  return "~{" + std::to_string(s.size()) + "}\r\n" + std::string(s);
}

// Compresses sorted numbers into a sequence set ("1:3,7").
std::string compact(std::vector<std::uint32_t> v) {
  std::sort(v.begin(), v.end());
  std::string out;
  for (std::size_t i = 0; i < v.size();) {
    std::size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + std::to_string(v[i]) + (j > i ? ":" + std::to_string(v[j]) : "");
    i = j + 1;
  }
  return out;
}

// What the mailbox was just before this session's own flag change (read inside the write).
struct Before {
  std::uint64_t highestmodseq = 0;
  std::uint32_t uidnext = 0;
};

// After this session's own flag change: when the view was current with the mailbox just
// before it (nobody else's change in between, no expunge still unreported) and it now holds
// every change the commit made, it is current again. The next command's refresh then finds
// nothing to read, instead of rereading every record of the mailbox to learn of our change.
void keep_current(MailboxView& v, const std::optional<Before>& before, const std::vector<store::FlagOutcome>& outcomes) {
  if (!before || before->highestmodseq != v.highestmodseq || before->uidnext != v.uidnext) return;
  std::uint64_t after = before->highestmodseq;
  for (const auto& o : outcomes)
    if (o.kind == store::FlagOutcome::Kind::changed) after = std::max(after, o.modseq);
  v.highestmodseq = after;
}

bool uses_modseq(const SearchKey& k) {
  if (k.kind == SearchKey::Kind::modseq) return true;
  for (const auto& c : k.children)
    if (uses_modseq(c)) return true;
  return false;
}

}  // namespace

asio::awaitable<void> Session::cmd_fetch(Command& c, bool uid) {
  if (c.args.size() != 2 && c.args.size() != 3) co_return bad(c.tag, "FETCH takes a set and items");
  // (CHANGEDSINCE modseq [VANISHED]) — RFC 7162 3.1.4.1, 3.2.6
  std::optional<std::uint64_t> changed_since;
  bool vanished = false;
  bool want_modseq = false;
  if (c.args.size() == 3) {
    const auto& m = c.args[2];
    if (m.kind != Token::Kind::list) co_return bad(c.tag, "Bad FETCH modifiers");
    for (std::size_t k = 0; k < m.items.size(); ++k) {
      if (m.items[k].is_atom("CHANGEDSINCE") && k + 1 < m.items.size()) {
        try {
          changed_since = std::stoull(m.items[++k].text);
        } catch (...) {
          co_return bad(c.tag, "Bad CHANGEDSINCE");
        }
      } else if (m.items[k].is_atom("VANISHED")) {
        vanished = true;
      } else {
        co_return bad(c.tag, "Unknown FETCH modifier");
      }
    }
    if (!changed_since) co_return bad(c.tag, "Bad FETCH modifiers");
    if (vanished && (!uid || !qresync_)) co_return bad(c.tag, "VANISHED needs UID FETCH and QRESYNC");
    enable_condstore();
    want_modseq = true;
  }
  auto set = parse_sequence_set(c.args[0].text);
  if (!set || c.args[0].kind != Token::Kind::atom) co_return bad(c.tag, "Bad sequence set");
  auto parsed = parse_fetch_items(c.args[1]);
  if (auto* e = std::get_if<std::string>(&parsed)) co_return bad(c.tag, *e);
  auto items = std::get<std::vector<FetchItem>>(parsed);
  for (const auto& it : items) want_modseq |= it.kind == FetchItem::Kind::modseq;
  if (want_modseq) enable_condstore();
  if (!uid) {
    for (auto [a, b] : set->ranges)
      if (std::max(a, b) > selected_->messages.size()) co_return bad(c.tag, "Invalid sequence number");
  }
  refresh(false);
  auto targets = resolve_set(*set, uid);
  if (vanished) {
    auto gone = expunged_since(*changed_since, &*set);
    if (!gone.empty()) untagged("VANISHED (EARLIER) " + compact(gone));
  }
  if (changed_since)
    std::erase_if(targets, [&](std::size_t i) { return selected_->messages[i].modseq <= *changed_since; });
  bool sets_seen = false;
  for (const auto& it : items) sets_seen |= it.kind == FetchItem::Kind::section && !it.peek;
  sets_seen &= !selected_->read_only;

  // Implicit \Seen (RFC 3501 6.4.5) is stored before the data is sent.
  std::vector<std::size_t> newly_seen;
  if (sets_seen) {
    for (auto i : targets)
      if (!(selected_->messages[i].flags & store::flag_seen)) newly_seen.push_back(i);
    if (!newly_seen.empty()) {
      auto box = selected_->id;
      std::vector<std::uint32_t> uids;
      for (auto i : newly_seen) uids.push_back(selected_->messages[i].uid);
      store::FlagUpdate seen{store::FlagOp::add, store::flag_seen, {}, std::nullopt};
      std::vector<store::FlagOutcome> outcomes(uids.size());
      std::optional<Before> before;
      // Added to the stored flags inside the write: another session's change is kept.
      auto ec = co_await store::async_commit(
          shared_.store,
          [&, box](store::WriteTxn& t) -> std::error_code {
            before.reset();
            if (auto mb = store::get_mailbox(t, box)) before = Before{mb->highestmodseq, mb->uidnext};
            auto r = store::update_flags(t, box, uids, seen);
            if (!r) {
              outcomes.assign(uids.size(), {});
              return r.error().kind == ErrorKind::not_found ? std::error_code{} : store::Errc::aborted;
            }
            outcomes = std::move(*r);
            return {};
          },
          asio::use_awaitable);
      for (std::size_t k = 0; k < newly_seen.size(); ++k) {
        if (outcomes[k].kind == store::FlagOutcome::Kind::gone) continue;
        auto& m = selected_->messages[newly_seen[k]];
        m.flags = outcomes[k].flags;
        m.keywords = outcomes[k].keywords;
        m.modseq = outcomes[k].modseq;
      }
      if (!ec) keep_current(*selected_, before, outcomes);
    }
  }

  // FLAGS, UID and MODSEQ come from the view, which the refresh above brought up to date:
  // no store read for them, unless the view still holds a message another session
  // expunged (that one is then left out, as below). Each response is built in place in
  // the output buffer, which goes out in one write.
  bool view_only = !selected_->behind && std::all_of(items.begin(), items.end(), [](const FetchItem& it) {
    return it.kind == FetchItem::Kind::flags || it.kind == FetchItem::Kind::uid || it.kind == FetchItem::Kind::modseq;
  });
  bool any_flags = std::any_of(items.begin(), items.end(), [](const FetchItem& it) { return it.kind == FetchItem::Kind::flags; });
  std::string bytes;  // one section's bytes, reused
  for (auto i : targets) {
    const auto& vm = selected_->messages[i];
    std::unique_ptr<store::ReadTxn> txn;
    std::optional<store::MessageRecord> rec;
    if (!view_only) {
      txn = shared_.store.read();
      rec = store::get_message(*txn, selected_->id, vm.uid);
      if (!rec) continue;  // expunged by another session: nothing to report (RFC 2180 4.1.2)
    }
    bool seen_now = std::find(newly_seen.begin(), newly_seen.end(), i) != newly_seen.end();
    // A keyword the client was not told of is announced before the FETCH that carries it.
    if (any_flags || seen_now) announce_keywords(vm);
    const auto line_start = out_.size();
    out_ += "* ";
    out_ += std::to_string(i + 1);
    out_ += " FETCH (";
    bool first = true;
    auto add = [&](std::string_view name) -> std::string& {
      if (!first) out_ += ' ';
      first = false;
      out_ += name;
      return out_;
    };
    bool has_uid = false, has_flags = false, unknown_cte = false;
    std::optional<std::string_view> blob;
    std::optional<mime::Cache> cache;
    std::optional<mime::Part> tree;
    auto need_blob = [&]() -> std::string_view {
      if (!blob) blob = store::get_blob(*txn, rec->blob).value_or(std::string_view{});
      return *blob;
    };
    auto need_cache = [&]() -> const mime::Cache& {
      if (!cache) {
        auto v = txn->get(store::Table::blob_cache, rec->blob);
        if (v) cache = mime::Cache::decode(*v);
        if (!cache) cache = mime::build_cache(need_blob());
      }
      return *cache;
    };
    for (const auto& it : items) {
      switch (it.kind) {
        case FetchItem::Kind::flags: append_flags(add("FLAGS "), vm); has_flags = true; break;
        case FetchItem::Kind::modseq: break;  // added once below
        case FetchItem::Kind::uid: add("UID ") += std::to_string(vm.uid); has_uid = true; break;
        case FetchItem::Kind::internaldate: add("INTERNALDATE ") += internaldate(rec->internaldate); break;
        case FetchItem::Kind::size: add("RFC822.SIZE ") += std::to_string(rec->size); break;
        case FetchItem::Kind::envelope: add("ENVELOPE ") += need_cache().envelope; break;
        case FetchItem::Kind::bodystructure: add("BODYSTRUCTURE ") += need_cache().bodystructure; break;
        case FetchItem::Kind::body: add("BODY ") += need_cache().body; break;
        case FetchItem::Kind::section:
        case FetchItem::Kind::binary_size: {
          auto b = need_blob();
          // The whole message as stored (BODY[], RFC822): no MIME parse, no copy but into
          // the output.
          if (it.kind == FetchItem::Kind::section && !it.binary && it.path.empty() &&
              it.spec == FetchItem::Spec::all) {
            std::uint64_t total = rec->prefix.size() + b.size();
            std::uint64_t off = it.offset ? std::min<std::uint64_t>(*it.offset, total) : 0;
            std::uint64_t len = it.offset ? std::min<std::uint64_t>(*it.length, total - off) : total;
            auto& o = add(it.label);
            o += " {";
            o += std::to_string(len);
            o += "}\r\n";
            auto at = o.size();
            std::string_view p = rec->prefix;
            if (off < p.size()) o.append(p.substr(off, len));
            auto from_blob = off > p.size() ? off - p.size() : 0;
            auto left = len - (o.size() - at);
            if (left) o.append(b.substr(from_blob, left));
            std::replace(o.begin() + static_cast<long>(at), o.end(), '\0', '\x80');  // as literal() does
            break;
          }
          if (!tree) tree = mime::parse(b);
          if (it.binary) {
            auto r = binary_bytes(rec->prefix, b, *tree, it);
            if (std::holds_alternative<UnknownCte>(r)) {
              unknown_cte = true;
              break;
            }
            bytes = std::move(std::get<std::string>(r));
          } else {
            bytes = section_bytes(rec->prefix, b, *tree, it).value_or(std::string());
          }
          if (it.kind == FetchItem::Kind::binary_size) {
            add(it.label) += ' ';
            out_ += std::to_string(bytes.size());
            break;
          }
          if (it.offset) {
            auto off = std::min<std::uint64_t>(*it.offset, bytes.size());
            bytes = bytes.substr(off, std::min<std::uint64_t>(*it.length, bytes.size() - off));
          }
          add(it.label) += ' ';
          out_ += it.binary ? literal8(bytes) : literal(bytes);
          break;
        }
      }
    }
    // RFC 3516 4.2: a part whose encoding the server cannot undo fails the FETCH.
    if (unknown_cte) {
      out_.resize(line_start);
      co_return tagged(c.tag, "NO", "[UNKNOWN-CTE] Cannot decode the part's content-transfer-encoding");
    }
    if (uid && !has_uid) add("UID ") += std::to_string(vm.uid);
    if (seen_now && !has_flags) append_flags(add("FLAGS "), vm);
    if (want_modseq || (condstore_ && (has_flags || seen_now))) {
      add("MODSEQ (") += std::to_string(vm.modseq);
      out_ += ')';
    }
    out_ += ")\r\n";
    txn.reset();  // never across the co_await below (docs/architecture.md, "Serving")
    // Keep large responses from piling up: send each message's data as it is made.
    if (out_.size() > (1 << 20) && !co_await flush()) {
      logout_ = true;
      co_return;
    }
  }
  tagged(c.tag, "OK", c.name + " completed");
}

asio::awaitable<void> Session::cmd_store(Command& c, bool uid) {
  // STORE set [(UNCHANGEDSINCE modseq)] item flags (RFC 7162 3.1.3)
  std::optional<std::uint64_t> unchanged_since;
  if (c.args.size() == 4 && c.args[1].kind == Token::Kind::list) {
    const auto& m = c.args[1].items;
    if (m.size() != 2 || !m[0].is_atom("UNCHANGEDSINCE")) co_return bad(c.tag, "Bad STORE modifier");
    try {
      unchanged_since = std::stoull(m[1].text);
    } catch (...) {
      co_return bad(c.tag, "Bad UNCHANGEDSINCE");
    }
    enable_condstore();
    c.args.erase(c.args.begin() + 1);
  }
  if (c.args.size() != 3) co_return bad(c.tag, "STORE takes a set, an item and flags");
  auto set = parse_sequence_set(c.args[0].text);
  if (!set) co_return bad(c.tag, "Bad sequence set");
  auto item = upper(c.args[1].text);
  bool silent = item.ends_with(".SILENT");
  if (silent) item.resize(item.size() - 7);
  int mode = item == "FLAGS" ? 0 : item == "+FLAGS" ? 1 : item == "-FLAGS" ? -1 : 2;
  if (mode == 2) co_return bad(c.tag, "STORE item must be FLAGS, +FLAGS or -FLAGS");
  if (selected_->read_only) co_return tagged(c.tag, "NO", "[READ-ONLY] Mailbox is read-only");
  std::vector<const Token*> list;
  if (c.args[2].kind == Token::Kind::list) for (const auto& t : c.args[2].items) list.push_back(&t);
  else list.push_back(&c.args[2]);
  std::uint32_t bits = 0;
  std::vector<std::string> words;
  for (const auto* t : list) {
    if (auto bit = store::system_flag(t->text)) bits |= bit;
    else if (upper(t->text) == "\\RECENT") continue;
    else if (t->text.empty() || t->text[0] == '\\' || t->kind != Token::Kind::atom) co_return bad(c.tag, "Bad flag " + t->text);
    else words.push_back(t->text);
  }
  if (!uid)
    for (auto [a, b] : set->ranges)
      if (std::max(a, b) > selected_->messages.size()) co_return bad(c.tag, "Invalid sequence number");
  refresh(false);
  auto targets = resolve_set(*set, uid);
  // The change is applied to the stored flags inside the write, and UNCHANGEDSINCE is
  // checked there too: this session's view may be behind another session's change.
  store::FlagUpdate update{mode == 0 ? store::FlagOp::replace : mode == 1 ? store::FlagOp::add : store::FlagOp::remove,
                           bits, words, unchanged_since};
  std::vector<std::uint32_t> uids;
  for (auto i : targets) uids.push_back(selected_->messages[i].uid);
  std::vector<store::FlagOutcome> outcomes(uids.size());  // all "gone" if the mailbox went
  auto box = selected_->id;
  std::optional<Before> before;
  if (!uids.empty()) {
    auto ec = co_await store::async_commit(
        shared_.store,
        [&, box](store::WriteTxn& t) -> std::error_code {
          before.reset();
          if (auto mb = store::get_mailbox(t, box)) before = Before{mb->highestmodseq, mb->uidnext};
          auto r = store::update_flags(t, box, uids, update);
          if (!r) {
            outcomes.assign(uids.size(), {});
            return r.error().kind == ErrorKind::not_found ? std::error_code{} : store::Errc::aborted;
          }
          outcomes = std::move(*r);
          return {};
        },
        asio::use_awaitable);
    if (ec) co_return tagged(c.tag, "NO", store_failure(id_, c.name, ec, "store the flags"));
  }
  std::vector<std::uint32_t> modified;  // failed UNCHANGEDSINCE: UIDs or sequence numbers
  for (std::size_t k = 0; k < targets.size(); ++k) {
    auto i = targets[k];
    auto& m = selected_->messages[i];
    const auto& o = outcomes[k];
    using Kind = store::FlagOutcome::Kind;
    if (o.kind == Kind::gone) continue;  // expunged meanwhile: reported later
    if (o.kind == Kind::modified) {
      modified.push_back(uid ? m.uid : static_cast<std::uint32_t>(i + 1));
      continue;  // the view keeps its state; the next refresh reports the other change
    }
    // What the client expects now; anything else is another session's change, which it
    // is told even after .SILENT (an unsolicited FETCH is always allowed).
    auto expect_flags = m.flags;
    auto expect_keywords = m.keywords;
    store::apply(update, expect_flags, expect_keywords);
    bool surprise = o.flags != expect_flags || o.keywords != expect_keywords;
    bool changed = o.kind == Kind::changed || o.modseq != m.modseq;
    m.flags = o.flags;
    m.keywords = o.keywords;
    m.modseq = o.modseq;
    announce_keywords(m);  // also for .SILENT: the client learns of a new keyword now
    // .SILENT still reports a MODSEQ change to a CONDSTORE client (RFC 7162 3.1.3).
    bool with_flags = !silent || surprise;
    if (!with_flags && !(changed && condstore_)) continue;
    untagged(std::to_string(i + 1) + " FETCH (" + (uid ? "UID " + std::to_string(m.uid) + " " : "") +
             (with_flags ? "FLAGS " + flags_text(m) + modseq_item(m) : modseq_item(m).substr(1)) + ")");
  }
  if (!uids.empty()) keep_current(*selected_, before, outcomes);
  if (!modified.empty()) co_return tagged(c.tag, "OK", "[MODIFIED " + compact(modified) + "] Conditional STORE failed");
  tagged(c.tag, "OK", c.name + " completed");
}

void Session::for_each_match(
    const SearchKey& key, const std::function<void(std::size_t, const SearchMessage&, const store::MessageRecord&)>& fn,
    bool all_fields) {
  auto& msgs = selected_->messages;
  auto need = all_fields ? SearchNeeds::content : needs(key);
  // Flags, UIDs and MODSEQ come from the view: no transaction, no record per message.
  std::unique_ptr<store::ReadTxn> txn;
  if (need != SearchNeeds::view) txn = shared_.store.read();
  std::optional<store::MessageRecord> rec;
  if (need == SearchNeeds::view) rec.emplace();
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    if (need != SearchNeeds::view) {
      rec = store::get_message(*txn, selected_->id, msgs[i].uid);
      if (!rec) continue;  // expunged by another session, not yet reported
    }
    SearchMessage sm;
    sm.seq = static_cast<std::uint32_t>(i + 1);
    sm.uid = msgs[i].uid;
    sm.flags = msgs[i].flags;
    sm.keywords = &msgs[i].keywords;
    sm.internaldate = rec->internaldate;
    sm.size = rec->size;
    sm.prefix = rec->prefix;
    if (need == SearchNeeds::content) sm.blob = store::get_blob(*txn, rec->blob).value_or(std::string_view{});
    sm.max_seq = static_cast<std::uint32_t>(msgs.size());
    sm.max_uid = msgs.back().uid;
    sm.modseq = msgs[i].modseq;
    sm.saved = &saved_;
    if (matches(key, sm)) fn(i, sm, *rec);
  }
}

SearchLimits Session::search_limits() const {
  return {shared_.settings.max_search_depth, shared_.settings.max_search_keys};
}

void Session::cmd_search(Command& c, bool uid) {
  std::size_t from = 0;
  // ESEARCH (RFC 4731): SEARCH RETURN (MIN MAX COUNT ALL) keys…
  bool esearch = false;
  bool want_min = false, want_max = false, want_count = false, want_all = false, want_update = false, want_save = false;
  std::optional<std::pair<std::uint32_t, std::uint32_t>> partial;  // RFC 5267 4.4
  bool silent = false;  // RETURN (SAVE) alone
  if (!c.args.empty() && c.args[0].is_atom("RETURN")) {
    if (c.args.size() < 2 || c.args[1].kind != Token::Kind::list) return bad(c.tag, "RETURN needs a list");
    esearch = true;
    const auto& opts = c.args[1].items;
    for (std::size_t k = 0; k < opts.size(); ++k) {
      const auto& o = opts[k];
      auto u = o.kind == Token::Kind::atom ? upper(o.text) : std::string();
      if (u == "MIN") want_min = true;
      else if (u == "MAX") want_max = true;
      else if (u == "COUNT") want_count = true;
      else if (u == "ALL") want_all = true;
      else if (u == "UPDATE") want_update = true;
      else if (u == "SAVE") want_save = true;  // SEARCHRES (RFC 5182)
      else if (u == "CONTEXT") {}  // a hint that UPDATE or PARTIAL may follow (RFC 5267 4.2)
      else if (u == "PARTIAL") {
        // PARTIAL low:high, positions in the result counted from 1
        auto range = k + 1 < opts.size() && opts[k + 1].kind == Token::Kind::atom ? parse_sequence_set(opts[k + 1].text)
                                                                                  : std::nullopt;
        if (!range || range->ranges.size() != 1 || !range->ranges[0].first || !range->ranges[0].second ||
            opts[k + 1].text.find(':') == std::string::npos)
          return bad(c.tag, "PARTIAL takes a range low:high");
        auto [lo, hi] = range->ranges[0];
        partial = std::make_pair(std::min(lo, hi), std::max(lo, hi));
        ++k;
      } else return bad(c.tag, "Unknown RETURN option " + o.text);
    }
    // RFC 4731 3.1: RETURN () means ALL; so does RETURN (UPDATE) alone: the initial result.
    // RETURN (SAVE) alone returns nothing (RFC 5182 2.4).
    if (!want_min && !want_max && !want_count && !partial) {
      want_all = true;
      silent = want_save && !want_update;
    }
    from = 2;
  }
  if (c.args.size() > from && c.args[from].is_atom("CHARSET")) {
    // RFC 6855 3 (erratum 4029): after ENABLE UTF8=ACCEPT a charset only conflicts.
    // Whatever fails here leaves "$" empty (RFC 5182 2.1).
    auto cs = c.args.size() < from + 2 ? std::string() : upper(c.args[from + 1].text);
    if (want_save && (utf8_ || cs.empty() || (cs != "UTF-8" && cs != "US-ASCII"))) saved_.clear();
    if (utf8_) return bad(c.tag, "No CHARSET after ENABLE UTF8=ACCEPT: search strings are UTF-8");
    if (cs.empty()) return bad(c.tag, "CHARSET needs a name");
    if (cs != "UTF-8" && cs != "US-ASCII") return tagged(c.tag, "NO", "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
    from += 2;
  }
  auto parsed = parse_search(c.args, from, search_limits());
  if (auto* e = std::get_if<std::string>(&parsed)) {
    if (want_save) saved_.clear();  // a failed SEARCH … SAVE leaves "$" empty (RFC 5182 2.1)
    return bad(c.tag, *e);
  }
  const auto& key = std::get<SearchKey>(parsed);
  refresh(false);
  std::string result;
  std::vector<std::uint32_t> found;
  std::vector<std::uint64_t> modseqs;  // of each found message
  std::uint64_t max_modseq = 0;
  bool modseq_key = uses_modseq(key);
  if (modseq_key) enable_condstore();
  for_each_match(
      key,
      [&](std::size_t, const SearchMessage& sm, const store::MessageRecord&) {
        max_modseq = std::max(max_modseq, sm.modseq);
        found.push_back(uid ? sm.uid : sm.seq);
        modseqs.push_back(sm.modseq);
        result += ' ';
        result += std::to_string(found.back());
      },
      false);
  // RFC 7162 3.1.5: with only MIN and/or MAX returned, MODSEQ is the highest mod-sequence
  // of the message(s) they report, not of every match.
  if (esearch && !want_all && !want_count && (want_min || want_max) && !found.empty())
    max_modseq = std::max(want_min ? modseqs.front() : 0, want_max ? modseqs.back() : 0);
  if (want_save) {
    // SAVE with MIN and/or MAX only keeps just those (RFC 5182 2.4); else the whole result.
    std::vector<std::uint32_t> keep;
    auto as_uid = [&](std::uint32_t n) { return uid ? n : selected_->messages[n - 1].uid; };
    if (!want_all && !want_count && !partial && (want_min || want_max)) {
      if (!found.empty() && want_min) keep.push_back(as_uid(found.front()));
      if (!found.empty() && want_max) keep.push_back(as_uid(found.back()));
    } else {
      for (auto n : found) keep.push_back(as_uid(n));
    }
    std::sort(keep.begin(), keep.end());
    keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
    saved_ = std::move(keep);
  }
  if (esearch && silent) {
  } else if (esearch) {
    std::string e = "ESEARCH (TAG \"" + c.tag + "\")" + (uid ? " UID" : "");
    if (want_min && !found.empty()) e += " MIN " + std::to_string(found.front());
    if (want_max && !found.empty()) e += " MAX " + std::to_string(found.back());
    if (want_count) e += " COUNT " + std::to_string(found.size());
    if (want_all && !found.empty()) e += " ALL " + compact(found);
    if (partial) {
      std::vector<std::uint32_t> page;
      for (std::uint64_t p = partial->first; p <= partial->second && p <= found.size(); ++p) page.push_back(found[p - 1]);
      e += " PARTIAL (" + std::to_string(partial->first) + ":" + std::to_string(partial->second) + " " +
           (page.empty() ? std::string("NIL") : compact(page)) + ")";
    }
    if (modseq_key && !found.empty()) e += " MODSEQ " + std::to_string(max_modseq);
    untagged(e);
  } else {
    if (modseq_key && !found.empty()) result += " (MODSEQ " + std::to_string(max_modseq) + ")";
    untagged("SEARCH" + result);
  }
  if (want_update) {
    // Kept until CANCELUPDATE or the mailbox is left; a search under the same tag replaces it.
    std::erase_if(updates_, [&](const SearchUpdate& u) { return u.tag == c.tag; });
    if (updates_.size() >= shared_.settings.max_search_updates)
      return tagged(c.tag, "OK", "[NOUPDATE " + mime::imap_string(c.tag) + "] " + c.name +
                                     " completed; no more updates are kept for this session (the limit is " +
                                     std::to_string(shared_.settings.max_search_updates) + ")");
    SearchUpdate u;
    u.tag = c.tag;
    u.uid = uid;
    u.key = std::make_shared<const SearchKey>(key);
    for (auto n : found) u.uids.push_back(uid ? n : selected_->messages[n - 1].uid);
    std::sort(u.uids.begin(), u.uids.end());
    u.fingerprint = view_fingerprint();
    updates_.push_back(std::move(u));
  }
  tagged(c.tag, "OK", c.name + " completed");
}

std::uint64_t Session::view_fingerprint() const {
  // FNV-1a over the view's UIDs, flags and MODSEQs: any change a search could see moves it.
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&](std::uint64_t v) {
    h ^= v;
    h *= 1099511628211ull;
  };
  for (const auto& m : selected_->messages) {
    mix(m.uid);
    mix(m.modseq);
    mix(m.flags);
    mix(m.keywords.size());
  }
  return h;
}

void Session::send_search_updates() {
  if (!selected_ || updates_.empty()) return;
  auto fp = view_fingerprint();
  for (auto& u : updates_) {
    if (u.fingerprint == fp) continue;
    std::vector<std::uint32_t> now;
    for_each_match(*u.key, [&](std::size_t, const SearchMessage& sm, const store::MessageRecord&) { now.push_back(sm.uid); },
                   false);
    std::vector<std::uint32_t> added, removed;
    std::set_difference(now.begin(), now.end(), u.uids.begin(), u.uids.end(), std::back_inserter(added));
    std::set_difference(u.uids.begin(), u.uids.end(), now.begin(), now.end(), std::back_inserter(removed));
    u.uids = std::move(now);
    u.fingerprint = fp;
    if (added.empty() && removed.empty()) continue;
    auto as_numbers = [&](std::vector<std::uint32_t> uids) {
      if (!u.uid) {
        const auto& msgs = selected_->messages;
        for (auto& n : uids) {
          auto it = std::lower_bound(msgs.begin(), msgs.end(), n, [](const ViewMessage& m, std::uint32_t v) { return m.uid < v; });
          n = static_cast<std::uint32_t>(it - msgs.begin() + 1);
        }
      }
      return compact(std::move(uids));
    };
    // RFC 5267 4.3: position 0, as the result of a SEARCH has no order of its own.
    std::string e = "ESEARCH (TAG " + mime::imap_string(u.tag) + ")" + (u.uid ? " UID" : "");
    if (!removed.empty()) e += " REMOVEFROM (0 " + as_numbers(removed) + ")";
    if (!added.empty()) e += " ADDTO (0 " + as_numbers(added) + ")";
    untagged(e);
  }
}

void Session::search_updates_expunging(const std::vector<std::size_t>& indexes) {
  // An expunged message leaves "$" too (RFC 5182 2.1).
  for (auto i : indexes) {
    auto it = std::lower_bound(saved_.begin(), saved_.end(), selected_->messages[i].uid);
    if (it != saved_.end() && *it == selected_->messages[i].uid) saved_.erase(it);
  }
  for (auto& u : updates_) {
    std::vector<std::uint32_t> gone;
    for (auto i : indexes) {
      auto uid = selected_->messages[i].uid;
      auto it = std::lower_bound(u.uids.begin(), u.uids.end(), uid);
      if (it == u.uids.end() || *it != uid) continue;
      u.uids.erase(it);
      gone.push_back(u.uid ? uid : static_cast<std::uint32_t>(i + 1));
    }
    if (!gone.empty())
      untagged("ESEARCH (TAG " + mime::imap_string(u.tag) + ")" + (u.uid ? " UID" : "") + " REMOVEFROM (0 " +
               compact(gone) + ")");
  }
}

void Session::cmd_cancelupdate(Command& c) {
  // CANCELUPDATE "tag" *(SP "tag") (RFC 5267 4.3)
  if (c.args.empty()) return bad(c.tag, "CANCELUPDATE takes the tags of searches kept up to date");
  for (const auto& a : c.args) {
    if (a.kind == Token::Kind::list || std::none_of(updates_.begin(), updates_.end(), [&](const SearchUpdate& u) { return u.tag == a.text; }))
      return bad(c.tag, "No search is kept up to date under the tag " + (a.kind == Token::Kind::list ? std::string("()") : a.text));
  }
  for (const auto& a : c.args) std::erase_if(updates_, [&](const SearchUpdate& u) { return u.tag == a.text; });
  tagged(c.tag, "OK", "CANCELUPDATE completed");
}

namespace {

struct SortKeys {
  std::int64_t date = 0, arrival = 0;
  std::uint64_t size = 0;
  std::string subject, from, to, cc, display_from, display_to;
  std::string raw_subject, message_id, references, in_reply_to;  // for THREAD
};

// First address of a header: its mailbox (local part) for FROM/TO/CC, its decoded display
// name or else its addr-spec for DISPLAYFROM/DISPLAYTO (RFC 5957).
void first_address(const std::string& value, std::string& mailbox, std::string& display) {
  for (const auto& a : mime::parse_addresses(value)) {
    if (a.group_start || a.group_end) continue;
    mailbox = lower(a.mailbox);
    display = a.name.empty() ? lower(a.mailbox + (a.host.empty() ? "" : "@" + a.host)) : lower(mime::decode_words(a.name));
    return;
  }
}

// The keys SORT and THREAD order by, from the message's header (RFC 5256).
SortKeys sort_keys(const SearchMessage& sm, const store::MessageRecord& rec) {
  SortKeys k;
  k.arrival = rec.internaldate;
  k.date = rec.internaldate;  // RFC 5256: no valid Date: header → INTERNALDATE
  k.size = rec.size;
  auto header = sm.blob.substr(0, mime::header_end(sm.blob));
  for (const auto& [name, value] : mime::header_fields(header)) {
    auto n = lower(name);
    if (n == "subject" && k.raw_subject.empty()) {
      k.raw_subject = value;
      k.subject = base_subject(value).text;
    } else if (n == "date") {
      mime::parse_date(value, k.date);
    } else if (n == "from" && k.from.empty()) {
      first_address(value, k.from, k.display_from);
    } else if (n == "to" && k.to.empty()) {
      first_address(value, k.to, k.display_to);
    } else if (n == "cc" && k.cc.empty()) {
      std::string ignored;
      first_address(value, k.cc, ignored);
    } else if (n == "message-id" && k.message_id.empty()) {
      k.message_id = value;
    } else if (n == "references" && k.references.empty()) {
      k.references = value;
    } else if (n == "in-reply-to" && k.in_reply_to.empty()) {
      k.in_reply_to = value;
    }
  }
  return k;
}

}  // namespace

void Session::cmd_sort(Command& c, bool uid) {
  // SORT [RETURN (options)] (criteria) charset search-keys (RFC 5256 3; ESORT, RFC 5267 3)
  bool esort = false, want_min = false, want_max = false, want_count = false, want_all = false;
  if (!c.args.empty() && c.args[0].is_atom("RETURN")) {
    if (c.args.size() < 2 || c.args[1].kind != Token::Kind::list) return bad(c.tag, "RETURN needs a list");
    esort = true;
    for (const auto& o : c.args[1].items) {
      auto u = upper(o.text);
      if (u == "MIN") want_min = true;
      else if (u == "MAX") want_max = true;
      else if (u == "COUNT") want_count = true;
      else if (u == "ALL") want_all = true;
      else return bad(c.tag, "Unknown RETURN option " + o.text);
    }
    if (c.args[1].items.empty()) want_all = true;  // RFC 4731 3.1, as for SEARCH
    c.args.erase(c.args.begin(), c.args.begin() + 2);
  }
  if (c.args.size() < 3 || c.args[0].kind != Token::Kind::list || c.args[0].items.empty())
    return bad(c.tag, "SORT takes (criteria), a charset and search keys");
  struct Criterion {
    std::string key;
    bool reverse;
  };
  std::vector<Criterion> criteria;
  bool reverse = false;
  for (const auto& t : c.args[0].items) {
    auto u = upper(t.text);
    if (u == "REVERSE") {
      reverse = true;
      continue;
    }
    if (u != "ARRIVAL" && u != "CC" && u != "DATE" && u != "FROM" && u != "SIZE" && u != "SUBJECT" && u != "TO" &&
        u != "DISPLAYFROM" && u != "DISPLAYTO")
      return bad(c.tag, "Unknown SORT criterion " + t.text);
    criteria.push_back({u, reverse});
    reverse = false;
  }
  if (reverse || criteria.empty()) return bad(c.tag, "REVERSE must precede a criterion");
  auto cs = upper(c.args[1].text);
  if (utf8_ && cs != "UTF-8") return bad(c.tag, "Only UTF-8 after ENABLE UTF8=ACCEPT (RFC 6855 3)");
  if (cs != "UTF-8" && cs != "US-ASCII") return tagged(c.tag, "NO", "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
  auto parsed = parse_search(c.args, 2, search_limits());
  if (auto* e = std::get_if<std::string>(&parsed)) return bad(c.tag, *e);
  const auto& key = std::get<SearchKey>(parsed);
  refresh(false);
  auto& msgs = selected_->messages;
  std::vector<std::pair<std::size_t, SortKeys>> found;
  for_each_match(key, [&](std::size_t i, const SearchMessage& sm, const store::MessageRecord& rec) {
    found.emplace_back(i, sort_keys(sm, rec));
  });
  auto compare = [&](const std::pair<std::size_t, SortKeys>& a, const std::pair<std::size_t, SortKeys>& b) {
    for (const auto& cr : criteria) {
      int r = 0;
      const auto& x = a.second;
      const auto& y = b.second;
      if (cr.key == "ARRIVAL") r = x.arrival < y.arrival ? -1 : x.arrival > y.arrival;
      else if (cr.key == "DATE") r = x.date < y.date ? -1 : x.date > y.date;
      else if (cr.key == "SIZE") r = x.size < y.size ? -1 : x.size > y.size;
      else if (cr.key == "SUBJECT") r = x.subject.compare(y.subject);
      else if (cr.key == "FROM") r = x.from.compare(y.from);
      else if (cr.key == "TO") r = x.to.compare(y.to);
      else if (cr.key == "CC") r = x.cc.compare(y.cc);
      else if (cr.key == "DISPLAYFROM") r = x.display_from.compare(y.display_from);
      else if (cr.key == "DISPLAYTO") r = x.display_to.compare(y.display_to);
      if (r != 0) return cr.reverse ? r > 0 : r < 0;
    }
    return a.first < b.first;  // ties in sequence order (RFC 5256 3)
  };
  std::sort(found.begin(), found.end(), compare);
  std::vector<std::uint32_t> numbers;
  for (const auto& [i, k] : found) numbers.push_back(uid ? msgs[i].uid : static_cast<std::uint32_t>(i + 1));
  if (esort) {
    // RFC 5267 3.2: MIN and MAX are the first and last in sort order; ALL keeps the order
    // (runs that ascend by one are written a:b).
    std::string e = "ESEARCH (TAG \"" + c.tag + "\")" + (uid ? " UID" : "");
    if (want_min && !numbers.empty()) e += " MIN " + std::to_string(numbers.front());
    if (want_max && !numbers.empty()) e += " MAX " + std::to_string(numbers.back());
    if (want_count) e += " COUNT " + std::to_string(numbers.size());
    if (want_all && !numbers.empty()) {
      std::string all;
      for (std::size_t a = 0; a < numbers.size();) {
        std::size_t b = a;
        while (b + 1 < numbers.size() && numbers[b + 1] == numbers[b] + 1) ++b;
        all += (all.empty() ? "" : ",") + std::to_string(numbers[a]) + (b > a ? ":" + std::to_string(numbers[b]) : "");
        a = b + 1;
      }
      e += " ALL " + all;
    }
    untagged(e);
    return tagged(c.tag, "OK", c.name + " completed");
  }
  std::string result;
  for (auto n : numbers) result += " " + std::to_string(n);
  untagged("SORT" + result);
  tagged(c.tag, "OK", c.name + " completed");
}

void Session::cmd_thread(Command& c, bool uid) {
  // THREAD algorithm charset search-keys (RFC 5256 3)
  if (c.args.size() < 3) return bad(c.tag, "THREAD takes an algorithm, a charset and search keys");
  auto algorithm = upper(c.args[0].text);
  if (algorithm != "REFERENCES" && algorithm != "ORDEREDSUBJECT") return bad(c.tag, "Unknown THREAD algorithm");
  auto cs = upper(c.args[1].text);
  if (utf8_ && cs != "UTF-8") return bad(c.tag, "Only UTF-8 after ENABLE UTF8=ACCEPT (RFC 6855 3)");
  if (cs != "UTF-8" && cs != "US-ASCII") return tagged(c.tag, "NO", "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
  auto parsed = parse_search(c.args, 2, search_limits());
  if (auto* e = std::get_if<std::string>(&parsed)) return bad(c.tag, *e);
  refresh(false);
  auto& msgs = selected_->messages;
  std::vector<ThreadMessage> found;
  for_each_match(std::get<SearchKey>(parsed), [&](std::size_t i, const SearchMessage& sm, const store::MessageRecord& rec) {
    auto k = sort_keys(sm, rec);
    found.push_back(ThreadMessage{uid ? msgs[i].uid : static_cast<std::uint32_t>(i + 1), k.date, std::move(k.raw_subject),
                                  std::move(k.message_id), std::move(k.references), std::move(k.in_reply_to)});
  });
  auto tree = algorithm == "REFERENCES" ? thread_references(found) : thread_orderedsubject(found);
  untagged(tree.empty() ? "THREAD" : "THREAD " + tree);
  tagged(c.tag, "OK", c.name + " completed");
}

asio::awaitable<void> Session::cmd_copy(Command& c, bool uid, bool move) {
  if (c.args.size() != 2) co_return bad(c.tag, c.name + " takes a set and a mailbox");
  auto set = parse_sequence_set(c.args[0].text);
  if (!set) co_return bad(c.tag, "Bad sequence set");
  if (move && selected_->read_only) co_return tagged(c.tag, "NO", "[READ-ONLY] Mailbox is read-only");
  auto dest_name = name_in(c.args[1].text);
  if (!dest_name) co_return tagged(c.tag, "NO", "Invalid mailbox name");
  auto dest = normalize_mailbox(*dest_name);
  if (!uid)
    for (auto [a, b] : set->ranges)
      if (std::max(a, b) > selected_->messages.size()) co_return bad(c.tag, "Invalid sequence number");
  refresh(false);
  auto targets = resolve_set(*set, uid);
  auto owner = *user_id_;
  auto src = selected_->id;
  std::vector<std::uint32_t> src_uids, dst_uids;
  std::uint32_t dst_validity = 0;
  std::optional<std::string> err;
  std::vector<std::uint32_t> uids;
  for (auto i : targets) uids.push_back(selected_->messages[i].uid);
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto ec = co_await store::async_commit(
      shared_.store,
      [&, owner, src](store::WriteTxn& t) -> std::error_code {
        err.reset();
        src_uids.clear();
        dst_uids.clear();
        auto d = store::find_mailbox(t, owner, dest);
        auto s = store::get_mailbox(t, src);
        if (!d || !s) { err = "[TRYCREATE] No such mailbox"; return store::Errc::aborted; }
        dst_validity = d->uidvalidity;
        std::uint64_t adding = 0;
        std::vector<store::MessageRecord> recs;
        for (auto u : uids) {
          auto r = store::get_message(t, src, u);
          if (!r) continue;
          adding += r->size;
          src_uids.push_back(u);
          recs.push_back(std::move(*r));
        }
        if (!move) {
          auto usr = directory::get_user(t, owner);
          if (usr && usr->quota) {
            std::uint64_t used = 0;
            for (const auto& mb : store::list_mailboxes(t, owner)) used += mb.bytes;
            if (used + adding > usr->quota) { err = "[OVERQUOTA] Quota exceeded"; return store::Errc::aborted; }
          }
        }
        bool into_spam = d->special_use == "\\Junk" && s->special_use != "\\Junk";
        bool out_of_spam = s->special_use == "\\Junk" && d->special_use != "\\Junk";
        for (std::size_t k = 0; k < recs.size(); ++k) {
          auto blob = recs[k].blob;
          auto r = store::append(t, d->id, recs[k]);
          if (!r) { err = r.error().message; return store::Errc::aborted; }
          dst_uids.push_back(r->uid);
          if (into_spam || out_of_spam)
            if (auto e = store::record_spam_move(t, owner, blob, into_spam, now)) return e;
          if (move)
            if (auto e = store::expunge(t, src, src_uids[k])) return e;
        }
        return {};
      },
      asio::use_awaitable);
  if (err) co_return tagged(c.tag, "NO", *err);
  if (ec) co_return tagged(c.tag, "NO", store_failure(id_, c.name, ec, move ? "move the messages" : "copy the messages"));
  std::string copyuid = src_uids.empty() ? "" : "[COPYUID " + std::to_string(dst_validity) + " " + compact(src_uids) + " " +
                                                    compact(dst_uids) + "] ";
  if (move) {
    if (!copyuid.empty()) untagged("OK " + copyuid + "Moved");
    auto& msgs = selected_->messages;
    std::vector<std::size_t> gone;
    for (std::size_t i = msgs.size(); i-- > 0;)
      if (std::find(src_uids.begin(), src_uids.end(), msgs[i].uid) != src_uids.end()) gone.push_back(i);
    report_expunged(gone);
    tagged(c.tag, "OK", c.name + " completed");
  } else {
    tagged(c.tag, "OK", copyuid + c.name + " completed");
  }
  if (selected_ && selected_->name == dest) refresh(true);
}

asio::awaitable<std::error_code> Session::expunge_uids(const std::vector<std::uint32_t>& uids) {
  if (uids.empty()) co_return std::error_code{};
  auto box = selected_->id;
  co_return co_await store::async_commit(
      shared_.store,
      [&, box](store::WriteTxn& t) -> std::error_code {
        for (auto u : uids)
          if (store::get_message(t, box, u))  // another session may have expunged it
            if (auto e = store::expunge(t, box, u)) return e;
        return {};
      },
      asio::use_awaitable);
}

asio::awaitable<void> Session::cmd_expunge(Command& c, bool uid) {
  std::optional<SequenceSet> set;
  if (uid) {
    if (c.args.size() != 1 || !(set = parse_sequence_set(c.args[0].text))) co_return bad(c.tag, "UID EXPUNGE takes a UID set");
  } else if (!c.args.empty()) {
    co_return bad(c.tag, "EXPUNGE takes no arguments");
  }
  if (selected_->read_only) co_return tagged(c.tag, "NO", "[READ-ONLY] Mailbox is read-only");
  refresh(true);
  std::vector<std::uint32_t> uids;
  auto& msgs = selected_->messages;
  std::uint32_t star = msgs.empty() ? 0 : msgs.back().uid;
  for (const auto& m : msgs)
    if ((m.flags & store::flag_deleted) &&
        (!set || (set->saved ? std::binary_search(saved_.begin(), saved_.end(), m.uid) : set->contains(m.uid, star))))
      uids.push_back(m.uid);
  if (auto ec = co_await expunge_uids(uids)) co_return tagged(c.tag, "NO", store_failure(id_, c.name, ec, "expunge"));
  std::vector<std::size_t> gone;
  for (std::size_t i = msgs.size(); i-- > 0;)
    if (std::find(uids.begin(), uids.end(), msgs[i].uid) != uids.end()) gone.push_back(i);
  report_expunged(gone);
  tagged(c.tag, "OK", c.name + " completed");
}

asio::awaitable<void> Session::cmd_close(Command& c, bool expunge) {
  if (expunge && !selected_->read_only) {
    std::vector<std::uint32_t> uids;
    for (const auto& m : selected_->messages)
      if (m.flags & store::flag_deleted) uids.push_back(m.uid);
    co_await expunge_uids(uids);
  }
  selected_.reset();
  updates_.clear();
  saved_.clear();
  tagged(c.tag, "OK", c.name + " completed");
}

}  // namespace mailstead::imap
