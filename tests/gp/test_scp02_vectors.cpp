// Full SCP02 traces of scp02.json, replayed on both sides:
//  - host: same host challenge -> the card's INITIALIZE UPDATE answer verifies, EXTERNAL
//    AUTHENTICATE and every wrapped command come out byte for byte, PUT KEY key encryption;
//  - card: same card challenge -> the INITIALIZE UPDATE answer is rebuilt byte for byte,
//    the traced EXTERNAL AUTHENTICATE is accepted and every wrapped command unwraps to its plain form.
// The traces are i=15 style (README); every vector and every field runs, unknown fields fail.
#include <boost/test/unit_test.hpp>

#include <set>

#include "gp/error.h"
#include "gp/scp02.h"
#include "support/vectors.h"

using namespace sekds;
using gp::Bytes;
using gp::to_hex;

namespace {

// iu_response with or without its status word (both occur in the file).
gp::ResponseApdu split_iu_response(const Bytes& raw) {
  if (raw.size() == 28) return gp::ResponseApdu{raw, 0x9000};
  BOOST_REQUIRE_MESSAGE(raw.size() == 30, "SCP02 iu_response must be 28 bytes (+2 SW), got " << raw.size());
  return gp::ResponseApdu::parse(raw);
}

gp::StaticKeys keys_of(const nlohmann::json& v) {
  return {gp::to_secure(test::hex_field(v, "enc")), gp::to_secure(test::hex_field(v, "mac")),
          gp::to_secure(test::hex_field(v, "dek"))};
}

void check_known_fields(const nlohmann::json& v) {
  static const std::set<std::string> known{"name", "enc", "mac", "dek", "host_challenge", "iu_response", "level",
                                           "ext_auth", "commands", "put_key_encrypt", "note", "source"};
  for (const auto& [k, _] : v.items()) BOOST_CHECK_MESSAGE(known.count(k) == 1, "field '" << k << "' is not interpreted");
}

void same_command(const gp::CommandApdu& got, const gp::CommandApdu& want) {
  BOOST_TEST(got.cla == want.cla);
  BOOST_TEST(got.ins == want.ins);
  BOOST_TEST(got.p1 == want.p1);
  BOOST_TEST(got.p2 == want.p2);
  BOOST_TEST(to_hex(got.data) == to_hex(want.data));
  BOOST_TEST(got.le.has_value() == want.le.has_value());
  if (got.le && want.le) BOOST_TEST(*got.le == *want.le);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(scp02_vectors)

BOOST_AUTO_TEST_CASE(host_side_reproduces_every_trace) {
  auto j = test::load_vectors("scp02.json");
  std::size_t i = 0, run = 0, commands = 0, put_keys = 0;
  for (const auto& v : j["vectors"]) {
    BOOST_TEST_CONTEXT(test::vector_label(v, i++)) {
      check_known_fields(v);
      gp::Scp02Host host(keys_of(v), {0x15, std::nullopt});
      host.initialize_update(0x00, test::hex_field(v, "host_challenge"));
      const auto level = gp::SecurityLevel(v.at("level").get<std::uint8_t>());
      const Bytes ea = host.external_authenticate(split_iu_response(test::hex_field(v, "iu_response")), level);
      BOOST_TEST(to_hex(ea) == to_hex(test::hex_field(v, "ext_auth")));
      host.confirm_external_authenticate(gp::ResponseApdu{{}, 0x9000});
      BOOST_REQUIRE(host.is_open());
      for (const auto& c : v.at("commands")) {
        BOOST_REQUIRE_MESSAGE(c.is_array() && c.size() == 2, "SCP02 command entries are [plain, wrapped]");
        const auto plain = gp::CommandApdu::parse(gp::from_hex(c[0].get<std::string>()));
        BOOST_TEST(to_hex(host.wrap(plain)) == to_hex(gp::from_hex(c[1].get<std::string>())));
        ++commands;
      }
      if (v.contains("put_key_encrypt")) {
        for (const auto& p : v["put_key_encrypt"]) {
          const Bytes key = gp::from_hex(p.at(0).get<std::string>());
          BOOST_TEST(to_hex(host.key_encryptor().encrypt(key)) == to_hex(gp::from_hex(p.at(1).get<std::string>())));
          ++put_keys;
        }
      }
      ++run;
    }
  }
  BOOST_TEST(run == j["vectors"].size());
  std::size_t want_commands = 0, want_put_keys = 0;
  for (const auto& v : j["vectors"]) {
    want_commands += v.at("commands").size();
    if (v.contains("put_key_encrypt")) want_put_keys += v["put_key_encrypt"].size();
  }
  BOOST_TEST(commands == want_commands);
  BOOST_TEST(put_keys == want_put_keys);
  BOOST_TEST(commands > 0u);
}

BOOST_AUTO_TEST_CASE(card_side_reproduces_every_trace) {
  auto j = test::load_vectors("scp02.json");
  std::size_t i = 0, run = 0;
  for (const auto& v : j["vectors"]) {
    BOOST_TEST_CONTEXT(test::vector_label(v, i++)) {
      const auto iu = split_iu_response(test::hex_field(v, "iu_response"));
      const auto info = gp::InitializeUpdateResponse::parse(iu.data);
      gp::Scp02CardOptions opt;
      opt.i = 0x15;
      opt.kvn = info.kvn;
      opt.kdd = info.kdd;
      opt.sequence_counter = static_cast<std::uint16_t>(*info.sequence_counter);
      opt.fixed_card_challenge = info.card_challenge;
      gp::Scp02Card card(keys_of(v), opt);
      const auto iu_cmd = gp::InitializeUpdateCommand{0x00, 0x00, test::hex_field(v, "host_challenge")}.to_apdu();
      const auto step = card.initialize_update(iu_cmd);
      BOOST_TEST(step.response.sw == 0x9000);
      BOOST_TEST(to_hex(step.response.data) == to_hex(iu.data));
      BOOST_TEST(!step.next_sequence_counter.has_value());

      const auto ea = card.external_authenticate(gp::CommandApdu::parse(test::hex_field(v, "ext_auth")));
      BOOST_TEST(ea.response.sw == 0x9000);
      BOOST_REQUIRE(ea.next_sequence_counter.has_value());
      BOOST_TEST(*ea.next_sequence_counter == *info.sequence_counter + 1);
      BOOST_TEST(card.security_level().byte() == v.at("level").get<std::uint8_t>());
      for (const auto& c : v.at("commands")) {
        const auto plain = card.unwrap(gp::from_hex(c[1].get<std::string>()));
        same_command(plain, gp::CommandApdu::parse(gp::from_hex(c[0].get<std::string>())));
        card.wrap(gp::ResponseApdu{{}, 0x9000});
      }
      if (v.contains("put_key_encrypt")) {
        for (const auto& p : v["put_key_encrypt"]) {
          const auto key = card.key_encryptor().decrypt(gp::from_hex(p.at(1).get<std::string>()));
          BOOST_TEST(to_hex(gp::view(key)) == to_hex(gp::from_hex(p.at(0).get<std::string>())));
        }
      }
      ++run;
    }
  }
  BOOST_TEST(run == j["vectors"].size());
}

BOOST_AUTO_TEST_SUITE_END()
