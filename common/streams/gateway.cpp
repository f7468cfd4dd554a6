// The chat gateway's posting step (see gateway.hpp).
#include "streams/gateway.hpp"

#include "directory/directory.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"

namespace mailstead::streams {

std::vector<StreamPost> prepare_stream_posts(store::ReadTxn& txn, const std::vector<const directory::Delivery*>& deliveries,
                                             std::string_view message, const Settings& settings,
                                             const PostAuthor& author, std::int64_t now) {
  std::vector<StreamPost> posts;
  std::optional<directory::UserRecord> user;
  if (author.user) user = directory::get_user(txn, *author.user);
  for (const auto* d : deliveries) {
    bool seen = false;
    for (const auto& p : posts) seen |= p.message.stream == d->stream_id;
    if (seen) continue;
    auto c = convert(message, d->stream_options, settings.convert);
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
      urls.push_back(attachment_url(d->stream, p.keys.back(), f.name));
    }
    m.body = compose_body(c, d->stream_options, urls);
    p.files = std::move(c.attachments);
    posts.push_back(std::move(p));
  }
  return posts;
}

std::error_code write_stream_posts(store::WriteTxn& txn, const std::vector<StreamPost>& posts, std::size_t* written) {
  if (written) *written = 0;
  for (const auto& p : posts) {
    // A stream removed since RCPT takes nothing (like a user removed since RCPT).
    auto s = directory::get_stream(txn, p.slug);
    if (!s || s->id != p.message.stream) continue;
    std::vector<NewAttachment> files;
    for (std::size_t i = 0; i < p.files.size(); ++i)
      files.push_back({{p.files[i].name, p.files[i].content_type, p.keys[i], p.files[i].bytes.size()}, p.files[i].bytes});
    if (!post(txn, p.message, files)) return store::Errc::aborted;
    if (written) ++*written;
  }
  return {};
}

}  // namespace mailstead::streams
