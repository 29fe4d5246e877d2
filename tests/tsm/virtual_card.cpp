#include "virtual_card.h"

#include <cstdio>

namespace sekds::test {

std::string CardProfile::describe() const {
  char b[96];
  std::snprintf(b, sizeof b, "%s i=%02X %s %s", gp::scp_name(scp), i, gp::method_name(method), gp::key_type_name(key_type));
  return b;
}

std::vector<CardProfile> all_profiles() {
  std::vector<CardProfile> v;
  for (std::uint8_t i : {std::uint8_t{0x15}, std::uint8_t{0x55}})
    v.push_back({gp::Scp::Scp02, i, gp::DiversificationMethod::Emv, gp::KeyType::Des2, kDesMaster, kTtpUrl});
  for (std::uint8_t i : {std::uint8_t{0x00}, std::uint8_t{0x10}, std::uint8_t{0x70}})
    v.push_back({gp::Scp::Scp03, i, gp::DiversificationMethod::Kdf3, gp::KeyType::Aes128, kAes128Master, kTtpUrl});
  v.push_back({gp::Scp::Scp03, 0x70, gp::DiversificationMethod::Kdf3, gp::KeyType::Aes256, kAes256Master, kTtpUrl});
  return v;
}

VirtualCard::VirtualCard(const CardProfile& p, std::uint32_t serial) {
  card::PersonalisationProfile prof;
  prof.iin = gp::from_hex("42018C");
  prof.kvn = kIssuerKvn;
  prof.scp = p.scp;
  prof.i = p.i;
  prof.method = p.method;
  prof.key_type = p.key_type;
  prof.url = p.url;
  const gp::SecureBytes master = gp::secure_from_hex(p.master);
  prof = card::resolve_profile(prof, master);
  const gp::Bytes ser{static_cast<std::uint8_t>(serial >> 24), static_cast<std::uint8_t>(serial >> 16),
                      static_cast<std::uint8_t>(serial >> 8), static_cast<std::uint8_t>(serial)};
  card::CardState st = card::make_card(prof, master, ser, gp::from_hex("0001"));
  st.slot = static_cast<int>(serial);
  card_ = std::make_unique<card::Card>(std::move(st), nullptr);
  transport_ = std::make_unique<tsm::FunctionTransport>(
      [this](gp::ByteView c) {
        ++apdus_;
        return card_->transmit(c);
      },
      [this] { return card_->reset(); }, "in-process card " + p.describe());
}

tsm::LocalKeySource issuer_keys(const CardProfile& p) {
  tsm::OwnKeySet s;
  s.scp = p.scp;
  s.kvn = kIssuerKvn;
  s.scheme = gp::DiversificationScheme::of(p.method);
  s.key_type = p.key_type;
  s.master = gp::secure_from_hex(p.master);
  s.check("issuer");
  std::vector<tsm::OwnKeySet> v;
  v.push_back(std::move(s));
  return tsm::LocalKeySource(std::move(v), "issuer");
}

tsm::LocalKeySource own_keys() {
  std::vector<tsm::OwnKeySet> v;
  tsm::OwnKeySet des;
  des.scp = gp::Scp::Scp02;
  des.kvn = kOwnKvn;
  des.scheme = gp::DiversificationScheme::of(gp::DiversificationMethod::Emv);
  des.key_type = gp::KeyType::Des2;
  des.master = gp::secure_from_hex(kOwnDesMaster);
  des.check("own_keys[0]");
  v.push_back(std::move(des));
  tsm::OwnKeySet aes;
  aes.scp = gp::Scp::Scp03;
  aes.kvn = kOwnKvn;
  aes.scheme = gp::DiversificationScheme::of(gp::DiversificationMethod::Kdf3);
  aes.key_type = gp::KeyType::Aes128;
  aes.master = gp::secure_from_hex(kOwnAesMaster);
  aes.check("own_keys[1]");
  v.push_back(std::move(aes));
  return tsm::LocalKeySource(std::move(v));
}

}  // namespace sekds::test
