// Steps 3-5 of the flow: the keys of a card from the TTP its '5F50' URL names.
//
// The TTP endpoint is chosen by the most specific [[ttp]] url_prefix the card's URL is
// within: same scheme, host and port, then the longest path prefix on a segment boundary
// (ttp_url.h; its client certificate, key and CA); the request carries KDD, the 'E0' template, the
// counter, the KEK index, the KVN, IIN, CIN, CPLC and a fresh RequestId (a transport error is
// retried with the SAME RequestId, so the TTP can tell a retry from a new release). Each key
// is unwrapped with the TSM's copy of the KEK in its own token, and EVERY check value is
// verified: the KEK KCV against the one recorded at import, each key's KCV after unwrap, and
// the SCP, KVN, key type, KEK index and wrap algorithm against what was asked and what the
// card says. Any mismatch refuses the keys (TsmError(Verification)).
//
// One TtpKeySource per thread: it keeps one keep-alive mutual-TLS connection per endpoint.
// The Hsm (and so the KekStore) may be shared by many.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tsm/kek_registry.h"
#include "tsm/key_source.h"

namespace sekds::service {
class Client;
}
namespace sekds::hsm {
class KekStore;
}

namespace sekds::tsm {

struct TtpEndpoint {
  std::string url_prefix;                 // matched against the card's URL (ttp_url.h)
  std::optional<std::string> endpoint;    // override of the URL to call (default: the card's URL)
  std::filesystem::path certificate;      // client certificate (PEM)
  std::filesystem::path private_key;      // its key (PEM)
  std::filesystem::path ca;               // CA bundle the TTP's certificate must chain to
  std::optional<std::uint32_t> kek_index; // overrides the global kek_index for this TTP
};

struct TtpSettings {
  std::vector<TtpEndpoint> endpoints;
  std::uint32_t kek_index = 1;
  unsigned retries = 2;  // extra attempts after a transport error (same RequestId)
  int connect_timeout_s = 10;
  int recv_timeout_s = 30;
};

// The endpoint for a card's URL (url_within, longest path); nullptr if none matches or the
// URL does not parse. TsmError(Config) for an endpoint whose url_prefix does not parse.
const TtpEndpoint* match_endpoint(const std::vector<TtpEndpoint>& endpoints, const std::string& url);

class TtpKeySource final : public KeySource {
 public:
  // `kek_for(index)` gives the record of the KEK with that index (label, recorded KCV).
  TtpKeySource(TtpSettings settings, hsm::KekStore& keks, const KekRegistry& registry);
  ~TtpKeySource() override;
  CardKeys card_keys(const CardInfo& card, std::optional<std::uint8_t> kvn) override;
  std::string describe() const override { return "ttp"; }
  // For tests and `keys`: the KEK index the next call for `card` would use.
  std::uint32_t kek_index_for(const TtpEndpoint& e) const noexcept;
  // Drops the kept-alive connections.
  void disconnect();

 private:
  service::Client& client_for(const TtpEndpoint& e, const std::string& url);
  TtpSettings settings_;
  hsm::KekStore& keks_;
  const KekRegistry& registry_;
  std::map<std::string, std::unique_ptr<service::Client>> clients_;  // by endpoint URL
};

// A fresh RequestId: 32 hex digits from the CSPRNG.
std::string new_request_id();

}  // namespace sekds::tsm
