// The TTP key source over real mutual TLS (the sekds server in process, a software TTP behind
// it), with the KEK in a throwaway SoftHSM token: what it sends, every check it makes on the
// answer, faults by their code, retries with the same RequestId, transport errors by cause.
#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gp/crypto.h"
#include "gp/kcv.h"
#include "gp/keywrap.h"
#include "hsm/hsm.h"
#include "hsm/kek.h"
#include "kek_sheets.h"
#include "support.h"
#include "support/softhsm_token.h"
#include "tsm/error.h"
#include "tsm/flow.h"
#include "tsm/kek_import.h"
#include "tsm/ttp_key_source.h"
#include "virtual_card.h"

using namespace sekds;
using namespace sekds::test;
using tsm::TsmErrc;

namespace {

std::uint16_t closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct TtpFixture {
  ScratchDir dir{"sekds-tsm-ttp"};
  SoftHsmToken token{"tsm-kek"};
  std::unique_ptr<hsm::Hsm> hsm;
  std::unique_ptr<hsm::KekStore> keks;
  tsm::KekRegistry registry;
  gp::SecureBytes kek = gp::random_secure(32);
  TtpSimulator ttp;
  std::unique_ptr<TtpServer> server;

  TtpFixture() {
    hsm::HsmConfig c;
    c.module_path = SoftHsmToken::module_path();
    c.token = token.label();
    c.pin = hsm::PinSource::parse(token.user_pin_source());
    hsm = std::make_unique<hsm::Hsm>(std::move(c));
    keks = std::make_unique<hsm::KekStore>(*hsm);
    registry = tsm::KekRegistry::load(dir / "kek-state.json");
    const auto files = write_kek_sheets(dir.path(), 1, kek);
    tsm::import_kek(*hsm, registry, 1, std::vector<std::filesystem::path>(files.begin(), files.end()));
    ttp.set_kek(1, kek);
    server = std::make_unique<TtpServer>(ttp);
  }
  ~TtpFixture() {
    server.reset();
    keks.reset();
    hsm.reset();
  }
  tsm::TtpSettings settings(const std::string& who = "tsm1") const {
    tsm::TtpSettings s;
    tsm::TtpEndpoint e;
    e.url_prefix = "https://localhost:" + std::to_string(server->port()) + "/";
    e.certificate = pki().crt(who);
    e.private_key = pki().key(who);
    e.ca = pki().crt("ca");
    s.endpoints.push_back(e);
    s.kek_index = 1;
    s.connect_timeout_s = 5;
    s.recv_timeout_s = 10;
    return s;
  }
  CardProfile profile(CardProfile p) const {
    p.url = server->endpoint();
    return p;
  }
  void serve(const CardProfile& p) {
    TtpSimulator::Issuer i;
    i.scheme = gp::DiversificationScheme::of(p.method);
    i.key_type = p.key_type;
    i.master = gp::secure_from_hex(p.master);
    i.kvn = kIssuerKvn;
    i.scp = static_cast<std::uint8_t>(p.scp);
    ttp.set_issuer(std::move(i));
  }
};

// card_keys must throw TsmError with `code` and `name`.
void expect_error(tsm::KeySource& src, const tsm::CardInfo& info, TsmErrc code, const std::string& name,
                  const std::string& text = {}) {
  try {
    src.card_keys(info, std::nullopt);
    BOOST_FAIL("keys accepted");
  } catch (const tsm::TsmError& e) {
    BOOST_TEST((e.code() == code), e.what());
    BOOST_TEST(e.name() == name, e.what());
    if (!text.empty()) BOOST_TEST(std::string(e.what()).find(text) != std::string::npos, e.what());
  }
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(ttp_key_source, TtpFixture)

BOOST_AUTO_TEST_CASE(keys_for_every_profile_are_the_cards_keys_and_the_request_carries_the_card_data) {
  for (CardProfile p : all_profiles()) {
    p = profile(p);
    BOOST_TEST_CONTEXT(p.describe()) {
      serve(p);
      VirtualCard vc(p, 11);
      const tsm::CardInfo info = tsm::discover_card(vc.transport());
      tsm::TtpKeySource src(settings(), *keks, registry);
      const tsm::CardKeys k = src.card_keys(info, std::nullopt);
      const tsm::CardKeys want = issuer_keys(p).card_keys(info, std::nullopt);
      BOOST_TEST(gp::to_hex(k.keys.enc) == gp::to_hex(want.keys.enc));
      BOOST_TEST(gp::to_hex(k.keys.mac) == gp::to_hex(want.keys.mac));
      BOOST_TEST(gp::to_hex(k.keys.dek) == gp::to_hex(want.keys.dek));
      BOOST_TEST(k.kcv == want.kcv);
      BOOST_TEST(k.source == "ttp");
      BOOST_TEST(k.kvn == kIssuerKvn);
      BOOST_TEST(k.attempts == 1u);
      BOOST_TEST(k.kek_kcv == gp::kcv(gp::KcvAlg::AesGp, kek));
      BOOST_TEST(k.audit_id.rfind("audit-", 0) == 0u);
      const service::GetKeysRequest r = ttp.requests().back();
      BOOST_TEST(r.kdd == gp::to_bytes(info.kdd.bytes()));
      BOOST_TEST(r.key_information == info.key_information_template);
      BOOST_TEST(r.sequence_counter == info.sequence_counter.value_bytes());
      BOOST_TEST(r.kek_index == 1u);
      BOOST_TEST(*r.key_set_version == kIssuerKvn);
      BOOST_TEST(*r.iin == info.iin->value);
      BOOST_TEST(*r.cin == info.cin->value);
      BOOST_TEST(r.cplc->size() == 42u);
      BOOST_TEST(r.request_id->size() == 32u);
      BOOST_TEST(*r.request_id == k.request_id);
      BOOST_TEST(ttp.callers().back().find("tsm1") != std::string::npos);

      // And the whole flow: TTP keys over TLS, open, rotate to the TSM's own, re-open, script.
      auto own = own_keys();
      const tsm::Script s = tsm::Script::parse("get-status\n", "/", "s");
      tsm::FlowOptions o;
      o.goal = tsm::FlowGoal::Run;
      o.script = &s;
      const tsm::FlowResult fr = tsm::run_flow(vc.transport(), {&src, &own}, o);
      BOOST_REQUIRE_MESSAGE(fr.ok(), (fr.error ? fr.error->what() : ""));
      BOOST_TEST(fr.keys->source == "ttp");
      BOOST_TEST(fr.reopened->kvn == kOwnKvn);
    }
  }
}

BOOST_AUTO_TEST_CASE(faults_are_reported_by_their_code) {
  const CardProfile p = profile(all_profiles()[4]);
  serve(p);
  VirtualCard vc(p, 12);
  const tsm::CardInfo info = tsm::discover_card(vc.transport());
  tsm::TtpKeySource src(settings(), *keks, registry);
  for (auto code : {service::FaultCode::KekNotActive, service::FaultCode::NotEntitled, service::FaultCode::NotAccredited,
                    service::FaultCode::UnknownKeySet, service::FaultCode::HsmUnavailable}) {
    ttp.fault = service::Fault{code, "refused for the test"};
    const std::string name = service::fault_code_name(code);
    expect_error(src, info, TsmErrc::TtpFault, name, "TTP refused: " + name + ": refused for the test");
  }
  ttp.fault.reset();
  BOOST_TEST(tsm::exit_code(TsmErrc::TtpFault) == 3);
}

BOOST_AUTO_TEST_CASE(every_check_on_the_answer_refuses_the_keys) {
  const CardProfile p = profile(all_profiles()[4]);
  serve(p);
  VirtualCard vc(p, 13);
  const tsm::CardInfo info = tsm::discover_card(vc.transport());
  tsm::TtpKeySource src(settings(), *keks, registry);
  const gp::SecureBytes other_kek = gp::random_secure(32);
  struct Case {
    const char* name;
    std::function<void(service::GetKeysResponse&)> tamper;
  };
  const std::vector<Case> cases = {
      {"KekKcvMismatch", [](service::GetKeysResponse& r) { r.kek_kcv[0] ^= 1; }},
      {"KcvMismatch", [](service::GetKeysResponse& r) { r.mac.kcv[2] ^= 1; }},
      {"UnwrapFailed",
       [&](service::GetKeysResponse& r) {
         r.dek.wrapped_key = gp::aes_key_wrap(gp::KeyWrapAlgorithm::Rfc3394, other_kek, gp::random_bytes(16));
       }},
      {"UnwrapFailed", [](service::GetKeysResponse& r) { r.enc.wrapped_key[5] ^= 0x80; }},
      {"ScpMismatch", [](service::GetKeysResponse& r) { r.scp = 2; }},
      {"KeySetVersionMismatch", [](service::GetKeysResponse& r) { r.key_set_version = 2; }},
      {"KeyTypeMismatch", [](service::GetKeysResponse& r) { r.key_type = gp::KeyType::Aes256; }},
      {"KekIndexMismatch", [](service::GetKeysResponse& r) { r.kek_index = 2; }},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      ttp.tamper = c.tamper;
      expect_error(src, info, TsmErrc::Verification, c.name, "keys refused");
    }
  }
  ttp.tamper = nullptr;
  BOOST_TEST(src.card_keys(info, std::nullopt).kvn == kIssuerKvn);  // and untampered, accepted
}

BOOST_AUTO_TEST_CASE(a_transport_error_is_retried_with_the_same_request_id) {
  const CardProfile p = profile(all_profiles()[4]);
  serve(p);
  VirtualCard vc(p, 14);
  const tsm::CardInfo info = tsm::discover_card(vc.transport());
  tsm::TtpSettings s = settings();
  s.recv_timeout_s = 1;
  tsm::TtpKeySource src(s, *keks, registry);
  ttp.slow_ms = 2500;
  ttp.slow_calls = 1;  // the first answer comes after the client gave up
  const std::size_t before = ttp.requests().size();
  const tsm::CardKeys k = src.card_keys(info, std::nullopt);
  BOOST_TEST(k.attempts == 2u);
  // The slow first call is recorded once it wakes; wait for it (a hang detector, not timing).
  for (int n = 0; n < 500 && ttp.requests().size() < before + 2; ++n) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto reqs = ttp.requests();
  BOOST_REQUIRE_EQUAL(reqs.size(), before + 2);
  BOOST_TEST(*reqs[before].request_id == *reqs[before + 1].request_id);
  BOOST_TEST(*reqs[before].request_id == k.request_id);
}

BOOST_AUTO_TEST_CASE(transport_errors_by_cause) {
  const CardProfile p = profile(all_profiles()[4]);
  serve(p);
  VirtualCard vc(p, 15);
  const tsm::CardInfo info = tsm::discover_card(vc.transport());
  {
    tsm::TtpSettings s = settings();
    s.endpoints[0].endpoint = "https://localhost:" + std::to_string(closed_port()) + "/sekds/v1";
    s.retries = 1;
    tsm::TtpKeySource src(s, *keks, registry);
    expect_error(src, info, TsmErrc::TtpTransport, "ConnectionRefused", "2 attempts");
  }
  {
    tsm::TtpSettings s = settings();
    s.endpoints[0].ca = pki().crt("rogue-ca");  // the TTP's certificate does not chain to it
    s.retries = 0;
    tsm::TtpKeySource src(s, *keks, registry);
    expect_error(src, info, TsmErrc::TtpTransport, "Tls");
  }
  {
    tsm::TtpSettings s = settings("rogue");  // a client the TTP does not trust
    s.retries = 0;
    tsm::TtpKeySource src(s, *keks, registry);
    try {
      src.card_keys(info, std::nullopt);
      BOOST_FAIL("a rogue client got keys");
    } catch (const tsm::TsmError& e) {
      BOOST_TEST((e.code() == TsmErrc::TtpTransport), e.what());
    }
  }
}

BOOST_AUTO_TEST_CASE(configuration_errors_before_any_call) {
  const CardProfile p = profile(all_profiles()[4]);
  serve(p);
  VirtualCard vc(p, 16);
  tsm::CardInfo info = tsm::discover_card(vc.transport());
  const std::size_t before = ttp.requests().size();
  {
    tsm::TtpSettings s = settings();
    s.endpoints[0].url_prefix = "https://ttp.example/";
    tsm::TtpKeySource src(s, *keks, registry);
    expect_error(src, info, TsmErrc::Config, "Config", "no [[ttp]] url_prefix");
  }
  {
    tsm::TtpSettings s = settings();
    s.kek_index = 9;
    tsm::TtpKeySource src(s, *keks, registry);
    expect_error(src, info, TsmErrc::Config, "UnknownKek", "never imported");
  }
  {
    tsm::CardInfo plain = info;
    plain.url = gp::SdManagerUrl::from_string("http://localhost:8080/sekds/v1");
    tsm::TtpKeySource src(settings(), *keks, registry);
    expect_error(src, plain, TsmErrc::Config, "Config", "not https");
    plain.url.reset();
    expect_error(src, plain, TsmErrc::CardData, "NoTtpUrl");
  }
  BOOST_TEST(ttp.requests().size() == before);
}

BOOST_AUTO_TEST_SUITE_END()
