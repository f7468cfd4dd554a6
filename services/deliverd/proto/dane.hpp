// Which TLSA records an SMTP client can use (RFC 7672 3.1, RFC 6698 2.1). Pure.
#pragma once

#include "dns/message.hpp"

namespace mailstead::outbound {

// DANE-TA(2) or DANE-EE(3); selector Cert(0) or SPKI(1); matching Full(0), SHA2-256(1) with
// 32 bytes or SHA2-512(2) with 64. PKIX-TA(0) and PKIX-EE(1) are unusable in SMTP (RFC 7672
// 3.1.3), as are unknown parameters and data of the wrong length.
inline bool usable_tlsa(const dns::Tlsa& t) {
  if (t.usage != 2 && t.usage != 3) return false;
  if (t.selector > 1) return false;
  switch (t.matching) {
    case 0: return !t.data.empty();
    case 1: return t.data.size() == 32;
    case 2: return t.data.size() == 64;
    default: return false;
  }
}

}  // namespace mailstead::outbound
