// Forwarding a stream's messages to another chat system (docs/streams.md, "Forwarding"):
// the targets of a stream and the state of their queues, for `mailstead stream forward …`
// and /api/v1/streams/{slug}/forwards. Secrets go in and never come out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ops/admin_ops.hpp"
#include "streams/forwards.hpp"

namespace mailstead::admin {

struct ForwardView {
  streams::ForwardTarget target;  // print with shown_url() and secret_hint(), never .secret
  streams::JobCounts counts;
  std::optional<streams::ForwardJob> next;   // the oldest pending job
  std::vector<streams::ForwardJob> failed;   // the most recent failures, newest first
};

class ForwardOps {
 public:
  explicit ForwardOps(Ops& ops) : ops_(ops) {}
  // `t.stream` is filled from the slug; the rest as given (checked by check_target).
  Change<streams::ForwardTarget> plan_add(std::string_view slug, streams::ForwardTarget t);
  Change<void> plan_remove(std::string_view slug, std::uint64_t target);
  // Failed jobs of a target (or of every target of the stream: target 0) pending again, now.
  Change<std::uint64_t> plan_retry(std::string_view slug, std::uint64_t target);
  Result<std::vector<ForwardView>> list(std::string_view slug, std::size_t failed_limit = 20);

 private:
  Ops& ops_;
};

}  // namespace mailstead::admin
