// The web UI's file server: which Accept-Encoding values get gzip, what is served for which
// path, and that nothing outside the loaded files is reachable.
#include "http/static_files.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace mailstead::http {
namespace {

namespace fs = std::filesystem;

TEST(StaticFiles, AcceptsGzip) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("gzip, deflate, br"));
  EXPECT_TRUE(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0.000, identity"));
  EXPECT_FALSE(accepts_gzip("x-gzip2"));
}

struct Dir {
  fs::path root = fs::temp_directory_path() / ("mailstead-static-" + std::to_string(::getpid()));
  Dir() {
    fs::create_directories(root / "assets");
    write("index.html", "<html>ui</html>");
    write("index.html.gz", "GZ-INDEX");
    write("assets/app-1.js", "js();");
  }
  ~Dir() { fs::remove_all(root); }
  void write(const std::string& name, const std::string& text) { std::ofstream(root / name, std::ios::binary) << text; }
};

Request get(std::string path, std::string accept = "") {
  Request r;
  r.method = "GET";
  r.path = std::move(path);
  if (!accept.empty()) r.headers.emplace_back("accept-encoding", accept);
  return r;
}

std::string header(const Response& r, std::string_view name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "";
}

TEST(StaticFiles, ServesTheLoadedFiles) {
  Dir d;
  std::string problem;
  auto files = StaticFiles::load(d.root.string(), problem);
  EXPECT_EQ(problem, "");
  EXPECT_EQ(files.size(), 2u);  // the .gz copies ride with their files

  auto index = files.serve(get("/"));
  ASSERT_TRUE(index);
  EXPECT_EQ(index->body, "<html>ui</html>");
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(header(*index, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(*index, "Content-Encoding"), "");

  auto gz = files.serve(get("/index.html", "gzip, br"));
  ASSERT_TRUE(gz);
  EXPECT_EQ(gz->body, "GZ-INDEX");
  EXPECT_EQ(header(*gz, "Content-Encoding"), "gzip");
  EXPECT_EQ(header(*gz, "Vary"), "Accept-Encoding");

  auto js = files.serve(get("/assets/app-1.js", "gzip"));  // no .gz copy: the plain file
  ASSERT_TRUE(js);
  EXPECT_EQ(js->body, "js();");
  EXPECT_EQ(header(*js, "Content-Encoding"), "");
  EXPECT_NE(header(*js, "Cache-Control").find("immutable"), std::string::npos);

  // Not a loaded file: left to the API (and so 404), never read from disk.
  EXPECT_FALSE(files.serve(get("/assets/../index.html")));
  EXPECT_FALSE(files.serve(get("/index.html.gz")));
  EXPECT_FALSE(files.serve(get("/api/v1/health")));
  EXPECT_FALSE(files.serve(get("/assets/")));
  auto post = get("/");
  post.method = "POST";
  EXPECT_FALSE(files.serve(post));
}

TEST(StaticFiles, MissingOrTooLarge) {
  std::string problem;
  auto none = StaticFiles::load("/nonexistent/mailstead-web", problem);
  EXPECT_NE(problem.find("no index.html"), std::string::npos);
  auto root = none.serve(get("/"));
  ASSERT_TRUE(root);
  EXPECT_EQ(root->status, 404);
  EXPECT_NE(root->body.find("not installed"), std::string::npos);
  EXPECT_FALSE(none.serve(get("/assets/app.js")));

  Dir d;
  problem.clear();
  auto small = StaticFiles::load(d.root.string(), problem, 10);
  EXPECT_NE(problem.find("larger than"), std::string::npos);
  EXPECT_EQ(small.size(), 0u);
}

}  // namespace
}  // namespace mailstead::http
