// Rate limits and stream posts for the chat gateway (docs/streams.md).
#include "stream_gateway.hpp"

#include <algorithm>

#include "directory/directory.hpp"
#include "mime/header.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"
#include "streams/notifications.hpp"
#include "streams/reply_route.hpp"
#include "util/text.hpp"

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

namespace {

std::string first_field(std::string_view message, std::string_view name) {
  auto values = mime::field_values(message.substr(0, mime::header_end(message)), name);
  return values.empty() ? "" : std::string(trim(values.front()));
}

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? "" : lower(address.substr(at + 1));
}

}  // namespace

PreparedPosts prepare_stream_posts(store::ReadTxn& txn, const std::vector<const directory::Delivery*>& deliveries,
                                   std::string_view message, const streams::Settings& settings, const PostAuthor& author,
                                   std::int64_t now) {
  PreparedPosts out;
  auto refuse = [&](std::string enhanced, std::string text) {
    out.refused = directory::Rejection{550, std::move(enhanced), std::move(text)};
    out.posts.clear();
    return std::move(out);
  };
  // Our own notification coming back (a member's redirect or forward to a gateway address).
  if (!settings.notify_from.empty() && iequals(first_field(message, "X-Loop"), settings.notify_from))
    return refuse("5.7.1", "Mail loop: this message came from the chat gateway itself");
  for (const auto* d : deliveries) {
    bool seen = false;
    for (const auto& p : out.posts) seen |= p.message.stream == d->stream_id && d->reply_token.empty();
    if (seen) continue;
    auto c = streams::convert(message, d->stream_options, settings.convert);
    // Who the message is proved to be from: the authenticated session's user; else the
    // local user whose address is the From, when DMARC passed for the From's domain.
    std::optional<std::uint64_t> proved = author.user;
    if (!proved && !author.dmarc_pass_domain.empty() && !c.from_address.empty() &&
        domain_of(c.from_address) == lower(author.dmarc_pass_domain))
      proved = streams::user_of_address(txn, c.from_address, author.delimiter);
    std::optional<directory::UserRecord> user;
    if (proved) user = directory::get_user(txn, *proved);
    if (user && !user->enabled) user.reset();
    auto stream = directory::get_stream(txn, d->stream);
    if (!stream || stream->id != d->stream_id) continue;  // removed since RCPT: takes nothing
    std::string topic = c.topic;
    if (!d->reply_token.empty()) {
      // A reply address: its member only, proved; never automatic mail (RFC 3834).
      auto auto_submitted = lower(first_field(message, "Auto-Submitted"));
      if (!auto_submitted.empty() && !auto_submitted.starts_with("no"))
        return refuse("5.7.1", "Automatic mail (Auto-Submitted) is not posted to a stream");
      auto binding = streams::find_reply(txn, d->reply_token, now);
      if (!binding) return refuse("5.1.1", "This reply address has expired");
      if (!user || user->id != d->stream_user)
        return refuse("5.7.1", "This reply address posts only for the member it was sent to, and the message does not "
                               "prove to be from them (authenticated submission, or a DMARC pass of their From)");
      topic = binding->topic;
    } else if (d->stream_user && (!user || user->id != d->stream_user)) {
      // A `local`/`members` stream accepted MAIL FROM's claim at RCPT; it needed proving.
      return refuse("5.7.1", "This stream takes email only from its local users, and the message does not prove to be "
                             "from one (authenticated submission, or a DMARC pass of their From)");
    } else if (!user && stream->unauthenticated == directory::Unauthenticated::refuse) {
      return refuse("5.7.1", "This stream takes no unauthenticated email: send it from your account (authenticated "
                             "submission) or from a domain whose DMARC passes");
    }
    StreamPost p;
    p.slug = d->stream;
    auto& m = p.message;
    m.stream = d->stream_id;
    m.topic = topic;
    m.via = "email";
    m.time = now;
    m.email_from = c.from_address.empty() ? author.envelope_from : c.from_address;
    if (user) {
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
    out.posts.push_back(std::move(p));
  }
  return out;
}

std::error_code write_stream_posts(store::WriteTxn& txn, const std::vector<StreamPost>& posts,
                                   const streams::Settings& settings) {
  for (const auto& p : posts) {
    // A stream removed since RCPT takes nothing (like a user removed since RCPT).
    auto s = directory::get_stream(txn, p.slug);
    if (!s || s->id != p.message.stream) continue;
    std::vector<streams::NewAttachment> files;
    for (std::size_t i = 0; i < p.files.size(); ++i)
      files.push_back({{p.files[i].name, p.files[i].content_type, p.keys[i], p.files[i].bytes.size()}, p.files[i].bytes});
    if (!streams::post(txn, p.message, files, &settings)) return store::Errc::aborted;
  }
  return {};
}

}  // namespace mailstead::smtp
