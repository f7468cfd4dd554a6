// Settings of mailstead-imapd: the [imapd] section (docs/configuration.md).
#pragma once

#include <string>
#include <vector>

namespace mailstead::config {
class Source;
}

namespace mailstead::imap {

struct Settings {
  std::vector<std::string> imaps_listen{"127.0.0.1:2993"};
  std::vector<std::string> imap_listen{};  // 143 with STARTTLS: off unless configured
};

Settings load_settings(config::Source& src);

}  // namespace mailstead::imap
