// Settings of mailstead-admin-api: the [admin] section (docs/configuration.md).
#pragma once

#include <string>
#include <vector>

namespace mailstead::config {
class Source;
}

namespace mailstead::admin {

struct Settings {
  std::vector<std::string> listen{"127.0.0.1:8443"};
};

Settings load_settings(config::Source& src);

}  // namespace mailstead::admin
