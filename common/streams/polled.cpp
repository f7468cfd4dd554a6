// The IMAP poller's records and address lookup (see polled.hpp).
#include "streams/polled.hpp"

#include <sodium.h>

#include <algorithm>

#include "directory/address.hpp"
#include "mime/header.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"

namespace mailstead::streams {

namespace {

// Keys of the stream_poll table:
//   'u' + source (16 bytes) + UIDVALIDITY (u32) + UID (u32) → PollRecord
//   'm' + stream id (u64) + BLAKE2b-128 of the Message-ID → "" (posted to that stream)
std::string hash16(std::string_view a) {
  unsigned char out[16];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(a.data()), a.size(), nullptr, 0);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string uid_key(std::string_view source, std::uint32_t uidvalidity, std::uint32_t uid) {
  std::string k = "u";
  k.append(source);
  put_be32(k, uidvalidity);
  put_be32(k, uid);
  return k;
}

std::string message_id_key(std::uint64_t stream, std::string_view id) {
  std::string k = "m";
  put_be64(k, stream);
  k.append(hash16(id));
  return k;
}

std::string encode(const PollRecord& r) {
  return Encoder().u8(1).u8(static_cast<std::uint8_t>(r.outcome)).i64(r.time).str(r.address).str(r.reason).take();
}

std::optional<PollRecord> decode(std::string_view v) {
  Decoder d(v);
  if (d.u8() != 1) return std::nullopt;
  PollRecord r;
  auto o = d.u8();
  if (o < 1 || o > 3) return std::nullopt;
  r.outcome = static_cast<PollOutcome>(o);
  r.time = d.i64();
  r.address = std::string(d.str());
  r.reason = std::string(d.str());
  if (!d.ok()) return std::nullopt;
  return r;
}

}  // namespace

std::string poll_source(std::string_view host, std::uint32_t port, std::string_view user, std::string_view mailbox) {
  std::string id = directory::lowercase_ascii(host);
  id += '\0';
  id += std::to_string(port);
  id += '\0';
  id.append(user);
  id += '\0';
  id.append(mailbox);
  return hash16(id);
}

const char* outcome_name(PollOutcome o) {
  switch (o) {
    case PollOutcome::posted: return "posted";
    case PollOutcome::refused: return "refused";
    case PollOutcome::duplicate: return "duplicate";
  }
  return "?";
}

std::optional<PollRecord> find_polled(store::ReadTxn& txn, std::string_view source, std::uint32_t uidvalidity,
                                      std::uint32_t uid) {
  auto v = txn.get(store::Table::stream_poll, uid_key(source, uidvalidity, uid));
  if (!v) return std::nullopt;
  return decode(*v);
}

std::vector<std::string> polled_addresses(std::string_view message, const GatewayPattern& pattern) {
  auto header = message.substr(0, mime::header_end(message));
  std::vector<std::string> out;
  for (const char* name : {"Delivered-To", "X-Original-To", "To", "Cc"}) {
    for (const auto& value : mime::field_values(header, name)) {
      for (auto& a : mime::parse_address_list(value)) {
        if (!gateway_part(pattern, a)) continue;
        auto lower = directory::lowercase_ascii(a);
        if (std::find(out.begin(), out.end(), lower) == out.end()) out.push_back(std::move(lower));
        if (out.size() >= 20) return out;  // a header listing hundreds is not worth routing each
      }
    }
  }
  return out;
}

std::string message_id(std::string_view message) {
  auto header = message.substr(0, mime::header_end(message));
  auto values = mime::field_values(header, "Message-ID");
  if (values.empty()) return {};
  std::string v = mime::strip_comments(values.front());
  std::string out;
  for (char c : v)
    if (c != '<' && c != '>' && c != ' ' && c != '\t' && c != '\r' && c != '\n') out += c;
  if (out.size() > 998) out.resize(998);  // RFC 5322 2.1.1: no line is longer
  return out;
}

PolledMessage prepare_polled(store::ReadTxn& txn, const directory::RoutingSettings& routing, const Settings& settings,
                             std::string_view message, std::int64_t now) {
  PolledMessage m;
  m.message_id = message_id(message);
  if (!settings.pattern) {
    m.refused = directory::Rejection{550, "5.1.1", "No gateway pattern configured"};
    return m;
  }
  auto candidates = polled_addresses(message, *settings.pattern);
  if (candidates.empty()) {
    m.refused = directory::Rejection{550, "5.1.1", "No stream address in Delivered-To, X-Original-To, To or Cc"};
    return m;
  }
  // The sender is a claim (no session proved it): routed as SMTP routes a stranger on port 25.
  auto header = message.substr(0, mime::header_end(message));
  std::string envelope_from;
  for (const auto& v : mime::field_values(header, "Return-Path"))
    for (const auto& a : mime::parse_address_list(v)) envelope_from = a;
  directory::RouteContext ctx{envelope_from, std::nullopt};
  for (const auto& address : candidates) {
    auto route = directory::resolve(txn, routing, address, ctx);
    if (auto* r = std::get_if<directory::Rejection>(&route)) {
      if (!m.refused) {
        m.refused = *r;
        m.address = address;
      }
      continue;
    }
    auto& d = std::get<directory::Delivery>(route);
    if (d.kind != directory::RouteKind::stream) continue;
    std::vector<const directory::Delivery*> deliveries{&d};
    // No session and no DMARC verdict of ours: nothing proves the sender (docs/streams.md).
    PostAuthor author;
    author.envelope_from = envelope_from;
    author.delimiter = routing.delimiter;
    auto prepared = prepare_stream_posts(txn, deliveries, message, settings, author, now);
    if (prepared.refused) {
      if (!m.refused) {
        m.refused = prepared.refused;
        m.address = address;
      }
      continue;
    }
    m.posts = std::move(prepared.posts);
    m.address = address;
    m.refused.reset();
    return m;
  }
  return m;
}

std::error_code commit_polled(store::WriteTxn& txn, const PolledMessage& m, const Settings& settings, std::int64_t now,
                              PollOutcome& outcome) {
  auto key = uid_key(m.source, m.uidvalidity, m.uid);
  if (auto v = txn.get(store::Table::stream_poll, key)) {
    auto r = decode(*v);
    outcome = r ? r->outcome : PollOutcome::posted;
    return {};
  }
  PollRecord rec;
  rec.time = now;
  rec.address = m.address;
  if (m.refused || m.posts.empty()) {
    rec.outcome = PollOutcome::refused;
    rec.reason = m.refused ? std::to_string(m.refused->code) + " " + m.refused->enhanced + " " + m.refused->text
                           : "no stream";
  } else {
    // A second copy of a message already posted to the stream (UIDVALIDITY changed, the
    // provider delivered it twice) is not posted again.
    std::vector<StreamPost> fresh;
    std::vector<std::string> ids;
    for (const auto& p : m.posts) {
      if (!m.message_id.empty()) {
        auto k = message_id_key(p.message.stream, m.message_id);
        if (txn.get(store::Table::stream_poll, k)) continue;
        ids.push_back(std::move(k));
      }
      fresh.push_back(p);
    }
    std::size_t written = 0;
    if (auto ec = write_stream_posts(txn, fresh, settings, &written)) return ec;
    rec.outcome = written > 0 ? PollOutcome::posted : fresh.empty() ? PollOutcome::duplicate : PollOutcome::refused;
    if (rec.outcome == PollOutcome::refused) rec.reason = "the stream was removed";
    if (written > 0)
      for (const auto& k : ids)
        if (auto ec = txn.put(store::Table::stream_poll, k, "")) return ec;
  }
  if (auto ec = txn.put(store::Table::stream_poll, key, encode(rec))) return ec;
  outcome = rec.outcome;
  return {};
}

}  // namespace mailstead::streams
