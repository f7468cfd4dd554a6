// Chat stream operations (docs/streams.md) for the CLI and the API.
#include "ops/streams.hpp"

#include <algorithm>
#include <ctime>

#include "directory/address.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"
#include "streams/convert.hpp"
#include "streams/watch.hpp"
#include "util/text.hpp"

namespace mailstead::admin {

namespace {

Result<void> tag(Result<void> r, const char* field) {
  if (!r) return about(r.error(), field);
  return r;
}

Error no_stream(std::string_view slug) { return Error(ErrorKind::not_found, "no stream " + std::string(slug), "stream"); }

std::optional<directory::EmailPosting> posting_of(std::string_view text) {
  if (text.empty()) return directory::EmailPosting::anyone;
  return directory::parse_email_posting(text);
}

Error bad_posting(std::string_view text) {
  return Error(ErrorKind::invalid, "email posting must be anyone, local, members or nobody, not '" + std::string(text) + "'",
               "email_posting");
}

// Changes one stream record inside the batch.
template <class Fn>
Change<void> edit(std::string_view slug, Fn fn) {
  return Change<void>([s = directory::lowercase_ascii(slug), fn](store::WriteTxn& t) -> Result<void> {
    auto rec = directory::get_stream(t, s);
    if (!rec) return no_stream(s);
    if (auto r = fn(t, *rec); !r) return r;
    return tag(directory::put_stream(t, *rec), "stream");
  });
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace

Change<directory::StreamRecord> StreamOps::plan_add(std::string_view name, std::string_view slug,
                                                    std::string_view description, std::string_view email_posting) {
  auto p = posting_of(email_posting);
  if (!p) return bad_posting(email_posting);
  directory::NewStream n{std::string(slug), std::string(name), std::string(description), directory::new_stream_token(), *p};
  if (n.name.empty()) return Error(ErrorKind::invalid, "a stream needs a name", "name");
  if (auto s = directory::stream_slug(n.slug.empty() ? n.name : n.slug); !s) return about(s.error(), "slug");
  return Change<directory::StreamRecord>([n](store::WriteTxn& t) -> Result<directory::StreamRecord> {
    auto r = directory::add_stream(t, n);
    if (!r) return about(r.error(), "stream");
    return r;
  });
}

Change<void> StreamOps::plan_remove(std::string_view slug) {
  return Change<void>([s = directory::lowercase_ascii(slug)](store::WriteTxn& t) -> Result<void> {
    auto rec = directory::get_stream(t, s);
    if (!rec) return no_stream(s);
    if (auto ec = streams::remove_messages(t, rec->id)) return internal("store: " + ec.message());
    if (auto ec = streams::forget_stream(t, rec->id)) return internal("store: " + ec.message());
    return tag(directory::remove_stream(t, s), "stream");
  });
}

Change<void> StreamOps::plan_members(std::string_view slug, const std::vector<std::string>& addresses, bool add) {
  if (addresses.empty()) return Error(ErrorKind::invalid, "name at least one member", "members");
  return edit(slug, [addresses, add](store::WriteTxn& t, directory::StreamRecord& rec) -> Result<void> {
    for (const auto& a : addresses) {
      auto u = directory::find_user(t, directory::lowercase_ascii(a));
      if (!u) return Error(ErrorKind::not_found, "no user " + a, "members");
      auto it = std::find(rec.members.begin(), rec.members.end(), u->id);
      if (add && it == rec.members.end()) rec.members.push_back(u->id);
      if (!add && it != rec.members.end()) {
        rec.members.erase(it);
        // A member who leaves loses its reply addresses (they answer 550 5.1.1).
        if (auto ec = streams::forget_member(t, rec.id, u->id)) return internal("store: " + ec.message());
      }
    }
    return {};
  });
}

Change<void> StreamOps::plan_set_enabled(std::string_view slug, bool enabled) {
  return edit(slug, [enabled](store::WriteTxn&, directory::StreamRecord& rec) -> Result<void> {
    rec.enabled = enabled;
    return {};
  });
}

Change<void> StreamOps::plan_set_posting(std::string_view slug, std::string_view email_posting) {
  auto p = directory::parse_email_posting(email_posting);
  if (!p) return bad_posting(email_posting);
  return edit(slug, [p = *p](store::WriteTxn&, directory::StreamRecord& rec) -> Result<void> {
    rec.email_posting = p;
    return {};
  });
}

Change<void> StreamOps::plan_set_unauthenticated(std::string_view slug, std::string_view mode) {
  auto u = directory::parse_unauthenticated(mode);
  if (!u) return Error(ErrorKind::invalid, "unauthenticated must be bot or refuse, not '" + std::string(mode) + "'",
                       "unauthenticated");
  return edit(slug, [u = *u](store::WriteTxn&, directory::StreamRecord& rec) -> Result<void> {
    rec.unauthenticated = u;
    return {};
  });
}

namespace {
// The member `address` of the stream inside the batch: (stream record, user id).
Result<std::pair<directory::StreamRecord, std::uint64_t>> member_of(store::WriteTxn& t, const std::string& slug,
                                                                     const std::string& address) {
  auto rec = directory::get_stream(t, slug);
  if (!rec) return no_stream(slug);
  auto u = directory::find_user(t, directory::lowercase_ascii(address));
  if (!u) return Error(ErrorKind::not_found, "no user " + address, "member");
  if (std::find(rec->members.begin(), rec->members.end(), u->id) == rec->members.end())
    return Error(ErrorKind::invalid, address + " is not a member of " + slug, "member");
  return std::pair{std::move(*rec), u->id};
}
}  // namespace

Change<void> StreamOps::plan_set_notify(std::string_view slug, std::string_view member, std::string_view mode) {
  auto m = streams::parse_notify_mode(mode);
  if (!m) return Error(ErrorKind::invalid, "notifications must be all or none, not '" + std::string(mode) + "'", "notify");
  return Change<void>([s = directory::lowercase_ascii(slug), who = std::string(member), m = *m](store::WriteTxn& t) -> Result<void> {
    auto r = member_of(t, s, who);
    if (!r) return r.error();
    if (auto ec = streams::set_notify_mode(t, r->first.id, r->second, m)) return internal("store: " + ec.message());
    return {};
  });
}

Change<void> StreamOps::plan_watch(std::string_view slug, std::string_view member, std::int64_t seconds) {
  if (seconds < 0 || seconds > 86400) return Error(ErrorKind::invalid, "watch for 0 to 86400 seconds", "seconds");
  auto until = now() + seconds;
  return Change<void>([s = directory::lowercase_ascii(slug), who = std::string(member), until,
                       seconds](store::WriteTxn& t) -> Result<void> {
    auto r = member_of(t, s, who);
    if (!r) return r.error();
    auto ec = seconds == 0 ? streams::stop_watching(t, r->first.id, r->second)
                           : streams::set_watching(t, r->first.id, r->second, until);
    if (ec) return internal("store: " + ec.message());
    return {};
  });
}

Result<MemberState> StreamOps::member_state(std::string_view slug, std::string_view member) {
  auto txn = ops_.store().read();
  auto s = directory::get_stream(*txn, directory::lowercase_ascii(slug));
  if (!s) return no_stream(slug);
  auto u = directory::find_user(*txn, directory::lowercase_ascii(member));
  if (!u) return Error(ErrorKind::not_found, "no user " + std::string(member), "member");
  if (std::find(s->members.begin(), s->members.end(), u->id) == s->members.end())
    return Error(ErrorKind::invalid, std::string(member) + " is not a member of " + s->slug, "member");
  MemberState st;
  st.address = u->address;
  st.notify = streams::notify_mode(*txn, s->id, u->id);
  st.watching_until = streams::watching_until(*txn, s->id, u->id, now());
  return st;
}

Change<std::string> StreamOps::plan_rotate_token(std::string_view slug) {
  auto token = directory::new_stream_token();
  return Change<std::string>([s = directory::lowercase_ascii(slug), token](store::WriteTxn& t) -> Result<std::string> {
    auto rec = directory::get_stream(t, s);
    if (!rec) return no_stream(s);
    rec->token = token;
    if (auto r = directory::put_stream(t, *rec); !r) return r.error();
    return token;
  });
}

Change<std::uint64_t> StreamOps::plan_post(std::string_view slug, std::string_view topic, std::string_view body,
                                           const StreamPostAuthor& author, std::string_view via) {
  auto t = std::string(trim(topic));
  if (t.empty()) return Error(ErrorKind::invalid, "a message needs a topic", "topic");
  if (t.size() > settings_.convert.max_topic_bytes)
    return Error(ErrorKind::invalid, "a topic is at most " + std::to_string(settings_.convert.max_topic_bytes) + " bytes",
                 "topic");
  for (unsigned char c : t)
    if (c < 0x20 || c == 0x7f) return Error(ErrorKind::invalid, "a topic may not hold control characters", "topic");
  auto b = std::string(trim(body));
  if (b.empty()) return Error(ErrorKind::invalid, "a message needs a body", "content");
  if (b.size() > settings_.convert.max_body_bytes)
    return Error(ErrorKind::invalid, "a message is at most " + std::to_string(settings_.convert.max_body_bytes) + " bytes",
                 "content");
  if (b.find('\0') != std::string::npos) return Error(ErrorKind::invalid, "a message may not hold NUL", "content");
  streams::StreamMessage m;
  m.topic = t;
  m.body = b;
  m.via = std::string(via);
  m.time = now();
  auto name = author.name;
  return Change<std::uint64_t>([s = directory::lowercase_ascii(slug), m, user = author.user, name,
                                settings = &settings_](store::WriteTxn& txn) mutable -> Result<std::uint64_t> {
    auto rec = directory::get_stream(txn, s);
    if (!rec) return no_stream(s);
    m.stream = rec->id;
    if (user) {
      auto u = directory::get_user(txn, *user);
      if (!u) return Error(ErrorKind::not_found, "no such user", "user");
      m.user = u->id;
      m.sender = u->address;
      m.sender_name = u->display_name;
    } else {
      m.sender = "admin";
      m.sender_name = name;
    }
    return streams::post(txn, m, {}, settings);
  });
}

StreamView StreamOps::view(store::ReadTxn& txn, directory::StreamRecord s) {
  StreamView v;
  for (auto id : s.members)
    if (auto u = directory::get_user(txn, id)) v.members.push_back(u->address);
  if (settings_.pattern) v.address = streams::format_address(*settings_.pattern, s.slug, s.token);
  v.stream = std::move(s);
  return v;
}

std::vector<StreamView> StreamOps::list() {
  auto txn = ops_.store().read();
  std::vector<StreamView> out;
  for (auto& s : directory::list_streams(*txn)) out.push_back(view(*txn, std::move(s)));
  return out;
}

Result<StreamView> StreamOps::get(std::string_view slug) {
  auto txn = ops_.store().read();
  auto s = directory::get_stream(*txn, directory::lowercase_ascii(slug));
  if (!s) return no_stream(slug);
  return view(*txn, std::move(*s));
}

Result<std::vector<streams::StreamMessage>> StreamOps::messages(std::string_view slug, const streams::Query& q) {
  auto txn = ops_.store().read();
  auto s = directory::get_stream(*txn, directory::lowercase_ascii(slug));
  if (!s) return no_stream(slug);
  return streams::messages(*txn, s->id, q);
}

Result<std::vector<streams::TopicSummary>> StreamOps::topics(std::string_view slug) {
  auto txn = ops_.store().read();
  auto s = directory::get_stream(*txn, directory::lowercase_ascii(slug));
  if (!s) return no_stream(slug);
  return streams::topics(*txn, s->id);
}

Result<std::pair<streams::AttachmentRef, std::string>> StreamOps::attachment(std::string_view slug,
                                                                               std::string_view hex_blob) {
  std::string key;
  if (hex_blob.size() != 64) return Error(ErrorKind::not_found, "no such attachment", "attachment");
  for (std::size_t i = 0; i < hex_blob.size(); i += 2) {
    auto v = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    int hi = v(hex_blob[i]), lo = v(hex_blob[i + 1]);
    if (hi < 0 || lo < 0) return Error(ErrorKind::not_found, "no such attachment", "attachment");
    key.push_back(static_cast<char>(hi * 16 + lo));
  }
  auto txn = ops_.store().read();
  auto s = directory::get_stream(*txn, directory::lowercase_ascii(slug));
  if (!s) return no_stream(slug);
  auto ref = streams::find_attachment(*txn, s->id, key);
  auto bytes = ref ? store::get_blob(*txn, key) : std::nullopt;
  if (!bytes) return Error(ErrorKind::not_found, "no such attachment", "attachment");
  return std::pair{*ref, std::string(*bytes)};
}

bool StreamOps::is_member(std::string_view slug, std::uint64_t user) {
  auto txn = ops_.store().read();
  auto s = directory::get_stream(*txn, directory::lowercase_ascii(slug));
  return s && std::find(s->members.begin(), s->members.end(), user) != s->members.end();
}

}  // namespace mailstead::admin
