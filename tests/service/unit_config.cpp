// Configuration parsing: every mistake is one line naming the key.
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

#include "service/config.h"

using namespace sekds::service;

namespace {

const std::string kTls = "[tls]\ncertificate = \"s.crt\"\nprivate_key = \"/abs/s.key\"\nclient_ca = \"ca.crt\"\n";

std::string error_of(const std::string& toml) {
  try {
    parse_config(toml, "/etc/sekds/server.toml");
  } catch (const ConfigError& e) {
    std::string m = e.what();
    BOOST_TEST(m.find('\n') == std::string::npos, "one line: " << m);
    return m;
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(defaults_and_paths) {
  ServerConfig c = parse_config(kTls, "/etc/sekds/server.toml");
  BOOST_TEST(c.port == 8443);
  BOOST_TEST(c.workers == 16u);
  BOOST_TEST(c.max_message_size == 65536u);
  BOOST_TEST(c.max_xml_depth == 32u);
  BOOST_TEST(c.tls.min_version == "1.2");
  BOOST_TEST(c.tls.certificate == "/etc/sekds/s.crt");  // relative to the file's directory
  BOOST_TEST(c.tls.private_key == "/abs/s.key");
  BOOST_TEST(!c.tls.crl.has_value());
  BOOST_TEST(!c.hsm.has_value());
}

BOOST_AUTO_TEST_CASE(all_keys) {
  ServerConfig c = parse_config(
      "[server]\nlisten = \"0.0.0.0\"\nport = 9443\nworkers = 8\nbacklog = 64\nidle_timeout = 30\n"
      "handshake_timeout = 5\nrecv_timeout = 6\nsend_timeout = 7\nrequest_timeout = 20\n"
      "[limits]\nmax_connections = 100\nmax_message_size = 32768\nmax_xml_depth = 16\nrate_per_tsm = 12.5\n"
      "rate_burst = 20\n" +
          kTls + "crl = \"ca.crl\"\nmin_version = \"1.3\"\n" +
          "[hsm]\nmodule = \"/usr/lib/softhsm/libsofthsm2.so\"\ntoken = \"pkcs11:token=sekds\"\npin = \"file:pin.txt\"\n"
          "[store]\npath = \"db/sekds.db\"\n[log]\nlevel = \"debug\"\nfile = \"/var/log/sekds.log\"\n",
      "/etc/sekds/server.toml");
  BOOST_TEST(c.listen == "0.0.0.0");
  BOOST_TEST(c.port == 9443);
  BOOST_TEST(c.workers == 8u);
  BOOST_TEST(c.request_timeout_s == 20);
  BOOST_TEST(c.max_connections == 100u);
  BOOST_TEST(c.rate_per_tsm == 12.5);
  BOOST_TEST(*c.tls.crl == "/etc/sekds/ca.crl");
  BOOST_TEST(c.tls.min_version == "1.3");
  BOOST_TEST(c.hsm->pin == "file:/etc/sekds/pin.txt");
  BOOST_TEST(c.hsm->token == "pkcs11:token=sekds");
  BOOST_TEST(c.store->path == "/etc/sekds/db/sekds.db");
  BOOST_TEST(c.log_level == "debug");
}

BOOST_AUTO_TEST_CASE(mistakes_name_their_key) {
  BOOST_TEST(error_of("").find("tls.certificate: missing") != std::string::npos);
  BOOST_TEST(error_of("[server]\nport = 70000\n" + kTls).find("server.port: 70000 is out of range") != std::string::npos);
  BOOST_TEST(error_of("[server]\nport = \"8443\"\n" + kTls).find("server.port: must be an integer") != std::string::npos);
  BOOST_TEST(error_of("[server]\nprot = 1\n" + kTls).find("server.prot: unknown key") != std::string::npos);
  BOOST_TEST(error_of("[serve]\n" + kTls).find("serve: unknown section") != std::string::npos);
  BOOST_TEST(error_of(kTls + "min_version = \"1.1\"\n").find("tls.min_version") != std::string::npos);
  BOOST_TEST(error_of("[limits]\nmax_message_size = 10\n" + kTls).find("limits.max_message_size") != std::string::npos);
  BOOST_TEST(error_of("[log]\nlevel = \"loud\"\n" + kTls).find("log.level") != std::string::npos);
  BOOST_TEST(error_of(kTls + "[hsm]\nmodule = \"m.so\"\ntoken = \"t\"\npin = \"1234\"\n").find("hsm.pin: must be") !=
             std::string::npos);
  BOOST_TEST(error_of(kTls + "[hsm]\nmodule = \"m.so\"\npin = \"env:PIN\"\n").find("hsm.token: missing") != std::string::npos);
  BOOST_TEST(error_of(kTls + "[store]\n").find("store.path: missing") != std::string::npos);
  std::string syntax = error_of("[server\nport = 1\n");
  BOOST_TEST(syntax.find("/etc/sekds/server.toml:1:") == 0u, syntax);
  BOOST_TEST(syntax.find("TOML syntax error") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(per_peer_limits_and_monitoring) {
  ServerConfig d = parse_config(kTls, "/etc/sekds/server.toml");
  BOOST_TEST(d.max_handshakes_per_peer == 16u);
  BOOST_TEST(d.monitoring.fingerprints.empty());
  BOOST_TEST(d.monitoring.rate_per_peer == 5.0);
  BOOST_TEST(d.monitoring.burst_per_peer == 20.0);
  BOOST_TEST(d.monitoring.health_probe_rate == 1.0);

  const std::string fp = "AB:cd:" + std::string(60, 'e');
  ServerConfig c = parse_config("[limits]\nmax_handshakes_per_peer = 0\n[monitoring]\nfingerprints = [\"" + fp +
                                    "\"]\nrate_per_peer = 0.5\nburst_per_peer = 4\nhealth_probe_rate = 0.2\n" + kTls,
                                "/etc/sekds/server.toml");
  BOOST_TEST(c.max_handshakes_per_peer == 0u);
  BOOST_REQUIRE(c.monitoring.fingerprints.size() == 1u);
  BOOST_TEST(c.monitoring.fingerprints[0] == "ABCD" + std::string(60, 'E'));  // as CallerIdentity has it
  BOOST_TEST(c.monitoring.rate_per_peer == 0.5);
  BOOST_TEST(c.monitoring.burst_per_peer == 4.0);
  BOOST_TEST(c.monitoring.health_probe_rate == 0.2);

  BOOST_TEST(error_of("[limits]\nmax_handshakes_per_peer = -1\n" + kTls).find("limits.max_handshakes_per_peer") !=
             std::string::npos);
  BOOST_TEST(error_of("[monitoring]\nfingerprints = \"AB\"\n" + kTls).find("monitoring.fingerprints: must be an array") !=
             std::string::npos);
  BOOST_TEST(error_of("[monitoring]\nfingerprints = [\"" + std::string(64, 'A') + "\", \"ABCD\"]\n" + kTls)
                 .find("monitoring.fingerprints[1]: \"ABCD\" is not a SHA-256") != std::string::npos);
  BOOST_TEST(error_of("[monitoring]\nfingerprints = [1]\n" + kTls).find("monitoring.fingerprints[0]: must be a string") !=
             std::string::npos);
  BOOST_TEST(error_of("[monitoring]\nhealth_probe_rate = 0\n" + kTls).find("monitoring.health_probe_rate") !=
             std::string::npos);
  BOOST_TEST(error_of("[monitoring]\nroles = 1\n" + kTls).find("monitoring.roles: unknown key") != std::string::npos);
  BOOST_TEST(!normalise_fingerprint(std::string(63, 'a') + "g").has_value());
}

BOOST_AUTO_TEST_CASE(the_example_configuration_parses) {
  std::ifstream in(std::string(SEKDS_SOURCE_DIR) + "/deploy/sekds-server.example.toml");
  BOOST_REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  ServerConfig c = parse_config(text.str(), "/etc/sekds/sekds-server.toml");
  BOOST_TEST(c.port == 8443);
  BOOST_TEST(c.hsm.has_value());
  BOOST_TEST(c.store.has_value());
  BOOST_TEST(c.tls.crl.has_value());
  BOOST_TEST(c.max_handshakes_per_peer == 16u);
  BOOST_TEST(c.monitoring.health_probe_rate == 1.0);
}

BOOST_AUTO_TEST_SUITE_END()
