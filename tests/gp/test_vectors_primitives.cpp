// Known-answer vectors for the primitives: AES-CMAC, KCVs, static-key diversification.
#include <boost/test/unit_test.hpp>

#include "gp/crypto.h"
#include "gp/diversification.h"
#include "gp/error.h"
#include "gp/kcv.h"
#include "support/vectors.h"

using namespace sekds;
using gp::Bytes;
using gp::to_hex;

BOOST_AUTO_TEST_SUITE(vectors_primitives)

BOOST_AUTO_TEST_CASE(aes_cmac_sp800_38b) {
  auto j = test::load_vectors("aes_cmac.json");
  std::size_t i = 0;
  for (const auto& v : j["vectors"]) {
    BOOST_TEST_CONTEXT(test::vector_label(v, i++)) {
      Bytes mac = gp::aes_cmac(test::hex_field(v, "key"), test::hex_field(v, "msg"));
      BOOST_TEST(to_hex(mac) == to_hex(test::hex_field(v, "mac")));
    }
  }
  BOOST_TEST(i == j["vectors"].size());
}

BOOST_AUTO_TEST_CASE(diversification_kats) {
  auto j = test::load_vectors("diversification.json");
  std::size_t i = 0, run = 0;
  for (const auto& v : j["vectors"]) {
    BOOST_TEST_CONTEXT(test::vector_label(v, i++)) {
      auto m = gp::parse_method(v.at("method").get<std::string>());
      BOOST_REQUIRE_MESSAGE(m.has_value(), "unknown method " << v.at("method"));
      auto scheme = gp::DiversificationScheme::of(*m);
      Bytes master = test::hex_field(v, "master"), kdd = test::hex_field(v, "kdd");
      if (v.contains("kcv")) {
        std::string alg = v.at("kcv_alg").get<std::string>();
        BOOST_REQUIRE(alg == "des3" || alg == "aes");
        auto kalg = alg == "des3" ? gp::KcvAlg::Des3Zero : gp::KcvAlg::AesGp;
        for (auto role : gp::kKeyRoles) {
          auto key = gp::diversify_key(scheme, master, kdd, role);
          BOOST_TEST(key.size() == master.size());
          BOOST_TEST(to_hex(gp::kcv(kalg, gp::view(key))) ==
                         to_hex(gp::from_hex(v["kcv"].at(gp::key_role_name(role)).get<std::string>())),
                     gp::key_role_name(role));
        }
        ++run;
      } else if (v.contains("expected_key")) {
        std::string purpose = v.at("purpose").get<std::string>();
        gp::KeyRole role = purpose == "ENC" ? gp::KeyRole::Enc : purpose == "MAC" ? gp::KeyRole::Mac : gp::KeyRole::Dek;
        BOOST_REQUIRE(purpose == "ENC" || purpose == "MAC" || purpose == "DEK");
        auto key = gp::diversify_key(scheme, master, kdd, role);
        BOOST_TEST(to_hex(gp::view(key)) == to_hex(test::hex_field(v, "expected_key")));
        ++run;
      } else {
        BOOST_FAIL("vector has neither kcv nor expected_key");
      }
    }
  }
  BOOST_TEST(run == j["vectors"].size());
}

BOOST_AUTO_TEST_CASE(kcv_conventions_are_distinct) {
  Bytes key = gp::from_hex("404142434445464748494A4B4C4D4E4F");
  BOOST_TEST(to_hex(gp::kcv(gp::KcvAlg::AesGp, key)) != to_hex(gp::kcv(gp::KcvAlg::AesCmac, key)));
  // AES-CMAC of zeros by definition
  Bytes full = gp::aes_cmac(key, Bytes(16, 0));
  BOOST_TEST(to_hex(gp::kcv(gp::KcvAlg::AesCmac, key)) == to_hex(Bytes(full.begin(), full.begin() + 3)));
}

BOOST_AUTO_TEST_CASE(diversification_rejects_bad_input) {
  auto emv = gp::DiversificationScheme::of(gp::DiversificationMethod::Emv);
  auto kdf3 = gp::DiversificationScheme::of(gp::DiversificationMethod::Kdf3);
  Bytes kdd(10, 1), aes(16, 2);
  BOOST_CHECK_THROW(gp::diversify_key(emv, aes, Bytes(9, 1), gp::KeyRole::Enc), gp::GpError);
  BOOST_CHECK_THROW(gp::diversify_key(emv, Bytes(24, 1), kdd, gp::KeyRole::Enc), gp::GpError);
  BOOST_CHECK_THROW(gp::diversify_key(kdf3, Bytes(15, 1), kdd, gp::KeyRole::Enc), gp::GpError);
  BOOST_CHECK_THROW(gp::KdfLayout::parse("i|zz|kdd"), gp::GpError);
  BOOST_CHECK_THROW(gp::KdfLayout::parse("i|00|kdd"), gp::GpError);  // no k
}

BOOST_AUTO_TEST_CASE(scp03_kdf_layout_round_trips_its_text) {
  auto l = gp::KdfLayout::scp03_standard();
  BOOST_TEST(l.spec() == "0000000000000000000000|k|00|L|i|kdd");
  BOOST_TEST(l.input_length() == 26u);
  BOOST_TEST(gp::KdfLayout::kdf3().input_length() == 16u);
  auto custom = gp::KdfLayout::parse(l.spec(), "04,06,07");
  BOOST_TEST(custom.constants_spec() == "04,06,07");
}

BOOST_AUTO_TEST_SUITE_END()
