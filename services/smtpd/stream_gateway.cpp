// Rate limits and stream posts for the chat gateway (docs/streams.md).
#include "stream_gateway.hpp"

#include <algorithm>

#include "directory/directory.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"

namespace mailstead::smtp {

bool StreamRateLimiter::allow(const std::string& domain, Clock::time_point now, std::chrono::milliseconds* retry_after) {
  if (limits_.empty()) return true;
  std::chrono::milliseconds longest{0};
  for (const auto& l : limits_) longest = std::max(longest, l.window);
  std::lock_guard lock(mutex_);
  auto& hits = hits_[domain];
  while (!hits.empty() && now - hits.front() >= longest) hits.pop_front();
  std::chrono::milliseconds wait{0};
  for (const auto& l : limits_) {
    // Hits inside this window: the newest ones (hits are in time order).
    std::size_t inside = 0;
    for (auto it = hits.rbegin(); it != hits.rend() && now - *it < l.window; ++it) ++inside;
    if (inside >= l.count) {
      auto oldest_inside = *(hits.end() - static_cast<std::ptrdiff_t>(l.count));
      wait = std::max(wait, std::chrono::duration_cast<std::chrono::milliseconds>(oldest_inside + l.window - now));
    }
  }
  if (wait.count() > 0) {
    if (retry_after) *retry_after = wait;
    return false;
  }
  hits.push_back(now);
  return true;
}

std::vector<StreamPost> prepare_stream_posts(store::ReadTxn& txn, const std::vector<const directory::Delivery*>& deliveries,
                                             std::string_view message, const streams::Settings& settings,
                                             const PostAuthor& author, std::int64_t now) {
  std::vector<StreamPost> posts;
  std::optional<directory::UserRecord> user;
  if (author.user) user = directory::get_user(txn, *author.user);
  for (const auto* d : deliveries) {
    bool seen = false;
    for (const auto& p : posts) seen |= p.message.stream == d->stream_id;
    if (seen) continue;
    auto c = streams::convert(message, d->stream_options, settings.convert);
    StreamPost p;
    p.slug = d->stream;
    auto& m = p.message;
    m.stream = d->stream_id;
    m.topic = c.topic;
    m.via = "email";
    m.time = now;
    m.email_from = c.from_address.empty() ? author.envelope_from : c.from_address;
    if (user) {
      // Only an authenticated session proves a local identity (docs/streams.md, "Who posts").
      m.user = user->id;
      m.sender = user->address;
      m.sender_name = user->display_name;
    } else {
      m.sender = "gateway-bot";
      m.sender_name = settings.bot_name;
    }
    std::vector<std::string> urls;
    for (const auto& f : c.attachments) {
      p.keys.push_back(store::blob_key(f.bytes));
      urls.push_back(streams::attachment_url(d->stream, p.keys.back(), f.name));
    }
    m.body = streams::compose_body(c, d->stream_options, urls);
    p.files = std::move(c.attachments);
    posts.push_back(std::move(p));
  }
  return posts;
}

std::error_code write_stream_posts(store::WriteTxn& txn, const std::vector<StreamPost>& posts) {
  for (const auto& p : posts) {
    // A stream removed since RCPT takes nothing (like a user removed since RCPT).
    auto s = directory::get_stream(txn, p.slug);
    if (!s || s->id != p.message.stream) continue;
    std::vector<streams::NewAttachment> files;
    for (std::size_t i = 0; i < p.files.size(); ++i)
      files.push_back({{p.files[i].name, p.files[i].content_type, p.keys[i], p.files[i].bytes.size()}, p.files[i].bytes});
    if (!streams::post(txn, p.message, files)) return store::Errc::aborted;
  }
  return {};
}

}  // namespace mailstead::smtp
