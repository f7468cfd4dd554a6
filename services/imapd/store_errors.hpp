// How imapd answers and logs a store failure: RFC 5530 response codes by cause. A full
// disk or an I/O failure is [UNAVAILABLE] (temporary; the operator must act), a value over
// the store's limit [LIMIT], a corrupt record [SERVERBUG].
#pragma once

#include <string>
#include <string_view>
#include <system_error>

namespace mailstead::imap {

// The text of the tagged NO for a command whose store write failed with `ec`; `action`
// says what could not be done ("store the message").
std::string store_failure_text(std::error_code ec, std::string_view action);

// Logs the failure (event=imap.store.failed, error level, with the store's reason) and
// returns store_failure_text().
std::string store_failure(std::string_view session, std::string_view command, std::error_code ec,
                          std::string_view action);

}  // namespace mailstead::imap
