// Reads the bootstrap TOML file (toml11), the secrets file and environment overrides.
#include "config/source.hpp"

#include <sys/stat.h>

#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <toml.hpp>

namespace mailstead::config {

namespace {

std::string env_name(const std::string& prefix, const std::string& section, const std::string& key) {
  std::string n = prefix;
  for (const auto& part : {section, key}) {
    if (part.empty()) continue;
    n += '_';
    for (char c : part) n += (c == '-' || c == '.') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return n;
}

std::string dotted(const std::string& section, const std::string& key) {
  return section.empty() ? key : section + "." + key;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

struct Source::Impl {
  std::string path;
  toml::value root;       // a table (empty when there is no file)
  toml::value secrets;    // a table
  std::string secrets_path;
  std::set<std::string> used;

  const toml::value* find(const toml::value& table, const std::string& section,
                          const std::string& key) const {
    if (!table.is_table()) return nullptr;
    const auto& t = table.as_table();
    if (section.empty()) {
      auto it = t.find(key);
      return it == t.end() ? nullptr : &it->second;
    }
    auto s = t.find(section);
    if (s == t.end() || !s->second.is_table()) return nullptr;
    auto it = s->second.as_table().find(key);
    return it == s->second.as_table().end() ? nullptr : &it->second;
  }
};

Source::Source(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Source::Source(Source&&) noexcept = default;
Source& Source::operator=(Source&&) noexcept = default;
Source::~Source() = default;

const std::string& Source::path() const { return impl_->path; }

void Source::fail(const std::string& section, const std::string& key, const std::string& why) const {
  std::string where = impl_->path.empty() ? "configuration" : impl_->path;
  throw ConfigError(where + ": key '" + dotted(section, key) + "': " + why);
}

Source Source::load(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->root = toml::table{};
  impl->secrets = toml::table{};
  if (!path.empty()) {
    try {
      impl->root = toml::parse(path);
    } catch (const std::exception& e) {
      throw ConfigError(path + ": " + e.what());
    }
  }
  Source src(std::move(impl));
  // The secrets file is named in the main file (or the environment) and read now.
  std::string secrets_file;
  src.get("", "secrets_file", secrets_file);
  if (!secrets_file.empty()) {
    struct stat st {};
    if (::stat(secrets_file.c_str(), &st) != 0)
      src.fail("", "secrets_file", "cannot read " + secrets_file);
    // Like ssh with a private key: a secrets file anyone but its owner can read or write
    // is refused, naming the file and its mode.
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      src.fail("", "secrets_file",
               secrets_file + " has mode " + mode +
                   ": it must not be readable or writable by group or others; chmod 600 it");
    }
    try {
      src.impl_->secrets = toml::parse(secrets_file);
      src.impl_->secrets_path = secrets_file;
    } catch (const std::exception& e) {
      throw ConfigError(secrets_file + ": " + e.what());
    }
  }
  return src;
}

Source Source::from_string(const std::string& text, const std::string& name) {
  auto impl = std::make_unique<Impl>();
  impl->path = name;
  impl->secrets = toml::table{};
  std::istringstream in(text);
  try {
    impl->root = toml::parse(in, name);
  } catch (const std::exception& e) {
    throw ConfigError(name + ": " + e.what());
  }
  return Source(std::move(impl));
}

namespace {
// The raw text of an environment override, if set.
const char* env_value(const std::string& section, const std::string& key) {
  auto n = env_name("MAILSTEAD", section, key);
  return std::getenv(n.c_str());
}
}  // namespace

void Source::get(const std::string& section, const std::string& key, std::string& out) {
  impl_->used.insert(dotted(section, key));
  if (const char* e = env_value(section, key)) { out = e; return; }
  const auto* v = impl_->find(impl_->root, section, key);
  if (!v) return;
  if (!v->is_string()) fail(section, key, "expected a string");
  out = v->as_string().str;
}

bool Source::has(const std::string& section, const std::string& key) {
  impl_->used.insert(dotted(section, key));
  return env_value(section, key) || impl_->find(impl_->root, section, key);
}

void Source::get(const std::string& section, const std::string& key, bool& out) {
  impl_->used.insert(dotted(section, key));
  if (const char* e = env_value(section, key)) {
    std::string s = e;
    if (s == "true" || s == "1" || s == "yes") out = true;
    else if (s == "false" || s == "0" || s == "no") out = false;
    else fail(section, key, "expected true or false in the environment, got '" + s + "'");
    return;
  }
  const auto* v = impl_->find(impl_->root, section, key);
  if (!v) return;
  if (!v->is_boolean()) fail(section, key, "expected true or false");
  out = v->as_boolean();
}

void Source::get(const std::string& section, const std::string& key, std::uint32_t& out,
                 std::uint64_t min, std::uint64_t max) {
  impl_->used.insert(dotted(section, key));
  std::uint64_t n = 0;
  if (const char* e = env_value(section, key)) {
    if (!parse_u64(e, n)) fail(section, key, "expected a whole number, got '" + std::string(e) + "'");
  } else {
    const auto* v = impl_->find(impl_->root, section, key);
    if (!v) return;
    if (!v->is_integer() || v->as_integer() < 0) fail(section, key, "expected a whole number");
    n = static_cast<std::uint64_t>(v->as_integer());
  }
  if (n < min || n > max)
    fail(section, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  out = static_cast<std::uint32_t>(n);
}

void Source::get(const std::string& section, const std::string& key, double& out, double min, double max) {
  impl_->used.insert(dotted(section, key));
  double d = 0;
  if (const char* e = env_value(section, key)) {
    char* end = nullptr;
    d = std::strtod(e, &end);
    if (!*e || *end) fail(section, key, "expected a number, got '" + std::string(e) + "'");
  } else {
    const auto* v = impl_->find(impl_->root, section, key);
    if (!v) return;
    if (v->is_floating()) d = v->as_floating();
    else if (v->is_integer()) d = static_cast<double>(v->as_integer());
    else fail(section, key, "expected a number");
  }
  if (!(d >= min && d <= max))
    fail(section, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  out = d;
}

void Source::get(const std::string& section, const std::string& key, std::vector<std::string>& out) {
  impl_->used.insert(dotted(section, key));
  if (const char* e = env_value(section, key)) {
    out.clear();
    std::string s = e, item;
    std::istringstream in(s);
    while (std::getline(in, item, ','))
      if (!item.empty()) out.push_back(item);
    return;
  }
  const auto* v = impl_->find(impl_->root, section, key);
  if (!v) return;
  if (!v->is_array()) fail(section, key, "expected a list of strings");
  out.clear();
  for (const auto& item : v->as_array()) {
    if (!item.is_string()) fail(section, key, "expected a list of strings");
    out.push_back(item.as_string().str);
  }
}

namespace {
bool parse_scaled(std::string s, std::uint64_t& out, bool duration) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  std::uint64_t n = 0;
  if (!parse_u64(std::string_view(s).substr(0, i), n)) return false;
  std::string unit = s.substr(i);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::uint64_t mul = 0;
  if (duration) {
    if (unit.empty() || unit == "s") mul = 1000;
    else if (unit == "ms") mul = 1;
    else if (unit == "m") mul = 60'000;
    else if (unit == "h") mul = 3'600'000;
    else if (unit == "d") mul = 86'400'000;
  } else {
    if (unit.empty() || unit == "b") mul = 1;
    else if (unit == "k" || unit == "kb" || unit == "kib") mul = 1024;
    else if (unit == "m" || unit == "mb" || unit == "mib") mul = 1024 * 1024;
    else if (unit == "g" || unit == "gb" || unit == "gib") mul = 1024ull * 1024 * 1024;
  }
  if (mul == 0 || (n != 0 && UINT64_MAX / n < mul)) return false;
  out = n * mul;
  return true;
}
}  // namespace

void Source::get_size(const std::string& section, const std::string& key, std::uint64_t& out,
                      std::uint64_t min, std::uint64_t max) {
  impl_->used.insert(dotted(section, key));
  std::uint64_t n = 0;
  if (const char* e = env_value(section, key)) {
    if (!parse_scaled(e, n, false)) fail(section, key, "expected a size such as 1048576 or \"25M\"");
  } else {
    const auto* v = impl_->find(impl_->root, section, key);
    if (!v) return;
    if (v->is_integer() && v->as_integer() >= 0) n = static_cast<std::uint64_t>(v->as_integer());
    else if (!v->is_string() || !parse_scaled(v->as_string().str, n, false))
      fail(section, key, "expected a size such as 1048576 or \"25M\"");
  }
  if (n < min || n > max)
    fail(section, key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + " bytes");
  out = n;
}

void Source::get_duration(const std::string& section, const std::string& key,
                          std::chrono::milliseconds& out) {
  impl_->used.insert(dotted(section, key));
  std::uint64_t ms = 0;
  if (const char* e = env_value(section, key)) {
    if (!parse_scaled(e, ms, true)) fail(section, key, "expected seconds or a duration such as \"5m\"");
  } else {
    const auto* v = impl_->find(impl_->root, section, key);
    if (!v) return;
    if (v->is_integer() && v->as_integer() >= 0) ms = static_cast<std::uint64_t>(v->as_integer()) * 1000;
    else if (!v->is_string() || !parse_scaled(v->as_string().str, ms, true))
      fail(section, key, "expected seconds or a duration such as \"5m\"");
  }
  out = std::chrono::milliseconds(ms);
}

bool split_host_port(const std::string& s, std::string& host, std::uint16_t& port) {
  std::string p;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    host = s.substr(1, close - 1);
    p = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || s.find(':') != colon) return false;
    host = s.substr(0, colon);
    p = s.substr(colon + 1);
  }
  std::uint64_t n = 0;
  if (host.empty() || !parse_u64(p, n) || n > 65535) return false;
  port = static_cast<std::uint16_t>(n);
  return true;
}

void Source::get_listeners(const std::string& section, const std::string& key,
                           std::vector<std::string>& out) {
  get(section, key, out);
  for (const auto& l : out) {
    std::string host;
    std::uint16_t port = 0;
    if (!split_host_port(l, host, port))
      fail(section, key, "'" + l + "' is not host:port (use [addr]:port for IPv6)");
  }
}

void Source::get_secret(const std::string& section, const std::string& key, std::string& out) {
  auto n = env_name("MAILSTEAD_SECRET", section, key);
  if (const char* e = std::getenv(n.c_str())) { out = e; return; }
  impl_->used.insert("secret:" + dotted(section, key));
  const auto* v = impl_->find(impl_->secrets, section, key);
  if (!v) return;
  if (!v->is_string())
    throw ConfigError(impl_->secrets_path + ": key '" + dotted(section, key) + "': expected a string");
  out = v->as_string().str;
}

void Source::check_unknown(const std::set<std::string>& foreign) const {
  auto check = [&](const toml::value& root, const std::string& file, const std::string& prefix) {
    if (!root.is_table()) return;
    for (const auto& [name, value] : root.as_table()) {
      if (value.is_table()) {
        if (prefix.empty() && foreign.count(name)) continue;
        for (const auto& [key, _] : value.as_table())
          if (!impl_->used.count(prefix + name + "." + key))
            throw ConfigError(file + ": key '" + name + "." + key + "': unknown key");
      } else if (!impl_->used.count(prefix + name)) {
        throw ConfigError(file + ": key '" + name + "': unknown key");
      }
    }
  };
  check(impl_->root, impl_->path, "");
  check(impl_->secrets, impl_->secrets_path, "secret:");
}

}  // namespace mailstead::config

namespace mailstead::config {
bool parse_size(const std::string& s, std::uint64_t& out) { return parse_scaled(s, out, false); }
}  // namespace mailstead::config
