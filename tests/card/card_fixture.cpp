#include "card_fixture.h"

#include "card/load_file.h"
#include "gp/diversification.h"
#include "gp/tlv.h"

namespace sekds::test {

const Bytes kMasterDes = gp::from_hex("404142434445464748494A4B4C4D4E4F");
const Bytes kMasterAes = gp::from_hex("404142434445464748494A4B4C4D4E4F");

std::string describe(const CardSpec& s) {
  return std::string(gp::scp_name(s.scp)) + " i=" + gp::to_hex(Bytes{s.i}) + " " + gp::method_name(s.method);
}

const Bytes& master_for(const CardSpec& s) { return s.scp == gp::Scp::Scp02 ? kMasterDes : kMasterAes; }

card::PersonalisationProfile profile_for(const CardSpec& s) {
  card::PersonalisationProfile p;
  p.iin = gp::from_hex("4242");
  p.kvn = s.kvn;
  p.scp = s.scp;
  p.i = s.i;
  p.method = s.method;
  p.url = "https://ttp.example:8443/sekds/v1";
  p.management_level = s.management_level;
  return card::resolve_profile(p, master_for(s));
}

card::CardState make_state(const CardSpec& s, ByteView serial) {
  return card::make_card(profile_for(s), master_for(s), serial, Bytes{0xBA, 0x7C});
}

gp::StaticKeys derive_keys(const CardSpec& s, ByteView kdd) {
  return gp::diversify(gp::DiversificationScheme::of(s.method), master_for(s), kdd);
}

gp::CommandApdu select_apdu(ByteView aid, std::uint8_t p2) {
  return gp::CommandApdu(0x00, 0xA4, 0x04, p2, gp::to_bytes(aid), 256u);
}

gp::CommandApdu get_data_apdu(gp::Tag tag, std::uint8_t cla) {
  return gp::CommandApdu(cla, 0xCA, static_cast<std::uint8_t>(tag >> 8), static_cast<std::uint8_t>(tag), {}, 256u);
}

gp::CommandApdu get_status_apdu(std::uint8_t p1, std::uint8_t p2, ByteView aid_prefix) {
  return gp::CommandApdu(0x80, 0xF2, p1, p2, gp::encode_tlv(0x4F, aid_prefix), 256u);
}

namespace {
void lv(Bytes& out, ByteView v) {
  out.push_back(static_cast<std::uint8_t>(v.size()));
  out.insert(out.end(), v.begin(), v.end());
}
}  // namespace

gp::CommandApdu install_for_load_apdu(ByteView elf) {
  Bytes d;
  lv(d, elf);
  lv(d, card::kIsdAid);
  lv(d, {});
  lv(d, {});
  lv(d, {});
  return gp::CommandApdu(0x80, 0xE6, 0x02, 0x00, d, 256u);
}

gp::CommandApdu install_for_install_apdu(ByteView elf, ByteView module, ByteView app, std::uint8_t p1) {
  Bytes d;
  lv(d, elf);
  lv(d, module);
  lv(d, app);
  lv(d, Bytes{0x00});
  lv(d, Bytes{0xC9, 0x00});
  lv(d, {});
  return gp::CommandApdu(0x80, 0xE6, p1, 0x00, d, 256u);
}

gp::CommandApdu install_for_make_selectable_apdu(ByteView app) {
  Bytes d;
  lv(d, {});
  lv(d, {});
  lv(d, app);
  lv(d, Bytes{0x00});
  lv(d, {});
  lv(d, {});
  return gp::CommandApdu(0x80, 0xE6, 0x08, 0x00, d, 256u);
}

gp::CommandApdu delete_apdu(ByteView aid, std::uint8_t p2) {
  return gp::CommandApdu(0x80, 0xE4, 0x00, p2, gp::encode_tlv(0x4F, aid), 256u);
}

std::vector<gp::CommandApdu> load_apdus(ByteView load_file, std::size_t block) {
  const Bytes all = card::make_load_file_data_block(load_file);
  std::vector<gp::CommandApdu> out;
  for (std::size_t pos = 0, n = 0; pos < all.size(); pos += block, ++n) {
    const std::size_t len = std::min(block, all.size() - pos);
    const bool last = pos + len == all.size();
    out.emplace_back(0x80, 0xE8, last ? 0x80 : 0x00, static_cast<std::uint8_t>(n),
                     Bytes(all.begin() + static_cast<std::ptrdiff_t>(pos), all.begin() + static_cast<std::ptrdiff_t>(pos + len)));
  }
  return out;
}

TestCard::TestCard(CardSpec spec, card::CardLimits limits) : spec_(spec) {
  std::vector<card::CardState> cards{make_state(spec)};
  store_.add_cards(cards);
  card_ = std::make_unique<card::Card>(cards.front(), &store_, limits);
}

gp::StaticKeys TestCard::keys() const { return derive_keys(spec_, card_->state().identity.kdd); }

gp::Transmit TestCard::transmit() {
  return [this](ByteView b) { return card_->transmit(b); };
}

gp::ResponseApdu TestCard::send(const gp::CommandApdu& c) { return gp::ResponseApdu::parse(card_->transmit(c.encode())); }

gp::ResponseApdu TestCard::send_hex(const std::string& hex) {
  return gp::ResponseApdu::parse(card_->transmit(gp::from_hex(hex)));
}

std::unique_ptr<gp::HostSession> TestCard::open(std::uint8_t level, std::optional<gp::StaticKeys> keys, std::uint8_t kvn) {
  gp::HostSessionOptions o;
  o.scp02_i = spec_.i;
  o.aid = card::kIsdAid;
  auto host = gp::make_host_session(spec_.scp, keys ? std::move(*keys) : this->keys(), o);
  gp::open_secure_channel(*host, transmit(), kvn, gp::SecurityLevel(level));
  return host;
}

gp::ResponseApdu TestCard::send_secure(gp::HostSession& host, const gp::CommandApdu& c) {
  return gp::transmit_secure(host, transmit(), c);
}

}  // namespace sekds::test
