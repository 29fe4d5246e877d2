// The SOAP <-> domain boundary of the key service. Pure C++ (no gSOAP): the transport
// (server.h, client.h) converts the generated SOAP types to and from these structs in one
// place (soap_convert.cpp), so gSOAP types never leak into the key-release logic.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gp/bytes.h"
#include "gp/key_type.h"

namespace sekds::service {

// Who is calling, as established by the mutual-TLS handshake (one per connection).
struct CallerIdentity {
  std::string cert_sha256_hex;  // SHA-256 of the client certificate (DER), uppercase hex, no ':'
  std::string subject;          // subject DN, RFC 2253 form ("CN=tsm1,O=...")
  std::string peer_address;     // "127.0.0.1:54321" or "[::1]:54321"
};

// The stable machine-readable fault codes of the WSDL (FaultCode). Never renumber or rename:
// the names travel on the wire.
enum class FaultCode {
  InvalidArgument,
  UnknownKeySet,
  KeyInformationMismatch,
  NotEntitled,
  UnknownKek,
  KekNotActive,
  NotAccredited,
  RateLimited,
  HsmUnavailable,
  AuditUnavailable,
  Internal,
  CounterReplay,  // the card's sequence counter repeated or went backwards ([release] reject_counter_anomaly)
};

inline constexpr FaultCode kAllFaultCodes[] = {
    FaultCode::InvalidArgument, FaultCode::UnknownKeySet, FaultCode::KeyInformationMismatch,
    FaultCode::NotEntitled,     FaultCode::UnknownKek,    FaultCode::KekNotActive,
    FaultCode::NotAccredited,   FaultCode::RateLimited,   FaultCode::HsmUnavailable,
    FaultCode::AuditUnavailable, FaultCode::Internal,  FaultCode::CounterReplay};

const char* fault_code_name(FaultCode c) noexcept;
std::optional<FaultCode> parse_fault_code(std::string_view name) noexcept;
// True for faults caused by the request or the caller (SOAP Client/Sender fault); false for
// server-side conditions a retry may cure (SOAP Server/Receiver fault).
bool is_sender_fault(FaultCode c) noexcept;

// A refused request. `message` is for humans: it never carries key material or server paths
// (the transport truncates it to 256 characters, the WSDL's limit).
struct Fault {
  FaultCode code;
  std::string message;
};

// WSGetDiversifiedKeys input. The transport has already checked the WSDL's length limits
// (kdd 10 bytes, sequence counter 2 or 3 bytes, ...), see validate() in soap_convert.cpp.
struct GetKeysRequest {
  gp::Bytes kdd;              // KeyDiversificationData, tag 'CF', 10 bytes
  gp::Bytes key_information;  // the 'E0' template as read from the card
  gp::Bytes sequence_counter; // tag 'C1' value: 2 bytes (SCP02) or 3 bytes (SCP03)
  std::uint32_t kek_index = 0;
  std::optional<std::uint8_t> key_set_version;
  std::optional<gp::Bytes> iin;   // tag '42'
  std::optional<gp::Bytes> cin;   // tag '45'
  std::optional<gp::Bytes> cplc;  // tag '9F7F' value, 42 bytes
  std::optional<std::string> request_id;  // 1..64 printable ASCII, no spaces
};

enum class WrapAlgorithm { AesKwRfc3394 };
const char* wrap_algorithm_name(WrapAlgorithm a) noexcept;  // "AES-KW-RFC3394"

// One wrapped card key. `wrapped_key` is ciphertext; `kcv` is the check value of the plain key
// (GP convention: 3DES-ECB of zeros for DES keys, AES-ECB of 16 x 01 for AES keys).
struct WrappedKeyOut {
  gp::Bytes wrapped_key;
  gp::Bytes kcv;
};

struct GetKeysResponse {
  std::uint8_t key_set_version = 0;
  gp::KeyType key_type = gp::KeyType::Aes128;
  std::uint8_t scp = 3;  // 2 or 3
  WrapAlgorithm wrap_algorithm = WrapAlgorithm::AesKwRfc3394;
  std::uint32_t kek_index = 0;
  gp::Bytes kek_kcv;  // AES-ECB of 16 x 01 under the KEK, 3 bytes
  WrappedKeyOut enc, mac, dek;
  std::string audit_id;
};

// One of the caller's KEKs. `algorithm` is "AES128" | "AES192" | "AES256"; `state` is
// "pending" | "active" | "retired"; validity bounds are RFC 3339 UTC ("2026-01-31T00:00:00Z").
struct KekInfo {
  std::uint32_t index = 0;
  std::string algorithm;
  gp::Bytes kcv;  // AES-ECB of 16 x 01, 3 bytes
  std::string state;
  std::optional<std::string> valid_from, valid_until;
};

// Checks a request against the WSDL's limits (the transport calls this before the KeyService,
// so implementations may rely on it). The Fault is InvalidArgument and names the field.
std::optional<Fault> validate(const GetKeysRequest& r);
// Checks what a KeyService returned against the WSDL's limits; returns what is wrong (a bug in
// the implementation, answered as Internal), or nullopt.
std::optional<std::string> validate(const GetKeysResponse& r);
std::optional<std::string> validate(const KekInfo& k);
// 1..64 characters from '!' to '~' (the WSDL's RequestId).
bool is_valid_request_id(std::string_view id) noexcept;

// The key-release logic (implemented in a later step against src/hsm and src/store).
// Called concurrently from the server's worker threads: implementations are thread-safe.
// Exceptions escaping these calls are answered as FaultCode::Internal.
class KeyService {
 public:
  virtual ~KeyService() = default;
  virtual std::variant<GetKeysResponse, Fault> get_diversified_keys(const CallerIdentity& caller,
                                                                    const GetKeysRequest& request) = 0;
  virtual std::variant<std::vector<KekInfo>, Fault> get_kek_info(const CallerIdentity& caller) = 0;
};

}  // namespace sekds::service
