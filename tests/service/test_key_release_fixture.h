// The key-release world of tests/service/test_key_release*.cpp, test_fault_codes*.cpp and
// test_sigterm_audit*.cpp: a REAL throwaway SoftHSM token, a REAL SQLite file and the dev PKI.
//
//   - three key sets like the demo (SCP02 EMV DES2, SCP03 KDF3 AES-128, SCP03 KDF3 AES-256),
//     imported as XOR components into the token (hsm::MasterKeyStore) and recorded in the store;
//   - KEKs made by the SO (hsm::KekStore::create_kek), recorded and set to their states:
//       tsm1 1 active AES-256, 2 retired AES-128, 3 pending, 4 active but expired, 5 active in the
//       store with NO object in the HSM; tsm2 1 active AES-128, 7 active;
//   - tsm1 (entitled to all three issuers) and tsm2 (the AES-128 one) accredited with the
//     fingerprints of the dev PKI's certificates;
//   - the server: in process (sekds::service::Server over a KeyReleaseService), or the TOML for
//     a sekds-server child (child_toml()).
// The master keys and KEK values are known here (test only) so every answer is checked with
// gp::aes_key_unwrap and gp::diversify.
//
// Why a token helper of its own: tests/support/softhsm_token.h defines sekds::test::TempDir too,
// which clashes with tests/service/support.h's in the test_service binary.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gp/bytes.h"
#include "gp/diversification.h"
#include "gp/key_type.h"
#include "hsm/hsm.h"
#include "service/client.h"
#include "service/key_release_service.h"
#include "service/server.h"
#include "store/sqlite_store.h"
#include "support.h"

namespace sekds::test {

// A SoftHSM token in a private directory with its own softhsm2.conf; SOFTHSM2_CONF points at it
// while the object lives.
class ReleaseToken {
 public:
  static constexpr const char* kLabel = "sekds-release";
  ReleaseToken();
  ~ReleaseToken();
  ReleaseToken(const ReleaseToken&) = delete;
  ReleaseToken& operator=(const ReleaseToken&) = delete;
  const fs::path& dir() const { return dir_.path(); }
  fs::path conf() const { return dir() / "softhsm2.conf"; }
  fs::path tokens() const { return dir() / "tokens"; }
  std::string user_pin_source() const { return "file:" + (dir() / "user.pin").string(); }
  std::string so_pin_source() const { return "file:" + (dir() / "so.pin").string(); }
  static std::string module();
  // The token "disappears" (SoftHSM's documented outage: tokens/ moved away) and comes back.
  void hide();
  void restore();

 private:
  TempDir dir_;
  std::optional<std::string> saved_conf_;
};

struct DemoKeySet {
  std::string issuer, iin;
  std::uint8_t kvn = 0, scp = 3, scp_i = 0;
  gp::KeyType type = gp::KeyType::Aes128;  // master key type (= card key type here)
  gp::DiversificationMethod method = gp::DiversificationMethod::Kdf3;
  gp::SecureBytes master;  // the combined value (known to the test only)
};

struct DemoKek {
  std::string tsm;
  std::uint32_t index = 0;
  gp::KeyType algorithm = gp::KeyType::Aes256;
  gp::SecureBytes value;
  gp::Bytes kcv;
};

struct WorldOptions {
  bool accredit_tsm2 = true;
  bool start_server = true;  // false: run a child with child_toml()
  std::function<void(service::ServerConfig&)> tweak;  // in-process server configuration
  service::ReleaseOptions release = [] {
    service::ReleaseOptions o;
    o.refusal_audit_rate = 0;  // every refusal audited, unless a test says otherwise
    return o;
  }();
  store::SqliteOptions service_store;  // how the service opens the database
};

class World {
 public:
  explicit World(WorldOptions options = {});
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  const std::vector<DemoKeySet>& key_sets() const { return key_sets_; }
  const DemoKeySet& key_set(const std::string& issuer) const;
  const DemoKek& kek(const std::string& tsm, std::uint32_t index) const;
  // The operator's own connection to the database (like sekds-admin in another process).
  store::SqliteStore& admin() { return *admin_; }
  store::AuditContext operator_ctx() const { return {"test-operator", std::nullopt}; }
  ReleaseToken& token() { return *token_; }
  const fs::path& db_path() const { return db_; }

  // In-process server only.
  std::uint16_t port() const;
  service::ClientOptions client_options(const std::string& who) const;
  service::Client client(const std::string& who = "tsm1") const { return service::Client(client_options(who)); }
  service::ServiceMetrics& metrics() { return metrics_; }
  service::KeyReleaseService& service() { return *service_; }
  service::Server& server() { return *server_; }

  // sekds-server configuration for this world ([server] port 0, [tls] dev PKI, [hsm], [store]).
  std::string child_toml(const std::string& extra = {}) const;

  // A request for a card of `ks` (KIDs 1-3, KVN of ks, IIN) with a fresh counter value.
  service::GetKeysRequest request(const DemoKeySet& ks, const gp::Bytes& kdd, std::uint32_t kek_index = 1);
  // Checks an answer: KCVs, key set version, type, SCP, KEK KCV, and every wrapped key unwrapped
  // with the KEK value equal to gp::diversify of the master (DES modulo parity).
  void check_keys(const service::GetKeysResponse& r, const DemoKeySet& ks, const gp::Bytes& kdd, const DemoKek& kek) const;

  // Audit records of the store, newest first (filter by actor / result / operation).
  std::vector<store::AuditEntry> audit(const std::optional<std::string>& actor = std::nullopt,
                                       const std::optional<std::string>& result = std::nullopt,
                                       const std::optional<std::string>& operation = std::nullopt);

 private:
  void make_keks();
  void make_key_sets(hsm::Hsm& user);
  void make_store();

  WorldOptions options_;
  std::unique_ptr<ReleaseToken> token_;
  TempDir data_;
  fs::path db_;
  std::vector<DemoKeySet> key_sets_;
  std::vector<DemoKek> keks_;
  std::unique_ptr<store::SqliteStore> admin_;
  std::unique_ptr<store::SqliteStore> service_store_;
  std::unique_ptr<hsm::Hsm> hsm_;
  service::MetricsRegistry registry_;
  service::ServiceMetrics metrics_{registry_};
  std::unique_ptr<service::KeyReleaseService> service_;
  service::ServerConfig config_;
  std::unique_ptr<service::Server> server_;
  std::uint32_t counter_ = 0;
};

// A fresh random KDD.
gp::Bytes random_kdd();
// "fault X: message" / "transport error ..." / "keys (audit N)" for messages.
std::string describe(const service::Result<service::GetKeysResponse>& r);
// The fault code of a result, or "" when it is not a fault.
std::string fault_of(const service::Result<service::GetKeysResponse>& r);

}  // namespace sekds::test
