#include "card/personalise.h"

#include <ctime>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>

#include "gp/cplc.h"
#include "gp/crypto.h"
#include "gp/data_objects.h"
#include "gp/error.h"
#include "gp/scp02.h"
#include "gp/scp03.h"

namespace sekds::card {

namespace {

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument(what); }

// Fixed CPLC fields of sekds's virtual cards (two ASCII letters each where that reads well).
const Bytes kIcFabricator{'S', 'E'};
const Bytes kIcType{'K', 'D'};
const Bytes kOperatingSystemId{'G', 'P'};
const Bytes kOperatingSystemReleaseLevel{0x02, 0x31};

Bytes today_yddd() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  gp::CplcDate d;
  d.year_digit = static_cast<std::uint8_t>((tm.tm_year + 1900) % 10);
  d.day_of_year = static_cast<std::uint16_t>(tm.tm_yday + 1);
  const auto e = d.encode();
  return Bytes(e.begin(), e.end());
}

}  // namespace

PersonalisationProfile resolve_profile(PersonalisationProfile p, ByteView master) {
  if (p.iin.empty() || p.iin.size() > gp::IssuerIdentificationNumber::kMaxLength)
    bad("--issuer: the IIN must be 1 to 127 bytes, got " + std::to_string(p.iin.size()));
  if (p.kvn == 0 || p.kvn > 0x7F) bad("--kvn: must be 01..7F, got " + std::to_string(p.kvn));
  try {
    gp::SdManagerUrl::from_string(p.url);
  } catch (const gp::GpError& e) {
    bad(std::string("--url: ") + e.what());
  }
  if (!p.i) p.i = p.scp == gp::Scp::Scp02 ? std::uint8_t{0x55} : std::uint8_t{0x70};
  try {
    if (p.scp == gp::Scp::Scp02)
      gp::check_scp02_i(*p.i);
    else
      gp::check_scp03_i(*p.i);
  } catch (const gp::GpError& e) {
    bad(std::string("--i: ") + e.what());
  }
  if (!gp::SecurityLevel::valid(p.management_level))
    bad("--management-level: " + gp::to_hex(Bytes{p.management_level}) + " is not a security level (00 01 03 11 13 33)");
  // A level no session can reach would lock the card's keys and content for good.
  const gp::SecurityLevel level(p.management_level);
  if (p.scp == gp::Scp::Scp02 && level.r_encryption())
    bad("--management-level: " + gp::to_hex(Bytes{p.management_level}) + " needs R-ENCRYPTION, which SCP02 does not offer");
  if (p.scp == gp::Scp::Scp03) {
    try {
      gp::check_scp03_level(*p.i, level);
    } catch (const gp::GpError& e) {
      bad(std::string("--management-level: ") + e.what());
    }
  }
  // The card keys' type follows from the method and the master: DES methods give 2-key 3DES
  // keys, KDF methods and "none" keys as long as the master.
  std::optional<gp::KeyType> derived;
  if (gp::method_is_des(p.method)) {
    if (master.size() != 16) bad(std::string(gp::method_name(p.method)) + " needs a 16-byte (2-key 3DES) master key");
    derived = gp::KeyType::Des2;
  } else if (p.method == gp::DiversificationMethod::None) {
    if (master.size() == 16)
      derived = p.scp == gp::Scp::Scp02 ? gp::KeyType::Des2 : gp::KeyType::Aes128;
    else if (master.size() == 24 && p.scp == gp::Scp::Scp02)
      derived = gp::KeyType::Des3;
    else
      derived = gp::aes_type_for_length(master.size());
  } else {
    derived = gp::aes_type_for_length(master.size());
  }
  if (!derived) bad("the master key has a length (" + std::to_string(master.size()) + " bytes) that fits no key type");
  if (p.key_type && *p.key_type != *derived)
    bad(std::string("--key-type ") + gp::key_type_name(*p.key_type) + " does not match what the method and master give (" +
        gp::key_type_name(*derived) + ")");
  p.key_type = derived;
  if (!key_type_fits(p.scp, *p.key_type))
    bad(std::string(gp::scp_name(p.scp)) + " cannot use " + gp::key_type_name(*p.key_type) + " keys");
  return p;
}

CardState make_card(const PersonalisationProfile& p, ByteView master, ByteView ic_serial, ByteView batch) {
  if (!p.i || !p.key_type) bad("make_card needs a resolved profile");
  gp::Cplc cplc;
  const Bytes today = today_yddd();
  cplc.set_field(gp::CplcField::IcFabricator, kIcFabricator);
  cplc.set_field(gp::CplcField::IcType, kIcType);
  cplc.set_field(gp::CplcField::OperatingSystemId, kOperatingSystemId);
  cplc.set_field(gp::CplcField::OperatingSystemReleaseDate, today);
  cplc.set_field(gp::CplcField::OperatingSystemReleaseLevel, kOperatingSystemReleaseLevel);
  cplc.set_field(gp::CplcField::IcFabricationDate, today);
  cplc.set_field(gp::CplcField::IcSerialNumber, ic_serial);
  cplc.set_field(gp::CplcField::IcBatchIdentifier, batch);
  cplc.set_field(gp::CplcField::IcPersonalizationDate, today);

  CardState c;
  CardIdentity& id = c.identity;
  id.kdd = gp::concat({kIcFabricator, kIcType, ic_serial, batch});
  id.cplc = gp::to_bytes(cplc.value());
  id.iin = p.iin;
  id.cin = gp::concat({Bytes{0x00, 0x01}, ic_serial, batch});
  id.url = p.url;
  id.scp = p.scp;
  id.i = *p.i;
  id.management_level = gp::SecurityLevel(p.management_level);
  KeySet ks;
  ks.kvn = p.kvn;
  ks.type = *p.key_type;
  ks.keys = gp::diversify(gp::DiversificationScheme::of(p.method), master, id.kdd);
  c.key_sets[p.kvn] = std::move(ks);
  c.default_kvn = p.kvn;
  return c;
}

std::vector<CardState> personalise(CardStore& store, const PersonalisationProfile& profile, ByteView master,
                                   std::size_t count) {
  const PersonalisationProfile p = resolve_profile(profile, master);
  if (count == 0 || count > 100000) bad("--count: must be 1..100000");
  const Bytes batch = gp::random_bytes(2);
  std::set<Bytes> serials;
  std::vector<CardState> cards;
  cards.reserve(count);
  while (cards.size() < count) {
    Bytes serial = gp::random_bytes(4);
    if (serials.count(serial) != 0 || store.ic_serial_exists(serial)) continue;
    serials.insert(serial);
    cards.push_back(make_card(p, master, serial, batch));
  }
  store.add_cards(cards);
  return cards;
}

gp::SecureBytes read_master_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) bad("--master-key-file: cannot read " + path);
  gp::SecureBytes text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  for (auto ch : text)
    if (ch == '\n') bad("--master-key-file: " + path + " must hold one line of hex");
  try {
    return gp::secure_from_hex(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), "master key");
  } catch (const gp::GpError&) {
    // The content stays out of the message: it is a key.
    bad("--master-key-file: " + path + " is not one line of hex digits");
  }
}

}  // namespace sekds::card
