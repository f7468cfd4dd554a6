// Settings of the delivery service: the [outbound] section (docs/configuration.md). Every
// limit has a default here, a key, a line in the docs and a test.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mailstead::config {
class Source;
}

namespace mailstead::outbound {

struct Settings {
  std::string transport = "smtp";  // "smtp" or "file"
  std::string file_path;           // file transport: a directory, one .eml per message
  std::string from;                // system mail's From; "": postmaster@<first local domain>
  std::string noreply_address;     // "": noreply@<first local domain>
  bool tokenized_noreply = true;   // noreply-<random token>@domain (helpdesk takeover defence)

  std::uint32_t max_connections = 100;           // outbound connections at once
  std::uint32_t max_per_destination = 20;        // …to one destination (domain or relay)
  std::uint32_t max_messages_per_connection = 100;
  std::uint16_t mx_port = 25;                    // a test setting: where MX hosts listen
  std::string tls_ca_file;                       // CAs relays' certificates are checked against ("": the system's)

  // MTA-STS (RFC 8461) and DANE (RFC 7672) for MX delivery (docs/delivery.md).
  bool mta_sts = true;                           // look up, fetch, cache and apply MTA-STS policies
  std::string mta_sts_ca_file;                   // CAs for policy servers and MX certificates under MTA-STS ("": the system's)
  std::uint16_t mta_sts_https_port = 443;        // a test setting: where policy servers listen
  std::chrono::milliseconds mta_sts_fetch_timeout{std::chrono::seconds(30)};
  std::uint64_t mta_sts_max_policy_size = 64 * 1024;
  bool dane = true;                              // use DNSSEC-validated TLSA records (needs a validating resolver)

  std::chrono::milliseconds retry_base{std::chrono::minutes(5)};  // 5, 10, 20, 40 min…
  std::chrono::milliseconds retry_max{std::chrono::hours(4)};     // …capped
  std::chrono::milliseconds max_queue_lifetime{std::chrono::hours(24 * 5)};
  std::chrono::milliseconds delay_warning_time{0};                // 0: no delay warnings
  std::chrono::milliseconds lease_time{std::chrono::minutes(10)};
  std::chrono::milliseconds poll_interval{std::chrono::seconds(1)};
  std::chrono::milliseconds send_log_retention{std::chrono::hours(24 * 30)};

  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds greeting_timeout{std::chrono::minutes(5)};
  // A relay that says nothing this long after connecting is taken for one that expects TLS
  // from the first byte (security "starttls" or "none" against a 465-like port).
  std::chrono::milliseconds relay_greeting_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds command_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds data_init_timeout{std::chrono::minutes(2)};
  std::chrono::milliseconds data_block_timeout{std::chrono::minutes(3)};
  std::chrono::milliseconds data_done_timeout{std::chrono::minutes(10)};
};

Settings load_settings(config::Source& src);

}  // namespace mailstead::outbound
