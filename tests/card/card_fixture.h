// Shared helpers of the card tests: personalised card states, a card engine with an
// in-memory store, gp host sessions talking to it, and the GlobalPlatform commands a TSM sends.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "card/card.h"
#include "card/card_store.h"
#include "card/personalise.h"
#include "gp/apdu.h"
#include "gp/scp_common.h"
#include "gp/tlv.h"

namespace sekds::test {

using gp::Bytes;
using gp::ByteView;

// Demo master keys (public test material).
extern const Bytes kMasterDes;  // 40..4F
extern const Bytes kMasterAes;  // 40..4F as AES-128

struct CardSpec {
  gp::Scp scp = gp::Scp::Scp03;
  std::uint8_t i = 0x70;
  std::uint8_t kvn = 0x20;
  gp::DiversificationMethod method = gp::DiversificationMethod::None;
  std::uint8_t management_level = 0x01;  // the personalisation default
};
std::string describe(const CardSpec& s);  // "SCP03 i=70 none"

const Bytes& master_for(const CardSpec& s);
card::PersonalisationProfile profile_for(const CardSpec& s);
// A card state as personalisation makes it (slot 0, not stored); `serial` 4 bytes.
card::CardState make_state(const CardSpec& s, ByteView serial = Bytes{0x00, 0x00, 0x00, 0x01});
// The card's static keys derived independently of the card: gp::diversify(master, kdd).
gp::StaticKeys derive_keys(const CardSpec& s, ByteView kdd);

// The GP commands, plain.
gp::CommandApdu select_apdu(ByteView aid, std::uint8_t p2 = 0x00);
gp::CommandApdu get_data_apdu(gp::Tag tag, std::uint8_t cla = 0x80);
gp::CommandApdu get_status_apdu(std::uint8_t p1, std::uint8_t p2, ByteView aid_prefix = {});
gp::CommandApdu install_for_load_apdu(ByteView elf);
gp::CommandApdu install_for_install_apdu(ByteView elf, ByteView module, ByteView app, std::uint8_t p1 = 0x0C);
gp::CommandApdu install_for_make_selectable_apdu(ByteView app);
gp::CommandApdu delete_apdu(ByteView aid, std::uint8_t p2 = 0x00);
// LOAD commands carrying 'C4' + the load file in blocks of `block` bytes.
std::vector<gp::CommandApdu> load_apdus(ByteView load_file, std::size_t block = 200);

// A card engine with a MemoryCardStore (one card, slot 1).
class TestCard {
 public:
  explicit TestCard(CardSpec spec = {}, card::CardLimits limits = {});
  card::Card& card() { return *card_; }
  card::MemoryCardStore& store() { return store_; }
  const CardSpec& spec() const { return spec_; }
  gp::StaticKeys keys() const;  // derived independently
  gp::Transmit transmit();

  gp::ResponseApdu send(const gp::CommandApdu& c);
  gp::ResponseApdu send_hex(const std::string& hex);
  // Opens a secure channel with gp's host session (throws GpError if the card refuses).
  std::unique_ptr<gp::HostSession> open(std::uint8_t level, std::optional<gp::StaticKeys> keys = std::nullopt,
                                        std::uint8_t kvn = 0);
  gp::ResponseApdu send_secure(gp::HostSession& host, const gp::CommandApdu& c);

 private:
  CardSpec spec_;
  card::MemoryCardStore store_;
  std::unique_ptr<card::Card> card_;
};

}  // namespace sekds::test
