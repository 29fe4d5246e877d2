// Configuration against real files and the real binary: `--check-config`, one clear line per
// problem (missing file, unreadable or exposed key, wrong key, expired CRL, port in use).
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <boost/test/unit_test.hpp>

#include "support.h"

using namespace sekds::service;
using namespace sekds::test;

namespace {

std::string config_text(const fs::path& key, const fs::path& crl, std::uint16_t port = 8443) {
  const Pki& p = pki();
  return "[server]\nport = " + std::to_string(port) + "\n[tls]\ncertificate = \"" + p.crt("server").string() +
         "\"\nprivate_key = \"" + key.string() + "\"\nclient_ca = \"" + p.crt("ca").string() + "\"\ncrl = \"" +
         crl.string() + "\"\n";
}

// The message of check_files() on `toml`, "" if it passes; warnings go to `warnings`.
std::string check(const TempDir& dir, const std::string& toml, std::vector<std::string>* warnings = nullptr) {
  fs::path f = dir / "server.toml";
  std::ofstream(f) << toml;
  std::vector<std::string> w;
  try {
    load_config(f, w);
  } catch (const ConfigError& e) {
    return e.what();
  }
  if (warnings) *warnings = w;
  return "";
}

fs::path copy_key(const TempDir& dir, const std::string& name, mode_t mode) {
  fs::path k = dir / name;
  fs::copy_file(pki().key("server"), k, fs::copy_options::overwrite_existing);
  ::chmod(k.c_str(), mode);
  return k;
}

// sekds-server --check-config FILE: exit code and stderr+stdout.
std::pair<int, std::string> check_config_cli(const TempDir& dir, const std::string& toml) {
  fs::path f = dir / "cli.toml";
  std::ofstream(f) << toml;
  return run_command(std::string(SEKDS_SERVER_BIN) + " --check-config --config " + f.string() + " 2>&1");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config_files)

BOOST_AUTO_TEST_CASE(valid_configuration_passes) {
  TempDir dir;
  fs::path key = copy_key(dir, "server.key", 0600);
  BOOST_TEST(check(dir, config_text(key, pki().file("ca.crl"))) == "");
  auto [rc, out] = check_config_cli(dir, config_text(key, pki().file("ca.crl")));
  BOOST_TEST(rc == 0, out);
  BOOST_TEST(out.find("configuration OK") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(pin_file_readable_by_the_group_is_refused) {
  // The HSM layer refuses such a PIN file at start: the check must not pass it.
  TempDir dir;
  fs::path key = copy_key(dir, "server.key", 0600);
  fs::path pin = dir / "user.pin";
  std::ofstream(pin) << "123456\n";
  std::string hsm = "[hsm]\nmodule = \"/usr/lib/softhsm/libsofthsm2.so\"\ntoken = \"sekds\"\npin = \"file:" + pin.string() + "\"\n" +
                    "[store]\npath = \"" + (dir / "sekds.db").string() + "\"\n";
  ::chmod(pin.c_str(), 0640);
  std::string m = check(dir, config_text(key, pki().file("ca.crl")) + hsm);
  BOOST_TEST(m.find("hsm.pin") != std::string::npos, m);
  BOOST_TEST(m.find("or the group (mode 0640)") != std::string::npos, m);
  ::chmod(pin.c_str(), 0600);
  BOOST_TEST(check(dir, config_text(key, pki().file("ca.crl")) + hsm) == "");
}

BOOST_AUTO_TEST_CASE(private_key_permissions) {
  TempDir dir;
  fs::path world = copy_key(dir, "world.key", 0644);
  std::string m = check(dir, config_text(world, pki().file("ca.crl")));
  BOOST_TEST(m.find("tls.private_key") != std::string::npos, m);
  BOOST_TEST(m.find("accessible by other users (mode 0644)") != std::string::npos, m);

  fs::path group = copy_key(dir, "group.key", 0640);
  std::vector<std::string> warnings;
  BOOST_TEST(check(dir, config_text(group, pki().file("ca.crl")), &warnings) == "");
  BOOST_REQUIRE_EQUAL(warnings.size(), 1u);
  BOOST_TEST(warnings[0].find("readable by the file's group") != std::string::npos);

  auto [rc, out] = check_config_cli(dir, config_text(world, pki().file("ca.crl")));
  BOOST_TEST(rc == 1);
  BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 1, out);  // ONE line
  BOOST_TEST(out.find("tls.private_key") != std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(missing_wrong_and_broken_files) {
  TempDir dir;
  fs::path key = copy_key(dir, "server.key", 0600);
  std::string missing = check(dir, config_text(dir / "nope.key", pki().file("ca.crl")));
  BOOST_TEST(missing.find("tls.private_key: " + (dir / "nope.key").string() + ": No such file") != std::string::npos,
             missing);

  fs::path other = dir / "tsm1.key";
  fs::copy_file(pki().key("tsm1"), other);
  ::chmod(other.c_str(), 0600);
  std::string mismatch = check(dir, config_text(other, pki().file("ca.crl")));
  BOOST_TEST(mismatch.find("does not belong to the certificate") != std::string::npos, mismatch);

  fs::path junk = dir / "junk.key";
  std::ofstream(junk) << "not a key\n";
  ::chmod(junk.c_str(), 0600);
  BOOST_TEST(check(dir, config_text(junk, pki().file("ca.crl"))).find("cannot read") != std::string::npos);

  fs::path bad_crl = dir / "bad.crl";
  std::ofstream(bad_crl) << "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";
  BOOST_TEST(check(dir, config_text(key, bad_crl)).find("tls.crl") != std::string::npos);

  auto [rc, out] = check_config_cli(dir, "[server]\nport = 99999\n");
  BOOST_TEST(rc == 1);
  BOOST_TEST(out.find("server.port: 99999 is out of range") != std::string::npos, out);
  BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 1, out);
}

BOOST_AUTO_TEST_CASE(expired_crl_is_refused) {
  TempDir dir;
  fs::path key = copy_key(dir, "server.key", 0600);
  // A CRL valid for one second, issued by the dev CA with a throwaway `openssl ca` database.
  fs::path db = dir / "db";
  fs::create_directories(db);
  std::ofstream(db / "index.txt") << "";
  std::ofstream(db / "crlnumber") << "01\n";
  std::ofstream(db / "ca.cnf") << "[ca]\ndefault_ca = d\n[d]\ndatabase = " << (db / "index.txt").string()
                               << "\ncrlnumber = " << (db / "crlnumber").string()
                               << "\ncertificate = " << pki().crt("ca").string()
                               << "\nprivate_key = " << pki().key("ca").string() << "\ndefault_md = sha256\n";
  fs::path crl = dir / "short.crl";
  auto [rc, out] = run_command("openssl ca -config " + (db / "ca.cnf").string() + " -gencrl -crlsec 1 -out " +
                               crl.string() + " 2>&1 && sleep 2");
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  std::string m = check(dir, config_text(key, crl));
  BOOST_TEST(m.find("tls.crl") != std::string::npos, m);
  BOOST_TEST(m.find("expired") != std::string::npos, m);
}

BOOST_AUTO_TEST_CASE(port_in_use_is_one_clear_line) {
  TestServer first;
  ServerConfig c = test_config();
  c.port = first.port();
  ScriptedKeyService keys;
  MetricsRegistry registry;
  ServiceMetrics metrics(registry);
  Server second(c, keys, metrics);
  try {
    second.start();
    BOOST_FAIL("a second server bound the same port");
  } catch (const ServerError& e) {
    std::string m = e.what();
    BOOST_TEST(m == "server.port: 127.0.0.1:" + std::to_string(first.port()) + " is already in use");
  }

  TempDir dir;
  fs::path f = dir / "busy.toml";
  std::ofstream(f) << child_config_toml(first.port());
  auto [rc, out] = run_command(std::string(SEKDS_SERVER_BIN) + " --config " + f.string() + " 2>&1");
  BOOST_TEST(rc == 1);
  // one line for the operator; the JSON log lines (stderr by default) are for the log system
  std::istringstream lines(out);
  int plain = 0;
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] != '{') {
      ++plain;
      BOOST_TEST(line.find("already in use") != std::string::npos, line);
    }
  BOOST_TEST(plain == 1, out);
}

BOOST_AUTO_TEST_SUITE_END()
