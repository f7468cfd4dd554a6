// The recent events of every service, read from the log rings common/log writes into
// <data_dir>/logs (docs/logging.md): filtered by service, least level and text, newest
// first, bounded by the rings' size and a count.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "log/log.hpp"
#include "util/error.hpp"

namespace mailstead::admin::log_view {

struct Query {
  std::string service;  // "smtpd" or "mailstead-smtpd"…; "" : all
  std::string level;    // the least level shown; "" : all
  std::string text;     // a case-insensitive substring of the event line; "" : all
  std::size_t limit = 200;
};

struct Event {
  std::string time, service, level, event, text;  // text: the whole "event=… k=v" line
};

// The services whose rings are read.
const std::vector<std::string>& services();

// Every event in one service's ring ("mailstead-smtpd"), oldest first.
void each(const std::string& dir, const std::string& service, const std::function<void(const log::Line&)>& fn);

// Refusals name the field (service, level, text, limit).
Result<std::vector<Event>> recent(const std::string& dir, const Query& q);

}  // namespace mailstead::admin::log_view
