#include "tsm/local_key_source.h"

#include <algorithm>
#include <cctype>

#include "gp/error.h"
#include "process/secret_file.h"
#include "tsm/error.h"

namespace sekds::tsm {
namespace {

bool key_type_fits(gp::Scp scp, gp::KeyType t) noexcept {
  return scp == gp::Scp::Scp02 ? t == gp::KeyType::Des2 : gp::is_aes(t);
}

}  // namespace

gp::SecureBytes read_key_file(const std::filesystem::path& file) {
  using R = process::SecretFileError::Reason;
  process::SecretFile f;
  try {
    f = process::read_secret_file(file, 64 * 1024, process::ModeCheck::Any);
  } catch (const process::SecretFileError& e) {
    switch (e.reason()) {
      case R::Open: throw TsmError(TsmErrc::Config, file.string() + ": cannot read the key file (missing?)");
      case R::NotRegular: throw TsmError(TsmErrc::Config, file.string() + ": not a regular file");
      default: throw TsmError(TsmErrc::Config, std::string(e.what()));
    }
  }
  if ((f.mode & 077) != 0)
    throw TsmError(TsmErrc::Config, file.string() + ": key file is accessible by group or others (mode " +
                                        process::mode_text(f.mode) + "); chmod 600 it");
  // Take the first non-empty, non-comment line (views into the wiped buffer: no copies).
  const std::string_view all = gp::text_view(f.text);
  std::string_view line;
  std::size_t pos = 0;
  while (pos < all.size()) {
    std::size_t end = all.find('\n', pos);
    if (end == std::string_view::npos) end = all.size();
    line = all.substr(pos, end - pos);
    pos = end + 1;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
    if (!line.empty() && line.front() != '#') break;
    line = {};
  }
  if (line.empty()) throw TsmError(TsmErrc::Config, file.string() + ": the key file has no hex line");
  try {
    return gp::secure_from_hex(line, file.string());
  } catch (const gp::GpError&) {
    throw TsmError(TsmErrc::Config, file.string() + ": the key file's line is not hex");
  }
}

void OwnKeySet::check(const std::string& where) const {
  if (kvn < 0x01 || kvn > 0x7F) throw TsmError(TsmErrc::Config, where + ".kvn: must be 1..127");
  const std::size_t n = master.size();
  const std::string mf = master_file.empty() ? where + ".master_key_file" : master_file;
  if (gp::method_is_des(scheme.method)) {
    if (key_type != gp::KeyType::Des2)
      throw TsmError(TsmErrc::Config, where + ".key_type: " + gp::method_name(scheme.method) + " derives DES2 keys");
    if (n != 16)
      throw TsmError(TsmErrc::Config, mf + ": " + gp::method_name(scheme.method) + " needs a 16-byte master key, got " +
                                          std::to_string(n) + " bytes");
  } else {
    if (n != gp::key_length(key_type))
      throw TsmError(TsmErrc::Config, mf + ": a " + std::string(gp::key_type_name(key_type)) + " master key is " +
                                          std::to_string(gp::key_length(key_type)) + " bytes, got " + std::to_string(n));
    if (scheme.method != gp::DiversificationMethod::None && !gp::is_aes(key_type))
      throw TsmError(TsmErrc::Config, where + ".key_type: " + gp::method_name(scheme.method) + " derives AES keys");
  }
  if (scp && !key_type_fits(*scp, key_type))
    throw TsmError(TsmErrc::Config, where + ": " + gp::scp_name(*scp) + " cannot use " + gp::key_type_name(key_type) +
                                        " keys (SCP02: DES2, SCP03: AES)");
}

LocalKeySource::LocalKeySource(std::vector<OwnKeySet> sets, std::string name)
    : sets_(std::move(sets)), name_(std::move(name)) {}

const OwnKeySet* LocalKeySource::find_for(gp::Scp scp) const noexcept {
  for (const auto& s : sets_)
    if ((!s.scp || *s.scp == scp) && key_type_fits(scp, s.key_type)) return &s;
  return nullptr;
}

const OwnKeySet* LocalKeySource::find_for(const CardInfo& card) const {
  const gp::Scp scp = card.scp();
  std::vector<const OwnKeySet*> fitting;
  for (const auto& s : sets_)
    if ((!s.scp || *s.scp == scp) && key_type_fits(scp, s.key_type)) fitting.push_back(&s);
  std::optional<gp::KeyType> current;
  for (std::uint8_t kvn : card.key_set_versions()) {
    const auto check = card.key_information.check_key_set(kvn);
    if (!check.info) continue;
    for (const OwnKeySet* s : fitting)
      if (s->kvn == kvn && s->key_type == check.info->key_type) return s;
    if (!current) current = check.info->key_type;
  }
  if (current)
    for (const OwnKeySet* s : fitting)
      if (s->key_type == *current) return s;
  return fitting.empty() ? nullptr : fitting.front();
}

const OwnKeySet& LocalKeySource::set_for(const CardInfo& card) const {
  const OwnKeySet* s = find_for(card);
  if (!s)
    throw TsmError(TsmErrc::Config, std::string("no [[own_keys]] entry for ") + gp::scp_name(card.scp()) + " cards (" +
                                        (card.scp() == gp::Scp::Scp02 ? "DES2" : "AES") + " keys) in the configuration");
  return *s;
}

CardKeys LocalKeySource::card_keys(const CardInfo& card, std::optional<std::uint8_t> kvn) {
  const OwnKeySet& s = set_for(card);
  if (kvn && *kvn != s.kvn)
    throw TsmError(TsmErrc::Usage, "the TSM's own key set is " + kvn_text(s.kvn) + ", not " + kvn_text(*kvn));
  CardKeys k;
  k.source = name_;
  k.kvn = s.kvn;
  k.key_type = s.key_type;
  k.scp = card.scp();
  k.keys = translate_errors("own keys", [&] { return gp::diversify(s.scheme, s.master, card.kdd.bytes()); });
  k.kcv_alg = gp::gp_kcv_alg(s.key_type);
  for (auto role : gp::kKeyRoles) k.kcv[static_cast<std::size_t>(role) - 1] = gp::kcv(k.kcv_alg, k.keys.of(role));
  return k;
}

}  // namespace sekds::tsm
