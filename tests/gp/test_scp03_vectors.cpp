// Full SCP03 traces of scp03.json, replayed on both sides:
//  - host: same host challenge -> card cryptogram verifies (and the pseudo-random challenge
//    when pseudo_random_aid is given), session keys, EXTERNAL AUTHENTICATE and every wrapped
//    command byte for byte, every traced response unwrapped to its plain value;
//  - card: the INITIALIZE UPDATE answer rebuilt byte for byte (pseudo-random challenges are
//    derived, random ones injected), the traced EXTERNAL AUTHENTICATE accepted, every wrapped
//    command unwrapped to its plain form and every plain response wrapped to the traced bytes.
// Every vector and every field runs; an entry or field the harness cannot interpret fails.
#include <boost/test/unit_test.hpp>

#include <set>

#include "gp/error.h"
#include "gp/scp03.h"
#include "support/vectors.h"

using namespace sekds;
using gp::Bytes;
using gp::to_hex;

namespace {

// The Issuer Security Domain AID (GP 2.3.1 H.1.3): the application a card opens its channel
// with when the vector does not name one. (kaoh "get_status_aes_192 (i=10)" reproduces with it.)
const Bytes kIsdAid = gp::from_hex("A000000151000000");

gp::ResponseApdu split_iu_response(const Bytes& raw) {
  for (std::size_t n : {29u, 32u, 45u, 48u})
    if (raw.size() == n) return gp::ResponseApdu{raw, 0x9000};
  for (std::size_t n : {31u, 34u, 47u, 50u})
    if (raw.size() == n) return gp::ResponseApdu::parse(raw);
  BOOST_FAIL("SCP03 iu_response of " << raw.size() << " bytes has no SCP03 layout");
  return {};
}

gp::StaticKeys keys_of(const nlohmann::json& v) {
  return {gp::to_secure(test::hex_field(v, "enc")), gp::to_secure(test::hex_field(v, "mac")),
          gp::to_secure(test::hex_field(v, "dek"))};
}

void check_known_fields(const nlohmann::json& v) {
  static const std::set<std::string> known{"name",        "enc",          "mac",      "dek",
                                           "host_challenge", "iu_response", "level", "ext_auth",
                                           "session_keys", "pseudo_random_aid", "commands", "note", "source"};
  for (const auto& [k, _] : v.items()) BOOST_CHECK_MESSAGE(known.count(k) == 1, "field '" << k << "' is not interpreted");
}

bool is_command(const nlohmann::json& c) { return c.is_array() && c.size() == 2; }
bool is_response(const nlohmann::json& c) {
  return c.is_object() && c.size() == 2 && c.contains("response") && c.contains("plain");
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

BOOST_AUTO_TEST_SUITE(scp03_vectors)

BOOST_AUTO_TEST_CASE(host_side_reproduces_every_trace) {
  auto j = test::load_vectors("scp03.json");
  std::size_t i = 0, run = 0, entries = 0, want_entries = 0;
  for (const auto& v : j["vectors"]) {
    want_entries += v.at("commands").size();
    BOOST_TEST_CONTEXT(test::vector_label(v, i++)) {
      check_known_fields(v);
      gp::Scp03HostOptions opt;
      if (v.contains("pseudo_random_aid")) opt.aid = test::hex_field(v, "pseudo_random_aid");
      gp::Scp03Host host(keys_of(v), opt);
      host.initialize_update(0x00, test::hex_field(v, "host_challenge"));
      const auto iu = split_iu_response(test::hex_field(v, "iu_response"));
      const auto level = gp::SecurityLevel(v.at("level").get<std::uint8_t>());
      const Bytes ea = host.external_authenticate(iu, level);
      BOOST_TEST(to_hex(ea) == to_hex(test::hex_field(v, "ext_auth")));

      const auto info = gp::InitializeUpdateResponse::parse(iu.data);
      if (v.contains("pseudo_random_aid")) {
        BOOST_REQUIRE(info.sequence_counter.has_value());
        BOOST_TEST(to_hex(gp::scp03_pseudo_random_card_challenge(gp::to_secure(test::hex_field(v, "enc")),
                                                                 *info.sequence_counter,
                                                                 test::hex_field(v, "pseudo_random_aid"), 8)) ==
                   to_hex(info.card_challenge));
      }
      if (v.contains("session_keys")) {
        const auto& sk = v["session_keys"];
        BOOST_TEST(sk.size() == 3u);
        BOOST_TEST(to_hex(gp::view(host.session_keys().enc)) == to_hex(test::hex_field(sk, "S-ENC")));
        BOOST_TEST(to_hex(gp::view(host.session_keys().mac)) == to_hex(test::hex_field(sk, "S-MAC")));
        BOOST_TEST(to_hex(gp::view(host.session_keys().rmac)) == to_hex(test::hex_field(sk, "S-RMAC")));
      }
      host.confirm_external_authenticate(gp::ResponseApdu{{}, 0x9000});
      BOOST_REQUIRE(host.is_open());
      for (const auto& c : v.at("commands")) {
        if (is_command(c)) {
          const auto plain = gp::CommandApdu::parse(gp::from_hex(c[0].get<std::string>()));
          BOOST_TEST(to_hex(host.wrap(plain)) == to_hex(gp::from_hex(c[1].get<std::string>())));
        } else if (is_response(c)) {
          const auto plain = host.unwrap(test::hex_field(c, "response"));
          BOOST_TEST(to_hex(plain.encode()) == to_hex(test::hex_field(c, "plain")));
        } else {
          BOOST_FAIL("commands entry is neither [plain, wrapped] nor {response, plain}: " << c.dump());
        }
        ++entries;
      }
      ++run;
    }
  }
  BOOST_TEST(run == j["vectors"].size());
  BOOST_TEST(entries == want_entries);
}

BOOST_AUTO_TEST_CASE(card_side_reproduces_every_trace) {
  auto j = test::load_vectors("scp03.json");
  std::size_t i = 0, run = 0;
  for (const auto& v : j["vectors"]) {
    BOOST_TEST_CONTEXT(test::vector_label(v, i++)) {
      const auto iu = split_iu_response(test::hex_field(v, "iu_response"));
      const auto info = gp::InitializeUpdateResponse::parse(iu.data);
      const bool pseudo_random = (info.i & gp::scp03_i::kPseudoRandomChallenge) != 0;
      gp::Scp03CardOptions opt;
      opt.i = info.i;
      opt.kvn = info.kvn;
      opt.kdd = info.kdd;
      opt.sequence_counter = info.sequence_counter.value_or(0);
      opt.aid = v.contains("pseudo_random_aid") ? test::hex_field(v, "pseudo_random_aid") : kIsdAid;
      if (!pseudo_random) opt.fixed_card_challenge = info.card_challenge;
      gp::Scp03Card card(keys_of(v), opt);

      const auto step = card.initialize_update(
          gp::InitializeUpdateCommand{0x00, 0x00, test::hex_field(v, "host_challenge")}.to_apdu());
      BOOST_TEST(step.response.sw == 0x9000);
      BOOST_TEST(to_hex(step.response.data) == to_hex(iu.data));
      BOOST_TEST(step.next_sequence_counter.has_value() == pseudo_random);
      if (pseudo_random) BOOST_TEST(*step.next_sequence_counter == *info.sequence_counter + 1);

      const auto ea = card.external_authenticate(gp::CommandApdu::parse(test::hex_field(v, "ext_auth")));
      BOOST_TEST(ea.response.sw == 0x9000);
      BOOST_TEST(card.security_level().byte() == v.at("level").get<std::uint8_t>());
      const auto& cmds = v.at("commands");
      for (std::size_t k = 0; k < cmds.size(); ++k) {
        const auto& c = cmds[k];
        if (is_response(c)) continue;  // consumed with its command below
        BOOST_REQUIRE(is_command(c));
        const auto plain = card.unwrap(gp::from_hex(c[1].get<std::string>()));
        same_command(plain, gp::CommandApdu::parse(gp::from_hex(c[0].get<std::string>())));
        if (k + 1 < cmds.size() && is_response(cmds[k + 1])) {
          const auto wrapped = card.wrap(gp::ResponseApdu::parse(test::hex_field(cmds[k + 1], "plain")));
          BOOST_TEST(to_hex(wrapped.encode()) == to_hex(test::hex_field(cmds[k + 1], "response")));
        } else {
          card.wrap(gp::ResponseApdu{{}, 0x9000});
        }
      }
      ++run;
    }
  }
  BOOST_TEST(run == j["vectors"].size());
}

BOOST_AUTO_TEST_SUITE_END()
