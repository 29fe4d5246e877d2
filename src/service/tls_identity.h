// The caller's identity from an established mutual-TLS connection (OpenSSL only).
#pragma once

#include <optional>
#include <string>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "service/key_service.h"

namespace sekds::service {

// SHA-256 over the DER certificate, uppercase hex without separators (what
// `openssl x509 -fingerprint -sha256` prints, without the colons).
std::string sha256_fingerprint_hex(X509* cert);
// Subject DN in RFC 2253 form, e.g. "CN=tsm1,O=sekds DEMO ONLY".
std::string subject_rfc2253(X509* cert);
// The peer certificate's identity; nullopt if the peer sent no certificate.
std::optional<CallerIdentity> peer_identity(SSL* ssl, std::string peer_address);

}  // namespace sekds::service
