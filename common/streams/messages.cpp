// Stream messages: records, the topic index and attachment references (docs/storage.md).
#include "streams/messages.hpp"

#include "store/mailstore.hpp"
#include "store/records.hpp"
#include "store/store.hpp"
#include "streams/notifications.hpp"
#include "util/bytes.hpp"
#include "util/text.hpp"

namespace mailstead::streams {

using store::Table;

namespace {

std::string key2(std::uint64_t a, std::uint64_t b) {
  std::string k;
  put_be64(k, a);
  put_be64(k, b);
  return k;
}

std::string topic_index_key(std::uint64_t stream, std::string_view topic, std::uint64_t id) {
  std::string k;
  put_be64(k, stream);
  k += topic_key(topic);
  k.push_back('\0');
  put_be64(k, id);
  return k;
}

}  // namespace

std::string topic_key(std::string_view topic) {
  std::string k = lower(topic);
  for (auto& c : k)
    if (c == '\0') c = ' ';
  return k;
}

std::string hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

std::string attachment_url(std::string_view slug, std::string_view blob, std::string_view name) {
  std::string n;
  static const char digits[] = "0123456789ABCDEF";
  for (unsigned char c : name) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_') {
      n.push_back(static_cast<char>(c));
    } else {
      n.push_back('%');
      n.push_back(digits[c >> 4]);
      n.push_back(digits[c & 15]);
    }
  }
  return "/api/v1/streams/" + std::string(slug) + "/attachments/" + hex(blob) + "/" + n;
}

std::optional<AttachmentRef> find_attachment(store::ReadTxn& txn, std::uint64_t stream, std::string_view blob) {
  std::string prefix;
  put_be64(prefix, stream);
  auto c = txn.cursor(Table::stream_messages);
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next()) {
    auto m = StreamMessage::decode(c->value());
    if (!m) continue;
    for (const auto& a : m->attachments)
      if (a.blob == blob) return a;
  }
  return std::nullopt;
}

std::string StreamMessage::encode() const {
  Encoder e;
  e.u64(id).u64(stream).str(topic).u64(user).str(sender).str(sender_name).str(email_from).str(body);
  e.varint(attachments.size());
  for (const auto& a : attachments) e.str(a.name).str(a.content_type).str(a.blob).u64(a.size);
  e.str(via).i64(time);
  return e.take();
}

std::optional<StreamMessage> StreamMessage::decode(std::string_view v) {
  Decoder d(v);
  StreamMessage m;
  m.id = d.u64();
  m.stream = d.u64();
  m.topic = d.str();
  m.user = d.u64();
  m.sender = d.str();
  m.sender_name = d.str();
  m.email_from = d.str();
  m.body = d.str();
  auto n = d.varint();
  if (!d.ok() || n > 10000) return std::nullopt;
  for (std::uint64_t i = 0; i < n; ++i) {
    AttachmentRef a;
    a.name = d.str();
    a.content_type = d.str();
    a.blob = d.str();
    a.size = d.u64();
    m.attachments.push_back(std::move(a));
  }
  m.via = d.str();
  m.time = d.i64();
  if (!d.ok()) return std::nullopt;
  return m;
}

Result<std::uint64_t> post(store::WriteTxn& txn, StreamMessage msg, const std::vector<NewAttachment>& attachments,
                           const Settings* settings) {
  if (msg.stream == 0) return invalid("no stream");
  if (msg.topic.empty()) return invalid("a message needs a topic");
  msg.id = store::next_id(txn, "stream_message");
  msg.attachments.clear();
  for (const auto& a : attachments) {
    if (auto ec = store::put_blob(txn, a.ref.blob, a.bytes)) return internal("store: " + ec.message());
    auto ref = store::get_blob_ref(txn, a.ref.blob);
    if (!ref) return internal("store: the attachment's blob is not stored");
    ++ref->refs;
    if (auto ec = txn.put(Table::blob_refs, a.ref.blob, ref->encode())) return internal("store: " + ec.message());
    msg.attachments.push_back(a.ref);
  }
  if (auto ec = txn.put(Table::stream_messages, key2(msg.stream, msg.id), msg.encode()))
    return internal("store: " + ec.message());
  if (auto ec = txn.put(Table::stream_topics, topic_index_key(msg.stream, msg.topic, msg.id), ""))
    return internal("store: " + ec.message());
  if (settings)
    if (auto ec = queue_notifications(txn, msg, *settings)) return internal("store: " + ec.message());
  return msg.id;
}

std::vector<StreamMessage> messages(store::ReadTxn& txn, std::uint64_t stream, const Query& q) {
  std::vector<StreamMessage> out;
  std::string prefix;
  put_be64(prefix, stream);
  if (q.topic) {
    // The topic index holds ids in order under stream + topic + NUL.
    auto tprefix = prefix + topic_key(*q.topic) + std::string(1, '\0');
    auto c = txn.cursor(Table::stream_topics);
    for (bool ok = c->seek(tprefix); ok && c->key().starts_with(tprefix) && out.size() < q.limit; ok = c->next()) {
      auto id = get_be64(c->key().substr(tprefix.size()));
      if (id <= q.after) continue;
      auto v = txn.get(Table::stream_messages, key2(stream, id));
      if (!v) continue;
      if (auto m = StreamMessage::decode(*v)) out.push_back(std::move(*m));
    }
    return out;
  }
  auto c = txn.cursor(Table::stream_messages);
  for (bool ok = c->seek(key2(stream, q.after + 1)); ok && c->key().starts_with(prefix) && out.size() < q.limit;
       ok = c->next())
    if (auto m = StreamMessage::decode(c->value())) out.push_back(std::move(*m));
  return out;
}

std::vector<TopicSummary> topics(store::ReadTxn& txn, std::uint64_t stream) {
  std::vector<TopicSummary> out;
  std::string prefix;
  put_be64(prefix, stream);
  auto c = txn.cursor(Table::stream_topics);
  std::string current;
  for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next()) {
    auto rest = c->key().substr(prefix.size());
    if (rest.size() < 9) continue;
    auto key = rest.substr(0, rest.size() - 9);
    auto id = get_be64(rest.substr(rest.size() - 8));
    if (out.empty() || current != key) {
      current = std::string(key);
      TopicSummary t;
      auto v = txn.get(Table::stream_messages, key2(stream, id));
      auto m = v ? StreamMessage::decode(*v) : std::nullopt;
      t.name = m ? m->topic : current;
      out.push_back(std::move(t));
    }
    ++out.back().messages;
    out.back().last_id = id;
  }
  return out;
}

std::error_code remove_messages(store::WriteTxn& txn, std::uint64_t stream) {
  std::string prefix;
  put_be64(prefix, stream);
  std::vector<std::string> keys, topic_keys, blobs;
  {
    auto c = txn.cursor(Table::stream_messages);
    for (bool ok = c->seek(prefix); ok && c->key().starts_with(prefix); ok = c->next()) {
      keys.emplace_back(c->key());
      if (auto m = StreamMessage::decode(c->value()))
        for (const auto& a : m->attachments) blobs.push_back(a.blob);
    }
    auto t = txn.cursor(Table::stream_topics);
    for (bool ok = t->seek(prefix); ok && t->key().starts_with(prefix); ok = t->next()) topic_keys.emplace_back(t->key());
  }
  for (const auto& k : keys) txn.del(Table::stream_messages, k);
  for (const auto& k : topic_keys) txn.del(Table::stream_topics, k);
  for (const auto& b : blobs)
    if (auto ec = store::unref_blob(txn, b)) return ec;
  return {};
}

}  // namespace mailstead::streams
