// Settings of mailstead-sieved: the [sieved] section (docs/configuration.md). Script limits
// are in [sieve], shared with smtpd.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace mailstead::config {
class Source;
}

namespace mailstead::managesieve {

struct Settings {
  std::vector<std::string> listen{"127.0.0.1:24190"};  // 4190 in production: STARTTLS first
  std::vector<std::string> metrics_listen{};  // plain HTTP GET /metrics (docs/metrics.md); empty: off
  std::uint32_t threads = 1;
  std::uint32_t max_line_length = 8192;  // a command line without its literals
  std::uint32_t max_connections = 1000;
  std::uint32_t max_connections_per_ip = 20;
  std::uint32_t max_errors = 20;  // bad commands before BYE
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(30)};
  std::chrono::milliseconds login_timeout{std::chrono::minutes(1)};
  std::chrono::milliseconds tls_handshake_timeout{std::chrono::seconds(30)};
};

Settings load_settings(config::Source& src);

}  // namespace mailstead::managesieve
