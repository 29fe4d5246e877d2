// The audit hash chain: canonical form (known answers computed independently with Python's
// hashlib from the documented form), linkage, and tampering with raw SQL caught by
// verify() at the record that was touched.
#include <boost/test/unit_test.hpp>

#include "store/audit_hash.h"
#include "store_errors.h"
#include "store_fixture.h"

using namespace sekds;
using namespace sekds::store;
using sekds::test::error_of;
using sekds::test::raw_exec;
using sekds::test::raw_query;
using sekds::test::StoreFixture;

namespace {

AuditEntry kat_entry() {
  AuditEntry e;
  e.seq = 1;
  e.time = *parse_timestamp("2026-01-02T03:04:05.678Z");
  e.actor = "tsm1";
  e.operation = std::string(kOpKeyRelease);
  e.kdd = gp::from_hex("00010203040506070801");
  e.issuer = "acme";
  e.kvn = 48;
  e.kek_index = 1;
  e.result = "OK";
  e.request_id = "r-1";
  e.detail = R"({"counter":"000001","scp":3})";
  e.prev_hash = genesis_hash();
  return e;
}

// A store with `n` release records.
struct ChainFixture : StoreFixture {
  explicit ChainFixture(int n = 10) {
    for (int i = 1; i <= n; ++i) {
      AuditRecord r = test::sample_release(i % 2 ? "tsm1" : "tsm2", static_cast<std::uint8_t>(i));
      r.request_id = "req-" + std::to_string(i);
      BOOST_REQUIRE_EQUAL(store->append(r).seq, static_cast<AuditId>(i));
    }
    BOOST_REQUIRE(store->verify_audit().ok);
  }
  // What an attacker with the file does first.
  void drop_guards() { raw_exec(db, "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;"); }
  void expect_break(AuditId seq, AuditBreak kind) {
    const VerifyReport r = store->verify_audit();
    BOOST_TEST_MESSAGE(r.reason);
    BOOST_TEST(!r.ok);
    BOOST_TEST(r.first_bad.value_or(0) == seq);
    BOOST_TEST(audit_break_name(r.kind) == audit_break_name(kind));
    BOOST_TEST(r.reason.find("audit record " + std::to_string(seq)) != std::string::npos);
    BOOST_TEST(r.records == seq - 1);
  }
};

std::string column_list() {
  return "seq, time, actor, operation, kdd, issuer, kvn, kek_index, result, request_id, detail, prev_hash, hash";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(audit_chain)

BOOST_AUTO_TEST_CASE(canonical_form_known_answers) {
  AuditEntry e = kat_entry();
  BOOST_TEST(audit_hash(e) == "B93E1B3CC864D1DA5B00AB0B53A8467979E17962413776FBBE56DF3720F8869A");
  e.kdd.reset();
  e.issuer.reset();
  e.kvn.reset();
  e.kek_index.reset();
  e.request_id.reset();
  BOOST_TEST(audit_hash(e) == "367023963B02F584B42AE4D9CD3C53D4D58C09CD94EF2C6A4E81B3B2013DB423");
  // Length prefixes: moving a character from one field to the next changes the hash.
  AuditEntry a = kat_entry(), b = kat_entry();
  a.actor = "tsm1W";
  a.operation = "SGetDiversifiedKeys";
  b.actor = "tsm1";
  b.operation = "WSGetDiversifiedKeys";
  BOOST_TEST(audit_hash(a) != audit_hash(b));
  // NULL and empty text differ.
  a = kat_entry();
  a.request_id = "";
  BOOST_TEST(audit_hash(a) != audit_hash(kat_entry()));
  const std::string c = canonical_audit_content(audit_text(kat_entry()));
  BOOST_TEST(c.substr(0, 14) == "sekds-audit-v1");
  BOOST_TEST(c.substr(14, 6) == std::string("\x01\x00\x00\x00\x01" "1", 6));
}

BOOST_AUTO_TEST_CASE(records_link_to_their_predecessor) {
  ChainFixture f(5);
  AuditFilter all;
  all.newest_first = false;
  auto v = f.store->list_audit(all);
  BOOST_REQUIRE_EQUAL(v.size(), 5u);
  BOOST_TEST(v[0].prev_hash == genesis_hash());
  for (std::size_t i = 0; i < v.size(); ++i) {
    BOOST_TEST(v[i].seq == i + 1);
    BOOST_TEST(v[i].hash == audit_hash(v[i]));
    if (i > 0) BOOST_TEST(v[i].prev_hash == v[i - 1].hash);
  }
  const ChainHead head = f.store->audit_head();
  BOOST_TEST(head.seq == 5u);
  BOOST_TEST(head.hash == v.back().hash);
  const VerifyReport r = f.store->verify_audit();
  BOOST_TEST(r.ok);
  BOOST_TEST(r.records == 5u);
  BOOST_TEST(!r.first_bad);
}

BOOST_AUTO_TEST_CASE(empty_log_verifies) {
  StoreFixture f;
  const VerifyReport r = f.store->verify_audit();
  BOOST_TEST(r.ok);
  BOOST_TEST(r.records == 0u);
  BOOST_TEST(r.head.seq == 0u);
}

BOOST_AUTO_TEST_CASE(append_only_guard) {
  ChainFixture f(3);
  BOOST_CHECK_THROW(raw_exec(f.db, "UPDATE audit SET result = 'x' WHERE seq = 2"), std::runtime_error);
  BOOST_CHECK_THROW(raw_exec(f.db, "DELETE FROM audit WHERE seq = 2"), std::runtime_error);
  BOOST_TEST(f.store->verify_audit().ok);
}

BOOST_AUTO_TEST_CASE(edited_record) {
  ChainFixture f;
  f.drop_guards();
  raw_exec(f.db, "UPDATE audit SET result = 'NotEntitled' WHERE seq = 5");
  f.expect_break(5, AuditBreak::ContentMismatch);
}

BOOST_AUTO_TEST_CASE(edited_detail_and_time) {
  {
    ChainFixture f;
    f.drop_guards();
    raw_exec(f.db, "UPDATE audit SET detail = '{\"counter\":\"000002\",\"scp\":3}' WHERE seq = 3");
    f.expect_break(3, AuditBreak::ContentMismatch);
  }
  {
    // The same instant written another way is still an edit: the stored text is hashed.
    ChainFixture f;
    f.drop_guards();
    raw_exec(f.db, "UPDATE audit SET time = replace(time, 'T', ' ') WHERE seq = 7");
    f.expect_break(7, AuditBreak::ContentMismatch);
  }
  {
    ChainFixture f;
    f.drop_guards();
    raw_exec(f.db, "UPDATE audit SET kdd = NULL WHERE seq = 2");
    f.expect_break(2, AuditBreak::ContentMismatch);
  }
}

BOOST_AUTO_TEST_CASE(edited_record_with_recomputed_hash) {
  // A forger who also recomputes the edited record's hash is caught at the next record,
  // whose prev_hash still names the original.
  ChainFixture f;
  f.drop_guards();
  AuditEntry e = *f.store->find_audit(5);
  e.result = "NotEntitled";
  raw_exec(f.db, "UPDATE audit SET result = 'NotEntitled', hash = '" + audit_hash(e) + "' WHERE seq = 5");
  f.expect_break(6, AuditBreak::LinkMismatch);
}

BOOST_AUTO_TEST_CASE(deleted_record) {
  ChainFixture f;
  f.drop_guards();
  raw_exec(f.db, "DELETE FROM audit WHERE seq = 4");
  f.expect_break(4, AuditBreak::Missing);
}

BOOST_AUTO_TEST_CASE(deleted_first_record) {
  ChainFixture f;
  f.drop_guards();
  raw_exec(f.db, "DELETE FROM audit WHERE seq = 1");
  f.expect_break(1, AuditBreak::Missing);
}

BOOST_AUTO_TEST_CASE(deleted_tail) {
  ChainFixture f;
  f.drop_guards();
  raw_exec(f.db, "DELETE FROM audit WHERE seq >= 9");
  f.expect_break(9, AuditBreak::HeadMismatch);
  // Appending continues from the recorded head, so the hole stays visible.
  BOOST_TEST(f.store->append(test::sample_release()).seq == 11u);
  f.expect_break(9, AuditBreak::Missing);
}

BOOST_AUTO_TEST_CASE(inserted_record) {
  // Make room at 5 (renumber 5..10 to 6..11) and put a copy of record 4 there.
  ChainFixture f;
  f.drop_guards();
  raw_exec(f.db,
           "UPDATE audit SET seq = seq + 1000 WHERE seq >= 5;"
           "UPDATE audit SET seq = seq - 999 WHERE seq >= 1005;"
           "INSERT INTO audit (" + column_list() + ") SELECT 5, time, actor, operation, kdd, issuer, kvn, kek_index,"
           " result, request_id, detail, hash, hash FROM audit WHERE seq = 4;"
           "UPDATE audit_head SET seq = 11");
  f.expect_break(5, AuditBreak::ContentMismatch);
}

BOOST_AUTO_TEST_CASE(forged_record_appended_outside_sekds) {
  // Even a perfectly forged record (right prev_hash, right hash) after the head is named,
  // because the head did not move.
  ChainFixture f;
  f.drop_guards();
  AuditEntry e = *f.store->find_audit(10);
  e.seq = 11;
  e.prev_hash = e.hash;
  e.result = "OK";
  e.hash = audit_hash(e);
  raw_exec(f.db, "INSERT INTO audit (" + column_list() + ") SELECT 11, time, actor, operation, kdd, issuer, kvn,"
                 " kek_index, result, request_id, detail, '" + e.prev_hash + "', '" + e.hash +
                 "' FROM audit WHERE seq = 10");
  f.expect_break(11, AuditBreak::HeadMismatch);
}

BOOST_AUTO_TEST_CASE(reordered_records) {
  ChainFixture f;
  f.drop_guards();
  raw_exec(f.db,
           "UPDATE audit SET seq = -1 WHERE seq = 4;"
           "UPDATE audit SET seq = 4 WHERE seq = 6;"
           "UPDATE audit SET seq = 6 WHERE seq = -1;");
  f.expect_break(4, AuditBreak::ContentMismatch);
}

BOOST_AUTO_TEST_CASE(replaced_head) {
  ChainFixture f;
  f.drop_guards();
  raw_exec(f.db, "UPDATE audit_head SET hash = '" + std::string(64, 'A') + "'");
  f.expect_break(10, AuditBreak::HeadMismatch);
}

BOOST_AUTO_TEST_CASE(record_validation) {
  StoreFixture f;
  AuditRecord r = test::sample_release();
  r.actor.clear();
  BOOST_TEST(error_of([&] { f.store->append(r); }) == StoreErrc::InvalidArgument);
  r = test::sample_release();
  r.detail = nlohmann::json::array({1, 2});
  BOOST_TEST(error_of([&] { f.store->append(r); }) == StoreErrc::InvalidArgument);
  r = test::sample_release();
  r.detail = {{"blob", std::string(5000, 'x')}};
  BOOST_TEST(error_of([&] { f.store->append(r); }) == StoreErrc::InvalidArgument);
  r = test::sample_release();
  r.request_id = std::string(300, 'r');
  BOOST_TEST(error_of([&] { f.store->append(r); }) == StoreErrc::InvalidArgument);
  BOOST_TEST(f.store->audit_head().seq == 0u);  // nothing appended, no seq consumed
  r = test::sample_release();
  r.detail = {{"z", 1}, {"a", "\xff"}};  // keys sorted; invalid UTF-8 replaced, not refused
  const AuditId seq = f.store->append(r).seq;
  BOOST_TEST(seq == 1u);
  BOOST_TEST(f.store->find_audit(seq)->detail == "{\"a\":\"\xEF\xBF\xBD\",\"z\":1}");
  BOOST_TEST(f.store->verify_audit().ok);
}

BOOST_AUTO_TEST_SUITE_END()
