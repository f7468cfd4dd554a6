// The spam-learning worker (see spam_learner.hpp).
#include "spam_learner.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <ctime>

#include "directory/directory.hpp"
#include "log/log.hpp"
#include "spam/client.hpp"
#include "spam/protocol.hpp"
#include "spam/training.hpp"
#include "store/async.hpp"
#include "store/mailstore.hpp"
#include "store/store.hpp"

namespace mailstead::outbound {

namespace asio = boost::asio;

namespace {
std::int64_t now_s() { return static_cast<std::int64_t>(std::time(nullptr)); }
std::int64_t secs(std::chrono::milliseconds ms) {
  return std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(ms).count());
}
}  // namespace

SpamLearner::SpamLearner(asio::io_context& io, store::Store& store, const config::CoreSettings& core, std::string owner)
    : io_(io), store_(store), core_(core), owner_(std::move(owner)), wake_(io) {}

void SpamLearner::stop() {
  stopping_ = true;
  wake_.cancel();
}

asio::awaitable<bool> SpamLearner::teach(std::uint64_t user, const std::string& blob, bool spam) {
  const auto& sp = core_.spam;
  std::string message, address;
  {
    auto txn = store_.read();
    auto bytes = store::get_blob(*txn, blob);
    if (!bytes) co_return true;  // expunged since: nothing left to teach (the record goes)
    message = std::string(*bytes);
    if (sp.per_user)
      if (auto u = directory::get_user(*txn, user)) address = u->address;
  }
  if (message.size() > sp.max_size) {
    log::info("spam.learn.skipped", {{"user", user}, {"size", message.size()}, {"max_size", sp.max_size}});
    co_return true;  // as it was never scanned, it is not taught either
  }
  spam::Request req;
  req.verb = spam::Verb::tell;
  req.message_class = spam ? "spam" : "ham";
  req.set_local = true;
  req.user = address;
  std::string request = spam::build_request(req, message);
  std::string to = sp.address;
  auto timeout = sp.learn_timeout;
  auto ex = co_await spam::exchange(to, request, timeout);
  if (ex.reply && ex.reply->code == 0) {
    // DidSet: local when spamd learnt it now; absent when it knew the message as this class.
    log::info("spam.learn.taught", {{"user", user}, {"class", req.message_class},
                                    {"learnt", !ex.reply->did_set.empty()}});
    co_return true;
  }
  log::warn("spam.learn.failed", {{"user", user}, {"class", req.message_class},
                                  {"error", ex.reply ? "spamd error " + std::to_string(ex.reply->code) + " " + ex.reply->message
                                                     : ex.error}});
  co_return false;
}

asio::awaitable<void> SpamLearner::run() {
  const auto& sp = core_.spam;
  log::info("spam.learn.started", {{"owner", owner_}, {"spamd", sp.address}});
  while (!stopping_) {
    std::vector<spam::TrainingRecord> claimed;
    auto now = now_s();
    auto lease = secs(sp.learn_lease);
    std::size_t batch = sp.learn_batch;
    auto ec = co_await store::async_commit(
        store_,
        [&](store::WriteTxn& txn) {
          claimed = spam::claim_training(txn, now, owner_, lease, batch);
          return std::error_code{};
        },
        asio::use_awaitable);
    if (ec) log::error("spam.learn.claim_failed", {{"error", ec.message()}});
    for (const auto& r : claimed) {
      if (stopping_) break;
      bool done = co_await teach(r.user, r.blob, r.spam);
      // Back-off: 5 s, 10 s, 20 s … up to learn_retry_max.
      auto wait = std::min<std::int64_t>(secs(sp.learn_retry_max), std::int64_t{5} << std::min<std::uint32_t>(r.attempts, 20));
      auto next = now_s() + wait;
      auto id = r.id;
      auto cec = co_await store::async_commit(
          store_,
          [&](store::WriteTxn& txn) {
            return done ? spam::finish_training(txn, id, owner_) : spam::retry_training(txn, id, owner_, next);
          },
          asio::use_awaitable);
      if (cec) log::error("spam.learn.record_failed", {{"id", id}, {"error", cec.message()}});
    }
    if (claimed.empty()) {
      // New records arrive by IMAP moves; a second's delay is no cost to anyone.
      wake_.expires_after(std::chrono::seconds(1));
      co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
  log::info("spam.learn.stopped", {{"owner", owner_}});
}

}  // namespace mailstead::outbound
