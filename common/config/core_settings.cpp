// Parses the settings every process shares (docs/configuration.md).
#include "config/core_settings.hpp"

#include "config/source.hpp"
#include "notify/changes.hpp"

namespace mailstead::config {

CoreSettings load_core(Source& src) {
  CoreSettings s;
  std::chrono::milliseconds grace = s.dkim.rotate_grace;
  std::string unused;
  src.get("", "secrets_file", unused);  // read by Source::load; recorded as known here
  src.get("", "hostname", s.hostname);
  if (s.hostname.empty()) src.fail("", "hostname", "must not be empty");
  src.get("", "data_dir", s.data_dir);
  src.get("", "run_as", s.run_as);
  if (s.data_dir.empty()) src.fail("", "data_dir", "must not be empty");

  src.get("tls", "cert", s.tls.cert);
  src.get("tls", "key", s.tls.key);
  src.get("tls", "min_version", s.tls.min_version);
  src.get("tls", "allow_world_readable_key", s.tls.allow_world_readable_key);
  src.get_duration("tls", "reload_check", s.tls.reload_check);
  if (s.tls.min_version != "1.2" && s.tls.min_version != "1.3")
    src.fail("tls", "min_version", "must be \"1.2\" or \"1.3\"");

  src.get("dns", "nameservers", s.dns.nameservers);
  for (const auto& ns : s.dns.nameservers) {
    std::string host;
    std::uint16_t port = 0;
    if (!split_host_port(ns, host, port)) src.fail("dns", "nameservers", "'" + ns + "' is not host:port (e.g. \"127.0.0.1:53\")");
  }
  src.get_duration("dns", "timeout", s.dns.timeout);
  if (s.dns.timeout.count() <= 0) src.fail("dns", "timeout", "must be greater than zero");
  src.get("dns", "tries", s.dns.tries, 1, 10);
  src.get("dns", "cache_entries", s.dns.cache_entries, 0, 10'000'000);
  src.get("spamd", "address", s.spam.address);  // the older name of [spam] address
  src.get("spam", "enabled", s.spam.enabled);
  src.get("spam", "address", s.spam.address);
  if (s.spam.address.empty()) src.fail("spam", "address", "must not be empty");
  if (s.spam.address[0] != '/') {
    std::string host;
    std::uint16_t port = 0;
    if (!split_host_port(s.spam.address, host, port) || port == 0)
      src.fail("spam", "address", "'" + s.spam.address + "' is neither host:port nor an absolute Unix socket path");
  }
  src.get_duration("spam", "timeout", s.spam.timeout);
  if (s.spam.timeout.count() <= 0) src.fail("spam", "timeout", "must be greater than zero");
  src.get_size("spam", "max_size", s.spam.max_size, 1024, 1ull << 30);
  src.get("spam", "junk_threshold", s.spam.junk_threshold, -1000.0, 10000.0);
  src.get("spam", "reject_threshold", s.spam.reject_threshold, -1000.0, 10000.0);
  if (s.spam.reject_threshold < s.spam.junk_threshold)
    src.fail("spam", "reject_threshold", "must not be below junk_threshold");
  src.get("spam", "scan_submission", s.spam.scan_submission);
  src.get("spam", "per_user", s.spam.per_user);
  src.get("spam", "learn", s.spam.learn);
  src.get_duration("spam", "learn_timeout", s.spam.learn_timeout);
  if (s.spam.learn_timeout.count() <= 0) src.fail("spam", "learn_timeout", "must be greater than zero");
  src.get_duration("spam", "learn_retry_max", s.spam.learn_retry_max);
  if (s.spam.learn_retry_max.count() < 1000) src.fail("spam", "learn_retry_max", "must be at least 1s");
  src.get_duration("spam", "learn_lease", s.spam.learn_lease);
  src.get("spam", "learn_batch", s.spam.learn_batch, 1, 1000);
  if (s.spam.learn_lease < s.spam.learn_timeout * (s.spam.learn_batch + 1))
    src.fail("spam", "learn_lease", "must be at least learn_timeout times (learn_batch + 1): a claimed batch is taught within it");
  src.get("redis", "url", s.redis.url);
  if (std::string why; !s.redis.url.empty() && !notify::valid_redis_url(s.redis.url, why))
    src.fail("redis", "url", why);

  src.get_size("store", "map_size", s.store.map_size, 1 << 20);
  src.get("store", "max_readers", s.store.max_readers, 16, 1 << 20);
  src.get("store", "max_batches_per_commit", s.store.max_batches_per_commit, 1, 1 << 20);

  src.get("log", "level", s.log.level);
  if (s.log.level != "trace" && s.log.level != "debug" && s.log.level != "info" &&
      s.log.level != "warn" && s.log.level != "error")
    src.fail("log", "level", "must be one of trace, debug, info, warn, error");
  src.get("log", "protocol_trace", s.log.protocol_trace);
  src.get_size("log", "ring_size", s.log.ring_size, 0, 1024ULL * 1024 * 1024);
  if (s.log.ring_size != 0 && s.log.ring_size < 8192) src.fail("log", "ring_size", "must be 0 (off) or at least 8K");

  src.get("routing", "recipient_delimiter", s.routing.recipient_delimiter);
  if (s.routing.recipient_delimiter.size() > 1 ||
      (s.routing.recipient_delimiter.size() == 1 &&
       std::string("+-_=").find(s.routing.recipient_delimiter[0]) == std::string::npos))
    src.fail("routing", "recipient_delimiter", "must be one of + - _ = or empty (no sub-addressing)");

  src.get_duration("auth", "verified_cache_ttl", s.auth.verified_cache_ttl);
  src.get("auth", "verified_cache_entries", s.auth.verified_cache_entries, 0, 10'000'000);
  src.get("auth", "max_failures_per_ip", s.auth.max_failures_per_ip, 1, 10000);
  src.get("auth", "max_failures_per_account", s.auth.max_failures_per_account, 1, 10000);
  src.get_duration("auth", "failure_window", s.auth.failure_window);
  if (s.auth.failure_window.count() < 1000) src.fail("auth", "failure_window", "must be at least 1s");
  src.get_duration("auth", "failure_delay", s.auth.failure_delay);
  src.get_duration("auth", "account_delay", s.auth.account_delay);
  src.get_duration("auth", "trusted_login_ttl", s.auth.trusted_login_ttl);
  src.get("auth", "trusted_login_entries", s.auth.trusted_login_entries, 0, 100'000'000);
  src.get("auth", "failure_entries", s.auth.failure_entries, 100, 100'000'000);

  src.get_size("sieve", "max_script_size", s.sieve.max_script_size, 1024);
  src.get("sieve", "max_scripts", s.sieve.max_scripts, 1, 10000);
  src.get("sieve", "max_redirects", s.sieve.max_redirects, 0, 100);
  src.get("sieve", "max_steps", s.sieve.max_steps, 100, 100'000'000);
  src.get("sieve", "max_include_depth", s.sieve.max_include_depth, 0, 50);
  src.get("sieve", "max_actions", s.sieve.max_actions, 1, 10000);
  src.get_duration("sieve", "max_cpu_time", s.sieve.max_cpu_time);
  src.get_size("sieve", "max_variable_size", s.sieve.max_variable_size, 4000, 64ull << 20);  // RFC 5229 4: 4000 at least
  src.get_size("sieve", "max_regex_length", s.sieve.max_regex_length, 64, 1 << 20);
  src.get_size("sieve", "max_regex_memory", s.sieve.max_regex_memory, 16 * 1024, 64ull << 20);
  src.get_size("sieve", "regex_cache_size", s.sieve.regex_cache_size, 0, 16ull << 30);
  src.get_size("sieve", "script_cache_size", s.sieve.script_cache_size, 0, 16ull << 30);

  src.get_duration("dkim", "rotate_grace", grace);
  s.dkim.rotate_grace = std::chrono::duration_cast<std::chrono::seconds>(grace);
  src.get("srs", "max_age_days", s.srs.max_age_days, 1, 1000);

  src.get_secret("relay", "password", s.secrets.relay_password);
  src.get_secret("relay", "key", s.secrets.relay_key);
  if (!s.secrets.relay_key.empty() && s.secrets.relay_key.size() < 16)
    src.fail("relay", "key", "must be at least 16 characters (make one with: openssl rand -base64 32)");
  src.get_secret("srs", "secret", s.secrets.srs_secret);
  src.get_secret("srs", "old_secret", s.secrets.srs_old_secret);
  src.get_secret("streams", "poll_password", s.secrets.stream_poll_password);
  if ((!s.secrets.srs_secret.empty() && s.secrets.srs_secret.size() < 16) ||
      (!s.secrets.srs_old_secret.empty() && s.secrets.srs_old_secret.size() < 16))
    src.fail("srs", "secret", "must be at least 16 characters (make one with: openssl rand -base64 32)");
  if (s.secrets.srs_secret.empty() && !s.secrets.srs_old_secret.empty())
    src.fail("srs", "old_secret", "needs [srs] secret too (old_secret only verifies)");
  return s;
}

}  // namespace mailstead::config
