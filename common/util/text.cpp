// Session ids (see text.hpp).
#include "util/text.hpp"

#include <sodium.h>

namespace mailstead {

std::string new_session_id() {
  unsigned char b[5];
  randombytes_buf(b, sizeof b);
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (auto c : b) {
    id.push_back(hex[c >> 4]);
    id.push_back(hex[c & 15]);
  }
  return id;
}

}  // namespace mailstead
