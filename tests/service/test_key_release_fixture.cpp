// The key-release world (see test_key_release_fixture.h). No test cases here.
#include "test_key_release_fixture.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <boost/test/unit_test.hpp>
#include <openssl/pem.h>

#include "gp/crypto.h"
#include "gp/kcv.h"
#include "gp/key_information.h"
#include "gp/keywrap.h"
#include "hsm/kek.h"
#include "hsm/key_objects.h"
#include "hsm/labels.h"
#include "hsm/master_keys.h"
#include "service/authorizer.h"
#include "service/tls_identity.h"

namespace sekds::test {

using namespace sekds::service;

namespace {

void write_secret(const fs::path& p, const std::string& content) {
  std::ofstream(p) << content;
  ::chmod(p.c_str(), 0600);
}

std::string fingerprint_of(const fs::path& pem) {
  FILE* f = std::fopen(pem.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open " + pem.string());
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!x) throw std::runtime_error("not a PEM certificate: " + pem.string());
  std::string fp = sha256_fingerprint_hex(x);
  X509_free(x);
  return fp;
}

std::string subject_of(const fs::path& pem) {
  FILE* f = std::fopen(pem.c_str(), "rb");
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  std::string s = subject_rfc2253(x);
  X509_free(x);
  return s;
}

hsm::KeyComponents split(const gp::SecureBytes& value, gp::KcvAlg alg) {
  hsm::KeyComponents c;
  gp::SecureBytes a = gp::random_secure(value.size());
  gp::SecureBytes b = value;
  gp::xor_into(b, gp::view(a));
  c.kcvs = {gp::kcv(alg, gp::view(a)), gp::kcv(alg, gp::view(b))};
  c.parts = {std::move(a), std::move(b)};
  c.combined_kcv = gp::kcv(alg, gp::view(value));
  return c;
}

constexpr const char* kOperator = "test-operator";

}  // namespace

// ---- ReleaseToken ----

std::string ReleaseToken::module() {
  const char* m = std::getenv("SEKDS_PKCS11_MODULE");
  return (m != nullptr && *m != '\0') ? m : hsm::kSoftHsmModule;
}

ReleaseToken::ReleaseToken() {
  ::mkdir(tokens().c_str(), 0700);
  write_secret(conf(), "directories.tokendir = " + tokens().string() +
                           "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
                           "slots.mechanisms = ALL\nlibrary.reset_on_fork = false\n");
  write_secret(dir() / "user.pin", "123456\n");
  write_secret(dir() / "so.pin", "12345678\n");
  if (const char* c = std::getenv("SOFTHSM2_CONF")) saved_conf_ = c;
  ::setenv("SOFTHSM2_CONF", conf().c_str(), 1);
  // Test-only PINs on a command line (softhsm2-util has no other way to take them).
  auto [rc, out] = run_command(std::string("softhsm2-util --init-token --free --label ") + kLabel +
                               " --so-pin 12345678 --pin 123456 2>&1");
  if (rc != 0) throw std::runtime_error("softhsm2-util --init-token failed: " + out);
}

ReleaseToken::~ReleaseToken() {
  if (saved_conf_) ::setenv("SOFTHSM2_CONF", saved_conf_->c_str(), 1);
  else ::unsetenv("SOFTHSM2_CONF");
}

void ReleaseToken::hide() { fs::rename(tokens(), dir() / "tokens.away"); }
void ReleaseToken::restore() { fs::rename(dir() / "tokens.away", tokens()); }

// ---- World ----

World::World(WorldOptions options) : options_(std::move(options)), token_(std::make_unique<ReleaseToken>()) {
  db_ = data_ / "sekds.db";
  admin_ = store::SqliteStore::open(db_);
  key_sets_ = {
      {"demo-scp02-emv", "A000000001", 0x20, 2, 0x55, gp::KeyType::Des2, gp::DiversificationMethod::Emv, {}},
      {"demo-scp03-aes128", "A000000002", 0x30, 3, 0x00, gp::KeyType::Aes128, gp::DiversificationMethod::Kdf3, {}},
      {"demo-scp03-aes256", "A000000003", 0x30, 3, 0x00, gp::KeyType::Aes256, gp::DiversificationMethod::Kdf3, {}},
  };
  for (DemoKeySet& ks : key_sets_) ks.master = gp::random_secure(gp::key_length(ks.type));
  make_keks();
  hsm::HsmConfig hc;
  hc.module_path = ReleaseToken::module();
  hc.token = ReleaseToken::kLabel;
  hc.pin = hsm::PinSource::parse(token_->user_pin_source());
  hc.retry_initial = std::chrono::milliseconds(100);
  hc.retry_max = std::chrono::milliseconds(400);
  hsm_ = std::make_unique<hsm::Hsm>(std::move(hc));
  make_key_sets(*hsm_);
  make_store();
  if (!options_.start_server) {
    hsm_.reset();  // the child logs in itself
    return;
  }
  service_store_ = store::SqliteStore::open(db_, options_.service_store);
  service::ReleaseOptions ro = options_.release;
  ro.commit_stats = [s = service_store_.get()] { return s->group_commit_stats(); };
  service_ = std::make_unique<KeyReleaseService>(*service_store_, *hsm_, metrics_, std::move(ro));
  config_ = test_config();
  // The tests follow the HSM and the store into outages and back: every /healthz probes.
  config_.monitoring.health_probe_rate = 1000;
  if (options_.tweak) options_.tweak(config_);
  server_ = std::make_unique<Server>(config_, *service_, metrics_);
  server_->set_health_check([s = service_.get()] { return s->health(); });
  // As sekds-server does (main.cpp): accredited TSMs may read /healthz and /metrics.
  server_->set_accreditation_check([s = service_store_.get()](const CallerIdentity& who) {
    return std::holds_alternative<store::Tsm>(Authorizer(*s).caller(who));
  });
  server_->start();
}

World::~World() {
  if (server_) {
    server_->stop();
    server_->wait();
  }
  server_.reset();
  service_.reset();
  hsm_.reset();  // before the token (the module is finalised with its last user)
  service_store_.reset();
  admin_.reset();
}

void World::make_keks() {
  struct Plan {
    const char* tsm;
    std::uint32_t index;
    gp::KeyType alg;
    bool in_hsm;
  };
  const Plan plans[] = {{"tsm1", 1, gp::KeyType::Aes256, true}, {"tsm1", 2, gp::KeyType::Aes128, true},
                        {"tsm1", 3, gp::KeyType::Aes256, true}, {"tsm1", 4, gp::KeyType::Aes256, true},
                        {"tsm1", 5, gp::KeyType::Aes256, false}, {"tsm2", 1, gp::KeyType::Aes128, true},
                        {"tsm2", 7, gp::KeyType::Aes256, true}};
  hsm::HsmConfig so;
  so.module_path = ReleaseToken::module();
  so.token = ReleaseToken::kLabel;
  so.pin = hsm::PinSource::parse(token_->so_pin_source());
  so.role = hsm::LoginRole::SecurityOfficer;
  hsm::Hsm so_hsm(std::move(so));
  hsm::KekStore keks(so_hsm);
  for (const Plan& p : plans) {
    DemoKek k{p.tsm, p.index, p.alg, gp::random_secure(gp::key_length(p.alg)), {}};
    if (p.in_hsm) k.kcv = keks.create_kek(hsm::kek_label(p.tsm, p.index), gp::view(k.value));
    else k.kcv = gp::kcv(gp::KcvAlg::AesGp, gp::view(k.value));
    keks_.push_back(std::move(k));
  }
}

void World::make_key_sets(hsm::Hsm& user) {
  hsm::MasterKeyStore masters(user);
  for (const DemoKeySet& ks : key_sets_) {
    hsm::MasterKeySetSpec spec{ks.issuer, ks.kvn, ks.type, true, ks.method};
    hsm::MasterKeySet made = masters.import_components(spec, {split(ks.master, gp::gp_kcv_alg(ks.type))});
    admin_->add_issuer(operator_ctx(), {ks.issuer, ks.iin});
    store::KeySetSpec s;
    s.issuer = ks.issuer;
    s.kvn = ks.kvn;
    s.scp = ks.scp;
    s.scp_i = ks.scp_i;
    s.key_type = ks.type;
    s.method = ks.method;
    s.hsm_labels = {made.ref.enc, made.ref.mac, made.ref.dek};
    s.kcvs = {made.kcv_enc, made.kcv_mac, made.kcv_dek};
    s.kcv_alg = made.kcv_alg;
    admin_->add_key_set(operator_ctx(), s);
  }
}

void World::make_store() {
  const Pki& p = pki();
  admin_->accredit_tsm(operator_ctx(), {"tsm1", fingerprint_of(p.crt("tsm1")), subject_of(p.crt("tsm1"))});
  for (const DemoKeySet& ks : key_sets_) admin_->grant(operator_ctx(), "tsm1", ks.issuer);
  if (options_.accredit_tsm2) {
    admin_->accredit_tsm(operator_ctx(), {"tsm2", fingerprint_of(p.crt("tsm2")), subject_of(p.crt("tsm2"))});
    admin_->grant(operator_ctx(), "tsm2", "demo-scp03-aes128");
  }
  const store::Timestamp now = store::now_utc();
  for (const DemoKek& k : keks_) {
    if (k.tsm == "tsm2" && !options_.accredit_tsm2) continue;
    store::KekSpec spec;
    spec.tsm = k.tsm;
    spec.index = k.index;
    spec.algorithm = k.algorithm;
    spec.kcv = k.kcv;
    spec.hsm_label = hsm::kek_label(k.tsm, k.index);
    if (k.tsm == "tsm1" && k.index == 4) {
      spec.valid_from = now - std::chrono::hours(2);
      spec.valid_until = now - std::chrono::hours(1);
    }
    admin_->add_kek(operator_ctx(), spec);
    if (k.index != 3) admin_->activate_kek(operator_ctx(), k.tsm, k.index);
    if (k.index == 2) admin_->retire_kek(operator_ctx(), k.tsm, k.index);
  }
}

const DemoKeySet& World::key_set(const std::string& issuer) const {
  for (const auto& ks : key_sets_)
    if (ks.issuer == issuer) return ks;
  throw std::runtime_error("no demo key set " + issuer);
}

const DemoKek& World::kek(const std::string& tsm, std::uint32_t index) const {
  for (const auto& k : keks_)
    if (k.tsm == tsm && k.index == index) return k;
  throw std::runtime_error("no demo KEK " + tsm + "/" + std::to_string(index));
}

std::uint16_t World::port() const { return server_->port(); }

ClientOptions World::client_options(const std::string& who) const {
  const Pki& p = pki();
  ClientOptions o;
  o.endpoint = "https://localhost:" + std::to_string(port()) + "/sekds/v1";
  o.certificate = p.crt(who);
  o.private_key = p.key(who);
  o.ca_file = p.crt("ca");
  o.connect_timeout_s = 5;
  o.recv_timeout_s = 30;
  o.send_timeout_s = 30;
  return o;
}

std::string World::child_toml(const std::string& extra) const {
  std::ostringstream s;
  s << child_config_toml(0) << "[limits]\nrate_per_tsm = 0\n[hsm]\nmodule = \"" << ReleaseToken::module() << "\"\ntoken = \"" << ReleaseToken::kLabel
    << "\"\npin = \"" << token_->user_pin_source() << "\"\n[store]\npath = \"" << db_.string() << "\"\n"
    << extra;
  return s.str();
}

GetKeysRequest World::request(const DemoKeySet& ks, const gp::Bytes& kdd, std::uint32_t kek_index) {
  gp::KeyInformation info;
  for (std::uint8_t kid = 1; kid <= 3; ++kid) {
    gp::KeyInformationData d;
    d.key_id = kid;
    d.kvn = ks.kvn;
    d.components = {{gp::is_aes(ks.type) ? gp::kKeyTypeAes : gp::kKeyTypeDes,
                     static_cast<std::uint16_t>(gp::key_length(ks.type))}};
    info.keys.push_back(d);
  }
  GetKeysRequest r;
  r.kdd = kdd;
  r.key_information = info.encode();
  r.sequence_counter = gp::SequenceCounter(++counter_, ks.scp == 2 ? 2 : 3).value_bytes();
  r.kek_index = kek_index;
  r.key_set_version = ks.kvn;
  r.iin = gp::from_hex(ks.iin);
  r.request_id = gp::to_hex(gp::random_bytes(12));
  return r;
}

void World::check_keys(const GetKeysResponse& r, const DemoKeySet& ks, const gp::Bytes& kdd, const DemoKek& kek) const {
  BOOST_TEST(r.key_set_version == ks.kvn);
  BOOST_TEST(gp::key_type_name(r.key_type) == gp::key_type_name(ks.type));
  BOOST_TEST(r.scp == ks.scp);
  BOOST_TEST(r.kek_index == kek.index);
  BOOST_TEST(gp::to_hex(r.kek_kcv) == gp::to_hex(kek.kcv));
  BOOST_TEST(!r.audit_id.empty());
  const gp::StaticKeys expected = gp::diversify(gp::DiversificationScheme::of(ks.method), gp::view(ks.master), kdd);
  const std::pair<const WrappedKeyOut*, gp::KeyRole> keys[] = {
      {&r.enc, gp::KeyRole::Enc}, {&r.mac, gp::KeyRole::Mac}, {&r.dek, gp::KeyRole::Dek}};
  for (const auto& [w, role] : keys) {
    BOOST_TEST_CONTEXT(ks.issuer << " " << gp::key_role_name(role)) {
      const gp::SecureBytes plain = gp::aes_key_unwrap(gp::KeyWrapAlgorithm::Rfc3394, gp::view(kek.value), w->wrapped_key);
      const gp::SecureBytes& want = expected.of(role);
      if (gp::is_aes(ks.type)) BOOST_TEST(gp::to_hex(gp::view(plain)) == gp::to_hex(gp::view(want)));
      else BOOST_TEST(gp::equal_des_mod_parity(gp::view(plain), gp::view(want)), "DES key differs beyond parity");
      BOOST_TEST(gp::to_hex(w->kcv) == gp::to_hex(gp::kcv(gp::gp_kcv_alg(ks.type), gp::view(want))));
    }
  }
}

std::vector<store::AuditEntry> World::audit(const std::optional<std::string>& actor, const std::optional<std::string>& result,
                                            const std::optional<std::string>& operation) {
  store::AuditFilter f;
  f.actor = actor;
  f.result = result;
  f.operation = operation;
  f.limit = 10000;
  return admin_->list_audit(f);
}

gp::Bytes random_kdd() { return gp::random_bytes(10); }

std::string describe(const Result<GetKeysResponse>& r) {
  if (auto* f = std::get_if<Fault>(&r)) return std::string("fault ") + fault_code_name(f->code) + ": " + f->message;
  if (auto* t = std::get_if<TransportError>(&r))
    return std::string("transport error ") + transport_error_kind_name(t->kind) + ": " + t->message;
  return "keys (audit " + std::get<GetKeysResponse>(r).audit_id + ")";
}

std::string fault_of(const Result<GetKeysResponse>& r) {
  if (auto* f = std::get_if<Fault>(&r)) return fault_code_name(f->code);
  return "";
}

}  // namespace sekds::test
