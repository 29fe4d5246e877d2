// read_secret_file: whole file into a wiping buffer, refusals named, never the content.
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>

#include <string>

#include "process/secret_file.h"
#include "support/softhsm_token.h"

using namespace sekds;
using process::ModeCheck;
using process::SecretFileError;
using R = SecretFileError::Reason;

namespace {

R reason_of(const std::string& path, std::size_t max, ModeCheck check, std::string* what = nullptr) {
  try {
    process::read_secret_file(path, max, check);
  } catch (const SecretFileError& e) {
    if (what) *what = e.what();
    return e.reason();
  }
  BOOST_FAIL("no SecretFileError for " << path);
  return R::Read;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(secret_file)

BOOST_AUTO_TEST_CASE(reads_the_whole_file_and_its_mode) {
  test::TempDir d;
  test::write_file(d.path() + "/k", "0011\r\nAABB\n", 0600);
  test::write_file(d.path() + "/empty", "", 0600);
  const auto f = process::read_secret_file(d.path() + "/k", 64, ModeCheck::Private);
  BOOST_TEST(std::string(f.text.begin(), f.text.end()) == "0011\r\nAABB\n");
  BOOST_TEST((f.mode & 0777) == 0600u);
  BOOST_TEST(process::read_secret_file(d.path() + "/empty", 64, ModeCheck::Private).text.empty());
  BOOST_TEST(process::read_secret_file(d.path() + "/k", 11, ModeCheck::Any).text.size() == 11u);  // max is inclusive
}

BOOST_AUTO_TEST_CASE(refusals_are_named_without_the_content) {
  test::TempDir d;
  test::write_file(d.path() + "/open", "SECRET\n", 0644);
  test::write_file(d.path() + "/big", std::string(100, 'S'), 0600);
  std::string what;
  BOOST_TEST((reason_of(d.path() + "/open", 64, ModeCheck::Private, &what) == R::Exposed));
  BOOST_TEST(what.find("mode 0644") != std::string::npos, what);
  BOOST_TEST(what.find("chmod 600") != std::string::npos, what);
  BOOST_TEST(what.find("SECRET") == std::string::npos, what);
  BOOST_TEST(process::read_secret_file(d.path() + "/open", 64, ModeCheck::Any).mode % 01000 == 0644u);
  BOOST_TEST((reason_of(d.path() + "/big", 99, ModeCheck::Private, &what) == R::TooLarge));
  BOOST_TEST(what.find("SSSS") == std::string::npos, what);
  BOOST_TEST((reason_of(d.path() + "/missing", 64, ModeCheck::Any, &what) == R::Open));
  BOOST_TEST(what.find(d.path() + "/missing: cannot open: No such file") == 0u, what);
  BOOST_TEST((reason_of(d.path(), 64, ModeCheck::Any) == R::NotRegular));
  BOOST_TEST((reason_of("/dev/null", 64, ModeCheck::Any) == R::NotRegular));  // no reading from devices or FIFOs
}

BOOST_AUTO_TEST_SUITE_END()
