// Helpers for unit tests: a temporary directory removed at the end of the test, and a
// store opened in it.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "store/store.hpp"

namespace mailstead::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mailstead-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::unique_ptr<store::Store> open_store(const std::string& dir, std::uint64_t map_size = 64 << 20,
                                                std::uint32_t max_batches = 1024) {
  std::error_code ec;
  std::string why;
  auto s = store::open({dir + "/store", map_size, 126, max_batches}, ec, why);
  if (!s) throw std::runtime_error("cannot open store: " + why);
  return s;
}

}  // namespace mailstead::testing
