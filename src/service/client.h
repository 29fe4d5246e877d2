// Client of the sekds key service (used by sekds-tsm and the benchmarks): a gSOAP proxy
// behind a gSOAP-free interface, with mutual TLS, HTTP keep-alive and timeouts.
//
// One Client holds one keep-alive connection and is NOT thread-safe: use one per thread.
// Each call returns the answer, the service's Fault (code parsed back into FaultCode), or a
// TransportError saying why no answer came (TLS, refused, timeout, ...).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "service/key_service.h"

namespace sekds::service {

struct ClientOptions {
  std::string endpoint;                 // "https://host:port/sekds/v1"; the host is checked against the server cert
  std::filesystem::path certificate;    // client certificate chain (PEM)
  std::filesystem::path private_key;    // its key (PEM); may be the same file as `certificate`
  std::filesystem::path ca_file;        // CA bundle that the server certificate must chain to
  int soap_version = 11;                // 11 or 12
  int connect_timeout_s = 10;
  int recv_timeout_s = 30;
  int send_timeout_s = 30;
  bool keep_alive = true;
};

struct TransportError {
  enum class Kind {
    ConnectionRefused,  // nothing listens there
    Timeout,            // connect, send or receive took too long
    Tls,                // handshake or certificate problem (text says which)
    ConnectionClosed,   // the server closed the connection; with TLS 1.3 also how a refused
                        // client certificate shows (TOOLCHAIN gotcha 4)
    Http,               // an HTTP error status instead of SOAP (http_status)
    Protocol,           // an answer that is not the expected SOAP
    Other,              // anything else (name resolution, ...)
  };
  Kind kind = Kind::Other;
  std::string message;
  int http_status = 0;
};

const char* transport_error_kind_name(TransportError::Kind k) noexcept;

template <class T>
using Result = std::variant<T, Fault, TransportError>;

// Bad options (unreadable certificate or key, key not matching): one line naming the option.
class ClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Client {
 public:
  explicit Client(const ClientOptions& options);  // throws ClientError
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  Result<std::string> ping(std::string_view message);
  Result<GetKeysResponse> get_diversified_keys(const GetKeysRequest& request);
  Result<std::vector<KekInfo>> get_kek_info();

  // Closes the kept-alive connection gracefully. The next call reconnects and resumes the TLS
  // session, or, with keep_tls_session false, makes a full handshake (credentials stay loaded).
  void disconnect(bool keep_tls_session = true);
  const ClientOptions& options() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sekds::service
