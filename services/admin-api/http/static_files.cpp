// Serving the web UI's files (see static_files.hpp).
#include "http/static_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/text.hpp"

namespace mailstead::http {

namespace fs = std::filesystem;

namespace {

const char* type_of(const std::string& path) {
  auto ends = [&](std::string_view s) { return path.ends_with(s); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".json")) return "application/json";
  if (ends(".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

std::optional<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

bool accepts_gzip(std::string_view header) {
  while (!header.empty()) {
    auto comma = header.find(',');
    auto item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    auto semi = item.find(';');
    auto coding = trim(item.substr(0, semi));
    if (!iequals(coding, "gzip") && coding != "*") continue;
    if (semi == std::string_view::npos) return true;
    auto param = trim(item.substr(semi + 1));
    if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
      auto q = trim(param.substr(2));
      bool zero = !q.empty() && q.find_first_not_of("0.") == std::string_view::npos;
      return !zero;
    }
    return true;
  }
  return false;
}

std::string default_web_root() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "/usr/share/mailstead/web";
  return (exe.parent_path().parent_path() / "share" / "mailstead" / "web").string();
}

StaticFiles StaticFiles::load(const std::string& root, std::string& problem, std::size_t max_total) {
  StaticFiles out;
  std::error_code ec;
  if (!fs::is_regular_file(fs::path(root) / "index.html", ec)) {
    problem = "no index.html in " + root;
    return out;
  }
  std::size_t total = 0;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    auto rel = fs::relative(it->path(), root, ec).generic_string();
    if (ec || rel.ends_with(".gz")) continue;
    auto body = read_file(it->path());
    if (!body) continue;
    File f{type_of(rel), std::move(*body), ""};
    auto gz = it->path();
    gz += ".gz";
    if (auto g = read_file(gz)) f.gzipped = std::move(*g);
    total += f.body.size() + f.gzipped.size();
    if (total > max_total) {
      problem = "the files in " + root + " are larger than " + std::to_string(max_total) + " bytes";
      out.files_.clear();
      return out;
    }
    out.files_.emplace("/" + rel, std::move(f));
  }
  if (ec) problem = "reading " + root + ": " + ec.message();
  out.installed_ = true;
  return out;
}

std::optional<Response> StaticFiles::serve(const Request& req) const {
  if (req.method != "GET" && req.method != "HEAD") return std::nullopt;
  std::string path = req.path == "/" ? "/index.html" : req.path;
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (req.path == "/" && !installed_) {
      Response r;
      r.status = 404;
      r.content_type = "text/plain; charset=utf-8";
      r.body = "The web UI's files are not installed (see docs/web-ui.md); the API is at /api/v1.\n";
      return r;
    }
    return std::nullopt;
  }
  const File& f = it->second;
  Response r;
  r.content_type = f.content_type;
  // Hashed names under /assets/ never change content; index.html names the current ones.
  r.headers.emplace_back("Cache-Control", path.starts_with("/assets/") ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("Vary", "Accept-Encoding");
  if (!f.gzipped.empty() && accepts_gzip(req.header("accept-encoding"))) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.body = f.gzipped;
  } else {
    r.body = f.body;
  }
  return r;
}

}  // namespace mailstead::http
