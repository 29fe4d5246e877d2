// sekds-card against an independent GlobalPlatform host: tests/card/independent_gp_host.py,
// written from the GP / EMV CPS specifications in Python (python3-cryptography, pyscard) and
// sharing no code with src/gp. Each case starts a private pcscd with the vpcd driver,
// personalises cards with the real `sekds-card personalise` (random demo masters generated
// here), serves one through `sekds-card serve --vpcd`, runs the host through PC/SC and then
// reads the grid database to see that PUT KEY really replaced the key set with the keys the
// host was given. Its own binary and ctest entry (card_independent_host, RESOURCE_LOCK pcscd):
// it is not globbed into test_card (no test_ prefix).
#define BOOST_TEST_MODULE card_independent_host
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "card/sqlite_card_store.h"
#include "child_process.h"
#include "gp/bytes.h"
#include "gp/crypto.h"
#include "support/pcscd.h"
#include "support/softhsm_token.h"

using namespace sekds;
using namespace sekds::test;

namespace {

const std::string kPython = "/usr/bin/python3";  // Debian's: it has cryptography and pyscard
const std::string kHost = std::string(SEKDS_SOURCE_DIR) + "/tests/card/independent_gp_host.py";
const std::string kPackage = "A0000001515350";
const std::string kApplet = "A000000151535041";

struct Run {
  int exit_code = -1;
  std::vector<std::string> lines;
  std::string stderr_text;

  bool has(const std::string& needle) const {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  }
  std::size_t count(const std::string& needle) const {
    return static_cast<std::size_t>(
        std::count_if(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; }));
  }
  std::string text() const {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s + "--- stderr:\n" + stderr_text;
  }
};

// Runs a program to its end (stdout line by line), with an overall deadline.
Run run(const std::vector<std::string>& argv, std::chrono::seconds limit = std::chrono::seconds(90)) {
  ChildProcess p(argv);
  Run r;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto line = p.read_line(left);
    if (!line) break;
    r.lines.push_back(*line);
  }
  r.exit_code = p.wait(std::chrono::seconds(10)).value_or(-1);
  r.stderr_text = p.stderr_text();
  return r;
}

std::string random_hex(std::size_t n) { return gp::to_hex(gp::random_bytes(n)); }

struct Issued {
  int slot = 0;
  std::string kdd;
};

// `sekds-card personalise` of one card into db, the master written to a 0600 file.
Issued personalise(const std::string& db, const std::string& master_file, const std::string& scp, const std::string& i,
                   const std::string& method, const std::string& kvn) {
  const Run r = run({SEKDS_CARD_BIN, "personalise", "--db", db, "--count", "1", "--issuer", "4242", "--kvn", kvn,
                     "--scp", scp, "--i", i, "--method", method, "--master-key-file", master_file, "--url",
                     "https://ttp.example:8443/sekds/v1", "--json"});
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "sekds-card personalise failed:\n" + r.text());
  std::string json;
  for (const auto& l : r.lines) json += l;
  const auto j = nlohmann::json::parse(json);
  return Issued{j.at("cards").at(0).at("slot").get<int>(), j.at("cards").at(0).at("kdd").get<std::string>()};
}

// One card served to reader slot `reader` of a private pcscd.
class Served {
 public:
  Served(const PrivatePcscd& pcscd, const std::string& db, int slot, unsigned reader)
      : serve_({SEKDS_CARD_BIN, "serve", "--db", db, "--vpcd", "127.0.0.1:" + std::to_string(pcscd.vpcd_port(reader)),
                "--slot", std::to_string(slot)}) {
    BOOST_REQUIRE_MESSAGE(serve_.read_line().has_value(), "sekds-card serve did not start: " + serve_.stderr_text());
  }
  // Stops the server (SIGTERM) so that the database can be read; true if it ended cleanly.
  bool stop() {
    serve_.signal(SIGTERM);
    return serve_.wait().value_or(-1) == 0;
  }
  std::string stderr_text() const { return serve_.stderr_text(); }

 private:
  ChildProcess serve_;
};

card::CardState load_card(const std::string& db, int slot) {
  card::SqliteCardStore store(db);
  for (auto& c : store.load_all())
    if (c.slot == slot) return c;
  BOOST_FAIL("slot " << slot << " not in " << db);
  return {};
}

std::string key_hex(const gp::SecureBytes& k) { return gp::to_hex(gp::ByteView(k.data(), k.size())); }

struct HostCase {
  std::string scp;     // "02" / "03"
  std::string i;       // "15", "55", "70"
  std::string method;  // emv / kdf3 / none
  std::string level;   // "01", "03", "33"
  std::size_t master_len = 16;
  int instances = 0;   // > 0: load a file and install this many applications before GET STATUS
};

// The full positive flow for one card: the host exits 0, says what it did, and the database
// holds exactly the new key set, with the host's keys, used by its two proving sessions.
void rotate_through_independent_host(const HostCase& hc) {
  PrivatePcscd pcscd;
  TempDir dir("sekds-indep-host");
  const std::string db = dir.path() + "/grid.db";
  const std::string master_file = dir.path() + "/master.hex";
  const std::string new_keys_file = dir.path() + "/new-keys.hex";
  write_file(master_file, random_hex(hc.master_len) + "\n", 0600);
  const std::string new_enc = random_hex(16), new_mac = random_hex(16), new_dek = random_hex(16);
  write_file(new_keys_file, new_enc + "\n" + new_mac + "\n" + new_dek + "\n", 0600);
  const Issued card = personalise(db, master_file, hc.scp, hc.i, hc.method, "0x20");

  std::vector<std::string> argv{kPython, kHost, "--reader", pcscd.reader_name(0), "--scp", hc.scp.substr(1), "--level",
                                hc.level, "--master-key-file", master_file, "--method", hc.method, "--new-kvn", "21",
                                "--new-keys-file", new_keys_file, "--vectors", SEKDS_VECTOR_DIR};
  if (hc.scp == "02") argv.insert(argv.end(), {"--i", hc.i});
  if (hc.instances > 0) {
    const std::string cap = dir.path() + "/applet.cap";
    const Run mk = run({SEKDS_CARD_BIN, "make-loadfile", "--package", kPackage, "--applet", kApplet, "--size", "3000",
                        "--out", cap});
    BOOST_REQUIRE_MESSAGE(mk.exit_code == 0, mk.text());
    argv.insert(argv.end(), {"--load-file", cap, "--package", kPackage, "--applet", kApplet, "--instances",
                             std::to_string(hc.instances)});
  }

  Served served(pcscd, db, card.slot, 0);
  const Run r = run(argv);
  BOOST_TEST_MESSAGE("independent host output:\n" << r.text());
  BOOST_TEST_REQUIRE(r.exit_code == 0, "the independent host failed (exit " << r.exit_code << "):\n"
                                                                              << r.text() << "\nsekds-card serve stderr:\n"
                                                                              << served.stderr_text() << "\npcscd log:\n"
                                                                              << pcscd.log());
  BOOST_TEST(served.stop());

  // What the host says it did.
  BOOST_TEST(r.has("self-test: "));
  BOOST_TEST(r.has("static keys derived (" + hc.method + ") from the master and KDD " + card.kdd));
  BOOST_TEST(r.count("card cryptogram verified") == 3u);  // old keys, new KVN, KVN 00
  BOOST_TEST(r.count("EXTERNAL AUTHENTICATE level " + hc.level + ": 9000") == 3u);
  BOOST_TEST(r.has("GET DATA '66': card recognition data says SCP" + hc.scp + " i=" + hc.i));
  BOOST_TEST(r.count("GET DATA 'C1' in the session (no command data): ") == 2u);
  BOOST_TEST(r.has("A000000151000000 SECURED privileges 9EFE80"));
  BOOST_TEST(r.has("PUT KEY (replace KVN 20 by 21, " + std::string(hc.scp == "02" ? "DES" : "AES") + "): 9000"));
  BOOST_TEST(r.has("default key set (KVN 00) is now KVN 21"));
  BOOST_TEST(r.has("INITIALIZE UPDATE with the old KVN 20: SW 6A88"));
  if (hc.scp == "03") BOOST_TEST(r.count("pseudo-random card challenge verified") == 3u);
  if (hc.instances > 0) {
    BOOST_TEST(r.has("GET STATUS P1=40 (applications and SDs): " + std::to_string(hc.instances) + " entries"));
    BOOST_TEST(r.has("GET STATUS P1=20 (load files): 1 entry"));
    BOOST_TEST(r.has(kPackage + " LOADED"));
  }
  BOOST_TEST(r.lines.back() == "RESULT: OK");

  // What the card keeps: only the new key set, with exactly the host's keys.
  const card::CardState st = load_card(db, card.slot);
  BOOST_TEST(st.default_kvn == 0x21);
  BOOST_TEST_REQUIRE(st.key_sets.size() == 1u);
  BOOST_TEST_REQUIRE(st.key_sets.count(0x21) == 1u);
  const card::KeySet& ks = st.key_sets.at(0x21);
  BOOST_TEST(key_hex(ks.keys.enc) == new_enc);
  BOOST_TEST(key_hex(ks.keys.mac) == new_mac);
  BOOST_TEST(key_hex(ks.keys.dek) == new_dek);
  BOOST_TEST((ks.type == (hc.scp == "02" ? gp::KeyType::Des2 : gp::KeyType::Aes128)));
  // Two sessions were opened with the new key set (SCP02 counts opened sessions, SCP03 with
  // a pseudo-random challenge counts INITIALIZE UPDATEs; a put key set starts at 0).
  BOOST_TEST(ks.counter == 2u);
  if (hc.instances > 0) BOOST_TEST(st.registry.applications.size() == static_cast<std::size_t>(hc.instances));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(independent_host)

BOOST_AUTO_TEST_CASE(self_test_passes_and_a_wrong_vector_makes_it_refuse) {
  const Run ok = run({kPython, kHost, "--self-test-only", "--vectors", SEKDS_VECTOR_DIR});
  BOOST_TEST(ok.exit_code == 0, ok.text());
  BOOST_TEST(ok.has("public vectors passed"));

  // One hex digit changed in a copy of the SCP03 traces: the host must refuse to run.
  TempDir dir("sekds-indep-vectors");
  for (const auto& e : std::filesystem::directory_iterator(SEKDS_VECTOR_DIR))
    std::filesystem::copy_file(e.path(), dir.path() + "/" + e.path().filename().string());
  const std::string path = dir.path() + "/scp03.json";
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  const std::string needle = "\"ext_auth\": \"848203001023EBFEDC579D22CDCDB6A25A5FF7891F\"";
  const auto at = text.find(needle);
  BOOST_TEST_REQUIRE(at != std::string::npos);
  text.replace(at, needle.size(), "\"ext_auth\": \"848203001023EBFEDC579D22CDCDB6A25A5FF7891E\"");
  write_file(path, text, 0600);
  const Run bad = run({kPython, kHost, "--self-test-only", "--vectors", dir.path()});
  BOOST_TEST(bad.exit_code == 3, bad.text());
  BOOST_TEST(bad.has("FAIL: self-test against the public vectors failed, refusing to run: kaoh mutual_auth: "
                     "EXTERNAL AUTHENTICATE"));
}

BOOST_AUTO_TEST_CASE(scp02_i15_emv_level01) { rotate_through_independent_host({"02", "15", "emv", "01"}); }

BOOST_AUTO_TEST_CASE(scp02_i55_emv_level03_with_content) {
  rotate_through_independent_host({"02", "55", "emv", "03", 16, 3});
}

BOOST_AUTO_TEST_CASE(scp03_i70_aes128_kdf3_level01) { rotate_through_independent_host({"03", "70", "kdf3", "01"}); }

BOOST_AUTO_TEST_CASE(scp03_i70_aes128_none_level03) { rotate_through_independent_host({"03", "70", "none", "03"}); }

BOOST_AUTO_TEST_CASE(scp03_i70_aes128_kdf3_level13_rmac) { rotate_through_independent_host({"03", "70", "kdf3", "13"}); }

BOOST_AUTO_TEST_CASE(scp03_i70_aes128_kdf3_level33_rmac_renc_paged_get_status) {
  // 10 applications do not fit one GET STATUS response (239 bytes): the host pages with 6310.
  rotate_through_independent_host({"03", "70", "kdf3", "33", 16, 10});
}

BOOST_AUTO_TEST_CASE(wrong_master_key_fails_at_the_card_cryptogram) {
  PrivatePcscd pcscd;
  TempDir dir("sekds-indep-host");
  const std::string db = dir.path() + "/grid.db";
  const std::string des_master = dir.path() + "/des.hex", aes_master = dir.path() + "/aes.hex";
  const std::string wrong = dir.path() + "/wrong.hex";
  write_file(des_master, random_hex(16) + "\n", 0600);
  write_file(aes_master, random_hex(16) + "\n", 0600);
  write_file(wrong, random_hex(16) + "\n", 0600);
  const Issued scp02 = personalise(db, des_master, "02", "55", "emv", "0x20");
  const Issued scp03 = personalise(db, aes_master, "03", "70", "kdf3", "0x20");
  {
    Served s02(pcscd, db, scp02.slot, 0);
    Served s03(pcscd, db, scp03.slot, 1);
    struct Try {
      std::string scp, method;
      unsigned reader;
    };
    for (const Try& t : {Try{"2", "emv", 0}, Try{"3", "kdf3", 1}}) {
      BOOST_TEST_CONTEXT("SCP0" << t.scp) {
        const Run r = run({kPython, kHost, "--reader", pcscd.reader_name(t.reader), "--scp", t.scp, "--level", "03",
                           "--master-key-file", wrong, "--method", t.method, "--new-kvn", "21", "--vectors",
                           SEKDS_VECTOR_DIR});
        BOOST_TEST_MESSAGE("independent host output:\n" << r.text());
        BOOST_TEST(r.exit_code == 1, r.text());
        BOOST_TEST(r.has("FAIL: card cryptogram mismatch: the card does not hold the static keys this host derived"));
        BOOST_TEST(!r.has("card cryptogram verified"));
        BOOST_TEST(!r.has("EXTERNAL AUTHENTICATE level"));
        BOOST_TEST(!r.has("RESULT: OK"));
      }
    }
    BOOST_TEST(s02.stop());
    BOOST_TEST(s03.stop());
  }
  // Nothing changed on the cards but what INITIALIZE UPDATE itself does: SCP02 counts opened
  // sessions (none), SCP03 i=70 counts INITIALIZE UPDATEs (one).
  const card::CardState c02 = load_card(db, scp02.slot);
  const card::CardState c03 = load_card(db, scp03.slot);
  BOOST_TEST((c02.key_sets.size() == 1u && c02.key_sets.count(0x20) == 1u));
  BOOST_TEST((c03.key_sets.size() == 1u && c03.key_sets.count(0x20) == 1u));
  BOOST_TEST(c02.key_sets.at(0x20).counter == 0u);
  BOOST_TEST(c03.key_sets.at(0x20).counter == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
