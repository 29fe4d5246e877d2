#include "hsm/labels.h"

#include <cctype>

#include "hsm/error.h"

namespace sekds::hsm {

void check_name(std::string_view what, std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) ok = false;
  if (!ok)
    throw HsmError(HsmErrc::InvalidArgument, std::string(what) + " name '" + std::string(name) +
                                                 "' must be 1..64 characters of A-Z a-z 0-9 . _ -");
}

std::string master_key_label(std::string_view issuer, unsigned kvn, std::optional<gp::KeyRole> role) {
  check_name("issuer", issuer);
  if (kvn < 1 || kvn > 255) throw HsmError(HsmErrc::InvalidArgument, "key set version must be 1..255");
  std::string suffix = "all";
  if (role) {
    switch (*role) {
      case gp::KeyRole::Enc: suffix = "enc"; break;
      case gp::KeyRole::Mac: suffix = "mac"; break;
      case gp::KeyRole::Dek: suffix = "dek"; break;
    }
  }
  return "sekds/mk/" + std::string(issuer) + "/" + std::to_string(kvn) + "/" + suffix;
}

std::string kek_label(std::string_view tsm, unsigned index) {
  check_name("TSM", tsm);
  return "sekds/kek/" + std::string(tsm) + "/" + std::to_string(index);
}

MasterKeyRef MasterKeyRef::of_key_set(std::string_view issuer, unsigned kvn, bool shared) {
  if (shared) return MasterKeyRef::shared(master_key_label(issuer, kvn, std::nullopt));
  return {master_key_label(issuer, kvn, gp::KeyRole::Enc), master_key_label(issuer, kvn, gp::KeyRole::Mac),
          master_key_label(issuer, kvn, gp::KeyRole::Dek)};
}

const std::string& MasterKeyRef::of(gp::KeyRole r) const noexcept {
  switch (r) {
    case gp::KeyRole::Enc: return enc;
    case gp::KeyRole::Mac: return mac;
    case gp::KeyRole::Dek: return dek;
  }
  return enc;
}

}  // namespace sekds::hsm
