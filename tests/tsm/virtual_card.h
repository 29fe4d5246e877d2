// An in-process virtual card (the real sekds_card engine) behind a FunctionTransport, and the
// key sets the tests use: the issuer's (what the card was personalised with, standing in for
// the TTP) and the TSM's own.
#pragma once

#include <memory>
#include <string>

#include "card/card.h"
#include "card/personalise.h"
#include "tsm/card_transport.h"
#include "tsm/local_key_source.h"

namespace sekds::test {

// Demo masters (test material only).
inline const char* kDesMaster = "404142434445464748494A4B4C4D4E4F";
inline const char* kAes128Master = "00112233445566778899AABBCCDDEEFF";
inline const char* kAes256Master = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F";
inline const char* kOwnDesMaster = "0F1E2D3C4B5A69788796A5B4C3D2E1F0";
inline const char* kOwnAesMaster = "F0E1D2C3B4A5968778695A4B3C2D1E0F";
inline constexpr std::uint8_t kIssuerKvn = 0x01;
inline constexpr std::uint8_t kOwnKvn = 0x40;
inline const char* kTtpUrl = "https://localhost:8443/sekds/v1";

struct CardProfile {
  gp::Scp scp = gp::Scp::Scp03;
  std::uint8_t i = 0x70;
  gp::DiversificationMethod method = gp::DiversificationMethod::Kdf3;
  gp::KeyType key_type = gp::KeyType::Aes128;
  std::string master = kAes128Master;
  std::string url = kTtpUrl;
  std::string describe() const;
};

// The profiles the card supports: SCP02 i=15/55 (EMV, DES2), SCP03 i=00/10/70 (KDF3 AES-128,
// and AES-256 for i=70).
std::vector<CardProfile> all_profiles();

class VirtualCard {
 public:
  explicit VirtualCard(const CardProfile& p, std::uint32_t serial = 1);
  tsm::CardTransport& transport() { return *transport_; }
  card::Card& card() { return *card_; }
  std::size_t apdus() const noexcept { return apdus_; }

 private:
  std::unique_ptr<card::Card> card_;
  std::unique_ptr<tsm::FunctionTransport> transport_;
  std::size_t apdus_ = 0;
};

// The issuer's key set of the profile as a key source named "issuer" (in place of the TTP).
tsm::LocalKeySource issuer_keys(const CardProfile& p);
// The TSM's own key sets: SCP02 EMV DES2 and SCP03 KDF3 AES-128, both KVN 40.
tsm::LocalKeySource own_keys();

}  // namespace sekds::test
