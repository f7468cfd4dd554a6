// Stream forward targets and their queues (see stream_forwards.hpp).
#include "ops/stream_forwards.hpp"

#include <algorithm>
#include <ctime>

#include "directory/address.hpp"
#include "directory/directory.hpp"
#include "store/store.hpp"

namespace mailstead::admin {

namespace {

Error no_stream(std::string_view slug) { return Error(ErrorKind::not_found, "no stream " + std::string(slug), "stream"); }

}  // namespace

Change<streams::ForwardTarget> ForwardOps::plan_add(std::string_view slug, streams::ForwardTarget t) {
  if (auto r = streams::check_target(t); !r) return r.error();
  t.created = static_cast<std::int64_t>(std::time(nullptr));
  return Change<streams::ForwardTarget>(
      [s = directory::lowercase_ascii(slug), t](store::WriteTxn& txn) -> Result<streams::ForwardTarget> {
        auto rec = directory::get_stream(txn, s);
        if (!rec) return no_stream(s);
        auto target = t;
        target.stream = rec->id;
        return streams::add_forward(txn, target);
      });
}

Change<void> ForwardOps::plan_remove(std::string_view slug, std::uint64_t target) {
  return Change<void>([s = directory::lowercase_ascii(slug), target](store::WriteTxn& txn) -> Result<void> {
    auto rec = directory::get_stream(txn, s);
    if (!rec) return no_stream(s);
    return streams::remove_forward(txn, rec->id, target);
  });
}

Change<std::uint64_t> ForwardOps::plan_retry(std::string_view slug, std::uint64_t target) {
  return Change<std::uint64_t>([s = directory::lowercase_ascii(slug), target](store::WriteTxn& txn) -> Result<std::uint64_t> {
    auto rec = directory::get_stream(txn, s);
    if (!rec) return no_stream(s);
    std::vector<streams::ForwardTarget> targets;
    if (target == 0) {
      targets = streams::forwards_of(txn, rec->id);
    } else if (auto t = streams::get_forward(txn, rec->id, target)) {
      targets.push_back(std::move(*t));
    } else {
      return Error(ErrorKind::not_found, "the stream has no forward " + std::to_string(target), "forward");
    }
    std::uint64_t n = 0;
    auto now = static_cast<std::int64_t>(std::time(nullptr));
    for (const auto& t : targets) {
      for (auto job : streams::jobs_of(txn, t.id, streams::JobState::failed, SIZE_MAX)) {
        streams::delete_job(txn, job);
        job.state = streams::JobState::pending;
        job.created = now;  // a new max_age from now
        job.next_attempt = now * 1000;
        job.attempts = 0;
        job.failed_at = 0;
        if (auto ec = streams::put_job(txn, job)) return internal("store: " + ec.message());
        ++n;
      }
    }
    return n;
  });
}

Result<std::vector<ForwardView>> ForwardOps::list(std::string_view slug, std::size_t failed_limit) {
  auto txn = ops_.store().read();
  auto rec = directory::get_stream(*txn, directory::lowercase_ascii(slug));
  if (!rec) return no_stream(slug);
  std::vector<ForwardView> out;
  for (auto& t : streams::forwards_of(*txn, rec->id)) {
    ForwardView v;
    v.counts = streams::count_jobs(*txn, t.id);
    v.next = streams::head_job(*txn, t.id);
    v.failed = streams::jobs_of(*txn, t.id, streams::JobState::failed, SIZE_MAX);
    std::sort(v.failed.begin(), v.failed.end(), [](const auto& a, const auto& b) { return a.message > b.message; });
    if (v.failed.size() > failed_limit) v.failed.resize(failed_limit);
    v.target = std::move(t);
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace mailstead::admin
