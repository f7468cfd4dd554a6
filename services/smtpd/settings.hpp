// Settings of mailstead-smtpd: the [smtpd] section (docs/configuration.md). Every limit
// has a default here, a key, a line in the docs and a test.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace mailstead::config {
class Source;
}

namespace mailstead::smtp {

struct Settings {
  std::vector<std::string> mx_listen{"127.0.0.1:2525"};
  std::vector<std::string> submission_listen{"127.0.0.1:2587"};
  std::vector<std::string> submissions_listen{"127.0.0.1:2465"};
  std::uint32_t threads = 0;  // 0: one per core

  std::uint32_t max_line_length = 2048;         // command line, without CRLF
  std::uint64_t max_message_size = 50ull << 20;  // SIZE; more gets 552 5.3.4
  std::uint32_t max_recipients = 100;           // per message; more gets 452 4.5.3
  std::uint32_t max_errors = 10;                // protocol errors before 421 and disconnect
  std::uint32_t max_connections = 1000;
  std::uint32_t max_connections_per_ip = 20;
  std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};  // RFC 5321 4.5.3.2.7
  std::chrono::milliseconds data_timeout{std::chrono::minutes(3)};     // 4.5.3.2.5, between data blocks
  std::chrono::milliseconds tls_handshake_timeout{std::chrono::seconds(30)};
  bool quota_permanent = false;  // over quota: 452 4.2.2 (false) or 552 5.2.2 (true)
  std::uint32_t sieve_threads = 2;  // the pool that runs Sieve at delivery, off the I/O threads

  std::uint32_t auth_max_failures_per_ip = 10;
  std::uint32_t auth_max_failures_per_account = 20;
  std::chrono::milliseconds auth_failure_window{std::chrono::minutes(15)};
  std::chrono::milliseconds auth_failure_delay{std::chrono::seconds(1)};  // before each 535
};

Settings load_settings(config::Source& src);

}  // namespace mailstead::smtp
