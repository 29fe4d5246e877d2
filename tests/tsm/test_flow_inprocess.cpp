// Every step of the flow against the real card engine in process: discovery, every SCP / i /
// level the card supports, rotation then re-open, old keys refused, management commands.
#include <boost/test/unit_test.hpp>

#include "card/load_file.h"
#include "gp/data_objects.h"
#include "gp/kcv.h"
#include "gp/scp03.h"
#include "gp/status_word.h"
#include "tsm/card_info.h"
#include "tsm/error.h"
#include "tsm/flow.h"
#include "tsm/session.h"
#include "virtual_card.h"

using namespace sekds;
using namespace sekds::test;
using tsm::TsmErrc;

namespace {

std::vector<std::uint8_t> levels_for(const CardProfile& p) {
  if (p.scp == gp::Scp::Scp02) return {0x01, 0x03};
  if (p.i & gp::scp03_i::kREncryptionSupport) return {0x01, 0x03, 0x11, 0x13, 0x33};
  if (p.i & gp::scp03_i::kRMacSupport) return {0x01, 0x03, 0x11, 0x13};
  return {0x01, 0x03};
}

tsm::Script script_for_test() {
  card::LoadFileSpec spec;
  spec.package_aid = gp::from_hex("D2760001180101");
  spec.applet_aids = {gp::from_hex("D276000118010101")};
  spec.size = 9 * 1024;
  const gp::Bytes lf = card::make_load_file(spec);
  std::string hexfile = "/tmp/sekds-tsm-test-loadfile-" + std::to_string(::getpid()) + ".cap";
  {
    FILE* f = std::fopen(hexfile.c_str(), "wb");
    BOOST_REQUIRE(f);
    std::fwrite(lf.data(), 1, lf.size(), f);
    std::fclose(f);
  }
  const std::string text =
      "# a management script\n"
      "80CA00CF00            # GET DATA KDD through the channel\n"
      "80CA00FE00 -> 6A88    # no such tag\n"
      "load " + hexfile + "\n"
      "install D2760001180101 D276000118010101 D27600011801010101\n"
      "get-status\n"
      "store-data 0102030405060708090A0B0C0D0E0F10\n"
      "delete D27600011801010101\n";
  tsm::Script s = tsm::Script::parse(text, "/", "test-script");
  std::remove(hexfile.c_str());
  return s;
}

bool has_aid(const std::vector<tsm::RegistryEntry>& r, const gp::Bytes& aid) {
  for (const auto& e : r)
    if (e.aid == aid) return true;
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(flow_inprocess)

BOOST_AUTO_TEST_CASE(discovery_reads_every_tag_url_first) {
  for (const CardProfile& p : all_profiles()) {
    VirtualCard vc(p, 7);
    const tsm::CardInfo info = tsm::discover_card(vc.transport());
    BOOST_TEST_CONTEXT(p.describe()) {
      BOOST_REQUIRE(info.url.has_value());
      BOOST_TEST(info.url->str() == p.url);
      BOOST_TEST(gp::to_bytes(info.kdd.bytes()) == vc.card().state().identity.kdd);
      BOOST_TEST(info.atr == card::Card::atr());
      BOOST_TEST((info.scp() == p.scp));
      BOOST_REQUIRE(info.scp_option().has_value());
      BOOST_TEST(info.scp_option()->i == p.i);
      BOOST_TEST(info.key_set_versions() == std::vector<std::uint8_t>{kIssuerKvn});
      BOOST_TEST((info.key_information.key_set(kIssuerKvn).key_type == p.key_type));
      BOOST_TEST(info.key_information_template.front() == 0xE0);
      BOOST_TEST(info.sequence_counter.width() == (p.scp == gp::Scp::Scp02 ? 2u : 3u));
      BOOST_REQUIRE(info.iin.has_value());
      BOOST_TEST(info.iin->value == vc.card().state().identity.iin);
      BOOST_REQUIRE(info.cin.has_value());
      BOOST_TEST(info.cin->value == vc.card().state().identity.cin);
      BOOST_REQUIRE(info.cplc.has_value());
      BOOST_TEST(gp::to_bytes(info.cplc->value()) == vc.card().state().identity.cplc);
      const auto j = tsm::card_info_json(info);
      BOOST_TEST(j.begin().key() == "url");
    }
  }
}

BOOST_AUTO_TEST_CASE(every_scp_i_and_level_opens_rotates_reopens_and_runs) {
  const tsm::Script script = script_for_test();
  for (const CardProfile& p : all_profiles()) {
    for (std::uint8_t level : levels_for(p)) {
      BOOST_TEST_CONTEXT(p.describe() << " level " << int(level)) {
        VirtualCard vc(p, 100 + level);
        auto issuer = issuer_keys(p);
        auto own = own_keys();
        tsm::FlowOptions o;
        o.goal = tsm::FlowGoal::Run;
        o.level = gp::SecurityLevel(level);
        o.script = &script;
        const tsm::FlowResult r = tsm::run_flow(vc.transport(), {&issuer, &own}, o);
        BOOST_REQUIRE_MESSAGE(r.ok(), (r.error ? r.error->what() : ""));
        BOOST_REQUIRE(r.session && r.reopened && r.new_keys);
        BOOST_TEST(r.keys->source == "issuer");
        BOOST_TEST(r.session->kvn == kIssuerKvn);
        BOOST_TEST(r.session->level.byte() == level);
        BOOST_TEST(r.session->i == p.i);
        BOOST_TEST((r.session->scp == p.scp));
        BOOST_TEST(r.reopened->kvn == kOwnKvn);
        BOOST_TEST(r.reopened->keys_source == "own");
        std::vector<std::string> steps;
        for (const auto& s : r.steps) steps.push_back(s.step);
        BOOST_TEST(steps == (std::vector<std::string>{"discover", "keys", "open", "rotate", "reopen", "script"}));
        BOOST_REQUIRE_EQUAL(r.script.size(), script.commands.size());
        BOOST_TEST(gp::to_bytes(gp::Kdd::parse(r.script[0].data).bytes()) == vc.card().state().identity.kdd);
        BOOST_TEST(r.script[1].sw == 0x6A88);
        // get-status saw the ISD, the loaded package and the installed instance.
        BOOST_TEST(has_aid(r.script[4].registry, tsm::kIsdAid));
        BOOST_TEST(has_aid(r.script[4].registry, gp::from_hex("D2760001180101")));
        BOOST_TEST(has_aid(r.script[4].registry, gp::from_hex("D27600011801010101")));
        BOOST_TEST(vc.card().state().store_data.size() == 1u);
        BOOST_TEST(!vc.card().state().registry.find_application(gp::from_hex("D27600011801010101")));
        // The card now holds only the TSM's key set.
        BOOST_TEST(vc.card().state().key_sets.count(kOwnKvn) == 1u);
        BOOST_TEST(vc.card().state().key_sets.count(kIssuerKvn) == 0u);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(after_rotation_the_old_keys_no_longer_open_the_card) {
  for (const CardProfile& p : all_profiles()) {
    BOOST_TEST_CONTEXT(p.describe()) {
      VirtualCard vc(p, 200);
      auto issuer = issuer_keys(p);
      auto own = own_keys();
      tsm::FlowOptions o;
      o.goal = tsm::FlowGoal::Rotate;
      BOOST_REQUIRE(tsm::run_flow(vc.transport(), {&issuer, &own}, o).ok());

      // The TTP's key set is gone: INITIALIZE UPDATE with its KVN is refused by name.
      o.goal = tsm::FlowGoal::Open;
      o.keys = tsm::KeyChoice::Ttp;
      o.kvn = kIssuerKvn;  // forced: without it the flow refuses before asking (the card no longer lists it)
      tsm::FlowResult r = tsm::run_flow(vc.transport(), {&issuer, &own}, o);
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST((r.error->code() == TsmErrc::CardStatus));
      BOOST_TEST(r.error->name() == gp::sw_name(0x6A88));
      BOOST_TEST(r.error->exit_code() == 4);
      // Not forced: the TSM sees from 'E0' that only its own key set is left and asks no one.
      o.kvn.reset();
      r = tsm::run_flow(vc.transport(), {&issuer, &own}, o);
      BOOST_REQUIRE(!r.ok());
      BOOST_TEST((r.error->code() == TsmErrc::Usage));
      BOOST_TEST(std::string(r.error->what()).find("no usable key set") != std::string::npos);

      // The old key values on the new KVN: the card cryptogram does not verify.
      const tsm::CardInfo info = tsm::discover_card(vc.transport());
      tsm::CardKeys old = issuer.card_keys(info, std::nullopt);
      old.kvn = kOwnKvn;
      try {
        tsm::Session::open(vc.transport(), info, old, gp::SecurityLevel(0x01));
        BOOST_FAIL("the old keys opened the rotated card");
      } catch (const tsm::TsmError& e) {
        BOOST_TEST((e.code() == TsmErrc::SecureChannel));
        BOOST_TEST(e.name() == "CryptogramMismatch");
      }

      // auto: the card lists the TSM's KVN, so its own keys open it; rotate has nothing to do.
      o.keys = tsm::KeyChoice::Auto;
      o.kvn.reset();
      o.goal = tsm::FlowGoal::Rotate;
      r = tsm::run_flow(vc.transport(), {&issuer, &own}, o);
      BOOST_REQUIRE_MESSAGE(r.ok(), (r.error ? r.error->what() : ""));
      BOOST_TEST(r.already_rotated);
      BOOST_TEST(r.keys->source == "own");
    }
  }
}

BOOST_AUTO_TEST_CASE(levels_the_card_does_not_offer_are_refused_before_sending) {
  CardProfile p = all_profiles()[2];  // SCP03 i=00: no R-MAC
  BOOST_REQUIRE(p.i == 0x00);
  VirtualCard vc(p, 300);
  auto issuer = issuer_keys(p);
  const tsm::CardInfo info = tsm::discover_card(vc.transport());
  const tsm::CardKeys keys = issuer.card_keys(info, std::nullopt);
  const std::size_t before = vc.apdus();
  try {
    tsm::Session::open(vc.transport(), info, keys, gp::SecurityLevel(0x13));
    BOOST_FAIL("R-MAC accepted on i=00");
  } catch (const tsm::TsmError& e) {
    BOOST_TEST((e.code() == TsmErrc::Usage));
    BOOST_TEST(e.name() == "LevelNotSupported");
  }
  BOOST_TEST(vc.apdus() == before);

  CardProfile p2 = all_profiles()[0];  // SCP02 i=15
  VirtualCard vc2(p2, 301);
  auto issuer2 = issuer_keys(p2);
  const tsm::CardInfo info2 = tsm::discover_card(vc2.transport());
  BOOST_CHECK_THROW(tsm::Session::open(vc2.transport(), info2, issuer2.card_keys(info2, std::nullopt), gp::SecurityLevel(0x33)),
                    tsm::TsmError);
}

BOOST_AUTO_TEST_CASE(a_failing_script_line_is_named_with_its_status_word) {
  CardProfile p = all_profiles()[4];  // SCP03 i=70
  VirtualCard vc(p, 400);
  auto issuer = issuer_keys(p);
  auto own = own_keys();
  const tsm::Script s = tsm::Script::parse("get-status\ndelete A0000000031010\n", "/", "bad.txt");
  tsm::FlowOptions o;
  o.goal = tsm::FlowGoal::Run;
  o.rotate_in_run = false;
  o.script = &s;
  const tsm::FlowResult r = tsm::run_flow(vc.transport(), {&issuer, &own}, o);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST((r.error->code() == TsmErrc::CardStatus));
  BOOST_TEST(std::string(r.error->what()).find("bad.txt:2") != std::string::npos);
  BOOST_TEST(std::string(r.error->what()).find("DELETE A0000000031010") != std::string::npos);
  BOOST_TEST(r.error->name().rfind("SW_", 0) == 0u);
  // Not rotated: the issuer's key set is still there.
  BOOST_TEST(vc.card().state().key_sets.count(kIssuerKvn) == 1u);
}

BOOST_AUTO_TEST_CASE(keys_json_hides_plaintext_unless_revealed) {
  CardProfile p = all_profiles()[4];
  VirtualCard vc(p, 500);
  auto issuer = issuer_keys(p);
  const tsm::CardInfo info = tsm::discover_card(vc.transport());
  const tsm::CardKeys k = issuer.card_keys(info, std::nullopt);
  const std::string enc = gp::to_hex(k.keys.enc);
  BOOST_TEST(tsm::keys_json(k, false).dump().find(enc) == std::string::npos);
  BOOST_TEST(tsm::keys_json(k, true).dump().find(enc) != std::string::npos);
  BOOST_TEST(tsm::keys_json(k, false)["kcv"]["enc"] == gp::to_hex(gp::kcv(gp::KcvAlg::AesGp, k.keys.enc)));
}

BOOST_AUTO_TEST_CASE(get_status_follows_6310_over_every_page) {
  CardProfile p = all_profiles()[4];  // SCP03 i=70
  VirtualCard vc(p, 600);
  auto issuer = issuer_keys(p);
  const tsm::CardInfo info = tsm::discover_card(vc.transport());
  tsm::Session s = tsm::Session::open(vc.transport(), info, issuer.card_keys(info, std::nullopt), gp::SecurityLevel(0x03));
  card::LoadFileSpec spec;
  spec.package_aid = gp::from_hex("D2760001180101");
  spec.applet_aids = {gp::from_hex("D276000118010101")};
  s.load(card::make_load_file(spec));
  const int n = 24;
  for (int k = 0; k < n; ++k) {
    gp::Bytes inst = gp::from_hex("D27600011801010100");
    inst.back() = static_cast<std::uint8_t>(k);
    s.install(spec.package_aid, spec.applet_aids[0], inst);
  }
  const std::size_t before = vc.apdus();
  const auto apps = s.get_status(tsm::RegistryKind::Applications);
  BOOST_TEST(apps.size() == static_cast<std::size_t>(n));
  BOOST_TEST(vc.apdus() - before > 1u);  // the card answered 6310 at least once
  for (const auto& a : apps) BOOST_TEST(tsm::lifecycle_name(a.kind, a.lifecycle) == "SELECTABLE");
  const auto pkgs = s.get_status(tsm::RegistryKind::LoadFiles);
  BOOST_REQUIRE_EQUAL(pkgs.size(), 1u);
  BOOST_TEST(pkgs[0].aid == spec.package_aid);
  const auto isd = s.get_status(tsm::RegistryKind::IssuerSecurityDomain);
  BOOST_REQUIRE_EQUAL(isd.size(), 1u);
  BOOST_TEST(isd[0].aid == tsm::kIsdAid);
}

BOOST_AUTO_TEST_SUITE_END()

// A TSM with AES-128 and AES-256 key sets of its own rotates each card to the set of the key
// type it has now: an AES-256 card is never weakened to AES-128 (and vice versa).
BOOST_AUTO_TEST_SUITE(rotation_keeps_key_strength)

BOOST_AUTO_TEST_CASE(each_card_gets_the_own_set_of_its_key_type) {
  auto own_with = [] {
    std::vector<tsm::OwnKeySet> v;
    for (auto [kvn, type, master] : {std::tuple{std::uint8_t{0x40}, gp::KeyType::Aes128, std::string(kOwnAesMaster)},
                                     std::tuple{std::uint8_t{0x41}, gp::KeyType::Aes256,
                                                std::string(kOwnAesMaster) + kOwnAesMaster}}) {
      tsm::OwnKeySet s;
      s.scp = gp::Scp::Scp03;
      s.kvn = kvn;
      s.scheme = gp::DiversificationScheme::of(gp::DiversificationMethod::Kdf3);
      s.key_type = type;
      s.master = gp::secure_from_hex(master);
      s.check("own_keys");
      v.push_back(std::move(s));
    }
    return tsm::LocalKeySource(std::move(v));
  };
  for (const CardProfile& p : all_profiles()) {
    if (p.scp != gp::Scp::Scp03) continue;
    BOOST_TEST_CONTEXT(p.describe()) {
      VirtualCard vc(p, 300);
      auto issuer = issuer_keys(p);
      auto own = own_with();
      tsm::FlowOptions o;
      o.goal = tsm::FlowGoal::Rotate;
      const tsm::FlowResult r = tsm::run_flow(vc.transport(), {&issuer, &own}, o);
      BOOST_REQUIRE_MESSAGE(r.ok(), (r.error ? r.error->what() : ""));
      BOOST_REQUIRE(r.new_keys);
      BOOST_TEST((r.new_keys->key_type == p.key_type));
      BOOST_TEST(r.new_keys->kvn == (p.key_type == gp::KeyType::Aes256 ? 0x41 : 0x40));
      // Once rotated, the set the card holds is the one that opens it.
      o.goal = tsm::FlowGoal::Open;
      const tsm::FlowResult again = tsm::run_flow(vc.transport(), {&issuer, &own}, o);
      BOOST_REQUIRE_MESSAGE(again.ok(), (again.error ? again.error->what() : ""));
      BOOST_TEST(again.keys->kvn == r.new_keys->kvn);
      BOOST_TEST(again.keys->source == "own");
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
