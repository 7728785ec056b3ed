#include "server/tls_files.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "base/status_macros.h"
#include "base/str_cat.h"

namespace flopwise::server {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, std::string_view option) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    const std::string message = Cat(option, ": cannot read ", path, ": ", std::strerror(err));
    if (err == EACCES) return absl::PermissionDeniedError(message);
    return absl::NotFoundError(message);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

std::unique_ptr<BIO, BioFree> MemoryBio(const std::string& text) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

}  // namespace

absl::StatusOr<TlsPem> LoadTlsFiles(const std::string& cert_path, const std::string& key_path) {
  TlsPem pem;
  ASSIGN_OR_RETURN(pem.cert_chain, ReadFile(cert_path, "tls-cert"));
  ASSIGN_OR_RETURN(pem.private_key, ReadFile(key_path, "tls-key"));
  std::unique_ptr<X509, X509Free> cert(
      PEM_read_bio_X509(MemoryBio(pem.cert_chain).get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        Cat("tls-cert: ", cert_path, " holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
  }
  std::unique_ptr<EVP_PKEY, KeyFree> key(
      PEM_read_bio_PrivateKey(MemoryBio(pem.private_key).get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        Cat("tls-key: ", key_path, " holds no unencrypted PEM private key"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return absl::InvalidArgumentError(
        Cat("tls-key: ", key_path, " is not the key of the certificate in ", cert_path));
  }
  return pem;
}

}  // namespace flopwise::server
