#include "service/tls_identity.h"

#include <openssl/bio.h>
#include <openssl/evp.h>

#include "gp/bytes.h"

namespace sekds::service {

std::string sha256_fingerprint_hex(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  return gp::to_hex(gp::ByteView(md, len));
}

std::string subject_rfc2253(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return {};
  X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, n > 0 ? static_cast<std::size_t>(n) : 0);
  BIO_free(bio);
  return out;
}

std::optional<CallerIdentity> peer_identity(SSL* ssl, std::string peer_address) {
  if (!ssl) return std::nullopt;
  X509* cert = SSL_get1_peer_certificate(ssl);  // a new reference (OpenSSL 3)
  if (!cert) return std::nullopt;
  CallerIdentity id{sha256_fingerprint_hex(cert), subject_rfc2253(cert), std::move(peer_address)};
  X509_free(cert);
  return id;
}

}  // namespace sekds::service
