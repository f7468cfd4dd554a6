// imapd's answers to store failures (see store_errors.hpp; RFC 5530).
#include "store_errors.hpp"

#include "log/log.hpp"
#include "store/store.hpp"

namespace mailstead::imap {

std::string store_failure_text(std::error_code ec, std::string_view action) {
  std::string what(action);
  if (ec == store::Errc::full)
    return "[UNAVAILABLE] The server's mail store is full; cannot " + what + " now, try again later";
  if (ec == store::Errc::too_large) return "[LIMIT] Too large for the mail store; cannot " + what;
  if (store::is_temporary(ec)) return "[UNAVAILABLE] Cannot " + what + " now; try again later";
  return "[SERVERBUG] Cannot " + what + " now";
}

std::string store_failure(std::string_view session, std::string_view command, std::error_code ec,
                          std::string_view action) {
  log::error("imap.store.failed", {{"session", session}, {"command", command}, {"error", ec.message()}});
  return store_failure_text(ec, action);
}

}  // namespace mailstead::imap
