// Encodings of the mailbox table values (docs/storage.md).
#include "store/records.hpp"

#include "util/bytes.hpp"

namespace mailstead::store {

std::uint32_t system_flag(std::string_view name) {
  struct Entry {
    const char* name;
    std::uint32_t bit;
  };
  static const Entry table[] = {{"\\seen", flag_seen}, {"\\answered", flag_answered}, {"\\flagged", flag_flagged},
                                {"\\deleted", flag_deleted}, {"\\draft", flag_draft}};
  for (const auto& e : table)
    if (name.size() == std::char_traits<char>::length(e.name)) {
      bool same = true;
      for (std::size_t i = 0; i < name.size() && same; ++i)
        same = (name[i] >= 'A' && name[i] <= 'Z' ? static_cast<char>(name[i] - 'A' + 'a') : name[i]) == e.name[i];
      if (same) return e.bit;
    }
  return 0;
}


namespace {
void encode_mailbox_common(Encoder& e, const MailboxRecord& m) {
  e.u64(m.id).u64(m.owner).str(m.name).u32(m.uidvalidity).u32(m.uidnext).u64(m.highestmodseq)
      .str(m.special_use).u8(m.subscribed ? 1 : 0);
}
void decode_mailbox_common(Decoder& d, MailboxRecord& m) {
  m.id = d.u64();
  m.owner = d.u64();
  m.name = d.str();
  m.uidvalidity = d.u32();
  m.uidnext = d.u32();
  m.highestmodseq = d.u64();
  m.special_use = d.str();
  m.subscribed = d.u8() != 0;
}
}  // namespace

std::string MailboxRecord::encode() const {
  Encoder e;
  encode_mailbox_common(e, *this);
  e.u32(messages).u32(unseen).u64(bytes);
  return e.take();
}

std::string MailboxRecord::encode_v1() const {
  Encoder e;
  encode_mailbox_common(e, *this);
  return e.take();
}

std::optional<MailboxRecord> MailboxRecord::decode(std::string_view v) {
  Decoder d(v);
  MailboxRecord m;
  decode_mailbox_common(d, m);
  m.messages = d.u32();
  m.unseen = d.u32();
  m.bytes = d.u64();
  if (!d.ok() || !d.at_end()) return std::nullopt;
  return m;
}

std::optional<MailboxRecord> MailboxRecord::decode_v1(std::string_view v) {
  Decoder d(v);
  MailboxRecord m;
  decode_mailbox_common(d, m);
  if (!d.ok() || !d.at_end()) return std::nullopt;
  return m;
}

std::string MessageRecord::encode() const {
  Encoder e;
  e.u64(modseq).u32(flags).strings(keywords).i64(internaldate).u64(size).str(blob).str(prefix);
  return e.take();
}

std::optional<MessageRecord> MessageRecord::decode(std::string_view v) {
  Decoder d(v);
  MessageRecord m;
  m.modseq = d.u64();
  m.flags = d.u32();
  m.keywords = d.strings();
  m.internaldate = d.i64();
  m.size = d.u64();
  m.blob = d.str();
  m.prefix = d.str();
  if (!d.ok() || !d.at_end()) return std::nullopt;
  return m;
}

std::string BlobRef::encode() const {
  Encoder e;
  e.u32(refs).u64(size);
  return e.take();
}

std::optional<BlobRef> BlobRef::decode(std::string_view v) {
  Decoder d(v);
  BlobRef b;
  b.refs = d.u32();
  b.size = d.u64();
  if (!d.ok() || !d.at_end()) return std::nullopt;
  return b;
}

const char* state_name(RecipientState s) {
  switch (s) {
    case RecipientState::pending: return "pending";
    case RecipientState::deferred: return "deferred";
    case RecipientState::delivered: return "delivered";
    case RecipientState::failed: return "failed";
  }
  return "?";
}

namespace {
// Fields every view derives from the recipients' states.
void derive_queue_summary(QueueRecord& q) {
  q.recipients.clear();
  q.next_attempt = 0;
  q.last_error.clear();
  for (const auto& r : q.states) {
    q.recipients.push_back(r.address);
    if (r.final()) continue;
    if (q.next_attempt == 0 || r.next_attempt < q.next_attempt) q.next_attempt = r.next_attempt;
    if (q.last_error.empty()) q.last_error = r.last_reply;
  }
}
}  // namespace

std::string QueueRecord::encode() const {
  Encoder e;
  e.u64(id).str(sender).str(blob).str(prefix).u64(authenticated_user).i64(created).u32(attempts).i64(due)
      .str(lease_owner).i64(lease_until).u8(flags);
  e.u32(static_cast<std::uint32_t>(states.size()));
  for (const auto& r : states)
    e.str(r.address).u8(static_cast<std::uint8_t>(r.state)).u32(r.attempts).i64(r.next_attempt).i64(r.last_attempt)
        .str(r.last_reply).str(r.remote);
  return e.take();
}

std::optional<QueueRecord> QueueRecord::decode(std::string_view v) {
  Decoder d(v);
  QueueRecord q;
  q.id = d.u64();
  q.sender = d.str();
  q.blob = d.str();
  q.prefix = d.str();
  q.authenticated_user = d.u64();
  q.created = d.i64();
  q.attempts = d.u32();
  q.due = d.i64();
  q.lease_owner = d.str();
  q.lease_until = d.i64();
  q.flags = d.u8();
  auto n = d.u32();
  for (std::uint32_t i = 0; i < n && d.ok(); ++i) {
    QueueRecipient r;
    r.address = d.str();
    auto st = d.u8();
    if (st > 3) return std::nullopt;
    r.state = static_cast<RecipientState>(st);
    r.attempts = d.u32();
    r.next_attempt = d.i64();
    r.last_attempt = d.i64();
    r.last_reply = d.str();
    r.remote = d.str();
    q.states.push_back(std::move(r));
  }
  if (!d.ok() || !d.at_end()) return std::nullopt;
  derive_queue_summary(q);
  return q;
}

std::string QueueRecord::encode_v2() const {
  Encoder e;
  e.u64(id).str(sender).strings(recipients).str(blob).str(prefix).u64(authenticated_user)
      .i64(created).i64(next_attempt).u32(attempts).str(last_error);
  return e.take();
}

std::optional<QueueRecord> QueueRecord::decode_v2(std::string_view v) {
  Decoder d(v);
  QueueRecord q;
  q.id = d.u64();
  q.sender = d.str();
  q.recipients = d.strings();
  q.blob = d.str();
  q.prefix = d.str();
  q.authenticated_user = d.u64();
  q.created = d.i64();
  q.next_attempt = d.i64();
  q.attempts = d.u32();
  q.last_error = d.str();
  if (!d.ok() || !d.at_end()) return std::nullopt;
  for (const auto& a : q.recipients) {
    QueueRecipient r;
    r.address = a;
    r.next_attempt = q.next_attempt;
    r.last_reply = q.last_error;
    q.states.push_back(std::move(r));
  }
  return q;
}

}  // namespace mailstead::store
