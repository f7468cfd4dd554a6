// The JSON shape of a stream's forward target with its queue state, shared by the CLI's
// `stream forward … --json` and GET /api/v1/streams/{slug}/forwards (schema Forward in the
// OpenAPI document). The secret is never in it: only a hint of the API key.
#pragma once

#include <boost/json.hpp>

#include "ops/stream_forwards.hpp"

namespace mailstead::admin {

inline boost::json::object forward_job_json(const streams::ForwardJob& j) {
  return boost::json::object{{"message_id", j.message},       {"attempts", j.attempts},
                             {"created", j.created},          {"next_attempt", j.next_attempt / 1000},
                             {"last_error", j.last_error},    {"failed_at", j.failed_at},
                             {"sending", !j.lease_owner.empty()}};
}

inline boost::json::object forward_json(const ForwardView& v) {
  const auto& t = v.target;
  boost::json::object o{{"id", t.id},
                        {"kind", streams::forward_kind_name(t.kind)},
                        {"url", t.shown_url()},
                        {"allow_http", t.allow_http},
                        {"created", t.created},
                        {"pending", v.counts.pending},
                        {"failed", v.counts.failed}};
  if (t.kind == streams::ForwardKind::zulip) {
    o["bot_email"] = t.bot_email;
    o["api_key"] = t.secret_hint();
    o["stream"] = t.to_stream;
  }
  o["next"] = v.next ? boost::json::value(forward_job_json(*v.next)) : boost::json::value(nullptr);
  boost::json::array failed;
  for (const auto& j : v.failed) failed.push_back(forward_job_json(j));
  o["failures"] = std::move(failed);
  return o;
}

}  // namespace mailstead::admin
