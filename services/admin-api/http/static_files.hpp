// The web UI's files (web-ui/, built by npm into share/mailstead/web), served by the admin
// API itself: read once at start into memory with the .gz copies made at build time, sent
// gzipped to clients that accept it (RFC 9110 12.5.3), hashed asset names cached for a year,
// index.html revalidated. docs/web-ui.md says where the files are looked for.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "http/message.hpp"

namespace mailstead::http {

class StaticFiles {
 public:
  // Loads every regular file under `root` (at most `max_total` bytes in all). An absent
  // root gives an empty set and says so in `problem`; the API works without the UI.
  static StaticFiles load(const std::string& root, std::string& problem, std::size_t max_total = 64 << 20);

  // The answer to a GET or HEAD of one of the files ("/" is index.html); nullopt for
  // anything else, which the API and autoconfig then handle.
  std::optional<Response> serve(const Request& req) const;

  std::size_t size() const { return files_.size(); }

 private:
  struct File {
    std::string content_type;
    std::string body;
    std::string gzipped;  // "" when the build made no .gz
  };
  std::map<std::string, File> files_;  // by URL path: "/index.html", "/assets/main-X.js"
  bool installed_ = false;
};

// True when an Accept-Encoding header value allows gzip (a "gzip" or "*" coding whose
// q-value is not 0).
bool accepts_gzip(std::string_view accept_encoding);

// Where the UI's files are when [admin] web_root is empty: share/mailstead/web beside the
// program's bin/ (build/bin → build/share/…, /usr/bin → /usr/share/…).
std::string default_web_root();

}  // namespace mailstead::http
