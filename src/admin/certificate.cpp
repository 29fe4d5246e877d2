#include "admin/certificate.h"

#include <cstdio>
#include <ctime>
#include <memory>
#include <vector>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "admin/errors.h"
#include "gp/bytes.h"

namespace sekds::admin {

namespace {

struct Free {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
  void operator()(X509_CRL* p) const { X509_CRL_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(FILE* p) const { std::fclose(p); }
  void operator()(STACK_OF(X509)* p) const { sk_X509_pop_free(p, X509_free); }
};
template <class T>
using Ptr = std::unique_ptr<T, Free>;

std::string openssl_reason() {
  const unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "no PEM data found";
  const char* r = ERR_reason_error_string(e);
  return r ? r : "unknown OpenSSL error";
}

[[noreturn]] void bad_file(const std::string& what, const std::filesystem::path& p, const std::string& why) {
  throw AdminError(ExitCode::Usage, "BadCertificateFile", what + " " + p.string() + ": " + why);
}

// Every certificate of a PEM file (at least one).
std::vector<Ptr<X509>> read_pem_certs(const std::string& what, const std::filesystem::path& p) {
  Ptr<FILE> f(std::fopen(p.c_str(), "rb"));
  if (!f) bad_file(what, p, "cannot open");
  std::vector<Ptr<X509>> out;
  while (X509* c = PEM_read_X509(f.get(), nullptr, nullptr, nullptr)) out.emplace_back(c);
  const unsigned long e = ERR_peek_last_error();
  if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
    bad_file(what, p, "not a PEM certificate: " + openssl_reason());
  ERR_clear_error();
  if (out.empty()) bad_file(what, p, "no PEM certificate in it");
  return out;
}

std::string name_text(const X509_NAME* n) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), n, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string time_text(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

ClientCertificate describe(X509* c) {
  ClientCertificate out;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(c, EVP_sha256(), md, &len) != 1) throw AdminError(ExitCode::Refused, "Internal", "X509_digest failed");
  out.sha256 = gp::to_hex(gp::ByteView(md, len));
  out.subject = name_text(X509_get_subject_name(c));
  out.issuer = name_text(X509_get_issuer_name(c));
  out.not_before = time_text(X509_get0_notBefore(c));
  out.not_after = time_text(X509_get0_notAfter(c));
  const ASN1_INTEGER* serial = X509_get0_serialNumber(c);
  out.serial = gp::to_hex(gp::ByteView(serial->data, static_cast<std::size_t>(serial->length)));
  return out;
}

}  // namespace

ClientCertificate read_client_certificate(const std::filesystem::path& file) {
  auto certs = read_pem_certs("certificate", file);
  return describe(certs.front().get());
}

std::optional<std::string> check_client_certificate(const std::filesystem::path& file,
                                                    const std::filesystem::path& ca_bundle,
                                                    const std::optional<std::filesystem::path>& crl) {
  auto certs = read_pem_certs("certificate", file);
  X509* leaf = certs.front().get();
  auto cas = read_pem_certs("TSM CA bundle", ca_bundle);

  Ptr<X509_STORE> store(X509_STORE_new());
  for (auto& ca : cas) X509_STORE_add_cert(store.get(), ca.get());
  if (crl) {
    Ptr<FILE> f(std::fopen(crl->c_str(), "rb"));
    if (!f) bad_file("CRL", *crl, "cannot open");
    Ptr<X509_CRL> c(PEM_read_X509_CRL(f.get(), nullptr, nullptr, nullptr));
    if (!c) bad_file("CRL", *crl, "not a PEM CRL: " + openssl_reason());
    X509_STORE_add_crl(store.get(), c.get());
    X509_STORE_set_flags(store.get(), X509_V_FLAG_CRL_CHECK);
  }
  // Further certificates in the file are untrusted intermediates, never anchors.
  Ptr<STACK_OF(X509)> chain(sk_X509_new_null());
  for (std::size_t i = 1; i < certs.size(); ++i) {
    X509_up_ref(certs[i].get());
    sk_X509_push(chain.get(), certs[i].get());
  }
  Ptr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf, chain.get()) != 1)
    throw AdminError(ExitCode::Refused, "Internal", "X509_STORE_CTX_init failed: " + openssl_reason());
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    std::string why = X509_verify_cert_error_string(err);
    if (err == X509_V_ERR_CERT_HAS_EXPIRED) why += " (not after " + time_text(X509_get0_notAfter(leaf)) + ")";
    if (err == X509_V_ERR_CERT_NOT_YET_VALID) why += " (not before " + time_text(X509_get0_notBefore(leaf)) + ")";
    return "does not verify against the TSM CA " + ca_bundle.string() + ": " + why;
  }
  // The purpose check accepts a certificate WITHOUT any EKU; accreditation wants clientAuth said.
  const uint32_t flags = X509_get_extension_flags(leaf);
  if ((flags & EXFLAG_XKUSAGE) == 0 || (X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT) == 0)
    return "lacks the clientAuth extended key usage (extendedKeyUsage = clientAuth)";
  if (X509_check_ca(leaf) != 0) return "is a CA certificate, not a TSM client certificate";
  return std::nullopt;
}

}  // namespace sekds::admin
