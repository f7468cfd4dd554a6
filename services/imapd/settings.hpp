// Settings of mailstead-imapd: the [imapd] section (docs/configuration.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace mailstead::config {
class Source;
}

namespace mailstead::imap {

struct Settings {
  std::vector<std::string> imaps_listen{"127.0.0.1:2993"};
  std::vector<std::string> imap_listen{};  // 143 with STARTTLS: off unless listed
  std::vector<std::string> metrics_listen{};  // plain HTTP GET /metrics (docs/metrics.md); empty: off
  std::uint32_t threads = 0;

  std::uint32_t max_line_length = 65536;          // a command line without literals (long UID sets)
  std::uint64_t max_literal_size = 50ull << 20;   // APPEND and other literals; more: NO [TOOBIG]
  std::uint64_t max_login_literal_size = 4096;    // before login (RFC 7888 LITERAL-); more: NO/BYE [TOOBIG]
  std::uint64_t max_literal_memory = 256ull << 20; // literal bytes all sessions hold at once; more: NO [UNAVAILABLE]
  std::uint32_t max_connections = 10000;
  std::uint32_t max_connections_per_ip = 50;       // Thunderbird keeps 5 per account
  std::uint32_t max_errors = 20;                   // BAD replies before BYE
  std::uint32_t max_search_depth = 100;            // NOT/OR/(…) levels in SEARCH, SORT, THREAD; more: BAD
  std::uint32_t max_search_keys = 10000;           // search keys in one command; more: BAD
  std::uint32_t max_list_pattern = 1024;           // bytes of LIST/LSUB patterns (with the reference) in one command
  std::uint32_t max_search_updates = 16;           // SEARCH RETURN (UPDATE) kept per session; more: OK [NOUPDATE]
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(30)};  // RFC 3501 5.4: at least 30 min
  std::chrono::milliseconds login_timeout{std::chrono::minutes(1)};  // before authentication
  std::chrono::milliseconds tls_handshake_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds idle_poll{std::chrono::milliseconds(50)};  // IDLE change checks

};

Settings load_settings(config::Source& src);

}  // namespace mailstead::imap
