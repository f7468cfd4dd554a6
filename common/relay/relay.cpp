// Relay settings in the store and their sealed passwords (see relay.hpp).
#include "relay/relay.hpp"

#include <arpa/inet.h>
#include <sodium.h>

#include <cctype>
#include <cstring>

#include "config/source.hpp"
#include "directory/address.hpp"
#include "directory/directory.hpp"
#include "store/store.hpp"
#include "util/bytes.hpp"

namespace mailstead::relay {

namespace {

constexpr std::uint8_t record_format = 1;
constexpr std::string_view default_key = "*";  // the default relay's key in the table

std::string table_key(std::string_view domain) { return domain.empty() ? std::string(default_key) : std::string(domain); }

std::string encode(const RelayRecord& r) {
  return Encoder()
      .u8(record_format)
      .str(r.domain)
      .str(r.host)
      .u32(r.port)
      .u8(static_cast<std::uint8_t>(r.security))
      .str(r.user)
      .u8(static_cast<std::uint8_t>(r.password))
      .str(r.sealed_password)
      .str(r.preset)
      .i64(r.updated)
      .take();
}

std::optional<RelayRecord> decode(std::string_view v) {
  Decoder d(v);
  if (d.u8() != record_format) return std::nullopt;
  RelayRecord r;
  r.domain = d.str();
  r.host = d.str();
  auto port = d.u32();
  auto sec = d.u8();
  r.user = d.str();
  auto pw = d.u8();
  r.sealed_password = d.str();
  r.preset = d.str();
  r.updated = d.i64();
  if (!d.ok() || !d.at_end() || port == 0 || port > 65535 || sec > 2 || pw > 2) return std::nullopt;
  r.port = static_cast<std::uint16_t>(port);
  r.security = static_cast<Security>(sec);
  r.password = static_cast<PasswordSource>(pw);
  return r;
}

// The secretbox key: BLAKE2b of [relay] key, so any long random string will do.
void derive_key(std::string_view secret, unsigned char (&key)[crypto_secretbox_KEYBYTES]) {
  static const unsigned char context[] = "mailstead relay password v1";
  crypto_generichash(key, sizeof key, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), context,
                     sizeof context - 1);
}

std::string seal(std::string_view password, std::string_view secret) {
  unsigned char key[crypto_secretbox_KEYBYTES];
  derive_key(secret, key);
  std::string out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + password.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES, reinterpret_cast<const unsigned char*>(password.data()),
                        password.size(), nonce, key);
  sodium_memzero(key, sizeof key);
  return out;
}

std::optional<std::string> unseal(std::string_view sealed, std::string_view secret) {
  if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) return std::nullopt;
  unsigned char key[crypto_secretbox_KEYBYTES];
  derive_key(secret, key);
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
  const auto* box = nonce + crypto_secretbox_NONCEBYTES;
  std::size_t box_len = sealed.size() - crypto_secretbox_NONCEBYTES;
  std::string out(box_len - crypto_secretbox_MACBYTES, '\0');
  int rc = crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(out.data()), box, box_len, nonce, key);
  sodium_memzero(key, sizeof key);
  if (rc != 0) return std::nullopt;
  return out;
}

bool valid_host(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':') return false;
  return h.front() != '-' && h.front() != '.';
}

std::uint16_t default_port(Security s) {
  switch (s) {
    case Security::starttls: return 587;
    case Security::tls: return 465;
    case Security::none: return 25;
  }
  return 587;
}

std::string preset_names() {
  std::string s;
  for (const auto& p : presets()) s += (s.empty() ? "" : ", ") + std::string(p.name);
  return s;
}

}  // namespace

const char* security_name(Security s) {
  switch (s) {
    case Security::starttls: return "starttls";
    case Security::tls: return "tls";
    case Security::none: return "none";
  }
  return "?";
}

std::optional<Security> parse_security(std::string_view s) {
  if (s == "starttls") return Security::starttls;
  if (s == "tls") return Security::tls;
  if (s == "none") return Security::none;
  return std::nullopt;
}

const char* password_source_name(PasswordSource s) {
  switch (s) {
    case PasswordSource::none: return "none";
    case PasswordSource::stored: return "stored";
    case PasswordSource::secrets_file: return "secrets-file";
  }
  return "?";
}

const std::vector<Preset>& presets() {
  // Each service's documented SMTP submission endpoint (STARTTLS on 587); the operator
  // may name another host (an SES region, Mailgun's EU host) as HOST[:PORT].
  static const std::vector<Preset> all{
      {"ses", "Amazon SES (give your region's host: email-smtp.REGION.amazonaws.com)",
       "email-smtp.us-east-1.amazonaws.com", 587, Security::starttls, ""},
      {"mailgun", "Mailgun (EU accounts: smtp.eu.mailgun.org)", "smtp.mailgun.org", 587, Security::starttls, ""},
      {"postmark", "Postmark (user and password: the server API token)", "smtp.postmarkapp.com", 587,
       Security::starttls, ""},
      {"sendgrid", "SendGrid (user apikey, password: the API key)", "smtp.sendgrid.net", 587, Security::starttls,
       "apikey"},
      {"gmail", "Gmail / Google Workspace (an app password)", "smtp.gmail.com", 587, Security::starttls, ""},
      {"smtp", "any SMTP server (give HOST[:PORT])", "", 587, Security::starttls, ""},
  };
  return all;
}

bool is_loopback_host(std::string_view host) {
  std::string h;
  for (char c : host) h.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (h == "localhost") return true;
  // An address literal only: "127.example.net" is a name anyone can point anywhere.
  unsigned char v4[4];
  if (::inet_pton(AF_INET, h.c_str(), v4) == 1) return v4[0] == 127;
  unsigned char v6[16];
  static const unsigned char loopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return ::inet_pton(AF_INET6, h.c_str(), v6) == 1 && std::memcmp(v6, loopback6, 16) == 0;
}

Result<Prepared> prepare(const SetRequest& req, const config::CoreSettings::Secrets& secrets, std::int64_t now) {
  Prepared out;
  auto& r = out.record;
  r.updated = now;

  const Preset* preset = nullptr;
  if (!req.preset.empty()) {
    for (const auto& p : presets())
      if (req.preset == p.name) preset = &p;
    if (!preset) return about(invalid("unknown preset '" + req.preset + "'; one of: " + preset_names()), "preset");
    r.preset = preset->name;
  }

  std::optional<Security> security;
  if (req.security) {
    security = parse_security(*req.security);
    if (!security) return about(invalid("--security must be starttls, tls or none, not '" + *req.security + "'"), "security");
  }

  std::optional<std::uint16_t> port;
  if (!req.host_port.empty()) {
    const auto& hp = req.host_port;
    bool has_port = hp.front() == '[' || (hp.find(':') != std::string::npos && hp.find(':') == hp.rfind(':'));
    if (has_port) {
      std::string host;
      std::uint16_t p = 0;
      if (!config::split_host_port(hp, host, p) || p == 0)
        return about(invalid("bad relay address '" + hp + "': give HOST:PORT with a port from 1 to 65535"), "host");
      r.host = host;
      port = p;
    } else {
      r.host = hp;
    }
  } else if (preset && *preset->host) {
    r.host = preset->host;
  } else {
    return about(invalid(preset ? "the " + std::string(preset->name) + " preset needs HOST[:PORT]"
                          : "give the relay as HOST:PORT (or --preset NAME; presets: " + preset_names() + ")"), "host");
  }
  for (auto& c : r.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!valid_host(r.host)) return about(invalid("bad relay host '" + r.host + "'"), "host");

  if (!security) security = preset ? preset->security : (port == 465 ? Security::tls : Security::starttls);
  r.security = *security;
  r.port = port ? *port : preset ? preset->port : default_port(r.security);
  if (preset && !port && r.security != preset->security) r.port = default_port(r.security);

  if (r.security == Security::starttls && r.port == 465)
    out.warnings.push_back("port 465 usually speaks TLS from the first byte (implicit TLS, \"SSL\"): if this relay "
                           "does, use --security tls");
  if (r.security == Security::tls && (r.port == 587 || r.port == 25))
    out.warnings.push_back("port " + std::to_string(r.port) +
                           " usually starts in plain text and upgrades with STARTTLS: if this relay does, use "
                           "--security starttls");

  if (!req.domain.empty()) {
    auto d = directory::normalize_domain(req.domain);
    if (!d) return about(d.error(), "domain");
    r.domain = *d;
  }

  r.user = req.user;
  if (r.user.empty() && req.password && preset && *preset->user) r.user = preset->user;
  if (req.password && r.user.empty()) return about(invalid("--password-stdin needs --user USER"), "user");
  if (!r.user.empty()) {
    if (r.user.find_first_of("\r\n") != std::string::npos || r.user.find('\0') != std::string::npos)
      return about(invalid("bad relay user name"), "user");
    if (r.security == Security::none && !is_loopback_host(r.host))
      return about(invalid("refusing to send the relay password in clear text to " + r.host +
                     ": use --security starttls or tls (security none with a user is allowed only for a relay on "
                     "this machine: localhost, 127.0.0.1, ::1)"), "security");
    if (req.password) {
      if (req.password->empty()) return about(invalid("the password on standard input is empty"), "password");
      if (secrets.relay_key.empty())
        return about(invalid("a relay password is kept encrypted with [relay] key from the secrets file, which has none: "
                       "add one (e.g. the output of `openssl rand -base64 32`), or put the default relay's "
                       "password in the secrets file as [relay] password and leave out --password-stdin"), "password");
      r.password = PasswordSource::stored;
      r.sealed_password = seal(*req.password, secrets.relay_key);
    } else if (r.domain.empty() && !secrets.relay_password.empty()) {
      r.password = PasswordSource::secrets_file;
    } else {
      return about(invalid("--user needs a password: --password-stdin (kept encrypted in the store)" +
                     std::string(r.domain.empty() ? ", or [relay] password in the secrets file" : "")), "password");
    }
  }
  return out;
}

Result<RelayRecord> put(store::WriteTxn& txn, const RelayRecord& r) {
  if (!r.domain.empty() && !directory::get_domain(txn, r.domain))
    return not_found("no domain " + r.domain + " (a per-sender-domain relay is for one of ours)");
  if (auto ec = txn.put(store::Table::relays, table_key(r.domain), encode(r)))
    return internal("store: " + ec.message());
  return r;
}

Result<void> clear(store::WriteTxn& txn, std::string_view domain) {
  std::string d;
  if (!domain.empty()) {
    auto n = directory::normalize_domain(domain);
    if (!n) return n.error();
    d = *n;
  }
  if (!txn.del(store::Table::relays, table_key(d)))
    return not_found(d.empty() ? "no default relay is set" : "no relay is set for " + d);
  return {};
}

std::vector<RelayRecord> list(store::ReadTxn& txn) {
  std::vector<RelayRecord> out;
  auto c = txn.cursor(store::Table::relays);
  for (bool ok = c->first(); ok; ok = c->next())
    if (auto r = decode(c->value())) out.push_back(std::move(*r));
  // "*" sorts before letters and digits, so the default relay comes first.
  return out;
}

std::optional<Relay> relay_for(store::ReadTxn& txn, std::string_view sender_domain,
                               const config::CoreSettings::Secrets& secrets) {
  std::optional<RelayRecord> rec;
  if (!sender_domain.empty()) {
    std::string d;
    if (auto n = directory::normalize_domain(sender_domain)) d = *n;
    if (!d.empty())
      if (auto v = txn.get(store::Table::relays, d)) rec = decode(*v);
  }
  if (!rec)
    if (auto v = txn.get(store::Table::relays, default_key)) rec = decode(*v);
  if (!rec) return std::nullopt;
  Relay out{rec->domain, rec->host, rec->port, rec->security, rec->user, "", ""};
  switch (rec->password) {
    case PasswordSource::none: break;
    case PasswordSource::stored:
      if (secrets.relay_key.empty()) {
        out.password_error = "the relay password is stored encrypted, but the secrets file has no [relay] key";
      } else if (auto p = unseal(rec->sealed_password, secrets.relay_key)) {
        out.password = std::move(*p);
      } else {
        out.password_error = "the relay password cannot be decrypted: [relay] key in the secrets file is not the one "
                             "it was stored with (set it again with mailstead relay set)";
      }
      break;
    case PasswordSource::secrets_file:
      if (secrets.relay_password.empty()) out.password_error = "[relay] password is missing from the secrets file";
      else out.password = secrets.relay_password;
      break;
  }
  return out;
}

}  // namespace mailstead::relay
