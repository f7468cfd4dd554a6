// Settings every process shares: paths, hostname, TLS files, store tuning, logging,
// routing and authentication. Defaults live here; docs/configuration.md lists each key.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace mailstead::config {

class Source;

struct CoreSettings {
  std::string hostname = "localhost";
  std::string data_dir = "./var";
  // The user the services switch to after binding ports and opening the store, when
  // started as root. Empty: stay as started (a warning is logged when that is root).
  std::string run_as;

  struct Tls {
    std::string cert;  // empty: <data_dir>/tls/cert.pem (made on first start by `mailstead up`)
    std::string key;   // empty: <data_dir>/tls/key.pem
    std::string min_version = "1.2";
    // A private key others can read is refused unless this is set (then it is a warning).
    bool allow_world_readable_key = false;
    // How often the services look for a renewed certificate or key (0: only on SIGHUP).
    std::chrono::milliseconds reload_check{std::chrono::seconds(60)};
  } tls;

  struct Dns {
    std::vector<std::string> nameservers;  // empty: the system's resolver
    std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // per try
    std::uint32_t tries = 2;
    std::uint32_t cache_entries = 10000;  // answers kept for their TTL (0: no cache)
  } dns;

  // SpamAssassin (docs/spam.md): scanning at the MX's end of DATA, learning from moves
  // into and out of Junk.
  struct Spam {
    bool enabled = true;
    std::string address = "127.0.0.1:783";  // spamd: "host:port" or the path of a Unix socket
    std::chrono::milliseconds timeout{std::chrono::seconds(10)};  // a whole scan; then unscanned
    std::uint64_t max_size = 512 * 1024;  // larger messages are not scanned (as spamc's default)
    double junk_threshold = 5.0;
    double reject_threshold = 15.0;
    bool scan_submission = false;  // authenticated submissions too
    bool per_user = true;          // send "User: <address>" when a message has one local recipient
    bool learn = true;             // teach spamd from moves into and out of Junk (TELL)
    std::chrono::milliseconds learn_timeout{std::chrono::seconds(30)};  // one TELL
    std::chrono::milliseconds learn_retry_max{std::chrono::minutes(10)};  // back-off ceiling
    std::chrono::milliseconds learn_lease{std::chrono::minutes(5)};  // a claimed record's lease
    std::uint32_t learn_batch = 8;  // records claimed at a time (taught one after another)
  } spam;

  struct Redis {
    std::string url;  // empty: the embedded default
  } redis;

  struct Store {
    std::uint64_t map_size = std::uint64_t{1} << 30;  // initial; grows by doubling when full
    std::uint32_t max_readers = 4096;
    std::uint32_t max_batches_per_commit = 1024;  // group commit: batches in one transaction
  } store;

  struct Log {
    std::string level = "info";
    bool protocol_trace = false;
    // Each process keeps its latest events in <data_dir>/logs/<process>.log and .1.log,
    // together at most this many bytes (the admin API's log view); 0: stderr only.
    std::uint64_t ring_size = 2 * 1024 * 1024;
  } log;

  struct Routing {
    std::string recipient_delimiter = "+";
  } routing;

  // Logins: the verified-password cache, and the failed-login limits smtpd, imapd and
  // sieved share (one budget across the three; docs/security.md).
  struct Auth {
    std::chrono::milliseconds verified_cache_ttl{std::chrono::seconds(60)};
    std::uint32_t verified_cache_entries = 10000;
    std::uint32_t max_failures_per_ip = 10;
    std::uint32_t max_failures_per_account = 20;
    std::chrono::milliseconds failure_window{std::chrono::minutes(15)};
    std::chrono::milliseconds failure_delay{std::chrono::seconds(1)};  // before every failed-login reply
    std::chrono::milliseconds account_delay{std::chrono::seconds(2)};  // per-account slow-down
    std::chrono::milliseconds trusted_login_ttl{std::chrono::hours(30 * 24)};
    std::uint32_t trusted_login_entries = 100000;
    std::uint32_t failure_entries = 100000;  // addresses, and accounts, with counted failures
  } auth;

  // Sieve limits, shared by smtpd (running scripts) and sieved (accepting them).
  struct Sieve {
    std::uint64_t max_script_size = 256 * 1024;
    std::uint32_t max_scripts = 32;  // per user
    std::uint32_t max_redirects = 4;
    std::uint32_t max_steps = 100'000;
    std::uint32_t max_include_depth = 5;
    std::uint32_t max_actions = 64;
    std::chrono::milliseconds max_cpu_time{5000};  // per run (message and recipient)
    std::uint64_t max_variable_size = 64 * 1024;
    std::uint64_t max_regex_length = 4096;
    std::uint64_t max_regex_memory = 256 * 1024;
    std::uint64_t regex_cache_size = 32ull << 20;
    std::uint64_t script_cache_size = 64ull << 20;
  } sieve;

  // DKIM key management (docs/outbound.md).
  struct Dkim {
    // How long `mailstead dkim rotate` keeps the replaced key listed for publication.
    std::chrono::seconds rotate_grace{std::chrono::hours(24 * 7)};
  } dkim;

  // Sender Rewriting Scheme (docs/outbound.md).
  struct Srs {
    std::uint32_t max_age_days = 21;  // how long a rewritten address accepts bounces
  } srs;

  // From the secrets file only (never the main configuration); never logged.
  struct Secrets {
    std::string relay_password;   // [relay] password: the default relay's, when none is stored
    std::string relay_key;        // [relay] key: seals relay passwords kept in the store
    std::string srs_secret;       // [srs] secret: signs SRS addresses (empty: a key kept in the store)
    std::string srs_old_secret;   // [srs] old_secret: still verifies, after the secret changed
    std::string stream_poll_password;  // [streams] poll_password: the polled mailbox's (docs/streams.md)
  } secrets;

  std::string store_dir() const { return data_dir + "/store"; }
  std::string log_dir() const { return data_dir + "/logs"; }
  std::string tls_cert() const { return tls.cert.empty() ? data_dir + "/tls/cert.pem" : tls.cert; }
  std::string tls_key() const { return tls.key.empty() ? data_dir + "/tls/key.pem" : tls.key; }
};

CoreSettings load_core(Source& src);

// The sections of the file that belong to a single process.
inline const std::vector<std::string>& service_sections() {
  static const std::vector<std::string> s{"smtpd", "imapd", "sieved", "admin", "outbound",
                                              "dmarc", "spf", "dkim_verify", "dnsbl", "greylist"};  // the last five: smtpd's
  return s;
}

}  // namespace mailstead::config
