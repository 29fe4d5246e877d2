// Issuers, key sets, TSMs, entitlements, KEKs: CRUD, constraint errors, and the audit
// record every admin change (and every refused one) leaves.
#include <boost/test/unit_test.hpp>

#include "store_errors.h"
#include "store_fixture.h"

using namespace sekds;
using namespace sekds::store;
using sekds::test::error_of;
using sekds::test::kOperator;
using sekds::test::StoreFixture;

namespace {

// The last audit record.
AuditEntry last_audit(Store& s) {
  AuditFilter f;
  f.limit = 1;
  auto v = s.list_audit(f);
  BOOST_REQUIRE_EQUAL(v.size(), 1u);
  return v.front();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(issuers)

BOOST_AUTO_TEST_CASE(add_find_list) {
  StoreFixture f;
  const AuditId id = f.store->add_issuer(kOperator, test::sample_issuer("acme", "42a1b2"));
  f.store->add_issuer(kOperator, test::sample_issuer("beta", "01"));
  auto acme = f.store->find_issuer("acme");
  BOOST_REQUIRE(acme);
  BOOST_TEST(acme->iin == "42A1B2");  // stored uppercase
  BOOST_TEST(acme->id > 0);
  BOOST_TEST(f.store->find_issuer_by_iin("42 A1 b2")->name == "acme");
  BOOST_TEST(!f.store->find_issuer("nobody"));
  auto all = f.store->list_issuers();
  BOOST_REQUIRE_EQUAL(all.size(), 2u);
  BOOST_TEST(all[0].name == "acme");
  BOOST_TEST(all[1].name == "beta");

  auto rec = f.store->find_audit(id);
  BOOST_REQUIRE(rec);
  BOOST_TEST(rec->operation == "issuer.add");
  BOOST_TEST(rec->actor == "alice");
  BOOST_TEST(rec->issuer.value_or("") == "acme");
  BOOST_TEST(rec->result == "OK");
  BOOST_TEST(rec->detail == R"({"iin":"42A1B2"})");
}

BOOST_AUTO_TEST_CASE(constraint_errors) {
  StoreFixture f;
  f.store->add_issuer(kOperator, test::sample_issuer("acme", "42A1B2"));
  BOOST_TEST(error_of([&] { f.store->add_issuer(kOperator, test::sample_issuer("acme", "99")); }) ==
             StoreErrc::Conflict);
  BOOST_TEST(error_of([&] { f.store->add_issuer(kOperator, test::sample_issuer("other", "42a1b2")); }) ==
             StoreErrc::Conflict);
  BOOST_TEST(error_of([&] { f.store->add_issuer(kOperator, test::sample_issuer("", "99")); }) ==
             StoreErrc::InvalidArgument);
  BOOST_TEST(error_of([&] { f.store->add_issuer(kOperator, test::sample_issuer("x", "4G")); }) ==
             StoreErrc::InvalidArgument);
  BOOST_TEST(error_of([&] { f.store->add_issuer(kOperator, test::sample_issuer("x", "")); }) ==
             StoreErrc::InvalidArgument);
  BOOST_TEST(error_of([&] { f.store->add_issuer(kOperator, test::sample_issuer("tab\tname", "99")); }) ==
             StoreErrc::InvalidArgument);
  BOOST_TEST(error_of([&] { f.store->add_issuer(kOperator, test::sample_issuer(std::string(65, 'n'), "99")); }) ==
             StoreErrc::InvalidArgument);
  BOOST_TEST(error_of([&] { f.store->find_issuer_by_iin("zz"); }) == StoreErrc::InvalidArgument);
  BOOST_TEST(f.store->list_issuers().size() == 1u);  // nothing half-written

  // The refusal is audited with the error name as result.
  const AuditEntry last = last_audit(*f.store);
  BOOST_TEST(last.operation == "issuer.add");
  BOOST_TEST(last.result == "InvalidArgument");
  BOOST_TEST(last.detail.find("\"error\"") != std::string::npos);
  AuditFilter conflicts;
  conflicts.result = "Conflict";
  BOOST_TEST(f.store->list_audit(conflicts).size() == 2u);
  BOOST_TEST(f.store->verify_audit().ok);
}

BOOST_AUTO_TEST_CASE(an_actor_is_required) {
  StoreFixture f;
  BOOST_TEST(error_of([&] { f.store->add_issuer(AuditContext{"", std::nullopt}, test::sample_issuer()); }) ==
             StoreErrc::InvalidArgument);
  BOOST_TEST(f.store->list_issuers().empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(key_sets)

BOOST_AUTO_TEST_CASE(add_find_list_and_state) {
  StoreFixture f;
  f.store->add_issuer(kOperator, test::sample_issuer("acme", "42A1B2"));
  f.store->add_issuer(kOperator, test::sample_issuer("beta", "42B1"));
  f.store->add_key_set(kOperator, test::sample_key_set("acme", 0x30));
  f.store->add_key_set(kOperator, test::sample_scp02_key_set("acme", 0x20));
  KeySetSpec custom = test::sample_key_set("beta", 0x30);
  custom.method = gp::DiversificationMethod::Scp03Kdf;
  custom.kdf_layout = "0000000000000000000000|k|00|L|i|kdd";
  custom.kdf_constants = "04,05,06";
  custom.kcv_alg = gp::KcvAlg::AesCmac;
  f.store->add_key_set(kOperator, custom);

  auto ks = f.store->find_key_set("acme", 0x30);
  BOOST_REQUIRE(ks);
  BOOST_TEST(ks->spec.scp == 3);
  BOOST_TEST(ks->spec.scp_i == 0x70);
  BOOST_TEST((ks->spec.key_type == gp::KeyType::Aes128));
  BOOST_TEST((ks->spec.method == gp::DiversificationMethod::Kdf3));
  BOOST_TEST(ks->spec.kdf_layout == gp::KdfLayout::kdf3().spec());  // the default, made explicit
  BOOST_TEST(ks->spec.kdf_constants == "01,02,03");
  BOOST_TEST(ks->spec.hsm_labels.shared());
  BOOST_TEST(gp::to_hex(gp::view(ks->spec.kcvs.mac)) == "A1B2C3");
  BOOST_TEST((ks->state == KeySetState::Active));
  BOOST_TEST(ks->scheme().layout.spec() == gp::KdfLayout::kdf3().spec());

  auto scp02 = f.store->find_key_set("acme", 0x20);
  BOOST_REQUIRE(scp02);
  BOOST_TEST(scp02->spec.kdf_layout.empty());
  BOOST_TEST(!scp02->spec.hsm_labels.shared());
  BOOST_TEST(scp02->spec.hsm_labels.dek == "acme-dek");
  BOOST_TEST((scp02->spec.kcv_alg == gp::KcvAlg::Des3Zero));

  auto beta = f.store->find_key_set("beta", 0x30);
  BOOST_REQUIRE(beta);
  BOOST_TEST(beta->spec.kdf_constants == "04,05,06");
  BOOST_TEST(beta->scheme().layout.constants[2] == 0x06);

  BOOST_TEST(f.store->list_key_sets({}).size() == 3u);
  KeySetFilter by_issuer;
  by_issuer.issuer = "acme";
  BOOST_TEST(f.store->list_key_sets(by_issuer).size() == 2u);
  KeySetFilter by_kvn;
  by_kvn.kvn = 0x30;
  BOOST_TEST(f.store->list_key_sets(by_kvn).size() == 2u);

  f.store->set_key_set_state(kOperator, "acme", 0x30, KeySetState::Disabled);
  BOOST_TEST((f.store->find_key_set("acme", 0x30)->state == KeySetState::Disabled));
  KeySetFilter active;
  active.active_only = true;
  BOOST_TEST(f.store->list_key_sets(active).size() == 2u);
  BOOST_TEST(error_of([&] { f.store->set_key_set_state(kOperator, "acme", 0x31, KeySetState::Active); }) ==
             StoreErrc::NotFound);
  BOOST_TEST(f.store->verify_audit().ok);
}

BOOST_AUTO_TEST_CASE(list_by_entitlement) {
  StoreFixture f;
  f.store->add_issuer(kOperator, test::sample_issuer("acme", "42A1B2"));
  f.store->add_issuer(kOperator, test::sample_issuer("beta", "42B1"));
  f.store->add_key_set(kOperator, test::sample_key_set("acme", 0x30));
  f.store->add_key_set(kOperator, test::sample_key_set("beta", 0x30));
  f.store->accredit_tsm(kOperator, test::sample_tsm("tsm1", 'A'));
  KeySetFilter mine;
  mine.entitled_tsm = "tsm1";
  mine.kvn = 0x30;
  BOOST_TEST(f.store->list_key_sets(mine).empty());
  f.store->grant(kOperator, "tsm1", "beta");
  auto v = f.store->list_key_sets(mine);
  BOOST_REQUIRE_EQUAL(v.size(), 1u);
  BOOST_TEST(v[0].spec.issuer == "beta");
}

BOOST_AUTO_TEST_CASE(constraint_errors) {
  StoreFixture f;
  f.store->add_issuer(kOperator, test::sample_issuer());
  f.store->add_key_set(kOperator, test::sample_key_set("acme", 0x30));
  auto expect = [&](KeySetSpec s, StoreErrc code) {
    BOOST_TEST(error_of([&] { f.store->add_key_set(kOperator, s); }) == code);
  };
  expect(test::sample_key_set("acme", 0x30), StoreErrc::Conflict);
  expect(test::sample_key_set("nobody", 0x31), StoreErrc::NotFound);
  expect(test::sample_key_set("acme", 0), StoreErrc::InvalidArgument);
  expect(test::sample_key_set("acme", 128), StoreErrc::InvalidArgument);
  KeySetSpec s = test::sample_key_set("acme", 0x31);
  s.scp = 4;
  expect(s, StoreErrc::InvalidArgument);
  s = test::sample_key_set("acme", 0x31);
  s.key_type = gp::KeyType::Des2;  // SCP03 with DES keys
  expect(s, StoreErrc::InvalidArgument);
  s = test::sample_scp02_key_set("acme", 0x21);
  s.method = gp::DiversificationMethod::Kdf3;  // AES method on DES keys
  expect(s, StoreErrc::InvalidArgument);
  s = test::sample_scp02_key_set("acme", 0x21);
  s.kdf_layout = "i|k|kdd";  // EMV takes no layout
  expect(s, StoreErrc::InvalidArgument);
  s = test::sample_scp02_key_set("acme", 0x21);
  s.kcv_alg = gp::KcvAlg::AesGp;
  expect(s, StoreErrc::InvalidArgument);
  s = test::sample_key_set("acme", 0x31);
  s.kdf_layout = "i|k|nonsense";
  expect(s, StoreErrc::InvalidArgument);
  s = test::sample_key_set("acme", 0x31);
  s.kcvs.enc.clear();
  expect(s, StoreErrc::InvalidArgument);
  s = test::sample_key_set("acme", 0x31);
  s.hsm_labels.dek.clear();
  expect(s, StoreErrc::InvalidArgument);
  BOOST_TEST(f.store->list_key_sets({}).size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(tsms)

BOOST_AUTO_TEST_CASE(accredit_find_revoke) {
  StoreFixture f;
  f.store->accredit_tsm(kOperator, test::sample_tsm("tsm1", 'A'));
  f.store->accredit_tsm(kOperator, test::sample_tsm("tsm2", 'B'));
  auto t = f.store->find_tsm("tsm1");
  BOOST_REQUIRE(t);
  BOOST_TEST(t->cert_sha256.size() == 64u);
  BOOST_TEST(t->cert_sha256.find(':') == std::string::npos);
  BOOST_TEST((t->state == TsmState::Accredited));
  BOOST_TEST(!t->revoked);
  BOOST_TEST(t->subject == "/O=Test/CN=tsm1");
  // The service looks the caller up by fingerprint, in whatever hex spelling.
  std::string lower = t->cert_sha256;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  BOOST_TEST(f.store->find_tsm_by_fingerprint(lower)->name == "tsm1");
  BOOST_TEST(!f.store->find_tsm_by_fingerprint(std::string(64, 'F')));
  BOOST_TEST(f.store->list_tsms().size() == 2u);

  const AuditId id = f.store->revoke_tsm(kOperator, "tsm1");
  t = f.store->find_tsm("tsm1");
  BOOST_TEST((t->state == TsmState::Revoked));
  BOOST_TEST(t->revoked.has_value());
  BOOST_TEST(f.store->find_audit(id)->operation == "tsm.revoke");
  BOOST_TEST(error_of([&] { f.store->revoke_tsm(kOperator, "tsm1"); }) == StoreErrc::IllegalTransition);
  BOOST_TEST(error_of([&] { f.store->revoke_tsm(kOperator, "nobody"); }) == StoreErrc::NotFound);
}

BOOST_AUTO_TEST_CASE(constraint_errors) {
  StoreFixture f;
  f.store->accredit_tsm(kOperator, test::sample_tsm("tsm1", 'A'));
  BOOST_TEST(error_of([&] { f.store->accredit_tsm(kOperator, test::sample_tsm("tsm1", 'C')); }) ==
             StoreErrc::Conflict);
  BOOST_TEST(error_of([&] { f.store->accredit_tsm(kOperator, test::sample_tsm("tsm9", 'A')); }) ==
             StoreErrc::Conflict);  // same certificate
  TsmSpec bad = test::sample_tsm("tsm3", 'D');
  bad.cert_sha256 = "ABCD";
  BOOST_TEST(error_of([&] { f.store->accredit_tsm(kOperator, bad); }) == StoreErrc::InvalidArgument);
  BOOST_TEST(error_of([&] { f.store->find_tsm_by_fingerprint("xyz"); }) == StoreErrc::InvalidArgument);
  BOOST_TEST(f.store->list_tsms().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(entitlements)

BOOST_AUTO_TEST_CASE(grant_check_list_ungrant) {
  StoreFixture f;
  f.store->add_issuer(kOperator, test::sample_issuer("acme", "42A1B2"));
  f.store->add_issuer(kOperator, test::sample_issuer("beta", "42B1"));
  f.store->accredit_tsm(kOperator, test::sample_tsm("tsm1", 'A'));
  f.store->accredit_tsm(kOperator, test::sample_tsm("tsm2", 'B'));
  BOOST_TEST(!f.store->is_entitled("tsm1", "acme"));
  f.store->grant(kOperator, "tsm1", "acme");
  f.store->grant(kOperator, "tsm1", "beta");
  f.store->grant(kOperator, "tsm2", "beta");
  BOOST_TEST(f.store->is_entitled("tsm1", "acme"));
  BOOST_TEST(!f.store->is_entitled("tsm2", "acme"));
  BOOST_TEST(f.store->list_entitlements(std::nullopt).size() == 3u);
  auto mine = f.store->list_entitlements("tsm1");
  BOOST_REQUIRE_EQUAL(mine.size(), 2u);
  BOOST_TEST(mine[0].issuer == "acme");
  BOOST_TEST(mine[1].issuer == "beta");

  BOOST_TEST(error_of([&] { f.store->grant(kOperator, "tsm1", "acme"); }) == StoreErrc::Conflict);
  BOOST_TEST(error_of([&] { f.store->grant(kOperator, "nobody", "acme"); }) == StoreErrc::NotFound);
  BOOST_TEST(error_of([&] { f.store->grant(kOperator, "tsm1", "nobody"); }) == StoreErrc::NotFound);
  BOOST_TEST(error_of([&] { f.store->list_entitlements("nobody"); }) == StoreErrc::NotFound);

  const AuditId id = f.store->ungrant(kOperator, "tsm1", "acme");
  BOOST_TEST(!f.store->is_entitled("tsm1", "acme"));
  auto rec = f.store->find_audit(id);
  BOOST_TEST(rec->operation == "tsm.ungrant");
  BOOST_TEST(rec->issuer.value_or("") == "acme");
  BOOST_TEST(error_of([&] { f.store->ungrant(kOperator, "tsm1", "acme"); }) == StoreErrc::NotFound);
  BOOST_TEST(f.store->list_entitlements(std::nullopt).size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(keks)

BOOST_AUTO_TEST_CASE(lifecycle) {
  StoreFixture f;
  f.store->accredit_tsm(kOperator, test::sample_tsm("tsm1", 'A'));
  f.store->accredit_tsm(kOperator, test::sample_tsm("tsm2", 'B'));
  KekSpec spec = test::sample_kek("tsm1", 1);
  spec.valid_until = now_utc() + std::chrono::hours(24);
  f.store->add_kek(kOperator, spec);
  f.store->add_kek(kOperator, test::sample_kek("tsm1", 0xFFFFFFFFu));
  f.store->add_kek(kOperator, test::sample_kek("tsm2", 1));  // the index is per TSM

  auto k = f.store->find_kek("tsm1", 1);
  BOOST_REQUIRE(k);
  BOOST_TEST((k->state == KekState::Pending));
  BOOST_TEST((k->spec.algorithm == gp::KeyType::Aes256));
  BOOST_TEST(gp::to_hex(gp::view(k->spec.kcv)) == "0A0B0C");
  BOOST_TEST(k->spec.hsm_label == "tsm1-kek-1");
  BOOST_TEST(!k->usable_at(now_utc()));
  BOOST_TEST(f.store->find_kek("tsm1", 0xFFFFFFFFu).has_value());

  f.store->activate_kek(kOperator, "tsm1", 1);
  k = f.store->find_kek("tsm1", 1);
  BOOST_TEST((k->state == KekState::Active));
  BOOST_TEST(k->activated.has_value());
  BOOST_TEST(k->usable_at(now_utc()));
  BOOST_TEST(!k->usable_at(now_utc() + std::chrono::hours(25)));  // past valid_until

  f.store->retire_kek(kOperator, "tsm1", 1);
  k = f.store->find_kek("tsm1", 1);
  BOOST_TEST((k->state == KekState::Retired));
  BOOST_TEST(k->retired.has_value());
  BOOST_TEST(!k->usable_at(now_utc()));

  auto mine = f.store->list_keks("tsm1");
  BOOST_REQUIRE_EQUAL(mine.size(), 2u);
  BOOST_TEST(mine[0].spec.index == 1u);
  BOOST_TEST(mine[1].spec.index == 0xFFFFFFFFu);
  BOOST_TEST(f.store->list_keks(std::nullopt).size() == 3u);
  BOOST_TEST(f.store->verify_audit().ok);
}

BOOST_AUTO_TEST_CASE(illegal_transitions) {
  StoreFixture f;
  f.store->accredit_tsm(kOperator, test::sample_tsm("tsm1", 'A'));
  f.store->add_kek(kOperator, test::sample_kek("tsm1", 1));
  f.store->add_kek(kOperator, test::sample_kek("tsm1", 2));
  // pending -> retired skips active.
  BOOST_TEST(error_of([&] { f.store->retire_kek(kOperator, "tsm1", 1); }) == StoreErrc::IllegalTransition);
  f.store->activate_kek(kOperator, "tsm1", 1);
  BOOST_TEST(error_of([&] { f.store->activate_kek(kOperator, "tsm1", 1); }) == StoreErrc::IllegalTransition);
  f.store->retire_kek(kOperator, "tsm1", 1);
  BOOST_TEST(error_of([&] { f.store->activate_kek(kOperator, "tsm1", 1); }) == StoreErrc::IllegalTransition);
  BOOST_TEST(error_of([&] { f.store->retire_kek(kOperator, "tsm1", 1); }) == StoreErrc::IllegalTransition);
  BOOST_TEST((f.store->find_kek("tsm1", 1)->state == KekState::Retired));
  BOOST_TEST((f.store->find_kek("tsm1", 2)->state == KekState::Pending));
  AuditFilter refused;
  refused.result = "IllegalTransition";
  BOOST_TEST(f.store->list_audit(refused).size() == 4u);
  // The rule also holds for hand-written SQL (a trigger).
  BOOST_CHECK_THROW(test::raw_exec(f.db, "UPDATE keks SET state = 'active' WHERE kek_index = 1"), std::runtime_error);
  BOOST_CHECK_THROW(test::raw_exec(f.db, "UPDATE keks SET state = 'retired' WHERE kek_index = 2"), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(constraint_errors) {
  StoreFixture f;
  f.store->accredit_tsm(kOperator, test::sample_tsm("tsm1", 'A'));
  f.store->add_kek(kOperator, test::sample_kek("tsm1", 1));
  BOOST_TEST(error_of([&] { f.store->add_kek(kOperator, test::sample_kek("tsm1", 1)); }) == StoreErrc::Conflict);
  BOOST_TEST(error_of([&] { f.store->add_kek(kOperator, test::sample_kek("nobody", 1)); }) == StoreErrc::NotFound);
  BOOST_TEST(error_of([&] { f.store->activate_kek(kOperator, "tsm1", 7); }) == StoreErrc::NotFound);
  BOOST_TEST(error_of([&] { f.store->list_keks("nobody"); }) == StoreErrc::NotFound);
  KekSpec des = test::sample_kek("tsm1", 2);
  des.algorithm = gp::KeyType::Des2;
  BOOST_TEST(error_of([&] { f.store->add_kek(kOperator, des); }) == StoreErrc::InvalidArgument);
  KekSpec backwards = test::sample_kek("tsm1", 3);
  backwards.valid_from = now_utc();
  backwards.valid_until = *backwards.valid_from - std::chrono::seconds(1);
  BOOST_TEST(error_of([&] { f.store->add_kek(kOperator, backwards); }) == StoreErrc::InvalidArgument);
  f.store->revoke_tsm(kOperator, "tsm1");
  BOOST_TEST(error_of([&] { f.store->add_kek(kOperator, test::sample_kek("tsm1", 4)); }) == StoreErrc::Constraint);
  BOOST_TEST(f.store->list_keks("tsm1").size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(visibility)

// The admin CLI and the server hold separate stores on one file: a change by one is
// seen by the other's next call (nothing cached).
BOOST_AUTO_TEST_CASE(changes_by_another_store_are_seen_at_once) {
  StoreFixture server;
  auto admin = SqliteStore::open(server.db);
  admin->accredit_tsm(kOperator, test::sample_tsm("tsm1", 'A'));
  const std::string fp = admin->find_tsm("tsm1")->cert_sha256;
  BOOST_TEST((server.store->find_tsm_by_fingerprint(fp)->state == TsmState::Accredited));
  admin->revoke_tsm(kOperator, "tsm1");
  BOOST_TEST((server.store->find_tsm_by_fingerprint(fp)->state == TsmState::Revoked));
  admin->add_issuer(kOperator, test::sample_issuer());
  admin->grant(kOperator, "tsm1", "acme");
  BOOST_TEST(server.store->is_entitled("tsm1", "acme"));
  admin->ungrant(kOperator, "tsm1", "acme");
  BOOST_TEST(!server.store->is_entitled("tsm1", "acme"));
  // Both append to one chain.
  server.store->append(test::sample_release());
  admin->add_issuer(kOperator, test::sample_issuer("beta", "42B1"));
  server.store->append(test::sample_release());
  auto report = server.store->verify_audit();
  BOOST_TEST(report.ok, report.reason);
  BOOST_TEST(report.records == 8u);
}

BOOST_AUTO_TEST_SUITE_END()
