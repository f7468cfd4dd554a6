// Parses the [outbound] section.
#include "settings.hpp"

#include "config/source.hpp"

namespace mailstead::outbound {

Settings load_settings(config::Source& src) {
  Settings s;
  const std::string sec = "outbound";
  src.get(sec, "transport", s.transport);
  if (s.transport != "smtp" && s.transport != "file") src.fail(sec, "transport", "must be \"smtp\" or \"file\"");
  src.get(sec, "file_path", s.file_path);
  if (s.transport == "file" && s.file_path.empty()) src.fail(sec, "file_path", "the file transport needs a directory");
  src.get(sec, "from", s.from);
  src.get(sec, "noreply_address", s.noreply_address);
  for (auto* a : {&s.from, &s.noreply_address})
    if (!a->empty() && (a->find('@') == std::string::npos || a->find_first_of(" <>\r\n") != std::string::npos))
      src.fail(sec, a == &s.from ? "from" : "noreply_address", "must be a plain address such as noreply@example.org");
  src.get(sec, "tokenized_noreply", s.tokenized_noreply);
  src.get(sec, "max_connections", s.max_connections, 1, 100000);
  src.get(sec, "max_per_destination", s.max_per_destination, 1, 100000);
  src.get(sec, "max_messages_per_connection", s.max_messages_per_connection, 1, 100000);
  std::uint32_t port = s.mx_port;
  src.get(sec, "mx_port", port, 1, 65535);
  s.mx_port = static_cast<std::uint16_t>(port);
  src.get(sec, "tls_ca_file", s.tls_ca_file);
  src.get(sec, "mta_sts", s.mta_sts);
  src.get(sec, "mta_sts_ca_file", s.mta_sts_ca_file);
  std::uint32_t https_port = s.mta_sts_https_port;
  src.get(sec, "mta_sts_https_port", https_port, 1, 65535);
  s.mta_sts_https_port = static_cast<std::uint16_t>(https_port);
  src.get_duration(sec, "mta_sts_fetch_timeout", s.mta_sts_fetch_timeout);
  src.get_size(sec, "mta_sts_max_policy_size", s.mta_sts_max_policy_size, 1024, 1024 * 1024);
  src.get(sec, "dane", s.dane);
  src.get_duration(sec, "retry_base", s.retry_base);
  src.get_duration(sec, "retry_max", s.retry_max);
  src.get_duration(sec, "max_queue_lifetime", s.max_queue_lifetime);
  src.get_duration(sec, "delay_warning_time", s.delay_warning_time);
  src.get_duration(sec, "lease_time", s.lease_time);
  src.get_duration(sec, "poll_interval", s.poll_interval);
  src.get_duration(sec, "send_log_retention", s.send_log_retention);
  src.get_duration(sec, "connect_timeout", s.connect_timeout);
  src.get_duration(sec, "greeting_timeout", s.greeting_timeout);
  src.get_duration(sec, "relay_greeting_timeout", s.relay_greeting_timeout);
  src.get_duration(sec, "command_timeout", s.command_timeout);
  src.get_duration(sec, "data_init_timeout", s.data_init_timeout);
  src.get_duration(sec, "data_block_timeout", s.data_block_timeout);
  src.get_duration(sec, "data_done_timeout", s.data_done_timeout);
  if (s.retry_base.count() < 1000) src.fail(sec, "retry_base", "must be at least 1s");
  if (s.retry_max < s.retry_base) src.fail(sec, "retry_max", "must not be shorter than retry_base");
  if (s.lease_time.count() < 1000) src.fail(sec, "lease_time", "must be at least 1s");
  if (s.max_queue_lifetime.count() < 1000) src.fail(sec, "max_queue_lifetime", "must be at least 1s");
  if (s.poll_interval.count() <= 0) src.fail(sec, "poll_interval", "must be greater than zero");
  for (auto* d : {&s.mta_sts_fetch_timeout, &s.connect_timeout, &s.greeting_timeout, &s.relay_greeting_timeout, &s.command_timeout, &s.data_init_timeout,
                  &s.data_block_timeout, &s.data_done_timeout})
    if (d->count() <= 0) src.fail(sec, "timeouts", "timeouts must be greater than zero");
  return s;
}

}  // namespace mailstead::outbound
