// Settings of mailstead-smtpd: the [smtpd] section (docs/configuration.md). Every limit
// has a default here, a key, a line in the docs and a test.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "inbound/auth_settings.hpp"
#include "lists/settings.hpp"
#include "streams/settings.hpp"
#include "inbound/settings.hpp"

namespace mailstead::config {
class Source;
}

namespace mailstead::smtp {

struct Settings {
  std::vector<std::string> mx_listen{"127.0.0.1:2525"};
  std::vector<std::string> submission_listen{"127.0.0.1:2587"};
  std::vector<std::string> submissions_listen{"127.0.0.1:2465"};
  std::vector<std::string> metrics_listen{};  // plain HTTP GET /metrics (docs/metrics.md); empty: off
  std::uint32_t threads = 0;  // 0: one per core

  std::uint32_t max_line_length = 2048;         // command line, without CRLF
  std::uint64_t max_message_size = 50ull << 20;  // SIZE; more gets 552 5.3.4
  std::uint32_t max_recipients = 100;           // per message; more gets 452 4.5.3
  std::uint32_t max_errors = 10;                // protocol errors before 421 and disconnect
  std::uint32_t max_connections = 1000;         // per listening address (25, 587, 465 each)
  std::uint32_t max_connections_per_ip = 20;
  // A command line must arrive whole within command_timeout (RFC 5321 4.5.3.2.7), however
  // it is trickled; each wait for bytes too.
  std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};
  // DATA/BDAT: each wait at most data_timeout (4.5.3.2.5), and the whole transfer within
  // data_timeout plus one second per min_data_rate bytes.
  std::chrono::milliseconds data_timeout{std::chrono::minutes(3)};
  std::uint32_t min_data_rate = 1024;  // bytes per second
  std::chrono::milliseconds tls_handshake_timeout{std::chrono::seconds(30)};  // the whole handshake

  // Message bytes in memory across all sessions (in-memory parts and messages being parsed
  // and stored); above it messages wait their turn, and 452 4.3.1 after data_timeout.
  std::uint64_t memory_budget = 128ull << 20;
  std::uint64_t spool_threshold = 256 << 10;   // per message; the rest goes to <data_dir>/spool
  std::uint64_t spool_max_size = 4ull << 30;   // spool file bytes at once; more: 452 4.3.1
  std::uint32_t max_header_line_length = 8192;  // one header line; longer: 552 5.3.4
  std::uint64_t max_header_size = 256 << 10;    // the whole header; larger: 552 5.3.4
  bool quota_permanent = false;  // over quota: 452 4.2.2 (false) or 552 5.2.2 (true)
  std::uint32_t sieve_threads = 2;  // the pool that runs Sieve at delivery, off the I/O threads
  mailstead::inbound::AuthSettings auth;  // [dmarc], [spf], [dkim_verify]: message authentication on the MX
  streams::Settings streams;        // the [streams] section: the chat gateway (docs/streams.md)
  lists::Settings lists;            // the [lists] section: pattern-matched lists (docs/lists.md)
  inbound::ProtectionSettings inbound;        // [dnsbl], [greylist], the MX's rate (inbound/settings.hpp)

};

Settings load_settings(config::Source& src);

}  // namespace mailstead::smtp
