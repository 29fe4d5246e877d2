// Card content management through a secure channel: INSTALL [for load], LOAD of a generated
// 9 KB load file, INSTALL [for install], GET STATUS in both formats with paging, SELECT of the
// new application, DELETE; STORE DATA; and the refusals on the way.
#include <boost/test/unit_test.hpp>

#include "card/load_file.h"
#include "card_fixture.h"
#include "gp/data_objects.h"
#include "gp/tlv.h"

using namespace sekds;
using namespace sekds::test;

namespace {

const Bytes kPackage = gp::from_hex("A0000001515350");
const Bytes kApplet = gp::from_hex("A000000151535041");
const Bytes kApp = gp::from_hex("A00000015153504101");

Bytes load_file(std::size_t size = 9000, const Bytes& package = kPackage, std::vector<Bytes> applets = {kApplet}) {
  card::LoadFileSpec s;
  s.package_aid = package;
  s.applet_aids = std::move(applets);
  s.size = size;
  return card::make_load_file(s);
}

// Sends INSTALL [for load] and every LOAD block; returns the status word of the last command.
std::uint16_t load(TestCard& t, gp::HostSession& host, const Bytes& file, const Bytes& package = kPackage,
                   std::size_t block = 200) {
  const auto r = t.send_secure(host, install_for_load_apdu(package));
  if (r.sw != 0x9000) return r.sw;
  BOOST_TEST(gp::to_hex(r.data) == "00");
  std::uint16_t sw = 0;
  for (const auto& c : load_apdus(file, block)) {
    sw = t.send_secure(host, c).sw;
    if (sw != 0x9000) break;
  }
  return sw;
}

// Every 'E3' entry of one GET STATUS, following 6310 pages.
std::vector<gp::Tlv> status_entries(TestCard& t, gp::HostSession& host, std::uint8_t p1, const Bytes& prefix = {},
                                    int* pages = nullptr) {
  std::vector<gp::Tlv> out;
  std::uint8_t p2 = 0x02;
  int n = 0;
  for (;;) {
    const auto r = t.send_secure(host, get_status_apdu(p1, p2, prefix));
    if (r.sw == 0x6A88 && out.empty()) break;
    BOOST_REQUIRE(r.sw == 0x9000 || r.sw == 0x6310);
    ++n;
    for (auto& e : gp::parse_tlv_list(r.data)) out.push_back(std::move(e));
    if (r.sw == 0x9000) break;
    p2 = 0x03;  // next occurrence
  }
  if (pages) *pages = n;
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(content)

BOOST_AUTO_TEST_CASE(install_load_install_delete_with_a_9kb_load_file) {
  for (const CardSpec spec : {CardSpec{gp::Scp::Scp02, 0x55}, CardSpec{gp::Scp::Scp03, 0x70}}) {
    BOOST_TEST_CONTEXT(describe(spec)) {
      TestCard t(spec);
      auto host = t.open(spec.scp == gp::Scp::Scp02 ? 0x13 : 0x33);
      const Bytes file = load_file(9000);
      BOOST_TEST(file.size() == 9000u);
      BOOST_TEST(load(t, *host, file) == 0x9000);

      auto files = status_entries(t, *host, 0x10);
      BOOST_REQUIRE(files.size() == 1u);
      BOOST_TEST(gp::to_hex(files[0].require(0x4F).value) == gp::to_hex(kPackage));
      BOOST_TEST(gp::to_hex(files[0].require(0x9F70).value) == "01");  // LOADED
      BOOST_TEST(gp::to_hex(files[0].require(0x84).value) == gp::to_hex(kApplet));
      BOOST_TEST(gp::to_hex(files[0].require(0xCE).value) == "0100");  // package version 1.0

      const auto r = t.send_secure(*host, install_for_install_apdu(kPackage, kApplet, kApp));
      BOOST_TEST(r.sw == 0x9000);
      BOOST_TEST(gp::to_hex(r.data) == "00");
      auto apps = status_entries(t, *host, 0x40);
      BOOST_REQUIRE(apps.size() == 1u);
      BOOST_TEST(gp::to_hex(apps[0].require(0x4F).value) == gp::to_hex(kApp));
      BOOST_TEST(gp::to_hex(apps[0].require(0x9F70).value) == "07");  // SELECTABLE
      BOOST_TEST(gp::to_hex(apps[0].require(0xC4).value) == gp::to_hex(kPackage));
      BOOST_TEST(gp::to_hex(apps[0].require(0xCC).value) == "A000000151000000");

      // The registry was written; a restart would see it.
      BOOST_TEST((t.store().load_all().front().registry == t.card().state().registry));

      // The application is selectable; it has no commands; SELECT of the ISD comes back.
      BOOST_TEST(t.send(select_apdu(kApp)).sw == 0x9000);
      BOOST_TEST(t.send(get_data_apdu(gp::kTagKdd)).sw == 0x6D00);
      BOOST_TEST(t.send(select_apdu(card::kIsdAid)).sw == 0x9000);

      host = t.open(0x01);
      BOOST_TEST(t.send_secure(*host, delete_apdu(kPackage)).sw == 0x6985);  // an application depends on it
      BOOST_TEST(t.send_secure(*host, delete_apdu(kApp)).sw == 0x9000);
      BOOST_TEST(status_entries(t, *host, 0x40).empty());
      BOOST_TEST(t.send_secure(*host, delete_apdu(kPackage)).sw == 0x9000);
      BOOST_TEST(status_entries(t, *host, 0x20).empty());
      BOOST_TEST(t.send_secure(*host, delete_apdu(kPackage)).sw == 0x6A88);
      BOOST_TEST(t.send(select_apdu(kApp)).sw == 0x6A82);
      BOOST_TEST(t.store().load_all().front().registry.load_files.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(install_then_make_selectable_and_delete_related) {
  TestCard t;
  auto host = t.open(0x03);
  BOOST_TEST(load(t, *host, load_file(2000)) == 0x9000);
  BOOST_TEST(t.send_secure(*host, install_for_install_apdu(kPackage, kApplet, kApp, 0x04)).sw == 0x9000);
  BOOST_TEST(gp::to_hex(status_entries(t, *host, 0x40).at(0).require(0x9F70).value) == "03");  // INSTALLED
  BOOST_TEST(t.send(select_apdu(kApp)).sw == 0x6A82);  // not selectable yet (and the session ends)
  host = t.open(0x03);
  BOOST_TEST(t.send_secure(*host, install_for_make_selectable_apdu(kApp)).sw == 0x9000);
  BOOST_TEST(t.send_secure(*host, install_for_make_selectable_apdu(kApp)).sw == 0x6985);  // already
  BOOST_TEST(t.send_secure(*host, install_for_install_apdu(kPackage, kApplet, kApp)).sw == 0x6985);  // AID taken
  BOOST_TEST(t.send_secure(*host, install_for_install_apdu(kPackage, gp::from_hex("A0000001515350FF"), gp::from_hex("A0000001515350FE"))).sw == 0x6A88);
  BOOST_TEST(t.send_secure(*host, install_for_install_apdu(gp::from_hex("A000000151535F"), kApplet, gp::from_hex("A0000001515350FE"))).sw == 0x6A88);
  // P2 80: the load file and every application made from it.
  BOOST_TEST(t.send_secure(*host, delete_apdu(kPackage, 0x80)).sw == 0x9000);
  BOOST_TEST(t.card().state().registry.applications.empty());
  BOOST_TEST(t.card().state().registry.load_files.empty());
  BOOST_TEST(t.send_secure(*host, delete_apdu(card::kIsdAid)).sw == 0x6985);
}

BOOST_AUTO_TEST_CASE(load_refusals) {
  TestCard t;
  auto host = t.open(0x03);
  const auto blocks = load_apdus(load_file(1000));
  BOOST_TEST(t.send_secure(*host, blocks[0]).sw == 0x6985);  // LOAD without INSTALL [for load]

  // Blocks out of order.
  BOOST_TEST(t.send_secure(*host, install_for_load_apdu(kPackage)).sw == 0x9000);
  BOOST_TEST(t.send_secure(*host, blocks[1]).sw == 0x6A86);
  BOOST_TEST(t.send_secure(*host, blocks[0]).sw == 0x6985);  // the load was abandoned

  // The Header names another package than INSTALL [for load].
  BOOST_TEST(load(t, *host, load_file(1000, gp::from_hex("A0000001515351"))) == 0x6A80);
  // No Header component.
  {
    const Bytes no_header = gp::concat({Bytes{card::kCapApplet, 0x00, 0x0C, 0x01, 0x08}, kApplet, Bytes{0x00, 0x01}});
    BOOST_TEST(load(t, *host, no_header) == 0x6A80);
  }
  // Garbage where components should be, and a 'C4' length that lies.
  BOOST_TEST(load(t, *host, Bytes(100, 0xEE)) == 0x6A80);
  {
    BOOST_TEST(t.send_secure(*host, install_for_load_apdu(kPackage)).sw == 0x9000);
    Bytes lie = card::make_load_file_data_block(load_file(300));
    lie[2] = static_cast<std::uint8_t>(lie[2] + 1);  // C4 82 LL LL: one byte more than sent
    BOOST_TEST(t.send_secure(*host, gp::CommandApdu(0x80, 0xE8, 0x80, 0x00, lie)).sw == 0x6A80);
  }
  // Too big for the card.
  {
    card::CardLimits limits;
    limits.max_load_file_size = 4096;
    TestCard small(CardSpec{}, limits);
    auto h = small.open(0x01);
    BOOST_TEST(load(small, *h, load_file(5000)) == 0x6A84);
    BOOST_TEST(load(small, *h, load_file(4000)) == 0x9000);
  }
  // Duplicate package.
  BOOST_TEST(load(t, *host, load_file(500)) == 0x9000);
  BOOST_TEST(t.send_secure(*host, install_for_load_apdu(kPackage)).sw == 0x6985);
  // Another security domain than the ISD.
  {
    gp::CommandApdu c = install_for_load_apdu(gp::from_hex("A0000001515352"));
    c.data[9] = 0xA1;  // first byte of the SD AID (after the 7-byte load file AID and two length bytes)
    BOOST_TEST(t.send_secure(*host, c).sw == 0x6A88);
  }
  // The big blocks of a real TSM (239 bytes of data in each wrapped LOAD) work as well as small ones.
  BOOST_TEST(load(t, *host, load_file(9000, gp::from_hex("A0000001515353")), gp::from_hex("A0000001515353"), 239) == 0x9000);
  BOOST_TEST(t.card().secure_channel_open());
}

BOOST_AUTO_TEST_CASE(get_status_formats_and_paging) {
  TestCard t;
  auto host = t.open(0x03);
  // Twelve applications from one load file: more than one response can hold.
  BOOST_TEST(load(t, *host, load_file(600)) == 0x9000);
  std::vector<Bytes> apps;
  for (std::uint8_t i = 0; i < 12; ++i) {
    Bytes aid = gp::from_hex("A000000151535041AABBCCDDEE00");
    aid.back() = i;
    apps.push_back(aid);
    BOOST_TEST(t.send_secure(*host, install_for_install_apdu(kPackage, kApplet, aid)).sw == 0x9000);
  }
  int pages = 0;
  const auto entries = status_entries(t, *host, 0x40, {}, &pages);
  BOOST_TEST(entries.size() == 12u);
  BOOST_TEST(pages >= 2);
  for (std::size_t i = 0; i < entries.size(); ++i) BOOST_TEST(entries[i].require(0x4F).value == apps[i]);

  // Search by AID prefix.
  BOOST_TEST(status_entries(t, *host, 0x40, gp::from_hex("A000000151535041AABBCCDDEE0B")).size() == 1u);
  BOOST_TEST(status_entries(t, *host, 0x40, gp::from_hex("A000000003")).empty());  // 6A88

  // Legacy format (P2 00): length, AID, life cycle, privileges.
  {
    const auto r = t.send_secure(*host, get_status_apdu(0x80, 0x00));
    BOOST_TEST(r.sw == 0x9000);
    BOOST_TEST(gp::to_hex(r.data) == "08A0000001510000000F9E");  // SECURED, privileges byte 1
    const auto lf = t.send_secure(*host, get_status_apdu(0x10, 0x00));
    BOOST_TEST(lf.sw == 0x9000);
    BOOST_TEST(gp::to_hex(lf.data) == "07" + gp::to_hex(kPackage) + "0100" + "01" + "08" + gp::to_hex(kApplet));
    const auto lf20 = t.send_secure(*host, get_status_apdu(0x20, 0x00));
    BOOST_TEST(gp::to_hex(lf20.data) == "07" + gp::to_hex(kPackage) + "0100");
    // Legacy paging works the same way.
    auto first = t.send_secure(*host, get_status_apdu(0x40, 0x00));
    BOOST_TEST(first.sw == 0x9000);  // 12 x 17 bytes fit in one response
  }
  // ISD in the GP format.
  {
    const auto isd = status_entries(t, *host, 0x80);
    BOOST_REQUIRE(isd.size() == 1u);
    BOOST_TEST(gp::to_hex(isd[0].require(0x9F70).value) == "0F");
    BOOST_TEST(gp::to_hex(isd[0].require(0xC5).value) == "9EFE80");
  }
  // Refusals.
  BOOST_TEST(t.send_secure(*host, get_status_apdu(0x40, 0x03)).sw == 0x6985);  // next without a previous one
  BOOST_TEST(t.send_secure(*host, get_status_apdu(0x41, 0x02)).sw == 0x6A86);
  BOOST_TEST(t.send_secure(*host, get_status_apdu(0x40, 0x04)).sw == 0x6A86);
  BOOST_TEST(t.send_secure(*host, gp::CommandApdu(0x80, 0xF2, 0x40, 0x02, gp::from_hex("5C014F"))).sw == 0x6A80);
  BOOST_TEST(t.send_secure(*host, gp::CommandApdu(0x80, 0xF2, 0x40, 0x02, gp::from_hex("4F05A0"))).sw == 0x6A80);
  BOOST_TEST(t.send_secure(*host, gp::CommandApdu(0x80, 0xF2, 0x40, 0x02)).sw == 0x6A80);  // no criteria at all
  BOOST_TEST(t.card().secure_channel_open());
}

BOOST_AUTO_TEST_CASE(store_data_blocks_records_and_bounds) {
  card::CardLimits limits;
  limits.max_store_data_message = 600;
  limits.max_store_data_total = 1000;
  TestCard t(CardSpec{}, limits);
  auto host = t.open(0x03);
  BOOST_TEST(t.send_secure(*host, gp::CommandApdu(0x80, 0xE2, 0x00, 0x00, Bytes(200, 0x11))).sw == 0x9000);
  BOOST_TEST(t.send_secure(*host, gp::CommandApdu(0x80, 0xE2, 0x00, 0x01, Bytes(200, 0x22))).sw == 0x9000);
  BOOST_TEST(t.store().load_all().front().store_data.empty());  // nothing kept before the last block
  BOOST_TEST(t.send_secure(*host, gp::CommandApdu(0x80, 0xE2, 0x80, 0x02, Bytes(100, 0x33))).sw == 0x9000);
  const auto stored = t.store().load_all().front().store_data;
  BOOST_REQUIRE(stored.size() == 1u);
  BOOST_TEST(stored[0].size() == 500u);
  BOOST_TEST(stored[0][250] == 0x22);
  // Out of sequence, too large a message, a full store.
  BOOST_TEST(t.send_secure(*host, gp::CommandApdu(0x80, 0xE2, 0x80, 0x05, Bytes(10, 0x44))).sw == 0x6A86);
  BOOST_TEST(t.send_secure(*host, gp::CommandApdu(0x80, 0xE2, 0x00, 0x00, Bytes(250, 0x55))).sw == 0x9000);
  BOOST_TEST(t.send_secure(*host, gp::CommandApdu(0x80, 0xE2, 0x00, 0x01, Bytes(250, 0x55))).sw == 0x9000);
  BOOST_TEST(t.send_secure(*host, gp::CommandApdu(0x80, 0xE2, 0x80, 0x02, Bytes(250, 0x55))).sw == 0x6A84);
  BOOST_TEST(t.send_secure(*host, gp::CommandApdu(0x80, 0xE2, 0x80, 0x00, Bytes(400, 0x66))).sw == 0x9000);
  BOOST_TEST(t.send_secure(*host, gp::CommandApdu(0x80, 0xE2, 0x80, 0x00, Bytes(200, 0x77))).sw == 0x6A84);
  BOOST_TEST(t.card().state().store_data.size() == 2u);
  BOOST_TEST(t.send_secure(*host, gp::CommandApdu(0x80, 0xE2, 0x80, 0x00)).sw == 0x6700);
}

BOOST_AUTO_TEST_SUITE_END()
