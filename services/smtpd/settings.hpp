// Settings of mailstead-smtpd: the [smtpd] section (docs/configuration.md).
#pragma once

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
};

Settings load_settings(config::Source& src);

}  // namespace mailstead::smtp
