// The synthetic load file generator and the card's CAP reader.
#include <boost/test/unit_test.hpp>

#include <stdexcept>

#include "card/load_file.h"
#include "gp/bytes.h"

using namespace sekds;
using gp::Bytes;

namespace {
card::LoadFileSpec spec(std::size_t size, std::size_t applets = 1) {
  card::LoadFileSpec s;
  s.package_aid = gp::from_hex("A0000001515350");
  for (std::size_t i = 0; i < applets; ++i) {
    Bytes a = gp::from_hex("A00000015153504100");
    a.back() = static_cast<std::uint8_t>(i);
    s.applet_aids.push_back(a);
  }
  s.size = size;
  return s;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(load_file)

BOOST_AUTO_TEST_CASE(exact_sizes_parse_back) {
  const std::size_t min = card::min_load_file_size(spec(0));
  for (std::size_t size : {std::size_t{0}, min, min + 1, min + 2, min + 3, std::size_t{1000}, std::size_t{9000},
                           std::size_t{9001}, std::size_t{60000}}) {
    BOOST_TEST_CONTEXT("size " << size) {
      const Bytes f = card::make_load_file(spec(size));
      BOOST_TEST(f.size() == (size == 0 ? min : size));
      const auto info = card::parse_load_file(f);
      BOOST_TEST(gp::to_hex(info.package_aid) == "A0000001515350");
      BOOST_REQUIRE(info.applet_aids.size() == 1u);
      BOOST_TEST(gp::to_hex(info.applet_aids[0]) == "A00000015153504100");
      BOOST_TEST(info.major == 1);
      BOOST_TEST(info.minor == 0);
      BOOST_TEST(info.component_tags == (std::vector<std::uint8_t>{1, 3, 7}));
      // Header magic where the Java Card spec puts it.
      BOOST_TEST(gp::to_hex(gp::ByteView(f).subspan(3, 4)) == "DECAFFED");
      const Bytes block = card::make_load_file_data_block(f);
      BOOST_TEST(block[0] == 0xC4);
      const auto comps = card::load_file_data_block_components(block);
      BOOST_TEST(comps.size() == f.size());
    }
  }
  // Several applets, and a library package without any.
  BOOST_TEST(card::parse_load_file(card::make_load_file(spec(3000, 5))).applet_aids.size() == 5u);
  BOOST_TEST(card::parse_load_file(card::make_load_file(spec(3000, 0))).applet_aids.empty());
}

BOOST_AUTO_TEST_CASE(generator_refuses_what_it_cannot_make) {
  auto s = spec(10);
  BOOST_CHECK_THROW(card::make_load_file(s), std::invalid_argument);  // below the minimum
  s = spec(70000);
  BOOST_CHECK_THROW(card::make_load_file(s), std::invalid_argument);  // one Method component cannot hold it
  s = spec(1000);
  s.package_aid = gp::from_hex("A000");
  BOOST_CHECK_THROW(card::make_load_file(s), std::invalid_argument);
  s = spec(1000);
  s.applet_aids.push_back(gp::from_hex("A0000001515350414243444546474849FF"));  // 17 bytes
  BOOST_CHECK_THROW(card::make_load_file(s), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(reader_rejects_malformed_files) {
  const Bytes good = card::make_load_file(spec(500));
  auto rejects = [](const Bytes& b) {
    try {
      card::parse_load_file(b);
    } catch (const card::LoadFileError&) {
      return true;
    }
    return false;
  };
  BOOST_TEST(!rejects(good));
  BOOST_TEST(rejects(Bytes(good.begin(), good.end() - 1)));           // truncated
  BOOST_TEST(rejects(Bytes(good.begin() + 3, good.end())));           // no component header where one should be
  BOOST_TEST(rejects(Bytes{}));                                       // no Header
  Bytes bad = good;
  bad[3] = 0xCA;  // magic
  BOOST_TEST(rejects(bad));
  bad = good;
  bad[0] = 0x00;  // component tag 0
  BOOST_TEST(rejects(bad));
  bad = good;
  bad[0] = 0x20;  // unknown tag
  BOOST_TEST(rejects(bad));
  bad = gp::concat({good, Bytes{0x01, 0x00, 0x00}});  // a second Header
  BOOST_TEST(rejects(bad));
  bad = good;
  bad[12] = 0x03;  // package AID length 3
  BOOST_TEST(rejects(bad));

  // Load file data blocks.
  BOOST_CHECK_THROW(card::load_file_data_block_components(good), card::LoadFileError);  // no 'C4'
  Bytes block = card::make_load_file_data_block(good);
  block.push_back(0x00);
  BOOST_CHECK_THROW(card::load_file_data_block_components(block), card::LoadFileError);  // length lies
  const Bytes dap = gp::concat({gp::from_hex("E20A4F08A000000151000000"), card::make_load_file_data_block(good)});
  BOOST_TEST(card::load_file_data_block_components(dap).size() == good.size());  // DAP blocks are skipped
}

BOOST_AUTO_TEST_SUITE_END()
