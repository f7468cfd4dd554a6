#include "sieve/delivery.hpp"

#include <ctime>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>

#include "directory/directory.hpp"
#include "log/log.hpp"
#include "mime/header.hpp"
#include "sieve/storage.hpp"
#include "store/mailstore.hpp"
#include "store/records.hpp"
#include "util/base64.hpp"
#include "util/text.hpp"

namespace mailstead::sieve {

namespace {

std::string message_id(const DeliveryContext& ctx) { return "<" + new_session_id() + "@" + ctx.hostname + ">"; }

std::string first_field(std::string_view message, std::string_view name) {
  auto values = mime::field_values(message.substr(0, mime::header_end(message)), name);
  return values.empty() ? "" : std::string(trim(values.front()));
}

// A header value safe to put on one line (no CR/LF from a script or a sender).
std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\r' || c == '\n') c = ' ';
  return s;
}

std::string vacation_reply(const DeliveryContext& ctx, const std::string& user_address, const Vacation& v,
                           std::string_view original) {
  auto from = v.from.empty() ? user_address : v.from;
  std::string m;
  m += "From: " + one_line(from) + "\r\n";
  m += "To: <" + v.recipient + ">\r\n";
  m += "Subject: " + one_line(v.subject) + "\r\n";
  m += "Date: " + rfc5322_date(ctx.now) + "\r\n";
  m += "Message-ID: " + message_id(ctx) + "\r\n";
  auto mid = first_field(original, "Message-ID");
  if (!mid.empty()) {
    m += "In-Reply-To: " + one_line(mid) + "\r\n";
    auto refs = first_field(original, "References");
    m += "References: " + one_line(refs.empty() ? mid : refs + " " + mid) + "\r\n";
  }
  m += "Auto-Submitted: auto-replied (vacation)\r\n";  // RFC 3834 5
  m += "Precedence: bulk\r\n";
  m += "MIME-Version: 1.0\r\n";
  if (v.mime) {
    // :mime: the reason is a MIME entity of its own (header and body)
    m += v.reason;
    if (!v.reason.ends_with("\r\n")) m += "\r\n";
    return m;
  }
  m += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
  m += v.reason;
  if (!v.reason.ends_with("\r\n")) m += "\r\n";
  return m;
}

std::string notification(const DeliveryContext& ctx, const std::string& user_address, const Notify& n) {
  auto from = n.from.empty() ? user_address : n.from;
  std::string m;
  m += "From: " + one_line(from) + "\r\n";
  m += "To: " + one_line(std::string(mailto_address(n.method))) + "\r\n";
  m += "Subject: " + one_line(n.message) + "\r\n";
  m += "Date: " + rfc5322_date(ctx.now) + "\r\n";
  m += "Message-ID: " + message_id(ctx) + "\r\n";
  m += "Auto-Submitted: auto-notified\r\n";  // RFC 5436 2.7
  if (n.importance == "1") m += "X-Priority: 1\r\nImportance: high\r\n";
  if (n.importance == "3") m += "X-Priority: 5\r\nImportance: low\r\n";
  m += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
  m += n.message + "\r\n";
  return m;
}

void to_filing(const Action& a, Filing& f) {
  for (const auto& flag : a.flags) {
    if (auto bit = store::system_flag(flag)) f.flags |= bit;
    else if (!flag.empty() && flag[0] != '\\') f.keywords.push_back(flag);
  }
}

// environment items (RFC 5183 4) for a run at delivery.
std::map<std::string, std::string> environment_of(const DeliveryContext& ctx) {
  std::map<std::string, std::string> env;
  env["host"] = ctx.hostname;
  auto dot = ctx.hostname.find('.');
  env["domain"] = dot == std::string::npos ? ctx.hostname : ctx.hostname.substr(dot + 1);
  env["location"] = "MTA";
  env["name"] = "Mailstead";
  env["phase"] = "during";
#ifdef MAILSTEAD_VERSION
  env["version"] = MAILSTEAD_VERSION;
#endif
  if (!ctx.remote_host.empty()) env["remote-host"] = ctx.remote_host;
  if (!ctx.remote_ip.empty()) env["remote-ip"] = ctx.remote_ip;
  return env;
}

}  // namespace

std::optional<store::MailboxRecord> filing_mailbox(store::WriteTxn& txn, std::uint64_t user, const Filing& f) {
  if (f.junk) {
    auto inbox = store::find_mailbox(txn, user, "INBOX");
    if (!inbox) return std::nullopt;  // the user is gone
    for (auto& m : store::list_mailboxes(txn, user))
      if (m.special_use == "\\Junk") return m;
    // Missing (deleted by the user): made again as a new user gets it (Spam, \Junk); a
    // user who took that name for something else gets "Junk".
    for (const char* name : {"Spam", "Junk"})
      if (!store::find_mailbox(txn, user, name))
        if (auto made = store::create_mailbox(txn, user, name, "\\Junk")) return store::get_mailbox(txn, *made);
    return inbox;
  }
  auto box = store::find_mailbox(txn, user, f.mailbox);
  if (!box && f.create)
    if (auto made = store::create_mailbox(txn, user, f.mailbox)) box = store::get_mailbox(txn, *made);
  if (!box) box = store::find_mailbox(txn, user, "INBOX");  // fileinto a missing mailbox: keep (RFC 5228 4.1)
  return box;
}

std::shared_ptr<const Script> cached_parse(const std::string& text, const Limits& limits, std::string* error) {
  // By content hash, most recently used first; a parsed script takes about 20 times its
  // text (measured), so each counts as 24 times it against script_cache_size.
  struct Entry {
    std::string key;
    std::shared_ptr<const Script> script;
    std::size_t cost;
  };
  static std::mutex mu;
  static std::list<Entry> lru;
  static std::unordered_map<std::string, std::list<Entry>::iterator> index;
  static std::size_t bytes = 0;
  auto key = store::blob_key(text);
  {
    std::lock_guard lock(mu);
    if (auto it = index.find(key); it != index.end()) {
      lru.splice(lru.begin(), lru, it->second);
      return it->second->script;
    }
  }
  auto parsed = parse(text, limits);
  if (!parsed.script) {
    if (error) *error = parsed.error;
    return nullptr;
  }
  std::size_t cost = 24 * text.size() + 4096;
  if (cost > limits.script_cache_size) return parsed.script;
  std::lock_guard lock(mu);
  if (auto it = index.find(key); it != index.end()) return it->second->script;
  lru.push_front({key, parsed.script, cost});
  index.emplace(std::move(key), lru.begin());
  bytes += cost;
  while (bytes > limits.script_cache_size && !lru.empty()) {
    bytes -= lru.back().cost;
    index.erase(lru.back().key);
    lru.pop_back();
  }
  return parsed.script;
}

std::string rejection_notice(const DeliveryContext& ctx, std::string_view user_address, std::string_view addressed,
                             std::string_view reason, std::string_view original) {
  auto boundary = "=_" + new_session_id();
  std::string m;
  m += "From: Mail Delivery System <MAILER-DAEMON@" + ctx.hostname + ">\r\n";
  m += "To: <" + ctx.sender + ">\r\n";
  m += "Subject: Message rejected: " + one_line(first_field(original, "Subject")) + "\r\n";
  m += "Date: " + rfc5322_date(ctx.now) + "\r\n";
  m += "Message-ID: " + message_id(ctx) + "\r\n";
  m += "Auto-Submitted: auto-replied\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=delivery-status; boundary=\"" + boundary + "\"\r\n\r\n";
  m += "--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
  m += "Your message to " + std::string(addressed);
  if (!iequals(addressed, user_address)) m += " (for " + std::string(user_address) + ")";
  m += " was rejected by the recipient's filter:\r\n\r\n";
  m += std::string(reason) + "\r\n\r\n";
  m += "--" + boundary + "\r\nContent-Type: message/delivery-status\r\n\r\n";
  m += "Reporting-MTA: dns; " + ctx.hostname + "\r\n\r\n";
  if (!iequals(addressed, user_address)) m += "Original-Recipient: rfc822; " + std::string(addressed) + "\r\n";
  m += "Final-Recipient: rfc822; " + std::string(user_address) + "\r\n";
  m += "Action: failed\r\nStatus: 5.7.1\r\n";
  m += "Diagnostic-Code: smtp; 550 5.7.1 " + one_line(std::string(reason)) + "\r\n\r\n";
  m += "--" + boundary + "\r\nContent-Type: text/rfc822-headers\r\n\r\n";
  m += std::string(original.substr(0, mime::header_end(original)));
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

Plan plan(store::ReadTxn& txn, std::uint64_t user, std::string_view message, const DeliveryContext& ctx) {
  Plan p;
  auto keep_only = [&] {
    Filing k;
    k.junk = ctx.junk;  // a failed script: the implicit keep, as without a script
    p.filings.assign(1, k);
    p.local_copies.clear();
    p.outgoing.clear();
    p.tracking.clear();
    p.reject.reset();
  };
  auto name = active_script(txn, user);
  auto text = name ? get_script(txn, user, *name) : std::nullopt;
  Filing implicit_keep;
  implicit_keep.junk = ctx.junk;
  if (!text) {
    p.filings.push_back(implicit_keep);
    return p;
  }
  p.ran = true;
  std::string error;
  auto script = cached_parse(*text, ctx.limits, &error);
  if (!script) {
    p.error = "the active script does not parse: " + error;
    keep_only();
    return p;
  }
  auto u = directory::get_user(txn, user);
  std::string address = u ? u->address : ctx.recipient;
  p.address = address;
  // A :from in vacation or notify must be an address this user may send as (no spoofing
  // through auto-replies); otherwise the user's own address is used.
  const directory::RoutingSettings rs = ctx.routing ? *ctx.routing : directory::RoutingSettings{};
  auto own_from = [&](std::string& from) {
    if (from.empty()) return;
    auto list = mime::parse_address_list(from);
    if (list.size() == 1 && !directory::check_sender(txn, rs, user, list[0])) return;
    log::info("sieve.from_refused", {{"user", address}, {"from", from}});
    from.clear();
  };
  StoreEnvironment env(txn, user, ctx.now);
  RunOptions options;
  options.subaddress_separator = !rs.delimiter.empty() ? rs.delimiter[0] : '+';
  options.user_addresses = {address};
  options.spam = ctx.spam;
  options.environment = environment_of(ctx);
  auto out = run(*script, message, Envelope{ctx.sender, ctx.recipient, ""}, env, options, ctx.limits);
  if (!out.error.empty()) {
    p.error = out.error;
    keep_only();
    return p;
  }
  if (out.header) {
    // header_end is past the blank line: the new fields, the blank line, the same body
    p.edited = *out.header + "\r\n" + std::string(message.substr(std::min(mime::header_end(message), message.size())));
  }
  const std::string_view original = p.edited ? std::string_view(*p.edited) : message;
  for (const auto& a : out.actions) {
    switch (a.kind) {
      case Action::Kind::keep:
      case Action::Kind::fileinto: {
        Filing f;
        if (a.kind == Action::Kind::fileinto) {
          f.mailbox = a.mailbox;
          f.create = a.create;
        }
        to_filing(a, f);
        f.junk = a.implicit && ctx.junk;
        // The same mailbox twice is one delivery (RFC 5228 2.10.3); flags merge.
        bool merged = false;
        for (auto& e : p.filings)
          if (e.mailbox == f.mailbox && e.junk == f.junk) {
            e.flags |= f.flags;
            e.keywords.insert(e.keywords.end(), f.keywords.begin(), f.keywords.end());
            e.create |= f.create;
            merged = true;
          }
        if (!merged) p.filings.push_back(std::move(f));
        break;
      }
      case Action::Kind::redirect: {
        // The user sends this copy on: routed as their submission would be (no relay refusal).
        auto route = directory::resolve(txn, rs, a.address, directory::RouteContext{ctx.sender, user});
        if (auto* rej = std::get_if<directory::Rejection>(&route)) {
          p.error = "redirect to " + a.address + " refused: " + rej->text;
          keep_only();
          return p;
        }
        const auto& d = std::get<directory::Delivery>(route);
        p.redirect_prefix = "X-Mailstead-Redirected-By: " + address + "\r\n";
        if (d.kind == directory::RouteKind::remote) {
          p.outgoing.push_back({ctx.sender, {a.address}, p.redirect_prefix + std::string(original)});
        } else {
          for (auto id : d.users)
            if (id != user) p.local_copies.push_back(id);
        }
        break;
      }
      case Action::Kind::reject:
      case Action::Kind::ereject:
        p.reject = a.text;
        break;
      case Action::Kind::vacation: {
        // Never to a sender that is likely forged: no backscatter (docs/sieve.md).
        if (ctx.junk || ctx.dmarc_failed) {
          log::info("sieve.vacation.suppressed", {{"user", address}, {"why", ctx.junk ? "junk" : "dmarc_fail"}});
          break;
        }
        auto v = a.vacation;
        own_from(v.from);
        auto key = (v.handle.empty() ? v.reason + '\0' + v.subject + '\0' + v.from : v.handle) + '\0' + lower(v.recipient);
        if (tracked(txn, user, 'v', key, ctx.now)) break;  // answered within the period
        p.tracking.push_back({'v', key, ctx.now + std::max<std::int64_t>(v.period, 1)});
        p.outgoing.push_back({"", {v.recipient}, vacation_reply(ctx, address, v, message)});
        break;
      }
      case Action::Kind::notify: {
        auto n = a.notify;
        own_from(n.from);
        std::string to(mailto_address(a.notify.method));
        p.outgoing.push_back({"", {to}, notification(ctx, address, n)});
        break;
      }
    }
  }
  for (const auto& [key, period] : out.duplicates) p.tracking.push_back({'d', key, ctx.now + period});
  return p;
}

}  // namespace mailstead::sieve
