// AES key wrap: every vector of keywrap.json both ways, and the failures a KEK holder can meet.
#include <boost/test/unit_test.hpp>

#include "gp/error.h"
#include "gp/crypto.h"
#include "gp/keywrap.h"
#include "support/vectors.h"

using namespace sekds;
using gp::Bytes;
using gp::to_hex;

namespace {
auto has_code(gp::Errc c) {
  return [c](const gp::GpError& e) { return e.code() == c; };
}
}  // namespace

BOOST_AUTO_TEST_SUITE(keywrap)

BOOST_AUTO_TEST_CASE(every_vector_of_keywrap_json) {
  auto j = test::load_vectors("keywrap.json");
  std::size_t i = 0, run = 0;
  for (const auto& v : j["vectors"]) {
    BOOST_TEST_CONTEXT(test::vector_label(v, i++)) {
      const auto alg = gp::parse_key_wrap(v.at("alg").get<std::string>());
      BOOST_REQUIRE_MESSAGE(alg.has_value(), "unknown key wrap algorithm " << v.at("alg"));
      const Bytes kek = test::hex_field(v, "kek"), key = test::hex_field(v, "key"), wrapped = test::hex_field(v, "wrapped");
      BOOST_TEST(to_hex(gp::aes_key_wrap(*alg, kek, key)) == to_hex(wrapped));
      BOOST_TEST(to_hex(gp::view(gp::aes_key_unwrap(*alg, kek, wrapped))) == to_hex(key));
      ++run;
    }
  }
  BOOST_TEST(run == j["vectors"].size());
}

BOOST_AUTO_TEST_CASE(tampered_data_fails_the_integrity_check) {
  auto j = test::load_vectors("keywrap.json");
  for (const auto& v : j["vectors"]) {
    BOOST_TEST_CONTEXT(test::vector_label(v, 0)) {
      const auto alg = *gp::parse_key_wrap(v.at("alg").get<std::string>());
      const Bytes kek = test::hex_field(v, "kek"), wrapped = test::hex_field(v, "wrapped");
      for (std::size_t pos : {std::size_t{0}, wrapped.size() / 2, wrapped.size() - 1}) {
        Bytes bad = wrapped;
        bad[pos] ^= 0x01;
        BOOST_CHECK_EXCEPTION(gp::aes_key_unwrap(alg, kek, bad), gp::GpError, has_code(gp::Errc::UnwrapFailed));
      }
      Bytes other_kek = kek;
      other_kek.back() ^= 0x80;
      BOOST_CHECK_EXCEPTION(gp::aes_key_unwrap(alg, other_kek, wrapped), gp::GpError, has_code(gp::Errc::UnwrapFailed));
    }
  }
}

BOOST_AUTO_TEST_CASE(rfc3394_and_rfc5649_are_not_interchangeable) {
  const Bytes kek(32, 0x11), key(16, 0x22);
  const Bytes w3394 = gp::aes_key_wrap(gp::KeyWrapAlgorithm::Rfc3394, kek, key);
  const Bytes w5649 = gp::aes_key_wrap(gp::KeyWrapAlgorithm::Rfc5649, kek, key);
  BOOST_TEST(w3394.size() == 24u);
  BOOST_TEST(w5649.size() == 24u);
  BOOST_TEST(to_hex(w3394) != to_hex(w5649));
  BOOST_CHECK_EXCEPTION(gp::aes_key_unwrap(gp::KeyWrapAlgorithm::Rfc5649, kek, w3394), gp::GpError,
                        has_code(gp::Errc::UnwrapFailed));
  BOOST_CHECK_EXCEPTION(gp::aes_key_unwrap(gp::KeyWrapAlgorithm::Rfc3394, kek, w5649), gp::GpError,
                        has_code(gp::Errc::UnwrapFailed));
}

BOOST_AUTO_TEST_CASE(every_card_key_length_round_trips_under_every_kek_length) {
  for (std::size_t kek_len : {16u, 24u, 32u}) {
    for (std::size_t key_len : {16u, 24u, 32u}) {
      for (auto alg : {gp::KeyWrapAlgorithm::Rfc3394, gp::KeyWrapAlgorithm::Rfc5649}) {
        BOOST_TEST_CONTEXT(gp::key_wrap_name(alg) << " KEK " << kek_len << " key " << key_len) {
          const Bytes kek = gp::random_bytes(kek_len), key = gp::random_bytes(key_len);
          const Bytes w = gp::aes_key_wrap(alg, kek, key);
          BOOST_TEST(w.size() == key_len + 8);
          BOOST_TEST(to_hex(gp::view(gp::aes_key_unwrap(alg, kek, w))) == to_hex(key));
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_lengths_are_named) {
  const Bytes kek(16, 1);
  auto len = has_code(gp::Errc::InvalidLength);
  BOOST_CHECK_EXCEPTION(gp::aes_key_wrap(gp::KeyWrapAlgorithm::Rfc3394, Bytes(15, 1), Bytes(16, 2)), gp::GpError, len);
  BOOST_CHECK_EXCEPTION(gp::aes_key_wrap(gp::KeyWrapAlgorithm::Rfc3394, kek, Bytes(20, 2)), gp::GpError, len);
  BOOST_CHECK_EXCEPTION(gp::aes_key_wrap(gp::KeyWrapAlgorithm::Rfc3394, kek, Bytes(8, 2)), gp::GpError, len);
  BOOST_CHECK_EXCEPTION(gp::aes_key_wrap(gp::KeyWrapAlgorithm::Rfc5649, kek, Bytes()), gp::GpError, len);
  BOOST_CHECK_EXCEPTION(gp::aes_key_unwrap(gp::KeyWrapAlgorithm::Rfc3394, kek, Bytes(16, 2)), gp::GpError, len);
  BOOST_CHECK_EXCEPTION(gp::aes_key_unwrap(gp::KeyWrapAlgorithm::Rfc3394, kek, Bytes(25, 2)), gp::GpError, len);
  BOOST_CHECK_EXCEPTION(gp::aes_key_unwrap(gp::KeyWrapAlgorithm::Rfc5649, kek, Bytes(8, 2)), gp::GpError, len);
  BOOST_TEST(!gp::parse_key_wrap("RFC3395").has_value());
  BOOST_TEST(gp::key_wrap_name(*gp::parse_key_wrap("RFC5649")) == std::string("RFC5649"));
}

BOOST_AUTO_TEST_SUITE_END()
