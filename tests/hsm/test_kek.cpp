// KEKs: trusted wrapping KEKs made under SO, their KCVs, and the TSM side (an unwrap-only copy
// in another token, unwrapping released keys back to the software reference).
#include <boost/test/unit_test.hpp>

#include "fixture.h"
#include "gp/crypto.h"
#include "gp/diversification.h"
#include "gp/kcv.h"
#include "hsm/kek.h"
#include "hsm/key_release.h"
#include "hsm/labels.h"
#include "hsm/master_keys.h"

using namespace sekds;
using hsm::HsmErrc;
using hsmtest::expect_hsm_error;

BOOST_FIXTURE_TEST_SUITE(kek, hsmtest::TokenFixture)

BOOST_AUTO_TEST_CASE(trusted_wrapping_keks_under_so) {
  auto so = open(hsm::LoginRole::SecurityOfficer);
  hsm::KekStore keks(*so);
  std::vector<std::pair<std::string, gp::Bytes>> made;
  for (std::size_t len : {16u, 24u, 32u}) {
    gp::SecureBytes value = so->generate_random(len);
    const std::string label = hsm::kek_label("tsm-" + std::to_string(len), 1);
    gp::Bytes kcv = keks.create_kek(label, gp::view(value));
    BOOST_TEST(gp::to_hex(kcv) == gp::to_hex(gp::kcv(gp::KcvAlg::AesGp, gp::view(value))));
    BOOST_TEST(gp::to_hex(keks.kek_kcv(label)) == gp::to_hex(kcv));
    so->with_session("attributes", [&](hsm::Session& s) {
      CK_OBJECT_HANDLE o = so->find_object(s, CKO_SECRET_KEY, label);
      BOOST_TEST(s.get_bool(o, CKA_TRUSTED));
      BOOST_TEST(s.get_bool(o, CKA_WRAP));
      BOOST_TEST(!s.get_bool(o, CKA_UNWRAP));
      BOOST_TEST(!s.get_bool(o, CKA_PRIVATE));
      BOOST_TEST(s.get_bool(o, CKA_TOKEN));
      BOOST_TEST(s.get_bool(o, CKA_ALWAYS_SENSITIVE));
      BOOST_TEST(s.get_bool(o, CKA_NEVER_EXTRACTABLE));
      for (CK_ATTRIBUTE_TYPE a : {CKA_EXTRACTABLE, CKA_ENCRYPT, CKA_DECRYPT, CKA_DERIVE, CKA_SIGN})
        BOOST_TEST(!s.get_bool(o, a), "attribute 0x" << std::hex << a);
      BOOST_TEST(s.get_ulong(o, CKA_VALUE_LEN) == len);
    });
    made.emplace_back(label, kcv);
  }
  BOOST_TEST((expect_hsm_error([&] { keks.create_kek(made[0].first, gp::Bytes(16, 1)); }).code() ==
              HsmErrc::ObjectExists));
  BOOST_TEST((expect_hsm_error([&] { keks.create_kek("sekds/kek/x/1", gp::Bytes(20, 1)); }).code() ==
              HsmErrc::InvalidArgument));
  so.reset();

  auto user = open();
  hsm::KekStore user_keks(*user);
  for (const auto& [label, kcv] : made) BOOST_TEST(gp::to_hex(user_keks.kek_kcv(label)) == gp::to_hex(kcv));
  auto e = expect_hsm_error([&] { user_keks.create_kek("sekds/kek/user/1", gp::Bytes(16, 1)); });
  BOOST_TEST((e.code() == HsmErrc::InvalidArgument));
  BOOST_TEST(std::string(e.what()).find("SO") != std::string::npos);
  BOOST_TEST((expect_hsm_error([&] { user_keks.kek_kcv("sekds/kek/none/1"); }).code() == HsmErrc::ObjectNotFound));
  user.reset();

  auto so2 = open(hsm::LoginRole::SecurityOfficer);
  BOOST_TEST(so2->destroy_object(made[0].first) == 2u);  // the KEK and its check record
  BOOST_TEST((expect_hsm_error([&] { hsm::KekStore(*so2).kek_kcv(made[0].first); }).code() == HsmErrc::ObjectNotFound));
}

BOOST_AUTO_TEST_CASE(tsm_unwraps_released_keys_with_its_copy) {
  token.add_token("tsm-token");  // the TSM's own token, before any Hsm opens
  const gp::SecureBytes kek = gp::random_secure(32);
  const std::string label = hsm::kek_label("tsm1", 4);
  const gp::Bytes kcv = make_kek(label, gp::view(kek));

  auto ttp = open();
  const gp::Bytes master = gp::from_hex("404142434445464748494A4B4C4D4E4F");
  hsm::KeyComponents c;
  c.parts = {gp::to_secure(gp::Bytes(16, 0)), gp::to_secure(master)};
  c.kcvs = {gp::kcv(gp::KcvAlg::Des3Zero, gp::Bytes(16, 0)), gp::kcv(gp::KcvAlg::Des3Zero, master)};
  c.combined_kcv = c.kcvs[1];
  auto set = hsm::MasterKeyStore(*ttp).import_components(
      {"issuer", 1, gp::KeyType::Des2, true, gp::DiversificationMethod::Emv}, {c});
  const auto scheme = gp::DiversificationScheme::of(gp::DiversificationMethod::Emv);
  const gp::Bytes kdd = gp::from_hex("00010203040506070809");
  auto released =
      hsm::KeyRelease(*ttp).derive_and_wrap(set.ref, scheme, gp::KeyType::Des2, gp::KcvAlg::Des3Zero, kdd, label);

  auto cfg = config();
  cfg.token = "tsm-token";
  hsm::Hsm tsm(cfg);
  hsm::KekStore tsm_keks(tsm);
  BOOST_TEST(gp::to_hex(tsm_keks.import_unwrap_kek(label, gp::view(kek))) == gp::to_hex(kcv));
  tsm.with_session("attributes", [&](hsm::Session& s) {
    CK_OBJECT_HANDLE o = tsm.find_object(s, CKO_SECRET_KEY, label);
    BOOST_TEST(s.get_bool(o, CKA_UNWRAP));
    BOOST_TEST(!s.get_bool(o, CKA_WRAP));
    BOOST_TEST(s.get_bool(o, CKA_PRIVATE));
    BOOST_TEST(s.get_bool(o, CKA_NEVER_EXTRACTABLE));
    BOOST_TEST(s.get_bool(o, CKA_ALWAYS_SENSITIVE));
  });
  BOOST_TEST((expect_hsm_error([&] { tsm_keks.kek_kcv(label); }).code() == HsmErrc::Unsupported));
  BOOST_TEST((expect_hsm_error([&] { tsm_keks.import_unwrap_kek(label, gp::view(kek)); }).code() ==
              HsmErrc::ObjectExists));

  for (gp::KeyRole role : gp::kKeyRoles) {
    gp::SecureBytes plain = tsm_keks.unwrap_key(label, released.of(role).wrapped, gp::KeyType::Des2);
    gp::SecureBytes ref = gp::diversify_key(scheme, master, kdd, role);
    BOOST_TEST(gp::equal_des_mod_parity(gp::view(plain), gp::view(ref)), gp::key_role_name(role));
    BOOST_TEST(gp::to_hex(gp::kcv(gp::KcvAlg::Des3Zero, gp::view(plain))) == gp::to_hex(released.of(role).kcv));
  }
  // The GPPro vector: EMV with this master and KDD gives ENC KCV C33013.
  BOOST_TEST(gp::to_hex(released.enc.kcv) == "C33013");

  gp::Bytes tampered = released.mac.wrapped;
  tampered[5] ^= 0x01;
  auto e = expect_hsm_error([&] { tsm_keks.unwrap_key(label, tampered, gp::KeyType::Des2); });
  BOOST_TEST(!e.unavailable());
  BOOST_TEST(std::string(e.what()).find("integrity check") != std::string::npos, e.what());
  BOOST_TEST((expect_hsm_error([&] { tsm_keks.unwrap_key(label, gp::Bytes(23, 0), gp::KeyType::Des2); }).code() ==
              HsmErrc::InvalidArgument));
  // Unwrapping under a KEK that only wraps is refused by the token (the TTP's KEK).
  auto w = expect_hsm_error([&] { hsm::KekStore(*ttp).unwrap_key(label, released.enc.wrapped, gp::KeyType::Des2); });
  BOOST_TEST(w.name() == "CKR_KEY_FUNCTION_NOT_PERMITTED");
}

BOOST_AUTO_TEST_SUITE_END()
