// Spam scanning at the end of DATA (docs/spam.md): SpamAssassin's spamd scores the message
// (SYMBOLS); at reject_threshold the message is refused, at junk_threshold its implicit keep
// goes to Junk (Transaction::junk), and X-Spam-* fields say what was found. Any fault of
// spamd (down, slow, a bad reply) delivers the message unscanned, saying so in the header.
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>

#include "log/log.hpp"
#include "session/session.hpp"
#include "spam/client.hpp"
#include "spam/protocol.hpp"
#include "spam/verdict.hpp"

namespace mailstead::smtp {

asio::awaitable<std::optional<std::string>> Session::check_spam(std::string_view message, std::string& prefix,
                                                                std::string& rewritten) {
  const auto& sp = shared_.core.spam;
  if (!sp.enabled || (user_id_ && !sp.scan_submission)) co_return std::nullopt;
  // The sender's X-Spam-* fields go first: only ours may say what the scan found.
  auto stripped = spam::strip_spam_fields(message);
  std::string_view body = stripped ? std::string_view(*stripped) : message;
  spam::Thresholds th{sp.junk_threshold, sp.reject_threshold};
  spam::Verdict v;
  auto size = prefix.size() + body.size();
  if (size > sp.max_size) {
    v.not_scanned = "larger than " + std::to_string(sp.max_size) + " bytes";
    log::info("smtp.spam.skipped", {{"session", id_}, {"size", size}, {"max_size", sp.max_size}});
  } else {
    spam::Request req;
    req.verb = spam::Verb::symbols;
    if (sp.per_user && txn_.recipients.size() == 1) req.user = txn_.recipients.front().address;
    std::string whole = prefix;
    whole.append(body);
    std::string request = spam::build_request(req, whole);
    std::string address = sp.address;
    auto timeout = sp.timeout;
    auto started = std::chrono::steady_clock::now();
    auto ex = co_await spam::exchange(address, request, timeout);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    if (ex.reply && ex.reply->code == 0 && ex.reply->spam) {
      v.scanned = true;
      v.score = ex.reply->score;
      v.symbols = spam::symbols_of(ex.reply->body);
    } else {
      v.not_scanned = ex.timed_out ? "spamd timed out"
                      : ex.reply  ? "spamd error " + std::to_string(ex.reply->code)
                      : ex.error.starts_with("bad reply") ? "bad reply from spamd"
                                                          : "spamd unreachable";
      log::warn("smtp.spam.unscanned", {{"session", id_}, {"why", v.not_scanned},
                                         {"error", ex.reply ? ex.reply->message : ex.error}, {"ms", ms}});
    }
    if (v.scanned) {
      char score[32];
      std::snprintf(score, sizeof score, "%.1f", v.score);
      log::info("smtp.spam.scanned", {{"session", id_}, {"score", score}, {"junk", v.junk(th)},
                                       {"reject", v.reject(th)}, {"ms", ms}});
    }
  }
  if (v.reject(th)) {
    char text[96];
    std::snprintf(text, sizeof text, "Message refused as spam (score %.1f)", v.score);
    co_return std::string(text);
  }
  txn_.junk = txn_.junk || v.junk(th);
  txn_.spam = sieve::SpamScore{v.scanned, v.score, th.junk, th.reject};
  prefix += spam::header_fields(v, th);
  if (stripped || prefix.size() > SpooledMessage::prefix_room) {
    rewritten = prefix;
    rewritten.append(body);
  }
  co_return std::nullopt;
}

}  // namespace mailstead::smtp
