// Reading the log rings (see log_view.hpp).
#include "ops/log_view.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace mailstead::admin::log_view {

namespace {

int rank(std::string_view level) {
  static const char* order[] = {"trace", "debug", "info", "warn", "error", "critical"};
  for (int i = 0; i < 6; ++i)
    if (level == order[i]) return i;
  return -1;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const std::vector<std::string>& services() {
  static const std::vector<std::string> all{"mailstead-smtpd", "mailstead-imapd", "mailstead-sieved",
                                            "mailstead-deliverd", "mailstead-admin-api"};
  return all;
}

void each(const std::string& dir, const std::string& service, const std::function<void(const log::Line&)>& fn) {
  for (const char* ext : {".1.log", ".log"}) {
    std::ifstream in(dir + "/" + service + ext, std::ios::binary);
    std::string line;
    while (std::getline(in, line))
      if (auto l = log::parse_line(line)) fn(*l);
  }
}

Result<std::vector<Event>> recent(const std::string& dir, const Query& q) {
  std::vector<std::string> wanted;
  if (q.service.empty()) {
    wanted = services();
  } else {
    auto name = q.service.rfind("mailstead-", 0) == 0 ? q.service : "mailstead-" + q.service;
    if (std::find(services().begin(), services().end(), name) == services().end())
      return Error(ErrorKind::invalid, "service is one of smtpd, imapd, sieved, deliverd, admin-api, not '" + q.service + "'",
                   "service");
    wanted.push_back(name);
  }
  int least = q.level.empty() ? 0 : rank(q.level);
  if (least < 0 || q.level == "critical")
    return Error(ErrorKind::invalid, "level is one of trace, debug, info, warn, error, not '" + q.level + "'", "level");
  if (q.text.size() > 200) return Error(ErrorKind::invalid, "text is at most 200 characters", "text");
  if (q.limit == 0 || q.limit > 1000) return Error(ErrorKind::invalid, "limit is from 1 to 1000", "limit");
  auto needle = lower(q.text);
  std::vector<Event> out;
  for (const auto& svc : wanted) {
    for (const char* ext : {".1.log", ".log"}) {  // the older half first
      std::ifstream in(dir + "/" + svc + ext, std::ios::binary);
      std::string line;
      while (std::getline(in, line)) {
        auto l = log::parse_line(line);
        if (!l || rank(l->level) < least) continue;
        if (!needle.empty() && lower(l->text).find(needle) == std::string::npos) continue;
        auto ev = l->text.rfind("event=", 0) == 0 ? l->text.substr(6, l->text.find(' ') - 6) : std::string();
        out.push_back({std::move(l->time), std::move(l->process), std::move(l->level), std::move(ev), std::move(l->text)});
      }
    }
  }
  // Newest first; the ISO 8601 UTC times sort as text.
  std::stable_sort(out.begin(), out.end(), [](const Event& a, const Event& b) { return a.time > b.time; });
  if (out.size() > q.limit) out.resize(q.limit);
  return out;
}

}  // namespace mailstead::admin::log_view
