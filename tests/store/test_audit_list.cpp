// Audit list filters, as `sekds-admin audit list` uses them.
#include <boost/test/unit_test.hpp>

#include "store_errors.h"
#include "store_fixture.h"

using namespace sekds;
using namespace sekds::store;
using sekds::test::error_of;
using sekds::test::StoreFixture;

namespace {

// Six records at known times: tsm1/tsm2 releases for cards 1..3, one admin action.
struct ListFixture : StoreFixture {
  ListFixture() {
    const Timestamp base = *parse_timestamp("2026-03-01T10:00:00Z");
    for (int i = 0; i < 5; ++i) {
      AuditRecord r = test::sample_release(i % 2 ? "tsm2" : "tsm1", static_cast<std::uint8_t>(1 + i % 3));
      r.time = base + std::chrono::minutes(i);
      if (i == 4) r.result = "NotEntitled";
      store->append(r);
    }
    store->add_issuer(test::kOperator, test::sample_issuer());
  }
};

std::vector<AuditId> seqs(const std::vector<AuditEntry>& v) {
  std::vector<AuditId> out;
  for (const auto& e : v) out.push_back(e.seq);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(audit_list)

BOOST_AUTO_TEST_CASE(filters) {
  ListFixture f;
  AuditFilter all;
  BOOST_TEST(seqs(f.store->list_audit(all)) == (std::vector<AuditId>{6, 5, 4, 3, 2, 1}));
  all.newest_first = false;
  all.limit = 2;
  BOOST_TEST(seqs(f.store->list_audit(all)) == (std::vector<AuditId>{1, 2}));
  all.after_seq = 2;
  BOOST_TEST(seqs(f.store->list_audit(all)) == (std::vector<AuditId>{3, 4}));

  AuditFilter by_actor;
  by_actor.actor = "tsm2";
  BOOST_TEST(seqs(f.store->list_audit(by_actor)) == (std::vector<AuditId>{4, 2}));

  AuditFilter by_card;
  by_card.kdd = test::sample_kdd(1);
  BOOST_TEST(seqs(f.store->list_audit(by_card)) == (std::vector<AuditId>{4, 1}));

  AuditFilter by_op;
  by_op.operation = "issuer.add";
  auto admin = f.store->list_audit(by_op);
  BOOST_REQUIRE_EQUAL(admin.size(), 1u);
  BOOST_TEST(admin[0].actor == "alice");
  BOOST_TEST(!admin[0].kdd);

  AuditFilter since;
  since.since = parse_timestamp("2026-03-01T10:02:00Z");
  since.until = parse_timestamp("2026-03-01T10:04:00Z");
  BOOST_TEST(seqs(f.store->list_audit(since)) == (std::vector<AuditId>{4, 3}));

  AuditFilter failed;
  failed.result = "NotEntitled";
  failed.actor = "tsm1";
  BOOST_TEST(seqs(f.store->list_audit(failed)) == (std::vector<AuditId>{5}));

  const auto e = f.store->list_audit(by_card).back();
  BOOST_TEST(format_timestamp(e.time) == "2026-03-01T10:00:00.000Z");
  BOOST_TEST(e.kvn.value_or(0) == 0x30);
  BOOST_TEST(e.kek_index.value_or(0) == 1u);
  BOOST_TEST(e.issuer.value_or("") == "acme");
  BOOST_TEST(e.detail == R"({"counter":"000001","scp":3})");

  AuditFilter bad;
  bad.limit = 0;
  BOOST_TEST(error_of([&] { f.store->list_audit(bad); }) == StoreErrc::InvalidArgument);
  BOOST_TEST(!f.store->find_audit(99));
}

BOOST_AUTO_TEST_SUITE_END()
