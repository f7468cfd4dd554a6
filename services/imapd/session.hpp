// One IMAP session (RFC 3501, RFC 9051): a coroutine that frames commands (with their
// literals), parses them with proto/, and runs them through the command table. The
// selected mailbox is a MailboxView: sequence numbers ↔ UIDs, and what this session has
// already told the client, so changes by others are reported when RFC 3501 allows.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/core_settings.hpp"
#include "counters.hpp"
#include "net/listener.hpp"
#include "net/stream.hpp"
#include "proto/parser.hpp"
#include "settings.hpp"
#include "watcher.hpp"

namespace mailstead::store {
class Store;
struct MessageRecord;
}
namespace mailstead::auth {
class VerifiedCache;
class FailureLimiter;
}  // namespace mailstead::auth

namespace mailstead::imap {

namespace asio = boost::asio;

// The process-wide allowance for literal bytes that sessions hold in memory while a command
// is read and run (APPEND's message, above all). Over it, a literal gets a temporary NO.
class LiteralBudget {
 public:
  explicit LiteralBudget(std::uint64_t limit) : limit_(limit) {}
  bool reserve(std::uint64_t n) {
    auto used = used_.load(std::memory_order_relaxed);
    do {
      if (n > limit_ || used > limit_ - n) return false;
    } while (!used_.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
    return true;
  }
  void release(std::uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  std::uint64_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> used_{0};
  std::uint64_t limit_;
};

struct Shared {
  const Settings& settings;
  const config::CoreSettings& core;
  store::Store& store;
  asio::ssl::context& tls;
  auth::VerifiedCache& password_cache;
  auth::FailureLimiter& auth_limiter;
  asio::thread_pool& slow_pool;
  Watcher& watcher;
  LiteralBudget literal_budget{settings.max_literal_memory};
};

struct ViewMessage {
  std::uint32_t uid = 0;
  std::uint32_t flags = 0;
  std::vector<std::string> keywords;
  std::uint64_t modseq = 0;
};

// "(\\Seen $Work)" appended to `out` (no keyword announcement: see Session::flags_text).
void append_flags(std::string& out, const ViewMessage& m);

struct MailboxView {
  std::uint64_t id = 0;
  std::string name;
  bool read_only = false;
  std::uint32_t uidvalidity = 0, uidnext = 0;
  std::uint64_t highestmodseq = 0;
  std::uint32_t messages_total = 0;  // as of the last check, for a cheap "anything new?"
  std::vector<ViewMessage> messages;  // index = sequence number - 1
  std::vector<std::string> keywords;  // announced in FLAGS / PERMANENTFLAGS so far
  bool behind = false;  // holds a message another session expunged, not reported yet
};

class Session {
 public:
  // implicit_tls: IMAPS (993); otherwise port 143, where STARTTLS comes first.
  Session(Shared& shared, asio::ip::tcp::socket socket, bool implicit_tls = true);
  ~Session();
  asio::awaitable<void> run();

 private:
  // I/O
  asio::awaitable<bool> flush();
  asio::awaitable<bool> start_tls();
  // flush_first = false only while IDLE's watcher owns the write side.
  asio::awaitable<bool> read_more(bool flush_first = true);
  asio::awaitable<void> receive(boost::system::error_code& ec);  // one read into in_
  asio::awaitable<std::optional<std::string>> read_command();
  // Drops a refused command's remaining bytes without keeping them (see session.cpp).
  asio::awaitable<bool> discard_command(std::size_t line_start, std::uint64_t literal_left);
  std::string tag_in_buffer() const;
  void release_literals();
  asio::awaitable<std::optional<std::string>> read_line(bool flush_first = true);
  void untagged(std::string_view s) { out_ += "* "; out_ += s; out_ += "\r\n"; }
  void tagged(const std::string& tag, std::string_view status, std::string_view text) {
    out_ += tag; out_ += ' '; out_ += status; out_ += ' '; out_ += text; out_ += "\r\n";
  }
  void bad(const std::string& tag, std::string_view text);
  std::string capabilities() const;

  asio::awaitable<void> dispatch(Command& cmd);
  // any state
  void cmd_capability(Command& c);
  void cmd_noop(Command& c);
  void cmd_id(Command& c);
  void cmd_enable(Command& c);
  // not authenticated
  asio::awaitable<void> cmd_login(Command& c);
  asio::awaitable<void> cmd_authenticate(Command& c);
  asio::awaitable<bool> finish_login(const std::string& tag, const std::string& user, const std::string& password);
  // authenticated
  void cmd_namespace(Command& c);
  void cmd_list(Command& c, bool lsub);
  void cmd_status(Command& c);
  void cmd_select(Command& c, bool read_only);
  asio::awaitable<void> cmd_create(Command& c);
  asio::awaitable<void> cmd_delete(Command& c);
  asio::awaitable<void> cmd_rename(Command& c);
  asio::awaitable<void> cmd_subscribe(Command& c, bool subscribe);
  asio::awaitable<void> cmd_append(Command& c);
  // CATENATE's URL part (RFC 4469): appends the bytes it names to `out`; else why not.
  std::string catenate_url(const std::string& url, std::string& out);
  asio::awaitable<void> cmd_idle(Command& c);
  void cmd_quota(Command& c, bool root);
  // selected
  asio::awaitable<void> cmd_close(Command& c, bool expunge);
  // Expunges these UIDs of the selected mailbox in one durable batch.
  asio::awaitable<std::error_code> expunge_uids(const std::vector<std::uint32_t>& uids);
  asio::awaitable<void> cmd_expunge(Command& c, bool uid);
  asio::awaitable<void> cmd_fetch(Command& c, bool uid);
  asio::awaitable<void> cmd_store(Command& c, bool uid);
  void cmd_search(Command& c, bool uid);
  void cmd_sort(Command& c, bool uid);
  void cmd_thread(Command& c, bool uid);
  // Calls `fn` with the view index, the search record and the stored message of every
  // message of the selected mailbox that `key` matches (one short read transaction).
  // With `all_fields` false, reads from the store only what the key needs (SEARCH UNSEEN
  // reads nothing); the record passed to `fn` is then empty unless the key needed it.
  void for_each_match(const struct SearchKey& key,
                      const std::function<void(std::size_t, const struct SearchMessage&, const store::MessageRecord&)>& fn,
                      bool all_fields = true);
  asio::awaitable<void> cmd_copy(Command& c, bool uid, bool move);
  struct SearchLimits search_limits() const;

  // mailbox view
  // Reports changes made by others: EXISTS and flag changes always, EXPUNGE only when
  // `expunges` (never during FETCH, STORE or SEARCH, RFC 3501 7.4.1).
  void refresh(bool expunges);
  void refresh_view(bool expunges);
  // CONTEXT=SEARCH (RFC 5267 4.3): searches whose results the client keeps up to date.
  struct SearchUpdate {
    std::string tag;
    bool uid = false;  // UID SEARCH: updates carry UIDs, else sequence numbers
    std::shared_ptr<const struct SearchKey> key;
    std::vector<std::uint32_t> uids;  // the result as the client knows it, ascending
    std::uint64_t fingerprint = 0;    // of the view it was last evaluated against
  };
  std::vector<SearchUpdate> updates_;
  std::vector<std::uint32_t> saved_;  // SEARCHRES (RFC 5182): UIDs of "$", ascending
  // Sends ADDTO/REMOVEFROM for every kept search whose result changed (when the view did).
  void send_search_updates();
  // REMOVEFROM for kept results holding messages about to be reported expunged (indexes
  // into the view, still valid), before the EXPUNGE/VANISHED.
  void search_updates_expunging(const std::vector<std::size_t>& indexes);
  std::uint64_t view_fingerprint() const;
  void cmd_cancelupdate(Command& c);
  void load_view(std::uint64_t id);
  // "(\\Seen $Work)"; a keyword the client has not been told of is first announced with
  // untagged FLAGS and PERMANENTFLAGS (RFC 3501 7.2.6), so call it before writing the FETCH.
  std::string flags_text(const ViewMessage& m);
  void announce_keywords(const ViewMessage& m);
  void flags_responses();  // FLAGS and PERMANENTFLAGS of the selected mailbox
  // Sequence numbers (or UIDs) of the set, in ascending order, as indexes into the view.
  std::vector<std::size_t> resolve_set(const SequenceSet& set, bool uid) const;
  std::optional<std::uint64_t> owner_mailbox(const std::string& name);

  Shared& shared_;
  std::optional<metrics::GaugeHold> logged_in_;  // mailstead_authenticated_sessions while it lives
  std::unique_ptr<net::Stream> stream_;
  std::string id_, peer_;
  std::string in_, out_;
  std::uint32_t errors_ = 0;
  std::uint64_t literal_reserved_ = 0;  // this session's share of shared_.literal_budget
  bool logout_ = false;
  bool implicit_tls_ = true;
  std::optional<std::uint64_t> user_id_;
  std::string user_address_;
  std::optional<MailboxView> selected_;
  bool condstore_ = false;  // RFC 7162: MODSEQ in FETCH responses, HIGHESTMODSEQ on SELECT
  bool qresync_ = false;    // VANISHED instead of EXPUNGE
  bool utf8_ = false;       // ENABLE UTF8=ACCEPT (RFC 6855): mailbox names in UTF-8, not modified UTF-7

  // Mailbox names on the wire: modified UTF-7 (RFC 3501 5.1.3), or UTF-8 once UTF8=ACCEPT is
  // enabled. In: decoded to the stored UTF-8 (nullopt: not valid in this session's form).
  std::optional<std::string> name_in(std::string_view wire) const;
  // A mailbox name argument, decoded and normalized (INBOX); for CREATE a trailing
  // delimiter is dropped (RFC 3501 6.3.3).
  std::optional<std::string> mailbox_arg(const Token& t, bool for_create = false) const;
  std::string mailbox_out(const std::string& utf8_name) const;
  void enable_condstore();  // sets condstore_; reports HIGHESTMODSEQ when that enables it

  // Reports removed messages: "* n EXPUNGE" each (highest first), or one VANISHED.
  void report_expunged(const std::vector<std::size_t>& indexes_desc);
  // UIDs expunged from the selected mailbox after `modseq`, within `uids` if given.
  std::vector<std::uint32_t> expunged_since(std::uint64_t modseq, const SequenceSet* uids);
  std::string modseq_item(const ViewMessage& m) const;
};

}  // namespace mailstead::imap
