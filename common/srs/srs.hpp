// The Sender Rewriting Scheme (Shevek's SRS0/SRS1, as libsrs2, postsrsd and Mail::SRS
// implement it): when mail is forwarded to another domain, the envelope sender becomes an
// address of ours that SPF accepts and that carries the original sender back for bounces.
//
//   SRS0=HHHH=TT=orig.example=user@ours.example        HHHH: HMAC-SHA1 of TT, host, user
//   SRS1=HHHH=first.example==HHHH=TT=orig=user@ours     (forwarding an SRS0 address again)
//
// HHHH is the first 4 base64 characters of HMAC-SHA1(key, lower-cased fields), checked
// without regard to case; TT is the day number modulo 1024 in two base32 characters, valid
// for max_age_days. docs/outbound.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace mailstead::config {
struct CoreSettings;
}
namespace mailstead::store {
class Store;
}

namespace mailstead::srs {

inline constexpr std::uint32_t default_max_age_days = 21;

// The envelope sender to use when forwarding mail from `sender` out through
// `local_domain` (one of ours) at `now` (Unix seconds). Unchanged: the null sender "",
// an address without a domain, and one already in `local_domain`. An SRS0 sender becomes
// SRS1 (pointing at the first forwarder); an SRS1 sender keeps its first forwarder.
std::string forward(std::string_view sender, std::string_view local_domain, std::string_view key, std::int64_t now);

// The address a bounce to `address` (an SRS0/SRS1 address of ours) goes back to, when its
// hash verifies with `key` and (SRS0) its timestamp is at most `max_age_days` old; else
// nullopt. The domain of `address` is not checked here: the caller knows it is ours.
// SRS1 reverses to the SRS0 address at the first forwarder (whose hash that one checks).
std::optional<std::string> reverse(std::string_view address, std::string_view key, std::int64_t now,
                                   std::uint32_t max_age_days = default_max_age_days);

// Whether a local part looks like SRS (SRS0 or SRS1, any case, then '=', '+' or '-').
bool is_srs(std::string_view local_part);

// The keys of this installation, the first signs and all verify: [srs] secret (then
// [srs] old_secret) from the secrets file; without them, a random key made once and kept
// in the store (meta "srs_secret"), so every process and restart agrees. May write.
Result<std::vector<std::string>> load_keys(store::Store& store, const config::CoreSettings& core);

}  // namespace mailstead::srs
