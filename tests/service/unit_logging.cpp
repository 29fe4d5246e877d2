// The log file names TSMs, cards and peers: it is created owner-only whatever the umask, and an
// existing one that group or others may read is refused with a line naming it.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

#include "service/logging.h"

using namespace sekds::service;
namespace fs = std::filesystem;

namespace {

// A private directory for one case, removed with what it holds.
struct TempDir {
  TempDir() {
    std::string t = (fs::temp_directory_path() / "sekds-log-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(t.data()) != nullptr);
    dir = t;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string path() const { return dir; }
  std::string dir;
};

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  BOOST_REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// The umask is process-wide: restored whatever the test does.
struct UmaskGuard {
  explicit UmaskGuard(mode_t m) : old(::umask(m)) {}
  ~UmaskGuard() {
    ::umask(old);
    configure_logging("info", std::nullopt);  // later suites log to stderr again
  }
  mode_t old;
};

std::string refusal_of(const fs::path& p) {
  try {
    configure_logging("info", p);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(log_file)

BOOST_AUTO_TEST_CASE(created_owner_only_under_an_open_umask) {
  TempDir dir;
  const fs::path file = fs::path(dir.path()) / "server.log";
  UmaskGuard guard(0);
  configure_logging("info", file);
  BOOST_TEST(mode_of(file) == 0600u);
  spdlog::info("{}", "line");
  spdlog::default_logger()->flush();
  BOOST_TEST(fs::file_size(file) > 0u);
}

BOOST_AUTO_TEST_CASE(existing_private_file_is_appended) {
  TempDir dir;
  const fs::path file = fs::path(dir.path()) / "server.log";
  { std::ofstream(file) << "before\n"; }
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
  UmaskGuard guard(022);
  configure_logging("info", file);
  spdlog::info("{}", "after");
  spdlog::default_logger()->flush();
  std::ifstream in(file);
  std::string first;
  std::getline(in, first);
  BOOST_TEST(first == "before");
  BOOST_TEST(mode_of(file) == 0600u);
}

BOOST_AUTO_TEST_CASE(existing_readable_file_is_refused_by_name) {
  TempDir dir;
  UmaskGuard guard(022);
  for (mode_t m : {0640, 0604, 0660}) {
    const fs::path file = fs::path(dir.path()) / ("server-" + std::to_string(m) + ".log");
    { std::ofstream(file) << "x\n"; }
    BOOST_REQUIRE(::chmod(file.c_str(), m) == 0);
    const std::string why = refusal_of(file);
    BOOST_TEST(why.find("log.file: " + file.string()) == 0u, why);
    BOOST_TEST(mode_of(file) == m);  // refused, not silently changed
  }
}

BOOST_AUTO_TEST_CASE(a_directory_is_refused) {
  TempDir dir;
  UmaskGuard guard(022);
  const std::string why = refusal_of(fs::path(dir.path()));
  BOOST_TEST(why.find("log.file: " + dir.path()) == 0u, why);
}

BOOST_AUTO_TEST_SUITE_END()
