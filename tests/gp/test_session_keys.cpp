// Known-answer vectors of session_keys.json: SCP02 session keys and PUT KEY key encryption,
// the SCP03 KDF and session keys, AES KCVs. Every vector runs; an unknown kind fails.
#include <boost/test/unit_test.hpp>

#include <map>

#include "gp/error.h"
#include "gp/kcv.h"
#include "gp/scp02.h"
#include "gp/scp03.h"
#include "support/vectors.h"

using namespace sekds;
using gp::Bytes;
using gp::to_hex;

namespace {

std::string kcv_hex(gp::KcvAlg alg, const gp::SecureBytes& key) { return to_hex(gp::kcv(alg, gp::view(key))); }

std::string expected_hex(const nlohmann::json& obj, const char* name) {
  BOOST_REQUIRE_MESSAGE(obj.contains(name), "vector lacks " << name);
  return to_hex(gp::from_hex(obj.at(name).get<std::string>(), name));
}

gp::StaticKeys static_keys(const nlohmann::json& v) {
  return {gp::to_secure(test::hex_field(v, "static_enc")), gp::to_secure(test::hex_field(v, "static_mac")),
          gp::to_secure(test::hex_field(v, "static_dek"))};
}

std::uint16_t seq16(const nlohmann::json& v) {
  Bytes s = test::hex_field(v, "seq");
  BOOST_REQUIRE_EQUAL(s.size(), 2u);
  return static_cast<std::uint16_t>(gp::read_be(s));
}

// Checks each named KCV and that the vector names no key this test does not know.
void check_kcvs(const nlohmann::json& kcvs, const std::map<std::string, const gp::SecureBytes*>& keys, gp::KcvAlg alg) {
  BOOST_REQUIRE(kcvs.is_object());
  BOOST_TEST(kcvs.size() == keys.size());
  for (const auto& [name, value] : kcvs.items()) {
    BOOST_TEST_CONTEXT(name) {
      auto it = keys.find(name);
      BOOST_REQUIRE_MESSAGE(it != keys.end(), "vector names an unknown key " << name);
      BOOST_TEST(kcv_hex(alg, *it->second) == expected_hex(kcvs, name.c_str()));
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(session_keys)

BOOST_AUTO_TEST_CASE(every_vector_of_session_keys_json) {
  auto j = test::load_vectors("session_keys.json");
  std::size_t i = 0, run = 0;
  for (const auto& v : j["vectors"]) {
    BOOST_TEST_CONTEXT(test::vector_label(v, i++) << " kind " << v.value("kind", "?")) {
      const std::string kind = v.at("kind").get<std::string>();
      if (kind == "scp02_session_keys") {
        const auto sk = gp::scp02_session_keys(static_keys(v), seq16(v));
        check_kcvs(v.at("kcv_des3"), {{"S-ENC", &sk.enc}, {"C-MAC", &sk.cmac}, {"R-MAC", &sk.rmac}, {"DEK", &sk.dek}},
                   gp::KcvAlg::Des3Zero);
      } else if (kind == "scp02_put_key_encrypt") {
        const auto dek = gp::scp02_session_key(test::hex_field(v, "static_dek"), gp::kScp02ConstDek, seq16(v));
        gp::Scp02KeyEncryptor enc(dek);
        const Bytes key = test::hex_field(v, "key");
        const Bytes encrypted = enc.encrypt(key);
        BOOST_TEST(to_hex(encrypted) == to_hex(test::hex_field(v, "expected")));
        BOOST_TEST(to_hex(gp::view(enc.decrypt(encrypted))) == to_hex(key));
      } else if (kind == "scp03_session_keys") {
        const auto keys = static_keys(v);
        const auto sk = gp::scp03_session_keys(keys, test::hex_field(v, "context"));
        check_kcvs(v.at("kcv_aes"), {{"S-ENC", &sk.enc}, {"S-MAC", &sk.mac}, {"S-RMAC", &sk.rmac}, {"DEK", &keys.dek}},
                   gp::KcvAlg::AesGp);
      } else if (kind == "kdf_ctr_cmac_raw") {
        const auto out = gp::kdf_counter_cmac(test::hex_field(v, "key"), test::hex_field(v, "before_counter"),
                                              test::hex_field(v, "after_counter"), v.at("out_len").get<std::size_t>());
        BOOST_TEST(out.size() == v.at("out_len").get<std::size_t>());
        BOOST_TEST(kcv_hex(gp::KcvAlg::AesGp, out) == to_hex(test::hex_field(v, "kcv_aes")));
      } else if (kind == "kcv_aes") {
        BOOST_TEST(to_hex(gp::kcv(gp::KcvAlg::AesGp, test::hex_field(v, "key"))) == to_hex(test::hex_field(v, "kcv")));
      } else {
        BOOST_FAIL("session_keys.json: vector kind '" << kind << "' is not understood by this test");
      }
      ++run;
    }
  }
  BOOST_TEST(run == j["vectors"].size());
}

// The SCP03 KDF layout written out by hand: 11 zero bytes, constant, 00, L, i, context.
BOOST_AUTO_TEST_CASE(scp03_kdf_is_the_amendment_d_layout) {
  const Bytes key = gp::from_hex("404142434445464748494A4B4C4D4E4F");
  const Bytes context = gp::from_hex("0102030405060708090A0B0C0D0E0F10");
  for (std::size_t bits : {64u, 128u, 192u, 256u}) {
    BOOST_TEST_CONTEXT(bits << " bits") {
      Bytes expected;
      for (std::uint8_t i = 1; expected.size() < bits / 8; ++i) {
        Bytes input(11, 0x00);
        input.insert(input.end(), {0x04, 0x00, static_cast<std::uint8_t>(bits >> 8), static_cast<std::uint8_t>(bits), i});
        input.insert(input.end(), context.begin(), context.end());
        const Bytes block = gp::aes_cmac(key, input);
        expected.insert(expected.end(), block.begin(), block.end());
      }
      expected.resize(bits / 8);
      BOOST_TEST(to_hex(gp::view(gp::scp03_kdf(key, 0x04, context, bits))) == to_hex(expected));
    }
  }
}

BOOST_AUTO_TEST_CASE(scp02_session_keys_differ_per_counter_and_constant) {
  const gp::StaticKeys keys{gp::secure_from_hex("404142434445464748494A4B4C4D4E4F"),
                            gp::secure_from_hex("404142434445464748494A4B4C4D4E4F"),
                            gp::secure_from_hex("404142434445464748494A4B4C4D4E4F")};
  const auto a = gp::scp02_session_keys(keys, 1), b = gp::scp02_session_keys(keys, 2);
  BOOST_TEST(to_hex(gp::view(a.enc)) != to_hex(gp::view(b.enc)));
  BOOST_TEST(to_hex(gp::view(a.cmac)) != to_hex(gp::view(a.rmac)));
  BOOST_CHECK_EXCEPTION(gp::scp02_session_key(Bytes(24, 1), gp::kScp02ConstEnc, 0), gp::GpError,
                        [](const gp::GpError& e) { return e.code() == gp::Errc::InvalidLength; });
}

BOOST_AUTO_TEST_SUITE_END()
