// Security level 00 (authentication only): commands after EXTERNAL AUTHENTICATE travel in
// plain, so two identical commands in a row are legitimate and must not look like a replay.
#include <boost/test/unit_test.hpp>

#include "gp/error.h"
#include "gp/scp02.h"
#include "gp/scp03.h"

using namespace sekds;
using gp::Bytes;

namespace {
const Bytes kIsdAid = gp::from_hex("A000000151000000");

// Runs the handshake at `level`, then sends the same plain command twice through the card.
void twice_the_same_command(gp::HostSession& host, gp::CardSession& card, gp::SecurityLevel level) {
  auto iu = card.initialize_update(host.initialize_update(0));
  Bytes ea = host.external_authenticate(iu.response, level);
  auto ok = card.external_authenticate(gp::CommandApdu::parse(ea));
  host.confirm_external_authenticate(ok.response);
  const gp::CommandApdu get_status(0x80, 0xF2, 0x80, 0x02, gp::from_hex("4F00"), 256u);
  for (int n = 0; n < 2; ++n) {
    Bytes wire = host.wrap(get_status);
    gp::CommandApdu seen = card.unwrap(wire);
    BOOST_TEST(gp::to_hex(seen.encode()) == gp::to_hex(get_status.encode()));
    host.unwrap(card.wrap(gp::ResponseApdu{{}, 0x9000}));
  }
}
}  // namespace

BOOST_AUTO_TEST_SUITE(scp_level00)

BOOST_AUTO_TEST_CASE(scp02_plain_commands_may_repeat) {
  gp::StaticKeys keys{gp::random_secure(16), gp::random_secure(16), gp::random_secure(16)};
  gp::Scp02CardOptions copt;
  copt.i = 0x55;
  copt.kdd = gp::random_bytes(10);
  copt.aid = kIsdAid;
  gp::Scp02Card card(keys, copt);
  gp::Scp02HostOptions hopt;
  hopt.i = 0x55;
  gp::Scp02Host host(keys, hopt);
  twice_the_same_command(host, card, gp::SecurityLevel(0x00));
}

BOOST_AUTO_TEST_CASE(scp03_plain_commands_may_repeat) {
  gp::StaticKeys keys{gp::random_secure(16), gp::random_secure(16), gp::random_secure(16)};
  gp::Scp03CardOptions copt;
  copt.i = 0x70;
  copt.kdd = gp::random_bytes(10);
  copt.aid = kIsdAid;
  gp::Scp03Card card(keys, copt);
  gp::Scp03Host host(keys);
  twice_the_same_command(host, card, gp::SecurityLevel(0x00));
}

BOOST_AUTO_TEST_CASE(a_repeated_macd_command_is_still_a_replay) {
  gp::StaticKeys keys{gp::random_secure(16), gp::random_secure(16), gp::random_secure(16)};
  gp::Scp03CardOptions copt;
  copt.kdd = gp::random_bytes(10);
  copt.aid = kIsdAid;
  gp::Scp03Card card(keys, copt);
  gp::Scp03Host host(keys);
  auto iu = card.initialize_update(host.initialize_update(0));
  auto ok = card.external_authenticate(gp::CommandApdu::parse(host.external_authenticate(iu.response, gp::SecurityLevel(0x01))));
  host.confirm_external_authenticate(ok.response);
  Bytes wire = host.wrap(gp::CommandApdu(0x80, 0xF2, 0x80, 0x02, gp::from_hex("4F00"), 256u));
  card.unwrap(wire);
  card.wrap(gp::ResponseApdu{{}, 0x9000});
  BOOST_CHECK_EXCEPTION(card.unwrap(wire), gp::GpError,
                        [](const gp::GpError& e) { return e.code() == gp::Errc::CounterReplay; });
}

BOOST_AUTO_TEST_SUITE_END()
