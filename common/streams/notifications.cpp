// Notification emails and reply tokens (docs/streams.md, "Notifications and replies"):
// tables stream_replies and stream_reply_by_member (docs/storage.md); the emails go
// through the outbound queue like any server-made mail (docs/delivery.md).
#include "streams/notifications.hpp"

#include <algorithm>

#include "directory/directory.hpp"
#include "store/mailstore.hpp"
#include "store/records.hpp"
#include "store/store.hpp"
#include "streams/messages.hpp"
#include "streams/settings.hpp"
#include "streams/watch.hpp"
#include "util/base64.hpp"
#include "util/bytes.hpp"
#include "util/text.hpp"

namespace mailstead::streams {

using store::Table;

namespace {

// A reused token must stay valid this long: a reply written tomorrow still lands.
constexpr std::int64_t reuse_margin = 86400;

std::string member_topic_key(std::uint64_t stream, std::uint64_t user, std::string_view topic) {
  std::string k;
  put_be64(k, stream);
  put_be64(k, user);
  k += topic_key(topic);
  return k;
}

bool is_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// One line of header text: control characters (CR, LF, TAB…) become spaces.
std::string one_line(std::string_view s) {
  std::string o;
  for (char c : s) o.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  return o;
}

bool ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// RFC 2047 encoded words ("=?UTF-8?B?…?="), each at most 75 characters, split at UTF-8
// character boundaries; separated by folding white space.
std::string encoded_words(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t n = std::min<std::size_t>(45, text.size() - i);
    // Never split a character: back up to a lead byte.
    while (n > 0 && i + n < text.size() && (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80) --n;
    if (n == 0) n = std::min<std::size_t>(45, text.size() - i);
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64_encode(text.substr(i, n)) + "?=";
    i += n;
  }
  return out;
}

// Unstructured text (Subject): as is when ASCII, else encoded words.
std::string unstructured(std::string_view text) {
  auto t = one_line(text);
  return ascii(t) ? t : encoded_words(t);
}

// A display name (RFC 5322 phrase): a quoted string when ASCII, else encoded words.
std::string phrase(std::string_view name) {
  auto t = one_line(name);
  if (!ascii(t)) return encoded_words(t);
  std::string q = "\"";
  for (char c : t) {
    if (c == '"' || c == '\\') q.push_back('\\');
    q.push_back(c);
  }
  return q + "\"";
}

std::string mailbox(std::string_view name, std::string_view address) {
  if (name.empty()) return "<" + std::string(address) + ">";
  return phrase(name) + " <" + std::string(address) + ">";
}

// The List-Id label (RFC 2919): the slug under the gateway domain.
std::string list_label(std::string_view slug, std::string_view domain) {
  std::string l;
  for (char c : slug) l.push_back(c == '_' ? '-' : c);
  return l + "." + std::string(domain);
}

// The body with CRLF line ends; plain 8-bit text is sent base64-encoded (no 8BITMIME
// needed on the way), and so are lines a relay could not carry (over 998 octets).
std::pair<std::string, std::string> encode_body(std::string_view text) {
  std::string crlf;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r') continue;
    if (text[i] == '\n') crlf += "\r\n";
    else crlf.push_back(text[i]);
  }
  if (!crlf.ends_with("\r\n")) crlf += "\r\n";
  bool plain = ascii(crlf);
  std::size_t line = 0;
  for (char c : crlf) {
    line = c == '\n' ? 0 : line + 1;
    if (line > 900 || c == '\0') plain = false;
  }
  if (plain) return {"7bit", crlf};
  auto b = base64_encode(crlf);
  std::string out;
  for (std::size_t i = 0; i < b.size(); i += 76) out += b.substr(i, 76) + "\r\n";
  return {"base64", out};
}

std::optional<directory::StreamRecord> stream_by_id(store::ReadTxn& txn, std::uint64_t id) {
  // A small organisation has a few streams: a scan of the streams table is cheap.
  for (auto& s : directory::list_streams(txn))
    if (s.id == id) return std::move(s);
  return std::nullopt;
}

}  // namespace

std::string ReplyToken::encode() const {
  Encoder e;
  e.u64(user).u64(stream).str(topic).i64(created).i64(expires);
  return e.take();
}

std::optional<ReplyToken> ReplyToken::decode(std::string_view v) {
  Decoder d(v);
  ReplyToken t;
  t.user = d.u64();
  t.stream = d.u64();
  t.topic = d.str();
  t.created = d.i64();
  t.expires = d.i64();
  if (!d.ok()) return std::nullopt;
  return t;
}

std::optional<std::string> reply_token_of(std::string_view part) {
  if (part.size() != 34) return std::nullopt;
  auto p = lower(part);
  if (!p.starts_with("mm") || !is_hex(std::string_view(p).substr(2))) return std::nullopt;
  return p.substr(2);
}

std::string reply_address(const GatewayPattern& p, std::string_view token) {
  return p.prefix + "mm" + std::string(token) + p.suffix;
}

std::optional<ReplyToken> find_reply(store::ReadTxn& txn, std::string_view token, std::int64_t now) {
  auto v = txn.get(Table::stream_replies, token);
  if (!v) return std::nullopt;
  auto t = ReplyToken::decode(*v);
  if (!t || t->expires <= now) return std::nullopt;
  return t;
}

Result<std::string> reply_token_for(store::WriteTxn& txn, std::uint64_t user, std::uint64_t stream,
                                    std::string_view topic, std::int64_t now, std::int64_t lifetime) {
  auto index = member_topic_key(stream, user, topic);
  if (auto old = txn.get(Table::stream_reply_by_member, index)) {
    std::string token(*old);
    auto t = find_reply(txn, token, now + std::min(reuse_margin, lifetime / 2));
    if (t) return token;
    txn.del(Table::stream_replies, token);  // expired (or about to): a fresh one replaces it
  }
  auto token = directory::new_stream_token();
  ReplyToken t{user, stream, std::string(topic), now, now + lifetime};
  if (auto ec = txn.put(Table::stream_replies, token, t.encode())) return internal("store: " + ec.message());
  if (auto ec = txn.put(Table::stream_reply_by_member, index, token)) return internal("store: " + ec.message());
  return token;
}

std::string topic_thread_id(std::uint64_t stream, std::string_view topic, std::string_view domain) {
  auto h = hex(store::blob_key(topic_key(topic))).substr(0, 32);
  return "<stream-" + std::to_string(stream) + ".topic-" + h + "@" + std::string(domain) + ">";
}

std::string build_notification(const Notification& n) {
  auto thread = topic_thread_id(n.stream_id, n.topic, n.gateway_domain);
  std::string m;
  m += "From: " + mailbox(n.from_name, n.from_address) + "\r\n";
  m += "To: <" + n.to + ">\r\n";
  m += "Reply-To: " + mailbox(n.stream_name + " > " + n.topic, n.reply_to) + "\r\n";
  m += "Subject: " + unstructured("[" + n.stream_name + "] " + n.topic) + "\r\n";
  m += "Date: " + rfc5322_date(n.time) + "\r\n";
  m += "Message-ID: <stream-" + std::to_string(n.stream_id) + ".msg-" + std::to_string(n.message_id) + ".to-" +
       std::to_string(n.user) + "@" + n.gateway_domain + ">\r\n";
  m += "In-Reply-To: " + thread + "\r\n";
  m += "References: " + thread + "\r\n";
  m += "List-Id: " + phrase(n.stream_name) + " <" + list_label(n.stream_slug, n.gateway_domain) + ">\r\n";
  // RFC 3834: automatic mail; no vacation replies to it (Outlook's own header too).
  m += "Auto-Submitted: auto-generated\r\n";
  m += "X-Auto-Response-Suppress: All\r\n";
  // Mail carrying our X-Loop back to a gateway address is refused (a member's redirect to
  // the stream address would otherwise loop).
  m += "X-Loop: " + n.from_address + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  std::string who = n.sender_address.empty() ? n.sender_name
                    : n.sender_name.empty()  ? n.sender_address
                                             : n.sender_name + " <" + n.sender_address + ">";
  std::string text = one_line(who) + " wrote in " + one_line(n.stream_name) + " > " + one_line(n.topic) + ":\n\n" +
                     n.body + "\n\n-- \nReply to this email to post in this topic as yourself.\n" +
                     "You get these emails as a member of " + one_line(n.stream_name) +
                     " while you are not watching it.\n";
  auto [cte, body] = encode_body(text);
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: " + cte + "\r\n\r\n";
  m += body;
  return m;
}

std::error_code queue_notifications(store::WriteTxn& txn, const StreamMessage& msg, const Settings& settings) {
  if (!settings.notifications || !settings.pattern) return {};
  auto s = stream_by_id(txn, msg.stream);
  if (!s) return {};
  for (auto member : s->members) {
    if (member == msg.user) continue;  // the poster
    auto u = directory::get_user(txn, member);
    if (!u || !u->enabled) continue;
    if (notify_mode(txn, s->id, member) == NotifyMode::none) continue;
    if (is_watching(txn, s->id, member, msg.time)) continue;
    auto token = reply_token_for(txn, member, s->id, msg.topic, msg.time, settings.reply_token_lifetime);
    if (!token) return store::Errc::aborted;
    Notification n;
    n.from_name = settings.bot_name;
    n.from_address = settings.notify_from;
    n.to = u->address;
    n.reply_to = reply_address(*settings.pattern, *token);
    n.gateway_domain = settings.pattern->domain;
    n.stream_slug = s->slug;
    n.stream_name = s->name;
    n.topic = msg.topic;
    n.sender_name = msg.sender_name;
    n.sender_address = msg.user ? msg.sender : msg.email_from;
    n.body = msg.body;
    n.stream_id = s->id;
    n.message_id = msg.id;
    n.user = member;
    n.time = msg.time;
    auto bytes = build_notification(n);
    auto key = store::blob_key(bytes);
    if (auto ec = store::put_blob(txn, key, bytes)) return ec;
    store::QueueRecord q;
    q.sender = "";  // never answered with a bounce (RFC 3834 3.3)
    q.recipients = {u->address};
    q.blob = key;
    q.created = msg.time;
    q.next_attempt = msg.time;
    if (!store::enqueue(txn, std::move(q))) return store::Errc::aborted;
  }
  return {};
}

}  // namespace mailstead::streams
