// spdlog behind the narrow interface of log.hpp, so spdlog's headers stay in this file.
#include "log/log.hpp"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <sys/stat.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

namespace mailstead::log {

namespace {

spdlog::level::level_enum to_spd(Level l) {
  switch (l) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

void append_value(std::string& out, std::string_view v) {
  bool plain = !v.empty();
  for (unsigned char c : v)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) { plain = false; break; }
  if (plain) { out.append(v); return; }
  out.push_back('"');
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') { out.push_back('\\'); out.push_back(static_cast<char>(c)); }
    else if (c == '\r') out.append("\\r");
    else if (c == '\n') out.append("\\n");
    else if (c < ' ' || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out.append("\\x");
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    } else out.push_back(static_cast<char>(c));
  }
  out.push_back('"');
}

}  // namespace

void init(std::string_view process, std::string_view level) {
  auto logger = spdlog::stderr_logger_mt(std::string(process));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %n level=%l %v", spdlog::pattern_time_type::utc);
  Level l = Level::info;
  if (level == "trace") l = Level::trace;
  else if (level == "debug") l = Level::debug;
  else if (level == "warn") l = Level::warn;
  else if (level == "error") l = Level::error;
  logger->set_level(to_spd(l));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

std::string add_ring(const std::string& dir, std::string_view process, std::uint64_t max_bytes) {
  if (max_bytes == 0) return "";
  ::mkdir(dir.c_str(), 0750);  // an existing directory is fine; a failure shows when the file opens
  try {
    // spdlog's rotating sink: when <process>.log reaches half the budget it becomes
    // <process>.1.log (replacing the older one) and a new file starts.
    auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(dir + "/" + std::string(process) + ".log",
                                                                        std::max<std::uint64_t>(max_bytes / 2, 4096), 1);
    sink->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %n level=%l %v",
                                                                     spdlog::pattern_time_type::utc));
    spdlog::default_logger_raw()->sinks().push_back(std::move(sink));
  } catch (const spdlog::spdlog_ex& e) {
    return e.what();
  }
  return "";
}

std::optional<Line> parse_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  auto sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return std::nullopt;
  auto sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return std::nullopt;
  auto rest = line.substr(sp2 + 1);
  if (!rest.starts_with("level=")) return std::nullopt;
  auto sp3 = rest.find(' ');
  Line out;
  out.time = std::string(line.substr(0, sp1));
  out.process = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  out.level = std::string(rest.substr(6, sp3 == std::string_view::npos ? std::string_view::npos : sp3 - 6));
  if (out.level == "warning") out.level = "warn";
  out.text = sp3 == std::string_view::npos ? "" : std::string(rest.substr(sp3 + 1));
  return out;
}

std::string process_name() {
  auto* l = spdlog::default_logger_raw();
  return l ? l->name() : std::string();
}

bool enabled(Level level) { return spdlog::should_log(to_spd(level)); }

std::string format_event(std::string_view name, std::initializer_list<Field> fields) {
  std::string line = "event=";
  line.append(name);
  for (const auto& f : fields) {
    line.push_back(' ');
    line.append(f.key);
    line.push_back('=');
    append_value(line, f.value);
  }
  return line;
}

void event(Level level, std::string_view name, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  spdlog::default_logger_raw()->log(to_spd(level), "{}", format_event(name, fields));
}

}  // namespace mailstead::log
