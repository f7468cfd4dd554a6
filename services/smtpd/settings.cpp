// Parses the [smtpd] section.
#include "settings.hpp"

#include "config/source.hpp"

namespace mailstead::smtp {

Settings load_settings(config::Source& src) {
  Settings s;
  src.get_listeners("smtpd", "mx_listen", s.mx_listen);
  src.get_listeners("smtpd", "submission_listen", s.submission_listen);
  src.get_listeners("smtpd", "submissions_listen", s.submissions_listen);
  return s;
}

}  // namespace mailstead::smtp
