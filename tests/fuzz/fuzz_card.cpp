// fuzz_card: the virtual card engine (src/card) with an in-memory store, fed a sequence of
// operations decoded from the input: raw APDUs, commands sent through a real gp host session
// (so the fuzzer reaches everything behind INITIALIZE UPDATE / EXTERNAL AUTHENTICATE at every
// security level), tampered secure-messaging commands, PUT KEY and LOAD sequences built
// right and then optionally corrupted, resets and storage failures.
//
// Input: byte 0 chooses the card (SCP02 i=15/55, SCP03 i=00/10/70, DES2 and AES keys), then
// operations until the input ends (at most kMaxOps), each an opcode byte and its operands.
//
// Invariants after every command (an answer the host sees is an answer the card remembers):
//  - the answer is at least a status word, never 6F00 (an unexpected exception in the card);
//  - the store holds exactly the card's key sets, counters, default KVN, registry and STORE
//    DATA records (also after a simulated write failure: nothing half-written);
//  - with a secure channel open on both sides, a 9000 answer is verified by the gp host;
//  - a secure-messaging command with one flipped bit (MAC-protected part) is refused and
//    writes nothing;
//  - no other exception than gp::GpError reaches the host side.
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

#include "card/card.h"
#include "card/card_store.h"
#include "card/load_file.h"
#include "card/personalise.h"
#include "card/sw.h"
#include "fuzz_check.h"
#include "gp/apdu.h"
#include "gp/error.h"
#include "gp/put_key.h"
#include "gp/scp_common.h"
#include "gp/tlv.h"

namespace {

using namespace sekds;
using gp::Bytes;
using gp::ByteView;
using fuzz::Reader;

constexpr std::size_t kMaxOps = 32;
// APDUs per input: bounds the cost of one execution (each secure-messaging APDU costs a few
// block-cipher and CMAC operations on both sides), so the fuzzer tries more inputs per second.
constexpr std::size_t kMaxCommands = 64;

struct CardConfig {
  gp::Scp scp;
  std::uint8_t i;
  gp::DiversificationMethod method;
  std::size_t master_length;
};

constexpr std::array<CardConfig, 6> kConfigs{{
    {gp::Scp::Scp02, 0x15, gp::DiversificationMethod::Visa2, 16},
    {gp::Scp::Scp02, 0x55, gp::DiversificationMethod::Emv, 16},
    {gp::Scp::Scp03, 0x00, gp::DiversificationMethod::Kdf3, 16},
    {gp::Scp::Scp03, 0x10, gp::DiversificationMethod::Scp03Kdf, 32},
    {gp::Scp::Scp03, 0x70, gp::DiversificationMethod::None, 16},
    {gp::Scp::Scp03, 0x70, gp::DiversificationMethod::Kdf3, 24},
}};

// Personalising costs key derivations: each card is made once and copied per input.
const card::CardState& prototype(std::size_t n) {
  static const auto states = [] {
    std::vector<card::CardState> out;
    for (const CardConfig& c : kConfigs) {
      Bytes master(c.master_length);
      for (std::size_t k = 0; k < master.size(); ++k) master[k] = static_cast<std::uint8_t>(0x40 + k);
      card::PersonalisationProfile p;
      p.iin = {0x42, 0x42};
      p.kvn = 0x20;
      p.scp = c.scp;
      p.i = c.i;
      p.method = c.method;
      p.url = "https://ttp.example:8443/sekds/v1";
      p = card::resolve_profile(p, master);
      out.push_back(card::make_card(p, master, Bytes{0x00, 0x00, 0x00, 0x01}, Bytes{0xBA, 0x7C}));
    }
    return out;
  }();
  return states[n % states.size()];
}

constexpr std::array<std::uint8_t, 6> kLevels{0x00, 0x01, 0x03, 0x11, 0x13, 0x33};
constexpr std::array<std::uint8_t, 12> kInstructions{0xD8, 0xF2, 0xE6, 0xE8, 0xE4, 0xE2,
                                                     0xCA, 0xA4, 0x50, 0x82, 0xC0, 0x70};

bool same_key_sets(const card::KeySets& a, const card::KeySets& b) {
  if (a.size() != b.size()) return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    const card::KeySet &x = ia->second, &y = ib->second;
    if (ia->first != ib->first || x.kvn != y.kvn || x.type != y.type || x.counter != y.counter ||
        x.keys.enc != y.keys.enc || x.keys.mac != y.keys.mac || x.keys.dek != y.keys.dek)
      return false;
  }
  return true;
}

// SEKDS_FUZZ_TRACE=1: every APDU and answer on stderr (to read a crash input).
bool trace() {
  static const bool on = std::getenv("SEKDS_FUZZ_TRACE") != nullptr;
  return on;
}

class Harness {
 public:
  explicit Harness(std::size_t config) {
    std::vector<card::CardState> cards{prototype(config)};
    store_.add_cards(cards);
    card_ = std::make_unique<card::Card>(std::move(cards.front()), &store_);
  }

  void run(Reader& in) {
    for (std::size_t n = 0; n < kMaxOps && !in.empty() && commands_ < kMaxCommands; ++n) {
      switch (in.u8() % 10) {
        case 0: raw(in.take(in.u8())); break;
        case 1: raw(in.take(in.u16() % 1024)); break;
        case 2: open(in); break;
        case 3: command(in); break;
        case 4: tamper(in); break;
        case 5: put_key(in); break;
        case 6: load(in); break;
        case 7:
          card_->reset();
          host_.reset();
          break;
        case 8: store_.fail_next_write(); break;
        case 9: get_data(in); break;
      }
    }
  }

 private:
  // The card's answer to wire bytes, with the checks every answer gets.
  Bytes transmit(ByteView wire) {
    ++commands_;
    const Bytes resp = card_->transmit(wire);
    if (trace()) std::fprintf(stderr, "> %s\n< %s\n", gp::to_hex(wire).c_str(), gp::to_hex(resp).c_str());
    FUZZ_CHECK(resp.size() >= 2, "answer shorter than a status word");
    const std::uint16_t sw = static_cast<std::uint16_t>((resp[resp.size() - 2] << 8) | resp.back());
    FUZZ_CHECK(sw != card::kSwNoPreciseDiagnosis, "6F00: an unexpected exception inside the card");
    check_store();
    if (!card_->secure_channel_open()) host_.reset();
    return resp;
  }

  // Compared in place: a copy of the stored state per APDU was most of this target's allocations.
  void check_store() {
    store_.inspect([&](const std::vector<card::CardState>& stored) {
      FUZZ_CHECK(stored.size() == 1, "store lost the card");
      const card::CardState& s = stored.front();
      const card::CardState& c = card_->state();
      FUZZ_CHECK(same_key_sets(s.key_sets, c.key_sets), "stored key sets / counters differ from the card's");
      FUZZ_CHECK(s.default_kvn == c.default_kvn, "stored default KVN differs from the card's");
      FUZZ_CHECK(s.registry == c.registry, "stored registry differs from the card's");
      FUZZ_CHECK(s.store_data == c.store_data, "stored STORE DATA records differ from the card's");
    });
    FUZZ_CHECK(card_->state().default_key_set() != nullptr, "the card lost its default key set");
  }

  void raw(ByteView wire) { transmit(wire); }

  // Sends a plain command: wrapped by the host session when one is open.
  void send(const gp::CommandApdu& plain) {
    if (!host_) {
      Bytes wire;
      try {
        wire = plain.encode();
      } catch (const gp::GpError&) {
        return;
      }
      transmit(wire);
      return;
    }
    Bytes wire;
    try {
      wire = host_->wrap(plain);
    } catch (const gp::GpError&) {
      return;  // does not fit once wrapped (data too long for the level)
    }
    const bool both_open_before = card_->secure_channel_open();
    const Bytes resp = transmit(wire);
    if (!host_) return;  // the card closed the session
    try {
      (void)host_->unwrap(ByteView(resp));
    } catch (const gp::GpError& e) {
      const bool ok = resp[resp.size() - 2] == 0x90 && resp.back() == 0x00;
      if (both_open_before && card_->secure_channel_open() && ok) {
        std::fprintf(stderr, "host unwrap failed on a 9000 answer: %s\n", e.what());
        FUZZ_CHECK(false, "the gp host cannot verify the card's 9000 answer");
      }
      host_.reset();
    }
  }

  const card::KeySet* key_set_for(std::uint8_t kvn) const {
    const card::CardState& s = card_->state();
    if (kvn == 0) return s.default_key_set();
    auto it = s.key_sets.find(kvn);
    return it == s.key_sets.end() ? nullptr : &it->second;
  }

  void open(Reader& in) {
    const std::uint8_t pick = in.u8();
    const std::uint8_t level = kLevels[in.u8() % kLevels.size()];
    const bool wrong_key = (pick & 0x80) != 0;
    // KVN 00 (the default), one of the card's key sets, or any byte.
    std::uint8_t kvn = 0;
    const card::CardState& s = card_->state();
    if ((pick & 0x60) == 0x20 && !s.key_sets.empty()) {
      auto it = s.key_sets.begin();
      std::advance(it, static_cast<std::ptrdiff_t>((pick & 0x1F) % s.key_sets.size()));
      kvn = it->first;
    } else if ((pick & 0x60) == 0x40) {
      kvn = in.u8();
    }
    const card::KeySet* ks = key_set_for(kvn);
    gp::StaticKeys keys = ks ? ks->keys : s.default_key_set()->keys;
    if (wrong_key) keys.mac[0] ^= 0x02;  // not bit 0: DES ignores parity bits
    gp::HostSessionOptions o;
    o.scp02_i = s.identity.i;
    o.aid = card::kIsdAid;
    host_.reset();
    std::unique_ptr<gp::HostSession> host;
    try {
      host = gp::make_host_session(s.identity.scp, std::move(keys), o);
    } catch (const gp::GpError&) {
      return;
    }
    const gp::Transmit t = [this](ByteView b) { return transmit(b); };
    try {
      gp::open_secure_channel(*host, t, kvn, gp::SecurityLevel(level));
    } catch (const gp::GpError&) {
      return;
    }
    FUZZ_CHECK(!wrong_key, "a secure channel opened with a wrong MAC key");
    FUZZ_CHECK(card_->secure_channel_open() && card_->security_level().byte() == level,
               "host opened a channel the card does not have at that level");
    host_ = std::move(host);
  }

  gp::CommandApdu decode_command(Reader& in) {
    const std::uint8_t flags = in.u8();
    gp::CommandApdu c;
    c.cla = (flags & 0x01) ? in.u8() : 0x80;
    c.ins = (flags & 0x02) ? in.u8() : kInstructions[in.u8() % kInstructions.size()];
    c.p1 = in.u8();
    c.p2 = in.u8();
    const ByteView data = in.take((flags & 0x04) ? in.u16() % 600 : in.u8());
    c.data.assign(data.begin(), data.end());
    if (flags & 0x08) c.le = (flags & 0x10) ? 256u : std::uint32_t{in.u8()} + 1;
    return c;
  }

  void command(Reader& in) { send(decode_command(in)); }

  // A secure-messaging command with one bit flipped in its MAC-protected part.
  void tamper(Reader& in) {
    gp::CommandApdu plain = decode_command(in);
    const std::uint16_t where = in.u16();
    const std::uint8_t bit = static_cast<std::uint8_t>(1u << (in.u8() % 8));
    if (!host_ || !card_->secure_channel_open() || !host_->security_level().c_mac()) return;
    // Commands that are never wrapped: a flipped CLA bit could turn them into valid plain ones.
    if (plain.ins == gp::kInsInitializeUpdate || plain.ins == gp::kInsExternalAuthenticate || plain.ins == 0xA4) return;
    Bytes wire;
    try {
      wire = host_->wrap(plain);
    } catch (const gp::GpError&) {
      return;
    }
    // Le is not covered by the C-MAC: leave it alone.
    std::size_t protected_len = wire.size();
    const gp::CommandApdu wrapped = gp::CommandApdu::parse(wire);
    if (wrapped.le) protected_len -= wrapped.is_extended() ? (wrapped.data.empty() ? 3 : 2) : 1;
    wire[where % protected_len] ^= bit;
    const std::size_t writes = store_.writes();
    const Bytes resp = transmit(wire);
    const std::uint16_t sw = static_cast<std::uint16_t>((resp[resp.size() - 2] << 8) | resp.back());
    FUZZ_CHECK(sw != 0x9000 && sw != card::kSwMoreDataAvailable, "a tampered secure-messaging command was accepted");
    FUZZ_CHECK(store_.writes() == writes, "a tampered secure-messaging command changed the card's state");
    host_.reset();
  }

  // PUT KEY built right (keys encrypted under the channel, KCVs), then maybe corrupted.
  void put_key(Reader& in) {
    const std::uint8_t flags = in.u8();
    std::uint8_t new_kvn = static_cast<std::uint8_t>(in.u8() & 0x7F);
    const ByteView material = in.take(32);
    const std::uint16_t corrupt = in.u16();
    if (!host_) return;
    const card::CardState& s = card_->state();
    std::optional<std::uint8_t> replace;
    if ((flags & 0x01) && !s.key_sets.empty()) {
      auto it = s.key_sets.begin();
      std::advance(it, static_cast<std::ptrdiff_t>((flags >> 1) % s.key_sets.size()));
      replace = it->first;
      if (flags & 0x80) new_kvn = it->first;
    }
    static constexpr std::array<gp::KeyType, 5> kTypes{gp::KeyType::Des2, gp::KeyType::Des3, gp::KeyType::Aes128,
                                                        gp::KeyType::Aes192, gp::KeyType::Aes256};
    const gp::KeyType type = (flags & 0x08) ? kTypes[(flags >> 4) % kTypes.size()] : s.default_key_set()->type;
    const std::size_t len = gp::key_length(type);
    gp::StaticKeys keys;
    for (gp::SecureBytes* k : {&keys.enc, &keys.mac, &keys.dek}) {
      k->assign(len, 0x5A);
      for (std::size_t j = 0; j < material.size() && j < len; ++j) (*k)[j] = material[j];
      (*k)[0] = static_cast<std::uint8_t>((*k)[0] + (k == &keys.mac ? 1 : k == &keys.dek ? 2 : 0));
    }
    gp::CommandApdu c;
    try {
      c = gp::PutKey::key_set(new_kvn, type, keys, replace).command(host_->key_encryptor());
    } catch (const gp::GpError&) {
      return;
    }
    if ((flags & 0x04) && !c.data.empty()) c.data[corrupt % c.data.size()] ^= static_cast<std::uint8_t>(corrupt >> 8 | 1);
    send(c);
  }

  static void lv(Bytes& out, ByteView v) {
    out.push_back(static_cast<std::uint8_t>(v.size()));
    out.insert(out.end(), v.begin(), v.end());
  }

  // INSTALL [for load], the LOAD blocks of a synthetic CAP file, INSTALL [for install and make
  // selectable], optionally DELETE; the file may be corrupted at one byte.
  void load(Reader& in) {
    const std::uint8_t flags = in.u8();
    card::LoadFileSpec spec;
    const ByteView pkg = in.take(5 + in.u8() % 12);
    spec.package_aid.assign(pkg.begin(), pkg.end());
    for (int k = 0; k < (flags & 0x03); ++k) {
      Bytes applet = spec.package_aid;
      applet.push_back(static_cast<std::uint8_t>(k));
      if (applet.size() > 16) applet.erase(applet.begin());
      spec.applet_aids.push_back(applet);
    }
    spec.size = std::size_t{in.u8()} * 8;  // up to 2 KiB: LOAD sequences dominate the cost of an input
    const std::size_t block = 64 + in.u8() % 192;
    const std::uint16_t corrupt = in.u16();
    Bytes file;
    try {
      if (spec.size < card::min_load_file_size(spec)) spec.size = 0;
      file = card::make_load_file(spec);
    } catch (const std::invalid_argument&) {
      return;
    }
    Bytes all = card::make_load_file_data_block(file);
    if (flags & 0x04) all[corrupt % all.size()] ^= static_cast<std::uint8_t>(corrupt >> 8 | 1);

    Bytes d;
    lv(d, spec.package_aid);
    lv(d, card::kIsdAid);
    lv(d, {});
    lv(d, {});
    lv(d, {});
    send(gp::CommandApdu(0x80, 0xE6, 0x02, 0x00, d, 256u));
    for (std::size_t pos = 0, n = 0; pos < all.size() && commands_ < kMaxCommands; pos += block, ++n) {
      const std::size_t len = std::min(block, all.size() - pos);
      const bool last = pos + len == all.size();
      send(gp::CommandApdu(0x80, 0xE8, last ? 0x80 : 0x00, static_cast<std::uint8_t>(n),
                           Bytes(all.begin() + static_cast<std::ptrdiff_t>(pos),
                                 all.begin() + static_cast<std::ptrdiff_t>(pos + len))));
    }
    if (!spec.applet_aids.empty()) {
      Bytes i;
      lv(i, spec.package_aid);
      lv(i, spec.applet_aids.front());
      lv(i, spec.applet_aids.front());
      lv(i, Bytes{0x00});
      lv(i, Bytes{0xC9, 0x00});
      lv(i, {});
      send(gp::CommandApdu(0x80, 0xE6, 0x0C, 0x00, i, 256u));
    }
    if (flags & 0x08) send(gp::CommandApdu(0x80, 0xE4, 0x00, (flags & 0x10) ? 0x80 : 0x00,
                                           gp::encode_tlv(0x4F, spec.package_aid), 256u));
  }

  void get_data(Reader& in) {
    static constexpr std::array<gp::Tag, 9> kTags{0x5F50, 0xCF, 0xE0, 0xC1, 0x42, 0x45, 0x66, 0x9F7F, 0x00FE};
    const gp::Tag tag = kTags[in.u8() % kTags.size()];
    send(gp::CommandApdu(0x80, 0xCA, static_cast<std::uint8_t>(tag >> 8), static_cast<std::uint8_t>(tag), {}, 256u));
  }

  card::MemoryCardStore store_;
  std::unique_ptr<card::Card> card_;
  std::unique_ptr<gp::HostSession> host_;
  std::size_t commands_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in(data, size);
  Harness h(in.u8());
  h.run(in);
  return 0;
}
