// dkim-sign: signs a message with the keys a store holds, as the delivery service does,
// for the integration tests' third-party verification (tests/integration/test_dkim.py).
//   dkim-sign --store DIR [--domain D] < message > signed message
// D defaults to the From field's domain. Exit 1 (with the reason on stderr) when the
// message cannot be signed; 2 on bad arguments.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>

#include "dkim/dkim.hpp"
#include "store/store.hpp"

using namespace mailstead;

int main(int argc, char** argv) {
  std::string dir, domain;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--store") == 0) dir = argv[i + 1];
    else if (std::strcmp(argv[i], "--domain") == 0) domain = argv[i + 1];
    else return 2;
  }
  if (dir.empty()) {
    std::fprintf(stderr, "usage: dkim-sign --store DIR [--domain D] < message\n");
    return 2;
  }
  std::string message((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  std::error_code ec;
  std::string why;
  auto store = store::open({dir, std::uint64_t{1} << 26, 126, 1}, ec, why);
  if (!store) {
    std::fprintf(stderr, "dkim-sign: %s\n", why.c_str());
    return 1;
  }
  if (domain.empty()) domain = dkim::from_domain(message);
  std::vector<dkim::Key> keys;
  {
    auto txn = store->read();
    keys = dkim::signing_keys(*txn, domain);
  }
  auto sig = dkim::sign(message, keys);
  if (!sig) {
    std::fprintf(stderr, "dkim-sign: %s\n", sig.error().message.c_str());
    return 1;
  }
  std::fwrite(sig->data(), 1, sig->size(), stdout);
  std::fwrite(message.data(), 1, message.size(), stdout);
  return 0;
}
