#include "tsm/session.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "gp/error.h"
#include "gp/put_key.h"
#include "gp/scp02.h"
#include "gp/scp03.h"
#include "gp/status_word.h"
#include "tsm/error.h"

namespace sekds::tsm {
namespace {

std::string hex2(std::uint8_t b) {
  char s[8];
  std::snprintf(s, sizeof s, "%02X", b);
  return s;
}

[[noreturn]] void sw_error(const CardTransport& t, std::uint16_t sw, const std::string& what) {
  gp::StatusWordError e(sw, what);
  throw TsmError(TsmErrc::CardStatus, t.describe() + ": " + e.what(), e.name());
}

// The protocol's i: SCP02 does not send it, so '66' is the only source (55 when absent, the
// common default); SCP03 sends it in INITIALIZE UPDATE, which is checked against '66' later.
std::uint8_t announced_i(const CardInfo& card, gp::Scp scp) {
  if (auto o = card.scp_option(); o && o->scp == static_cast<std::uint8_t>(scp)) return o->i;
  return scp == gp::Scp::Scp02 ? 0x55 : 0x70;
}

void check_level(gp::Scp scp, std::uint8_t i, gp::SecurityLevel level) {
  if (scp == gp::Scp::Scp02) {
    if (level.r_encryption())
      throw TsmError(TsmErrc::Usage, "SCP02 has no R-ENCRYPTION; choose another --level", "LevelNotSupported");
    if (level.r_mac() && (i & gp::scp02_i::kRMacSupport) == 0)
      throw TsmError(TsmErrc::Usage, "the card's SCP02 i=" + hex2(i) + " offers no R-MAC; choose another --level",
                     "LevelNotSupported");
    return;
  }
  try {
    gp::check_scp03_level(i, level);
  } catch (const gp::GpError& e) {
    throw TsmError(TsmErrc::Usage, "the card's SCP03 i=" + hex2(i) + ": " + e.what() + "; choose another --level",
                   "LevelNotSupported");
  }
}

}  // namespace

gp::SecurityLevel parse_level(const std::string& text, const std::string& what) {
  std::string t;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "none" || t == "auth") return gp::SecurityLevel{};
  std::uint8_t b = 0;
  bool words = false;
  std::size_t pos = 0;
  while (pos <= t.size() && !t.empty()) {
    const auto plus = t.find('+', pos);
    const std::string w = t.substr(pos, plus == std::string::npos ? std::string::npos : plus - pos);
    if (w == "cmac" || w == "c-mac") b |= gp::SecurityLevel::kCMac, words = true;
    else if (w == "cdec" || w == "c-dec" || w == "c-decryption" || w == "cenc" || w == "c-enc")
      b |= gp::SecurityLevel::kCDecryption | gp::SecurityLevel::kCMac, words = true;
    else if (w == "rmac" || w == "r-mac") b |= gp::SecurityLevel::kRMac, words = true;
    else if (w == "renc" || w == "r-enc" || w == "r-encryption")
      b |= gp::SecurityLevel::kREncryption | gp::SecurityLevel::kRMac, words = true;
    else {
      words = false;
      break;
    }
    if (plus == std::string::npos) break;
    pos = plus + 1;
  }
  if (!words) {
    std::string h = t.rfind("0x", 0) == 0 ? t.substr(2) : t;
    if (h.size() != 2 || !std::isxdigit(static_cast<unsigned char>(h[0])) || !std::isxdigit(static_cast<unsigned char>(h[1])))
      throw TsmError(TsmErrc::Usage, what + ": '" + text +
                                         "' is not a security level (cmac, cmac+cdec, cmac+rmac, cmac+cdec+rmac, "
                                         "cmac+cdec+rmac+renc, none, or the byte in hex: 01 03 11 13 33)");
    b = static_cast<std::uint8_t>(std::stoi(h, nullptr, 16));
  }
  if (!gp::SecurityLevel::valid(b))
    throw TsmError(TsmErrc::Usage, what + ": level " + hex2(b) + " is not one GlobalPlatform defines (00 01 03 11 13 33)");
  return gp::SecurityLevel(b);
}

std::string level_text(gp::SecurityLevel level) {
  if (level.byte() == 0) return "NONE";
  std::string s;
  auto add = [&](bool on, const char* n) {
    if (on) s += (s.empty() ? "" : "+") + std::string(n);
  };
  add(level.c_mac(), "C-MAC");
  add(level.c_decryption(), "C-DEC");
  add(level.r_mac(), "R-MAC");
  add(level.r_encryption(), "R-ENC");
  return s;
}

nlohmann::ordered_json session_json(const SessionInfo& s) {
  nlohmann::ordered_json j;
  j["scp"] = gp::scp_name(s.scp);
  j["i"] = hex2(s.i);
  j["level"] = level_text(s.level);
  j["level_byte"] = hex2(s.level.byte());
  j["kvn"] = s.kvn;
  j["sequence_counter"] = s.sequence_counter;
  j["keys"] = s.keys_source;
  return j;
}

Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Session Session::open(CardTransport& t, const CardInfo& card, const CardKeys& keys, gp::SecurityLevel level) {
  const gp::Scp scp = card.scp();
  if (keys.scp != scp)
    throw TsmError(TsmErrc::Usage, std::string("keys for ") + gp::scp_name(keys.scp) + " but the card speaks " + gp::scp_name(scp));
  std::uint8_t i = announced_i(card, scp);
  check_level(scp, i, level);

  gp::HostSessionOptions ho;
  ho.scp02_i = i;
  ho.s16 = scp == gp::Scp::Scp03 && (i & gp::scp03_i::kS16) != 0;
  ho.aid = card.isd_aid;
  gp::StaticKeys sk{keys.keys.enc, keys.keys.mac, keys.keys.dek};
  Session s;
  s.transport_ = &t;
  s.host_ = translate_errors("open", [&] { return gp::make_host_session(scp, std::move(sk), ho); });
  s.info_.scp = scp;
  s.info_.level = level;
  s.info_.kvn = keys.kvn;
  s.info_.keys_source = keys.source;
  s.info_.sequence_counter = card.sequence_counter.value();

  const gp::CommandApdu iu = translate_errors("open", [&] { return s.host_->initialize_update(keys.kvn); });
  const gp::ResponseApdu iu_resp = transmit_apdu(t, iu);
  if (iu_resp.sw != gp::kSwNoError) sw_error(t, iu_resp.sw, "INITIALIZE UPDATE (" + kvn_text(keys.kvn) + ")");
  gp::InitializeUpdateResponse parsed = translate_errors("INITIALIZE UPDATE", [&] {
    return gp::InitializeUpdateResponse::parse(iu_resp.data);
  });
  if (static_cast<std::uint8_t>(parsed.scp) != static_cast<std::uint8_t>(scp))
    throw TsmError(TsmErrc::SecureChannel, t.describe() + ": the card answered INITIALIZE UPDATE with " +
                                               gp::scp_name(parsed.scp) + ", its card data says " + gp::scp_name(scp),
                   "ScpMismatch");
  if (scp == gp::Scp::Scp03 && parsed.i != i) {
    // The INITIALIZE UPDATE answer is what the card really does; follow it if the level allows.
    i = parsed.i;
    check_level(scp, i, level);
  }
  if (parsed.sequence_counter) {
    s.info_.sequence_counter = *parsed.sequence_counter;
    s.info_.counter_from_card = true;
  }
  s.info_.i = i;
  const gp::Bytes ea = translate_errors("EXTERNAL AUTHENTICATE", [&] { return s.host_->external_authenticate(iu_resp, level); });
  const gp::Bytes ea_raw = t.transmit(ea);
  if (ea_raw.size() < 2) throw TsmError(TsmErrc::CardData, t.describe() + ": EXTERNAL AUTHENTICATE: no status word");
  const gp::ResponseApdu ea_resp = gp::ResponseApdu::parse(ea_raw);
  if (ea_resp.sw != gp::kSwNoError) {
    s.host_->close();
    sw_error(t, ea_resp.sw, "EXTERNAL AUTHENTICATE");
  }
  translate_errors("EXTERNAL AUTHENTICATE", [&] { s.host_->confirm_external_authenticate(ea_resp); });
  return s;
}

bool Session::is_open() const noexcept { return host_ && host_->is_open(); }

void Session::close() noexcept {
  if (host_) host_->close();
}

gp::ResponseApdu Session::send(const gp::CommandApdu& plain) {
  const gp::Bytes wrapped = translate_errors("wrap", [&] { return host_->wrap(plain); });
  const gp::Bytes raw = transport_->transmit(wrapped);
  return translate_errors(transport_->describe(), [&] { return host_->unwrap(gp::ByteView(raw)); });
}

gp::ResponseApdu Session::send_checked(const gp::CommandApdu& plain, const std::string& what,
                                       std::initializer_list<std::uint16_t> accepted) {
  gp::ResponseApdu r = send(plain);
  if (std::find(accepted.begin(), accepted.end(), r.sw) == accepted.end()) sw_error(*transport_, r.sw, what);
  return r;
}

std::size_t Session::max_block() const noexcept {
  // Short APDU: Lc <= 255 must hold the data, its padding (C-DEC) and the C-MAC.
  const bool scp03 = info_.scp == gp::Scp::Scp03;
  const std::size_t mac = scp03 && (info_.i & gp::scp03_i::kS16) ? 16 : 8;
  const std::size_t block = scp03 ? 16 : 8;
  return 255 - mac - (info_.level.c_decryption() ? block : 0);
}

void Session::put_key(const CardKeys& new_keys, std::optional<std::uint8_t> replace_kvn) {
  const gp::PutKey pk = translate_errors("PUT KEY", [&] {
    return gp::PutKey::key_set(new_keys.kvn, new_keys.key_type, new_keys.keys, replace_kvn);
  });
  const gp::CommandApdu cmd = translate_errors("PUT KEY", [&] { return pk.command(host_->key_encryptor()); });
  const gp::ResponseApdu r = send_checked(cmd, "PUT KEY (" + kvn_text(new_keys.kvn) + ")");
  // The card answers the new KVN and the KCV of each key: they must be the keys sent.
  translate_errors("PUT KEY response", [&] { pk.check_response(r.data); });
}

std::vector<RegistryEntry> Session::get_status(RegistryKind kind) {
  std::vector<RegistryEntry> all;
  const std::string what = std::string("GET STATUS ") + registry_kind_name(kind);
  bool next = false;
  for (int page = 0; page < 256; ++page) {
    const gp::ResponseApdu r = send(get_status_command(kind, next));
    if (r.sw == gp::kSwReferencedDataNotFound && all.empty() && !next) return all;  // nothing of that kind
    if (r.sw != gp::kSwNoError && r.sw != kSwMoreData) sw_error(*transport_, r.sw, what);
    auto entries = translate_errors(what, [&] { return parse_get_status(kind, r.data); });
    all.insert(all.end(), entries.begin(), entries.end());
    if (r.sw == gp::kSwNoError) return all;
    next = true;
  }
  throw TsmError(TsmErrc::CardData, transport_->describe() + ": " + what + ": more than 256 pages", "SW_MORE_DATA");
}

Session::LoadResult Session::load(gp::ByteView file) {
  LoadResult res;
  res.package_aid = translate_errors("load", [&] { return package_aid_of(file); });
  const gp::Bytes block = translate_errors("load", [&] { return load_file_data_block(file); });
  send_checked(install_for_load(res.package_aid), "INSTALL [for load] " + gp::to_hex(res.package_aid));
  const auto cmds = translate_errors("load", [&] { return load_commands(block, max_block()); });
  for (const auto& c : cmds) send_checked(c, "LOAD block " + std::to_string(c.p2));
  res.blocks = cmds.size();
  res.bytes = block.size();
  return res;
}

void Session::install(gp::ByteView package_aid, gp::ByteView applet_aid, gp::ByteView instance_aid) {
  const gp::CommandApdu c = translate_errors("install", [&] { return install_for_install(package_aid, applet_aid, instance_aid); });
  send_checked(c, "INSTALL [for install and make selectable] " + gp::to_hex(instance_aid));
}

void Session::delete_aid(gp::ByteView aid, bool related) {
  const gp::CommandApdu c = translate_errors("delete", [&] { return delete_command(aid, related); });
  send_checked(c, "DELETE " + gp::to_hex(aid));
}

std::size_t Session::store_data(gp::ByteView data) {
  const auto cmds = translate_errors("store-data", [&] { return store_data_commands(data, max_block()); });
  for (const auto& c : cmds) send_checked(c, "STORE DATA block " + std::to_string(c.p2));
  return cmds.size();
}

}  // namespace sekds::tsm
