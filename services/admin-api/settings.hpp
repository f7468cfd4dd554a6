// Settings of mailstead-admin-api: the [admin] section (docs/configuration.md). Every limit
// of the HTTPS server has its default here and a key of the same name.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "lists/settings.hpp"
#include "streams/settings.hpp"

namespace mailstead::config {
class Source;
}

namespace mailstead::admin {

struct Settings {
  streams::Settings streams;  // the [streams] section: stream addresses, limits (docs/streams.md)
  lists::Settings lists;      // the [lists] section: the default site domain (docs/lists.md)
  std::vector<std::string> listen{"127.0.0.1:8443"};  // HTTPS: the API, autoconfig, the web UI
  std::vector<std::string> metrics_listen;             // plain HTTP, GET /metrics only; empty: off
  std::uint32_t threads = 1;                           // 0: one per core
  std::uint32_t max_connections = 1000;
  std::uint32_t max_connections_per_ip = 50;
  std::uint32_t max_errors = 20;  // (shared key set; the HTTP server closes on the first bad request)
  // A request: its header block and its body; larger gets 431 / 413 and the connection closes.
  std::uint32_t max_header_size = 16 * 1024;
  std::uint64_t max_body_size = 1024 * 1024;
  std::uint32_t max_requests_per_connection = 1000;
  // Absolute deadlines: a client that trickles bytes cannot extend them.
  std::chrono::milliseconds tls_handshake_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};  // first byte → whole request read
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};     // keep-alive: between requests
  std::chrono::milliseconds write_timeout{std::chrono::seconds(60)};    // a whole response written
  // Web sessions (password login → cookie) end this long after login, or when revoked.
  std::chrono::milliseconds session_lifetime{std::chrono::hours(12)};
  std::uint32_t max_app_passwords = 20;  // per user
  // The web UI's built files (docs/web-ui.md); "": share/mailstead/web beside the program's bin/.
  std::string web_root;
  // What mail clients are told (autoconfig, autodiscover, .mobileconfig): the public name and
  // ports, which behind NAT or containers differ from the listen addresses.
  std::string client_host;  // "": the top-level hostname
  std::uint32_t client_imaps_port = 993;
  std::uint32_t client_submission_port = 587;   // STARTTLS
  std::uint32_t client_submissions_port = 465;  // implicit TLS
  std::uint32_t client_sieve_port = 4190;
  // Live stream updates over WebSocket (GET /api/v1/streams/{s}/live, docs/streams.md).
  std::uint32_t live_max_connections_per_user = 8;     // per user (or API token), per process
  std::uint32_t live_max_message_size = 16 * 1024;     // a message from the browser; larger closes
  std::chrono::milliseconds live_idle_timeout{std::chrono::seconds(60)};  // nothing heard: closed (ping at half)
  std::chrono::milliseconds live_poll{std::chrono::milliseconds(100)};    // how often the commit counter is looked at
  // The failed-login limits of the login page are [auth]'s, shared with every protocol service.
};

Settings load_settings(config::Source& src);

}  // namespace mailstead::admin
