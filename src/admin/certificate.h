// TSM client certificates for accreditation (OpenSSL): what is pinned (SHA-256 of the DER
// certificate and its subject) and the checks before pinning — the certificate must chain to
// the configured TSM CA (X509_verify_cert, purpose sslclient, optional CRL), be within its
// validity period, carry the clientAuth extended key usage, and not be a CA itself.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace sekds::admin {

struct ClientCertificate {
  std::string sha256;      // 64 uppercase hex digits, of the DER encoding
  std::string subject;     // RFC 2253 ("CN=tsm1,O=..."), as the service reports callers
  std::string issuer;      // RFC 2253
  std::string not_before;  // "2026-01-31T00:00:00Z"
  std::string not_after;
  std::string serial;      // hex
};

// Reads the first PEM certificate of `file`. Throws AdminError(Usage, "BadCertificateFile").
ClientCertificate read_client_certificate(const std::filesystem::path& file);

// nullopt when `file` passes every check; otherwise why not (one line, e.g.
// "does not chain to the TSM CA: unable to get local issuer certificate").
// Throws AdminError(Usage) when the CA bundle or CRL cannot be read.
std::optional<std::string> check_client_certificate(const std::filesystem::path& file,
                                                    const std::filesystem::path& ca_bundle,
                                                    const std::optional<std::filesystem::path>& crl);

}  // namespace sekds::admin
