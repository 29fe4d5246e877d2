#include "admin/components.h"

#include <set>

#include "admin/errors.h"
#include "admin/files.h"
#include "admin/terminal.h"
#include "gp/error.h"

namespace sekds::admin {

namespace {

[[noreturn]] void refuse(const std::string& name, const std::string& message) {
  throw AdminError(ExitCode::Refused, name, message);
}

std::string sheet_text(std::size_t i, const gp::ComponentSheet& s) {
  return "sheet " + std::to_string(i + 1) + " (custodian " + std::to_string(s.custodian) + " of " +
         std::to_string(s.custodians) + ")";
}

std::string describe_target(const SheetExpectation& e) {
  if (e.purpose == gp::ComponentPurpose::Kek)
    return "KEK of TSM '" + e.tsm + "' index " + (e.kek_index ? std::to_string(*e.kek_index) : std::string("?"));
  return "master key set of issuer '" + e.issuer + "' KVN " + (e.kvn ? std::to_string(*e.kvn) : std::string("?"));
}

std::vector<std::optional<gp::KeyRole>> roles_of(bool per_role) {
  if (!per_role) return {std::nullopt};
  return {gp::KeyRole::Enc, gp::KeyRole::Mac, gp::KeyRole::Dek};
}

}  // namespace

std::string role_text(const std::optional<gp::KeyRole>& role) { return role ? gp::key_role_name(*role) : "key"; }

SheetExpectation expectation_of(const gp::ComponentSheet& first) {
  SheetExpectation e;
  e.purpose = first.purpose;
  e.key_type = first.key_type;
  e.kcv_alg = first.kcv_alg;
  e.per_role = first.per_role();
  e.issuer = first.issuer;
  e.kvn = first.kvn;
  e.tsm = first.tsm;
  e.kek_index = first.kek_index;
  return e;
}

gp::ComponentSheet load_sheet(const std::filesystem::path& file) {
  const gp::SecureText text = read_private_file(file);
  try {
    return gp::parse_key_component(std::string_view(text.data(), text.size()));
  } catch (const gp::GpError& e) {
    refuse("BadComponentSheet", file.string() + ": " + e.what());
  }
}

gp::ComponentSheet prompt_sheet(const SheetExpectation& e, unsigned custodian, unsigned custodians) {
  gp::ComponentSheet c;
  c.purpose = e.purpose;
  c.key_type = e.key_type;
  c.kcv_alg = e.kcv_alg;
  c.issuer = e.issuer;
  c.kvn = e.kvn;
  c.tsm = e.tsm;
  c.kek_index = e.kek_index;
  c.custodian = custodian;
  c.custodians = custodians;
  const std::string who = "Custodian " + std::to_string(custodian) + " of " + std::to_string(custodians);
  for (const auto& role : roles_of(e.per_role)) {
    const std::string what = role ? std::string(" (") + gp::key_role_name(*role) + ")" : std::string();
    gp::ComponentShare s;
    s.role = role;
    auto typed = read_secret_line(who + ", type your component" + what + " in hex (not echoed): ");
    if (!typed) refuse("NotConfirmed", "end of input while reading the component of custodian " + std::to_string(custodian));
    try {
      s.value = gp::secure_from_hex(std::string_view(typed->data(), typed->size()),
                                    "component" + what + " of custodian " + std::to_string(custodian));
    } catch (const gp::GpError& err) {
      refuse("BadComponentSheet", err.what());
    }
    if (s.value.size() != gp::key_length(e.key_type))
      refuse("BadComponentSheet", "component" + what + " of custodian " + std::to_string(custodian) + " is " +
                                      std::to_string(s.value.size()) + " bytes, " + gp::key_type_name(e.key_type) +
                                      " needs " + std::to_string(gp::key_length(e.key_type)));
    auto kcv = read_line(who + ", type the KCV" + what + " printed on your sheet: ");
    if (!kcv) refuse("NotConfirmed", "end of input while reading the KCV of custodian " + std::to_string(custodian));
    try {
      s.kcv = gp::from_hex(*kcv, "KCV" + what + " of custodian " + std::to_string(custodian));
    } catch (const gp::GpError& err) {
      refuse("BadComponentSheet", err.what());
    }
    if (s.kcv.size() < 3 || s.kcv.size() > 16)
      refuse("BadComponentSheet", "KCV" + what + " of custodian " + std::to_string(custodian) + ": 3..16 bytes");
    c.shares.push_back(std::move(s));
  }
  return c;
}

std::vector<CombinedKey> combine_sheets(const std::vector<gp::ComponentSheet>& sheets, const SheetExpectation& e,
                                        const std::vector<gp::Bytes>& combined_kcv, nlohmann::json& detail) {
  if (sheets.size() < 2 || sheets.size() > 3)
    usage_error("a key is combined from 2 or 3 components, got " + std::to_string(sheets.size()));
  const std::string target = describe_target(e);
  std::set<unsigned> numbers;
  for (std::size_t i = 0; i < sheets.size(); ++i) {
    const gp::ComponentSheet& s = sheets[i];
    const std::string name = sheet_text(i, s);
    auto mismatch = [&](const std::string& what) { refuse("ComponentMismatch", name + ": " + what + " (expected a " + target + ")"); };
    if (s.purpose != e.purpose) mismatch(std::string("is a ") + gp::component_purpose_name(s.purpose) + " sheet");
    if (e.purpose == gp::ComponentPurpose::MasterKey) {
      if (s.issuer != e.issuer || s.kvn != e.kvn)
        mismatch("is for issuer '" + s.issuer + "' KVN " + (s.kvn ? std::to_string(*s.kvn) : std::string("?")));
    } else if (s.tsm != e.tsm || s.kek_index != e.kek_index) {
      mismatch("is for TSM '" + s.tsm + "' index " + (s.kek_index ? std::to_string(*s.kek_index) : std::string("?")));
    }
    if (s.key_type != e.key_type) mismatch(std::string("holds a ") + gp::key_type_name(s.key_type) + " key, not " + gp::key_type_name(e.key_type));
    if (s.kcv_alg != e.kcv_alg)
      mismatch(std::string("uses KCV convention ") + gp::kcv_alg_name(s.kcv_alg) + ", not " + gp::kcv_alg_name(e.kcv_alg));
    if (s.per_role() != e.per_role) mismatch(s.per_role() ? "holds per-role components" : "holds one key, not per-role components");
    if (s.custodians != sheets.size())
      mismatch("says " + std::to_string(s.custodians) + " custodians, but " + std::to_string(sheets.size()) + " components were given");
    if (!numbers.insert(s.custodian).second) mismatch("custodian " + std::to_string(s.custodian) + " appears twice");
  }

  // Each component on its own first, so a mistyped one is named.
  nlohmann::json comps = nlohmann::json::array();
  for (std::size_t i = 0; i < sheets.size(); ++i) {
    nlohmann::json kcvs = nlohmann::json::object();
    for (const auto& share : sheets[i].shares) {
      const gp::Bytes computed = gp::kcv(e.kcv_alg, gp::view(share.value), share.kcv.size());
      kcvs[role_text(share.role)] = gp::to_hex(computed);
      if (!gp::equal_ct(computed, share.kcv)) {
        detail["custodian"] = sheets[i].custodian;
        detail["role"] = role_text(share.role);
        detail["kcv_expected"] = gp::to_hex(share.kcv);
        detail["kcv_computed"] = gp::to_hex(computed);
        refuse("KcvMismatch", sheet_text(i, sheets[i]) + ": the " + role_text(share.role) + " component has KCV " +
                                  gp::to_hex(computed) + " (" + gp::kcv_alg_name(e.kcv_alg) + "), the sheet says " +
                                  gp::to_hex(share.kcv) + "; nothing was combined");
      }
    }
    comps.push_back({{"custodian", sheets[i].custodian}, {"kcv", kcvs}});
  }
  detail["components"] = comps;

  const auto roles = roles_of(e.per_role);
  if (!combined_kcv.empty() && combined_kcv.size() != roles.size())
    usage_error("--combined-kcv: give " + std::to_string(roles.size()) + " value(s), one per key");
  std::vector<CombinedKey> out;
  for (std::size_t r = 0; r < roles.size(); ++r) {
    std::vector<const gp::ComponentShare*> shares;
    std::optional<gp::Bytes> expected;
    for (std::size_t i = 0; i < sheets.size(); ++i) {
      const gp::ComponentShare* s = sheets[i].share(roles[r]);
      shares.push_back(s);
      if (s->combined_kcv) {
        if (expected && *expected != *s->combined_kcv)
          refuse("ComponentMismatch", "the sheets disagree on the combined " + role_text(roles[r]) + " KCV (" +
                                          gp::to_hex(*expected) + " and " + gp::to_hex(*s->combined_kcv) + ")");
        expected = s->combined_kcv;
      }
    }
    if (!combined_kcv.empty()) {
      if (expected && *expected != combined_kcv[r])
        refuse("ComponentMismatch", "--combined-kcv " + gp::to_hex(combined_kcv[r]) + " differs from the sheets' " +
                                        gp::to_hex(*expected));
      expected = combined_kcv[r];
    }
    CombinedKey k;
    k.role = roles[r];
    k.value = gp::xor_shares(shares);
    k.kcv = gp::kcv(e.kcv_alg, gp::view(k.value));
    k.expected = expected;
    detail["combined_kcv"][role_text(roles[r])] = gp::to_hex(k.kcv);
    if (expected) {
      const gp::Bytes computed = gp::kcv(e.kcv_alg, gp::view(k.value), expected->size());
      if (!gp::equal_ct(computed, *expected)) {
        detail["combined_kcv_expected"] = gp::to_hex(*expected);
        refuse("KcvMismatch", "the combined " + (roles[r] ? role_text(roles[r]) + " key" : std::string("key")) + " has KCV " + gp::to_hex(computed) +
                                  ", expected " + gp::to_hex(*expected) + "; nothing was imported");
      }
    }
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace sekds::admin
