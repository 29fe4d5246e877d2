// The card management commands as bytes (GP 2.3.1 §11), and GET STATUS answers parsed.
#include <boost/test/unit_test.hpp>

#include "gp/error.h"
#include "tsm/gp_commands.h"

using namespace sekds;

BOOST_AUTO_TEST_SUITE(gp_commands)

BOOST_AUTO_TEST_CASE(encodings) {
  const gp::Bytes pkg = gp::from_hex("D2760001180101"), app = gp::from_hex("D276000118010101"),
                  inst = gp::from_hex("D27600011801010101");
  BOOST_TEST(gp::to_hex(tsm::install_for_load(pkg).encode()) == "80E602000C07D27600011801010000000000");
  BOOST_TEST(gp::to_hex(tsm::install_for_install(pkg, app, inst).encode()) ==
             "80E60C002107D276000118010108D27600011801010109D27600011801010101010002C9000000");
  BOOST_TEST(gp::to_hex(tsm::delete_command(inst).encode()) == "80E400000B4F09D2760001180101010100");
  BOOST_TEST(gp::to_hex(tsm::delete_command(inst, true).encode()) == "80E400800B4F09D2760001180101010100");
  BOOST_TEST(gp::to_hex(tsm::get_status_command(tsm::RegistryKind::Applications, false).encode()) == "80F24002024F0000");
  BOOST_TEST(gp::to_hex(tsm::get_status_command(tsm::RegistryKind::LoadFiles, true).encode()) == "80F22003024F0000");
  BOOST_CHECK_THROW(tsm::delete_command(gp::from_hex("0102")), gp::GpError);
}

BOOST_AUTO_TEST_CASE(load_blocks) {
  gp::Bytes comps(1000, 0x5A);
  const gp::Bytes block = tsm::load_file_data_block(comps);
  BOOST_TEST(gp::to_hex(gp::ByteView(block).first(4)) == "C48203E8");
  BOOST_TEST(tsm::load_file_data_block(block) == block);  // already a data block: as it is
  const auto cmds = tsm::load_commands(block, 239);
  BOOST_REQUIRE_EQUAL(cmds.size(), 5u);
  std::size_t total = 0;
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    BOOST_TEST(cmds[i].ins == tsm::kInsLoad);
    BOOST_TEST(cmds[i].p2 == i);
    BOOST_TEST(cmds[i].p1 == (i + 1 == cmds.size() ? 0x80 : 0x00));
    BOOST_TEST(cmds[i].data.size() <= 239u);
    total += cmds[i].data.size();
  }
  BOOST_TEST(total == block.size());
  const auto sd = tsm::store_data_commands(gp::Bytes(300, 1), 200);
  BOOST_REQUIRE_EQUAL(sd.size(), 2u);
  BOOST_TEST(sd[0].p1 == 0x00);
  BOOST_TEST(sd[1].p1 == 0x80);
  BOOST_TEST(sd[1].p2 == 1);
}

BOOST_AUTO_TEST_CASE(package_aid_from_the_header_component) {
  // Header (tag 01, 17 bytes: magic, CAP 2.1, flags, package 1.0, AID) then an Applet stub.
  const gp::Bytes cap = gp::from_hex("010011DECAFFED010204000107D2760001180101030005" "0000000000");
  BOOST_TEST(gp::to_hex(tsm::package_aid_of(cap)) == "D2760001180101");
  BOOST_TEST(gp::to_hex(tsm::package_aid_of(tsm::load_file_data_block(cap))) == "D2760001180101");
  BOOST_CHECK_THROW(tsm::package_aid_of(gp::from_hex("030003000000")), gp::GpError);
  BOOST_CHECK_THROW(tsm::package_aid_of(gp::from_hex("010011DEADBEEF010204000107D2760001180101")), gp::GpError);
}

BOOST_AUTO_TEST_CASE(get_status_answers) {
  // Two entries: the ISD, and an application with its load file; paging is the session's job.
  const auto entries = tsm::parse_get_status(tsm::RegistryKind::Applications, gp::from_hex(
      "E3134F08A0000001510000009F70010FC5039EFE80"
      "E31B4F09D276000118010101019F700107C50100C407D2760001180101"));
  BOOST_REQUIRE_EQUAL(entries.size(), 2u);
  BOOST_TEST(gp::to_hex(entries[0].aid) == "A000000151000000");
  BOOST_TEST(entries[0].lifecycle == 0x0F);
  BOOST_TEST(gp::to_hex(entries[0].privileges) == "9EFE80");
  BOOST_TEST(gp::to_hex(*entries[1].load_file_aid) == "D2760001180101");
  BOOST_TEST(tsm::lifecycle_name(tsm::RegistryKind::Applications, entries[1].lifecycle) == "SELECTABLE");
  BOOST_TEST(tsm::lifecycle_name(tsm::RegistryKind::IssuerSecurityDomain, 0x0F) == "SECURED");
  BOOST_CHECK_THROW(tsm::parse_get_status(tsm::RegistryKind::Applications, gp::from_hex("E1024F00")), gp::GpError);
  BOOST_CHECK_THROW(tsm::parse_get_status(tsm::RegistryKind::Applications, gp::from_hex("E3039F7001")), gp::GpError);
  BOOST_CHECK_THROW(tsm::parse_get_status(tsm::RegistryKind::Applications, gp::from_hex("E3049F70010F")), gp::GpError);
}

BOOST_AUTO_TEST_SUITE_END()
