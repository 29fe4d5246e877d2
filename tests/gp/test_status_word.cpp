// Status words: every ISO 7816-4 / GlobalPlatform status word a GP card returns has a
// name and a phrase; families carry their parameter; unknown ones say so.
#include <boost/test/unit_test.hpp>

#include <set>

#include "gp/status_word.h"

using namespace sekds;

BOOST_AUTO_TEST_SUITE(status_word)

BOOST_AUTO_TEST_CASE(named_status_words) {
  const std::pair<std::uint16_t, const char*> expected[] = {
      {0x9000, "SW_NO_ERROR"},
      {0x6281, "SW_PART_OF_DATA_CORRUPTED"},
      {0x6283, "SW_SELECTED_FILE_INVALIDATED"},
      {0x6300, "SW_AUTHENTICATION_FAILED"},
      {0x6310, "SW_MORE_DATA_AVAILABLE"},
      {0x6400, "SW_EXECUTION_ERROR"},
      {0x6438, "SW_EXECUTION_ERROR_38"},
      {0x6439, "SW_EXECUTION_ERROR_39"},
      {0x6581, "SW_MEMORY_FAILURE"},
      {0x6700, "SW_WRONG_LENGTH"},
      {0x6881, "SW_LOGICAL_CHANNEL_NOT_SUPPORTED"},
      {0x6882, "SW_SECURE_MESSAGING_NOT_SUPPORTED"},
      {0x6982, "SW_SECURITY_STATUS_NOT_SATISFIED"},
      {0x6983, "SW_AUTHENTICATION_METHOD_BLOCKED"},
      {0x6984, "SW_REFERENCE_DATA_NOT_USABLE"},
      {0x6985, "SW_CONDITIONS_NOT_SATISFIED"},
      {0x6A80, "SW_WRONG_DATA"},
      {0x6A81, "SW_FUNC_NOT_SUPPORTED"},
      {0x6A82, "SW_FILE_NOT_FOUND"},
      {0x6A84, "SW_NOT_ENOUGH_MEMORY"},
      {0x6A86, "SW_INCORRECT_P1P2"},
      {0x6A88, "SW_REFERENCED_DATA_NOT_FOUND"},
      {0x6D00, "SW_INS_NOT_SUPPORTED"},
      {0x6E00, "SW_CLA_NOT_SUPPORTED"},
      {0x6F00, "SW_NO_PRECISE_DIAGNOSIS"},
      {0x9484, "SW_ALGORITHM_NOT_SUPPORTED"},
      {0x9485, "SW_INVALID_KEY_CHECK_VALUE"},
  };
  std::set<std::string> names;
  for (auto [sw, name] : expected) {
    BOOST_TEST_CONTEXT(std::hex << sw) {
      BOOST_TEST(gp::sw_name(sw) == std::string(name));
      BOOST_TEST(gp::sw_is_known(sw));
      BOOST_TEST(!gp::sw_phrase(sw).empty());
      names.insert(name);
    }
  }
  BOOST_TEST(names.size() == std::size(expected));  // no two share a name
}

BOOST_AUTO_TEST_CASE(families_carry_their_parameter) {
  BOOST_TEST(gp::sw_name(0x6112) == std::string("SW_BYTES_REMAINING"));
  BOOST_TEST(gp::sw_phrase(0x6112) == "18 more response bytes available (GET RESPONSE)");
  BOOST_TEST(gp::sw_phrase(0x6100).find("256") != std::string::npos);
  BOOST_TEST(gp::sw_name(0x6C20) == std::string("SW_CORRECT_LENGTH"));
  BOOST_TEST(gp::sw_phrase(0x6C20).find("exact length is 32") != std::string::npos);
  BOOST_TEST(gp::sw_name(0x63C2) == std::string("SW_COUNTER"));
  BOOST_TEST(gp::sw_phrase(0x63C2) == "verification failed, 2 retries left");
  BOOST_TEST(gp::sw_name(0x63C0) == std::string("SW_COUNTER"));
}

BOOST_AUTO_TEST_CASE(gp_meanings_in_phrases) {
  BOOST_TEST(gp::sw_phrase(0x6300).find("host cryptogram") != std::string::npos);
  BOOST_TEST(gp::sw_phrase(0x6A88).find("INITIALIZE UPDATE") != std::string::npos);
  BOOST_TEST(gp::sw_describe(0x6982) ==
             "6982 SW_SECURITY_STATUS_NOT_SATISFIED: security status not satisfied (GP: no secure channel, or its security level is too low)");
}

BOOST_AUTO_TEST_CASE(unknown_and_categories) {
  BOOST_TEST(gp::sw_name(0x9123) == std::string("SW_UNKNOWN"));
  BOOST_TEST(!gp::sw_is_known(0x9123));
  BOOST_TEST(gp::sw_phrase(0x9123).find("proprietary") != std::string::npos);
  BOOST_TEST(gp::sw_name(0x6455) == std::string("SW_UNKNOWN"));
  BOOST_TEST(gp::sw_phrase(0x6455).find("'55'") != std::string::npos);
  BOOST_TEST((gp::sw_category(0x9000) == gp::SwCategory::Success));
  BOOST_TEST((gp::sw_category(0x6101) == gp::SwCategory::Success));
  BOOST_TEST((gp::sw_category(0x6283) == gp::SwCategory::Warning));
  BOOST_TEST((gp::sw_category(0x63C1) == gp::SwCategory::Warning));
  BOOST_TEST((gp::sw_category(0x6581) == gp::SwCategory::ExecutionError));
  BOOST_TEST((gp::sw_category(0x6A88) == gp::SwCategory::CheckingError));
  BOOST_TEST((gp::sw_category(0x9485) == gp::SwCategory::CheckingError));
  BOOST_TEST((gp::sw_category(0x9123) == gp::SwCategory::Unknown));
  BOOST_TEST(gp::sw_is_normal_processing(0x61FF));
  BOOST_TEST(!gp::sw_is_normal_processing(0x6310));
}

BOOST_AUTO_TEST_CASE(expect_sw_names_the_command) {
  gp::ResponseApdu ok{{}, 0x9000}, missing{{}, 0x6A88};
  BOOST_CHECK_NO_THROW(gp::expect_sw(ok, "GET DATA 'CF'"));
  BOOST_CHECK_NO_THROW(gp::expect_sw(missing, "GET DATA 'CF'", {0x9000, 0x6A88}));
  try {
    gp::expect_sw(missing, "GET DATA 'CF'");
    BOOST_ERROR("no throw");
  } catch (const gp::StatusWordError& e) {
    BOOST_TEST(e.sw() == 0x6A88);
    BOOST_TEST(e.name() == std::string("SW_REFERENCED_DATA_NOT_FOUND"));
    BOOST_TEST(std::string(e.what()).rfind("GET DATA 'CF': 6A88 SW_REFERENCED_DATA_NOT_FOUND", 0) == 0u);
  }
}

BOOST_AUTO_TEST_SUITE_END()
