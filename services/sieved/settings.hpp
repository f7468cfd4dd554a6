// Settings of mailstead-sieved: the [sieved] section (docs/configuration.md).
#pragma once

#include <string>
#include <vector>

namespace mailstead::config {
class Source;
}

namespace mailstead::sieve {

struct Settings {
  std::vector<std::string> listen{"127.0.0.1:24190"};
};

Settings load_settings(config::Source& src);

}  // namespace mailstead::sieve
