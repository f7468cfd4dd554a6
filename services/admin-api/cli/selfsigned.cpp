// A self-signed certificate for the embedded default, made on first start (OpenSSL 3):
// ECDSA P-256, SHA-256, subjectAltName for the hostname, localhost and 127.0.0.1.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/cli.hpp"

namespace mailstead::cli {

namespace {
template <class T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using FilePtr = std::unique_ptr<FILE, decltype(&std::fclose)>;
}  // namespace

std::string ensure_self_signed(const std::string& cert_path, const std::string& key_path, const std::string& hostname) {
  namespace fs = std::filesystem;
  if (fs::exists(cert_path) && fs::exists(key_path)) return "";
  std::error_code ec;
  fs::create_directories(fs::path(cert_path).parent_path(), ec);
  fs::create_directories(fs::path(key_path).parent_path(), ec);

  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return "cannot generate a key";
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 60L * 60 * 24 * 825);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Mailstead (self-signed)"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  std::string san = "DNS:" + hostname + (hostname == "localhost" ? "" : ",DNS:localhost") + ",IP:127.0.0.1,IP:::1";
  if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str())) {
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (!X509_sign(x.get(), key.get(), EVP_sha256())) return "cannot sign the certificate";

  mode_t old = ::umask(077);
  FilePtr kf(std::fopen(key_path.c_str(), "w"), &std::fclose);
  ::umask(old);
  if (!kf || !PEM_write_PrivateKey(kf.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr))
    return "cannot write " + key_path;
  FilePtr cf(std::fopen(cert_path.c_str(), "w"), &std::fclose);
  if (!cf || !PEM_write_X509(cf.get(), x.get())) return "cannot write " + cert_path;
  return "";
}

}  // namespace mailstead::cli
