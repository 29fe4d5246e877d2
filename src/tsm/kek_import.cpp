#include "tsm/kek_import.h"

#include <set>

#include "gp/error.h"
#include "gp/kcv.h"
#include "gp/key_component.h"
#include "hsm/error.h"
#include "hsm/hsm.h"
#include "hsm/kek.h"
#include "process/secret_file.h"
#include "tsm/error.h"

namespace sekds::tsm {
namespace {

gp::SecureText read_sheet(const std::filesystem::path& p) {
  try {
    return process::read_secret_file(p, 64 * 1024, process::ModeCheck::Any).text;
  } catch (const process::SecretFileError& e) {
    throw TsmError(TsmErrc::Usage, std::string(e.what()) + " (the component file)");
  }
}

}  // namespace

KekImportResult import_kek(hsm::Hsm& hsm, KekRegistry& registry, std::uint32_t index,
                           const std::vector<std::filesystem::path>& files) {
  if (files.size() < 2 || files.size() > 3)
    throw TsmError(TsmErrc::Usage, "kek import needs 2 or 3 --component files (dual control), got " + std::to_string(files.size()));
  if (registry.find(index))
    throw TsmError(TsmErrc::Usage, "KEK index " + std::to_string(index) + " was imported already (" + registry.file().string() + ")");

  std::vector<gp::ComponentSheet> sheets;
  for (const auto& f : files) {
    const gp::SecureText text = read_sheet(f);
    try {
      sheets.push_back(gp::parse_key_component(std::string_view(text.data(), text.size())));
    } catch (const gp::GpError& e) {
      throw TsmError(TsmErrc::Usage, f.string() + ": " + e.what(), e.name());
    }
  }
  // The sheets must be the components of one KEK: this index, one TSM, one key type, distinct
  // custodians, as many sheets as custodians.
  const gp::ComponentSheet& first = sheets.front();
  std::set<unsigned> custodians;
  for (std::size_t i = 0; i < sheets.size(); ++i) {
    const gp::ComponentSheet& s = sheets[i];
    const std::string f = files[i].string();
    if (s.purpose != gp::ComponentPurpose::Kek)
      throw TsmError(TsmErrc::Usage, f + ": a " + gp::component_purpose_name(s.purpose) + " component, not a KEK component");
    if (!s.kek_index || *s.kek_index != index)
      throw TsmError(TsmErrc::Usage, f + ": a component of KEK index " + (s.kek_index ? std::to_string(*s.kek_index) : "?") +
                                         ", not " + std::to_string(index));
    if (!gp::is_aes(s.key_type))
      throw TsmError(TsmErrc::Usage, f + ": a KEK is AES-128/192/256, the sheet says " + gp::key_type_name(s.key_type));
    if (s.per_role() || s.shares.size() != 1) throw TsmError(TsmErrc::Usage, f + ": a KEK sheet holds one component");
    if (s.tsm != first.tsm) throw TsmError(TsmErrc::Usage, f + ": for TSM '" + s.tsm + "', the first sheet for '" + first.tsm + "'");
    if (s.key_type != first.key_type || s.kcv_alg != first.kcv_alg)
      throw TsmError(TsmErrc::Usage, f + ": key type or KCV convention differs from the first sheet's");
    if (s.custodians != first.custodians)
      throw TsmError(TsmErrc::Usage, f + ": says " + std::to_string(s.custodians) + " custodians, the first sheet " +
                                         std::to_string(first.custodians));
    if (!custodians.insert(s.custodian).second)
      throw TsmError(TsmErrc::Usage, f + ": custodian " + std::to_string(s.custodian) + " given twice");
  }
  if (sheets.size() != first.custodians)
    throw TsmError(TsmErrc::Usage, "the KEK was split among " + std::to_string(first.custodians) + " custodians; " +
                                       std::to_string(sheets.size()) + " components given");

  KekImportResult res;
  res.kcv_convention = gp::kcv_alg_name(first.kcv_alg);
  res.custodians = first.custodians;
  std::vector<const gp::ComponentShare*> shares;
  for (std::size_t i = 0; i < sheets.size(); ++i) {
    try {
      gp::check_component_kcvs(sheets[i]);
    } catch (const gp::GpError& e) {
      throw TsmError(TsmErrc::Verification, files[i].string() + ": " + e.what() + "; nothing was stored", "KcvMismatch");
    }
    res.component_kcvs.push_back(sheets[i].shares.front().kcv);
    shares.push_back(&sheets[i].shares.front());
  }
  const gp::SecureBytes combined = gp::xor_shares(shares);
  const gp::Bytes combined_kcv = gp::kcv(first.kcv_alg, combined);
  bool checked = false;
  for (std::size_t i = 0; i < sheets.size(); ++i) {
    const auto& want = sheets[i].shares.front().combined_kcv;
    if (!want) continue;
    if (combined_kcv.size() < want->size() || !gp::equal_ct(gp::ByteView(combined_kcv).first(want->size()), *want))
      throw TsmError(TsmErrc::Verification, "the combined KEK has KCV " + gp::to_hex(combined_kcv) + ", " + files[i].string() +
                                                " says " + gp::to_hex(*want) + "; nothing was stored",
                     "KcvMismatch");
    checked = true;
  }
  if (!checked)
    throw TsmError(TsmErrc::Verification, "no component sheet carries the combined KCV, so the combined KEK cannot be checked; "
                                          "nothing was stored",
                   "KcvMissing");

  KekRecord rec;
  rec.index = index;
  rec.label = tsm_kek_label(index);
  rec.algorithm = gp::key_type_name(first.key_type);
  rec.tsm = first.tsm;
  rec.imported_at = utc_now_rfc3339();
  hsm::KekStore store(hsm);
  try {
    rec.kcv = store.import_unwrap_kek(rec.label, combined);
  } catch (const hsm::HsmError& e) {
    throw TsmError(TsmErrc::Hsm, "store KEK " + std::to_string(index) + " in the token: " + e.what(), e.name());
  }
  try {
    registry.add(rec);
  } catch (...) {
    // No orphan: a KEK whose KCV is not recorded could never be checked.
    try {
      hsm.destroy_object(rec.label);
    } catch (...) {
    }
    throw;
  }
  res.record = std::move(rec);
  return res;
}

}  // namespace sekds::tsm
