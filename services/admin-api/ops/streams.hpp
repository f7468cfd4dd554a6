// Chat stream administration and posting (docs/streams.md): one layer under the CLI's
// `mailstead stream …` and the API's /api/v1/streams, like admin_ops.hpp. Changes are planned
// into a Change and committed by the caller (run() for the CLI, the async commit for the API).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ops/admin_ops.hpp"
#include "streams/messages.hpp"
#include "streams/settings.hpp"
#include "streams/watch.hpp"

namespace mailstead::admin {

struct StreamView {
  directory::StreamRecord stream;
  std::vector<std::string> members;  // addresses
  std::string address;               // the email address ("" when the gateway is off)
};

// One member's notification state in a stream.
struct MemberState {
  std::string address;
  streams::NotifyMode notify = streams::NotifyMode::all;
  std::int64_t watching_until = 0;  // 0: not watching
};

struct StreamPostAuthor {
  std::optional<std::uint64_t> user;  // a local user, or the gateway bot / administrator
  std::string name;                   // shown for a non-user author
};

class StreamOps {
 public:
  StreamOps(Ops& ops, const streams::Settings& settings) : ops_(ops), settings_(settings) {}

  Change<directory::StreamRecord> plan_add(std::string_view name, std::string_view slug, std::string_view description,
                                           std::string_view email_posting);
  Change<void> plan_remove(std::string_view slug);
  // Adds (`add`) or removes the users named by address.
  Change<void> plan_members(std::string_view slug, const std::vector<std::string>& addresses, bool add);
  Change<void> plan_set_enabled(std::string_view slug, bool enabled);
  Change<void> plan_set_posting(std::string_view slug, std::string_view email_posting);
  Change<std::string> plan_rotate_token(std::string_view slug);  // the new token
  // bot | refuse: email not proved to be from a local user (docs/streams.md, "Who posts").
  Change<void> plan_set_unauthenticated(std::string_view slug, std::string_view mode);
  // all | none: a member's notification emails.
  Change<void> plan_set_notify(std::string_view slug, std::string_view member, std::string_view mode);
  // The member watches the stream for `seconds` from now (0: stops): no notifications meanwhile.
  Change<void> plan_watch(std::string_view slug, std::string_view member, std::int64_t seconds);
  Result<MemberState> member_state(std::string_view slug, std::string_view member);
  // A message typed by a person (CLI, API): topic and body as given, checked and limited.
  Change<std::uint64_t> plan_post(std::string_view slug, std::string_view topic, std::string_view body,
                                  const StreamPostAuthor& author, std::string_view via);

  std::vector<StreamView> list();
  Result<StreamView> get(std::string_view slug);
  Result<std::vector<streams::StreamMessage>> messages(std::string_view slug, const streams::Query& q);
  Result<std::vector<streams::TopicSummary>> topics(std::string_view slug);
  // An attachment's bytes when a message of the stream links it (hex blob key).
  Result<std::pair<streams::AttachmentRef, std::string>> attachment(std::string_view slug, std::string_view hex_blob);
  // May this user read and post in the stream (a member)?
  bool is_member(std::string_view slug, std::uint64_t user);

  const streams::Settings& settings() const { return settings_; }
  Ops& ops() { return ops_; }

 private:
  StreamView view(store::ReadTxn& txn, directory::StreamRecord s);
  Ops& ops_;
  const streams::Settings& settings_;
};

}  // namespace mailstead::admin
