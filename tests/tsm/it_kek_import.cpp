// kek import against a throwaway SoftHSM token: good sheets are stored (unwrap-only) and their
// KCV recorded; any KCV mismatch or sheets that do not belong together store NOTHING.
#include <boost/test/unit_test.hpp>

#include <filesystem>

#include "gp/crypto.h"
#include "gp/kcv.h"
#include "hsm/hsm.h"
#include "kek_sheets.h"
#include "support.h"
#include "support/softhsm_token.h"
#include "tsm/error.h"
#include "tsm/kek_import.h"

using namespace sekds;
using namespace sekds::test;
using tsm::TsmErrc;

namespace {

struct TokenFixture {
  ScratchDir dir{"sekds-tsm-kek"};
  SoftHsmToken token{"tsm-kek"};
  std::unique_ptr<hsm::Hsm> hsm;
  TokenFixture() {
    hsm::HsmConfig c;
    c.module_path = SoftHsmToken::module_path();
    c.token = token.label();
    c.pin = hsm::PinSource::parse(token.user_pin_source());
    hsm = std::make_unique<hsm::Hsm>(std::move(c));
  }
  ~TokenFixture() { hsm.reset(); }
  std::string state() const { return dir / "kek-state.json"; }
  bool stored(std::uint32_t index) {
    return hsm->with_session("probe", [&](hsm::Session& s) { return hsm->label_exists(s, tsm::tsm_kek_label(index)); });
  }
};

// Expects import_kek to fail with `code` / `name`; then checks that nothing was stored.
void expect_refused(TokenFixture& f, std::uint32_t index, const std::vector<std::string>& files, TsmErrc code,
                    const std::string& name) {
  tsm::KekRegistry reg = tsm::KekRegistry::load(f.state());
  const std::size_t before = reg.records().size();
  try {
    tsm::import_kek(*f.hsm, reg, index, std::vector<std::filesystem::path>(files.begin(), files.end()));
    BOOST_FAIL("import accepted");
  } catch (const tsm::TsmError& e) {
    BOOST_TEST((e.code() == code), e.what());
    if (!name.empty()) BOOST_TEST(e.name() == name);
  }
  BOOST_TEST(!f.stored(index));
  BOOST_TEST(tsm::KekRegistry::load(f.state()).records().size() == before);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(kek_import)

BOOST_AUTO_TEST_CASE(good_sheets_are_stored_and_their_kcv_recorded) {
  TokenFixture f;
  for (unsigned custodians : {2u, 3u}) {
    const std::uint32_t index = custodians;
    const gp::SecureBytes kek = gp::random_secure(custodians == 2 ? 32 : 16);
    SheetOptions o;
    o.custodians = custodians;
    const auto files = write_kek_sheets(f.dir.path(), index, kek, o);
    tsm::KekRegistry reg = tsm::KekRegistry::load(f.state());
    const auto r = tsm::import_kek(*f.hsm, reg, index, std::vector<std::filesystem::path>(files.begin(), files.end()));
    BOOST_TEST(r.record.kcv == gp::kcv(gp::KcvAlg::AesGp, kek));
    BOOST_TEST(r.record.algorithm == (custodians == 2 ? "AES256" : "AES128"));
    BOOST_TEST(r.record.tsm == "tsm1");
    BOOST_TEST(r.component_kcvs.size() == custodians);
    BOOST_TEST(f.stored(index));
    const tsm::KekRegistry again = tsm::KekRegistry::load(f.state());
    BOOST_REQUIRE(again.find(index));
    BOOST_TEST(again.find(index)->kcv == r.record.kcv);
    BOOST_TEST(((std::filesystem::status(f.state()).permissions() & std::filesystem::perms::others_read) ==
                std::filesystem::perms::none));
  }
  // The stored copy unwraps what the TTP wraps under the same KEK (and cannot wrap itself).
}

BOOST_AUTO_TEST_CASE(a_wrong_component_kcv_stores_nothing) {
  TokenFixture f;
  SheetOptions o;
  o.wrong_component_kcv = true;
  expect_refused(f, 1, write_kek_sheets(f.dir.path(), 1, gp::random_secure(32), o), TsmErrc::Verification, "KcvMismatch");
}

BOOST_AUTO_TEST_CASE(a_wrong_combined_kcv_stores_nothing) {
  TokenFixture f;
  SheetOptions o;
  o.wrong_combined_kcv = true;
  expect_refused(f, 1, write_kek_sheets(f.dir.path(), 1, gp::random_secure(32), o), TsmErrc::Verification, "KcvMismatch");
  SheetOptions none;
  none.no_combined_kcv = true;
  expect_refused(f, 1, write_kek_sheets(f.dir.path(), 1, gp::random_secure(32), none), TsmErrc::Verification, "KcvMissing");
}

BOOST_AUTO_TEST_CASE(sheets_that_do_not_belong_together_store_nothing) {
  TokenFixture f;
  SheetOptions other;
  other.index_on_second_sheet = 7;
  expect_refused(f, 1, write_kek_sheets(f.dir.path(), 1, gp::random_secure(32), other), TsmErrc::Usage, "");
  const auto files = write_kek_sheets(f.dir.path(), 1, gp::random_secure(32));
  expect_refused(f, 1, {files[0], files[0]}, TsmErrc::Usage, "");          // one custodian twice
  expect_refused(f, 1, {files[0]}, TsmErrc::Usage, "");                    // one sheet is not dual control
  SheetOptions three;
  three.custodians = 3;
  const auto t = write_kek_sheets(f.dir.path(), 2, gp::random_secure(32), three);
  expect_refused(f, 2, {t[0], t[1]}, TsmErrc::Usage, "");                  // 2 of 3 components
  expect_refused(f, 1, {files[0], f.dir / "missing.txt"}, TsmErrc::Usage, "");
  write_private(f.dir / "garbage.txt", "format: something-else\n");
  expect_refused(f, 1, {files[0], f.dir / "garbage.txt"}, TsmErrc::Usage, "");
}

BOOST_AUTO_TEST_CASE(an_index_is_imported_once) {
  TokenFixture f;
  tsm::KekRegistry reg = tsm::KekRegistry::load(f.state());
  const auto files = write_kek_sheets(f.dir.path(), 5, gp::random_secure(32));
  tsm::import_kek(*f.hsm, reg, 5, std::vector<std::filesystem::path>(files.begin(), files.end()));
  const auto again = write_kek_sheets(f.dir.path(), 5, gp::random_secure(32));
  try {
    tsm::import_kek(*f.hsm, reg, 5, std::vector<std::filesystem::path>(again.begin(), again.end()));
    BOOST_FAIL("second import of index 5 accepted");
  } catch (const tsm::TsmError& e) {
    BOOST_TEST((e.code() == TsmErrc::Usage));
  }
  BOOST_TEST(tsm::KekRegistry::load(f.state()).records().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
