// Forward targets and the forwarding queue in the store (see forwards.hpp; docs/storage.md).
#include "streams/forwards.hpp"

#include <ctime>

#include "store/mailstore.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"
#include "util/text.hpp"

namespace mailstead::streams {

using store::Table;

namespace {

std::string key_pair(std::uint64_t a, std::uint64_t b) {
  std::string k;
  put_be64(k, a);
  put_be64(k, b);
  return k;
}

std::string job_prefix(std::uint64_t target, JobState state) {
  std::string k;
  put_be64(k, target);
  k.push_back(static_cast<char>(state));
  return k;
}

bool valid_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == '_' || c == ':';
}

}  // namespace

std::optional<HttpUrl> parse_http_url(std::string_view url, std::string* why) {
  auto fail = [&](std::string text) -> std::optional<HttpUrl> {
    if (why) *why = std::move(text);
    return std::nullopt;
  };
  HttpUrl u;
  std::string_view rest;
  auto low = lower(url.substr(0, 8));
  if (low.starts_with("https://")) {
    rest = url.substr(8);
  } else if (low.starts_with("http://")) {
    u.https = false;
    u.port = 80;
    rest = url.substr(7);
  } else {
    return fail("the URL must start with https:// (or http://)");
  }
  for (char c : url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return fail("the URL may not hold spaces or control characters");
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  auto slash = rest.find_first_of("/?");
  auto authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (u.target.front() == '?') u.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) return fail("the URL may not hold a user name or password");
  std::string_view port;
  if (authority.starts_with("[")) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("an IPv6 address needs its closing ]");
    u.host = std::string(authority.substr(1, close - 1));
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected text after the IPv6 address");
      port = after.substr(1);
    }
  } else {
    auto colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    if (u.host.find(':') != std::string::npos) return fail("an IPv6 address goes in brackets: [::1]");
  }
  if (u.host.empty()) return fail("the URL has no host");
  for (char c : u.host)
    if (!valid_host_char(c)) return fail("the URL's host holds a character a host name cannot have");
  u.host = lower(u.host);
  if (!port.empty()) {
    unsigned n = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || n > 65535) return fail("the URL's port is not a number from 1 to 65535");
      n = n * 10 + static_cast<unsigned>(c - '0');
    }
    if (n == 0 || n > 65535) return fail("the URL's port is not a number from 1 to 65535");
    u.port = static_cast<std::uint16_t>(n);
  }
  return u;
}

const char* forward_kind_name(ForwardKind k) { return k == ForwardKind::zulip ? "zulip" : "webhook"; }

std::optional<ForwardKind> parse_forward_kind(std::string_view s) {
  if (s == "zulip") return ForwardKind::zulip;
  if (s == "webhook") return ForwardKind::webhook;
  return std::nullopt;
}

std::string ForwardTarget::encode() const {
  Encoder e;
  e.u8(1).u64(id).u64(stream).u8(static_cast<std::uint8_t>(kind)).str(site).str(bot_email).str(secret).str(to_stream);
  e.u8(allow_http ? 1 : 0).i64(created);
  return e.take();
}

std::optional<ForwardTarget> ForwardTarget::decode(std::string_view v) {
  Decoder d(v);
  ForwardTarget t;
  if (d.u8() != 1) return std::nullopt;
  t.id = d.u64();
  t.stream = d.u64();
  auto kind = d.u8();
  if (kind > 1) return std::nullopt;
  t.kind = static_cast<ForwardKind>(kind);
  t.site = d.str();
  t.bot_email = d.str();
  t.secret = d.str();
  t.to_stream = d.str();
  t.allow_http = d.u8() != 0;
  t.created = d.i64();
  if (!d.ok()) return std::nullopt;
  return t;
}

std::string ForwardTarget::url() const {
  if (kind == ForwardKind::webhook) return secret;
  auto base = site;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/api/v1/messages";
}

std::string ForwardTarget::shown_url() const {
  if (kind == ForwardKind::zulip) return site;
  // A webhook URL is a secret as a whole (its path holds the token): show where it goes.
  auto u = parse_http_url(secret);
  if (!u) return "(hidden)";
  std::string host = u->host.find(':') != std::string::npos ? "[" + u->host + "]" : u->host;
  return std::string(u->https ? "https://" : "http://") + host + ":" + std::to_string(u->port) + "/…";
}

std::string ForwardTarget::secret_hint() const {
  if (kind == ForwardKind::webhook || secret.size() < 12) return "…";
  return "…" + secret.substr(secret.size() - 4);
}

std::string ForwardJob::key() const {
  auto k = job_prefix(target, state);
  put_be64(k, message);
  return k;
}

std::string ForwardJob::encode() const {
  Encoder e;
  e.u8(1).u64(target).u64(stream).u64(message).u8(static_cast<std::uint8_t>(state)).i64(created).u32(attempts);
  e.i64(next_attempt).str(last_error).str(lease_owner).i64(lease_until).i64(failed_at);
  return e.take();
}

std::optional<ForwardJob> ForwardJob::decode(std::string_view v) {
  Decoder d(v);
  ForwardJob j;
  if (d.u8() != 1) return std::nullopt;
  j.target = d.u64();
  j.stream = d.u64();
  j.message = d.u64();
  auto state = d.u8();
  if (state > 1) return std::nullopt;
  j.state = static_cast<JobState>(state);
  j.created = d.i64();
  j.attempts = d.u32();
  j.next_attempt = d.i64();
  j.last_error = d.str();
  j.lease_owner = d.str();
  j.lease_until = d.i64();
  j.failed_at = d.i64();
  if (!d.ok()) return std::nullopt;
  return j;
}

Result<void> check_target(const ForwardTarget& t) {
  auto check_url = [&](std::string_view url, const char* field) -> Result<void> {
    std::string why;
    auto u = parse_http_url(url, &why);
    if (!u) return Error(ErrorKind::invalid, why, field);
    if (!u->https && !t.allow_http)
      return Error(ErrorKind::invalid, "the URL must be https://; plain http:// only with allow_http (a receiver on this machine)",
                   field);
    return {};
  };
  if (t.kind == ForwardKind::zulip) {
    if (t.site.empty()) return Error(ErrorKind::invalid, "a zulip target needs the site's URL", "site");
    if (auto r = check_url(t.site, "site"); !r) return r;
    auto at = t.bot_email.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == t.bot_email.size() ||
        t.bot_email.find_first_of(" \t\r\n:") != std::string::npos)
      return Error(ErrorKind::invalid, "a zulip target needs the bot's email address", "bot_email");
    if (t.secret.empty()) return Error(ErrorKind::invalid, "a zulip target needs the bot's API key", "api_key");
    for (unsigned char c : t.secret)
      if (c <= 0x20 || c == 0x7f) return Error(ErrorKind::invalid, "the API key may not hold spaces or control characters", "api_key");
    for (unsigned char c : t.to_stream)
      if (c < 0x20 || c == 0x7f) return Error(ErrorKind::invalid, "the stream name may not hold control characters", "stream");
    if (t.to_stream.size() > 200) return Error(ErrorKind::invalid, "the stream name is at most 200 bytes", "stream");
  } else {
    if (t.secret.empty()) return Error(ErrorKind::invalid, "a webhook target needs its URL", "url");
    if (auto r = check_url(t.secret, "url"); !r) return r;
  }
  if (t.site.size() > 2000 || t.secret.size() > 2000 || t.bot_email.size() > 320)
    return Error(ErrorKind::invalid, "a URL, key or address that long is not one", "url");
  return {};
}

Result<ForwardTarget> add_forward(store::WriteTxn& txn, ForwardTarget t) {
  if (auto r = check_target(t); !r) return r.error();
  t.id = store::next_id(txn, "stream_forward");
  if (auto ec = txn.put(Table::stream_forwards, key_pair(t.stream, t.id), t.encode()))
    return internal("store: " + ec.message());
  return t;
}

std::optional<ForwardTarget> get_forward(store::ReadTxn& txn, std::uint64_t stream, std::uint64_t target) {
  auto v = txn.get(Table::stream_forwards, key_pair(stream, target));
  if (!v) return std::nullopt;
  return ForwardTarget::decode(*v);
}

namespace {

void remove_jobs(store::WriteTxn& txn, std::uint64_t target) {
  std::string prefix;
  put_be64(prefix, target);
  std::vector<std::string> keys;
  {
    auto c = txn.cursor(Table::forward_jobs);
    for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next()) keys.emplace_back(c->key());
  }
  for (const auto& k : keys) txn.del(Table::forward_jobs, k);
}

}  // namespace

Result<void> remove_forward(store::WriteTxn& txn, std::uint64_t stream, std::uint64_t target) {
  if (!txn.del(Table::stream_forwards, key_pair(stream, target)))
    return Error(ErrorKind::not_found, "the stream has no forward " + std::to_string(target), "forward");
  remove_jobs(txn, target);
  return {};
}

std::vector<ForwardTarget> forwards_of(store::ReadTxn& txn, std::uint64_t stream) {
  std::vector<ForwardTarget> out;
  std::string prefix;
  put_be64(prefix, stream);
  auto c = txn.cursor(Table::stream_forwards);
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next())
    if (auto t = ForwardTarget::decode(c->value())) out.push_back(std::move(*t));
  return out;
}

std::vector<ForwardTarget> all_forwards(store::ReadTxn& txn) {
  std::vector<ForwardTarget> out;
  auto c = txn.cursor(Table::stream_forwards);
  for (bool ok = c->first(); ok; ok = c->next())
    if (auto t = ForwardTarget::decode(c->value())) out.push_back(std::move(*t));
  return out;
}

std::error_code remove_forwards(store::WriteTxn& txn, std::uint64_t stream) {
  for (const auto& t : forwards_of(txn, stream)) {
    txn.del(Table::stream_forwards, key_pair(stream, t.id));
    remove_jobs(txn, t.id);
  }
  return {};
}

std::error_code enqueue_forwards(store::WriteTxn& txn, std::uint64_t stream, std::uint64_t message, std::int64_t now_s) {
  if (now_s <= 0) now_s = static_cast<std::int64_t>(std::time(nullptr));
  for (const auto& t : forwards_of(txn, stream)) {
    ForwardJob j;
    j.target = t.id;
    j.stream = stream;
    j.message = message;
    j.created = now_s;
    j.next_attempt = now_s * 1000;
    if (auto ec = put_job(txn, j)) return ec;
  }
  return {};
}

std::optional<ForwardJob> head_job(store::ReadTxn& txn, std::uint64_t target) {
  auto prefix = job_prefix(target, JobState::pending);
  auto c = txn.cursor(Table::forward_jobs);
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next())
    if (auto j = ForwardJob::decode(c->value())) return j;
  return std::nullopt;
}

JobCounts count_jobs(store::ReadTxn& txn, std::uint64_t target) {
  JobCounts n;
  std::string prefix;
  put_be64(prefix, target);
  auto c = txn.cursor(Table::forward_jobs);
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next()) {
    if (c->key().size() < 9) continue;
    if (c->key()[8] == static_cast<char>(JobState::pending)) ++n.pending;
    else ++n.failed;
  }
  return n;
}

std::vector<ForwardJob> jobs_of(store::ReadTxn& txn, std::uint64_t target, JobState state, std::size_t limit) {
  std::vector<ForwardJob> out;
  auto prefix = job_prefix(target, state);
  auto c = txn.cursor(Table::forward_jobs);
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix) && out.size() < limit; ok = c->next())
    if (auto j = ForwardJob::decode(c->value())) out.push_back(std::move(*j));
  return out;
}

std::error_code put_job(store::WriteTxn& txn, const ForwardJob& job) {
  return txn.put(Table::forward_jobs, job.key(), job.encode());
}

void delete_job(store::WriteTxn& txn, const ForwardJob& job) {
  for (auto state : {JobState::pending, JobState::failed}) {
    auto k = job_prefix(job.target, state);
    put_be64(k, job.message);
    txn.del(Table::forward_jobs, k);
  }
}

}  // namespace mailstead::streams
