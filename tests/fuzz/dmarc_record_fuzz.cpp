// libFuzzer: the DMARC inputs a sender controls — the record text (parsed by libopendmarc,
// as smtpd hands it over) and the From field DMARC takes its domain from
// (services/smtpd/inbound/dmarc.cpp from_domain_of). Neither may crash; a From domain that
// is returned is a normalised domain.
#include <opendmarc/dmarc.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "inbound/message_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static bool init = [] {
    OPENDMARC_LIB_T lib{};
    opendmarc_policy_library_init(&lib);
    return true;
  }();
  (void)init;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto split = in.find('\n');
  std::string record(in.substr(0, std::min(split, std::size_t(2000))));
  std::string header = split == std::string_view::npos ? std::string() : std::string(in.substr(split + 1)) + "\r\n";
  if (record.find('\0') == std::string::npos && !record.empty()) {
    std::string ip = "192.0.2.1", from = "example.test", spf = "mail.example.test";
    DMARC_POLICY_T* p = opendmarc_policy_connect_init(reinterpret_cast<u_char*>(ip.data()), 0);
    opendmarc_policy_store_from_domain(p, reinterpret_cast<u_char*>(from.data()));
    if (opendmarc_policy_store_dmarc(p, reinterpret_cast<u_char*>(record.data()), reinterpret_cast<u_char*>(from.data()),
                                     nullptr) == DMARC_PARSE_OKAY) {
      opendmarc_policy_store_spf(p, reinterpret_cast<u_char*>(spf.data()), DMARC_POLICY_SPF_OUTCOME_PASS,
                                 DMARC_POLICY_SPF_ORIGIN_MAILFROM, nullptr);
      opendmarc_get_policy_to_enforce(p);
    }
    opendmarc_policy_connect_shutdown(p);
  }
  auto f = mailstead::inbound::from_domain_of("From: " + header);
  if (!f.domain.empty()) {
    if (!f.error.empty()) std::abort();
    for (char c : f.domain)
      if (std::isupper(static_cast<unsigned char>(c)) || c == '@' || static_cast<unsigned char>(c) <= 0x20) std::abort();
  }
  return 0;
}
