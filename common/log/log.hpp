// Structured logging: one `event=name key=value ...` line per event on stderr (spdlog).
// Values with spaces or quotes are quoted. There is no field type for secrets on purpose:
// passwords and AUTH payloads cannot be logged by accident.
#pragma once

#include <concepts>
#include <cstdint>
#include <optional>
#include <initializer_list>
#include <string>
#include <string_view>

namespace mailstead::log {

enum class Level { trace, debug, info, warn, error };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  template <std::integral T>
  Field(std::string_view k, T v) : key(k), value(std::to_string(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v ? "true" : "false") {}
  std::string_view key;
  std::string value;
};

// `process` names this program on every line; `level` is trace/debug/info/warn/error.
void init(std::string_view process, std::string_view level);
// Also keeps the latest events in a bounded ring of two files, `<dir>/<process>.log` and
// `<process>.1.log` (the older half), together at most `max_bytes`: what the admin API's log
// view reads (docs/logging.md). Returns "" or why the ring could not be opened (then stderr
// alone is used).
std::string add_ring(const std::string& dir, std::string_view process, std::uint64_t max_bytes);

// One line of a ring file, split: "2026-01-02T03:04:05.678Z mailstead-smtpd level=info event=x k=v".
struct Line {
  std::string time, process, level, text;  // text: "event=x k=v"
};
std::optional<Line> parse_line(std::string_view line);
// The name given to init().
std::string process_name();
bool enabled(Level level);
void event(Level level, std::string_view name, std::initializer_list<Field> fields);
// The line event() would write, without the timestamp and level (for tests).
std::string format_event(std::string_view name, std::initializer_list<Field> fields);

inline void debug(std::string_view name, std::initializer_list<Field> f = {}) { event(Level::debug, name, f); }
inline void info(std::string_view name, std::initializer_list<Field> f = {}) { event(Level::info, name, f); }
inline void warn(std::string_view name, std::initializer_list<Field> f = {}) { event(Level::warn, name, f); }
inline void error(std::string_view name, std::initializer_list<Field> f = {}) { event(Level::error, name, f); }

}  // namespace mailstead::log
