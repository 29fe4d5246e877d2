#include <boost/test/unit_test.hpp>

#include "store/time.h"

using namespace sekds::store;
using namespace std::chrono;

BOOST_AUTO_TEST_SUITE(timestamps)

BOOST_AUTO_TEST_CASE(format_and_parse) {
  const Timestamp t = Timestamp{sys_days{year{2026} / 11 / 23}} + hours{12} + minutes{34} + seconds{56} + milliseconds{789};
  BOOST_TEST(format_timestamp(t) == "2026-11-23T12:34:56.789Z");
  BOOST_TEST((parse_timestamp("2026-11-23T12:34:56.789Z") == std::optional<Timestamp>(t)));
  BOOST_TEST(format_timestamp(Timestamp{}) == "1970-01-01T00:00:00.000Z");
  BOOST_TEST(format_timestamp(*parse_timestamp("2026-02-03")) == "2026-02-03T00:00:00.000Z");
  BOOST_TEST(format_timestamp(*parse_timestamp("2026-02-03 04:05")) == "2026-02-03T04:05:00.000Z");
  BOOST_TEST(format_timestamp(*parse_timestamp("2026-02-03T04:05:06Z")) == "2026-02-03T04:05:06.000Z");
  const Timestamp now = now_utc();
  BOOST_TEST((parse_timestamp(format_timestamp(now)) == std::optional<Timestamp>(now)));
}

BOOST_AUTO_TEST_CASE(malformed) {
  for (const char* bad : {"", "2026", "2026-13-01", "2026-02-30", "2026-02-03T25:00", "2026-02-03T04:05:06.7Z",
                          "2026-02-03X04:05", "2026-02-03T04:05:06Zjunk", "yesterday"}) {
    BOOST_TEST(!parse_timestamp(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_SUITE_END()
