// Steps 6-8 of the flow from the TSM's side: a GlobalPlatform secure channel with the ISD and
// the commands run through it.
//
// open() uses the protocol and i the card announces ('66', and the INITIALIZE UPDATE answer):
// SCP02 with the card's i (15, 55 ...; 55 when the card has no '66'), SCP03 with i from the
// answer (S16 when i says so); the level is checked against i before anything is sent (SCP02
// R-MAC needs i bit 20; SCP03 R-MAC / R-ENCRYPTION need i bits 20 / 40). Every status word is
// checked; a refusal names it ("PUT KEY: 6A80 SW_WRONG_DATA: ...").
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gp/scp_common.h"
#include "tsm/card_info.h"
#include "tsm/card_transport.h"
#include "tsm/gp_commands.h"
#include "tsm/key_source.h"

namespace sekds::tsm {

// The default level of sekds-tsm: C-MAC + C-DECRYPTION.
inline constexpr std::uint8_t kDefaultLevel = gp::SecurityLevel::kCMac | gp::SecurityLevel::kCDecryption;

// "cmac", "cmac+cdec", "cmac+rmac", "cmac+cdec+rmac", "cmac+cdec+rmac+renc", "none", or the
// byte in hex ("03", "0x33"). Throws TsmError(Usage) naming `what`.
gp::SecurityLevel parse_level(const std::string& text, const std::string& what = "--level");
std::string level_text(gp::SecurityLevel level);  // "C-MAC+C-DEC"

struct SessionInfo {
  gp::Scp scp = gp::Scp::Scp03;
  std::uint8_t i = 0;
  gp::SecurityLevel level;
  std::uint8_t kvn = 0;
  std::uint32_t sequence_counter = 0;  // as the card answered INITIALIZE UPDATE (or GET DATA 'C1')
  bool counter_from_card = false;       // true when INITIALIZE UPDATE carried it
  std::string keys_source;              // "ttp", "own"
};
nlohmann::ordered_json session_json(const SessionInfo& s);

class Session {
 public:
  // INITIALIZE UPDATE + EXTERNAL AUTHENTICATE with `keys` at `level`. Throws TsmError:
  // Usage (level not offered by i), CardStatus (named SW), SecureChannel (cryptogram ...).
  static Session open(CardTransport& transport, const CardInfo& card, const CardKeys& keys, gp::SecurityLevel level);

  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

  const SessionInfo& info() const noexcept { return info_; }
  bool is_open() const noexcept;

  // Wraps, sends, unwraps. The status word is returned as the card sent it.
  gp::ResponseApdu send(const gp::CommandApdu& plain);
  // Same, and throws TsmError(CardStatus) naming `what` and the SW unless it is accepted.
  gp::ResponseApdu send_checked(const gp::CommandApdu& plain, const std::string& what,
                                std::initializer_list<std::uint16_t> accepted = {0x9000});

  // PUT KEY (replacing key set `replace_kvn`, or adding when nullopt) with the new static keys;
  // the card's answer (KVN + KCVs) is checked.
  void put_key(const CardKeys& new_keys, std::optional<std::uint8_t> replace_kvn);
  // GET STATUS over every page (6310: next occurrence).
  std::vector<RegistryEntry> get_status(RegistryKind kind);
  // INSTALL [for load] then LOAD of every block; returns the package AID and the block count.
  struct LoadResult {
    gp::Bytes package_aid;
    std::size_t blocks = 0;
    std::size_t bytes = 0;
  };
  LoadResult load(gp::ByteView load_file);
  void install(gp::ByteView package_aid, gp::ByteView applet_aid, gp::ByteView instance_aid);
  void delete_aid(gp::ByteView aid, bool related = false);
  std::size_t store_data(gp::ByteView data);  // returns the number of blocks
  // Largest command data that fits a short APDU once wrapped at this level.
  std::size_t max_block() const noexcept;
  void close() noexcept;

 private:
  Session() = default;
  CardTransport* transport_ = nullptr;
  std::unique_ptr<gp::HostSession> host_;
  SessionInfo info_;
};

}  // namespace sekds::tsm
