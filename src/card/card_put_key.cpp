// PUT KEY (GP 2.3.1 §11.8, Amd D §7.2): add a key set (P1 00) or replace one (P1 = its KVN)
// with a whole key set ENC, MAC, DEK (P2 81: key id 1, several keys). The keys arrive
// encrypted under the open channel's key encryptor; gp::PutKey decrypts them and checks each
// KCV. The new key set is saved before the answer (new KVN + KCVs) leaves.
#include "card/card.h"
#include "card/sw.h"
#include "gp/put_key.h"

namespace sekds::card {

gp::ResponseApdu Card::put_key(const gp::CommandApdu& c) {
  if ((c.p1 & 0x80) != 0) throw SwError(gp::kSwIncorrectP1P2, "PUT KEY chains ('more commands') are not supported");
  if (c.p2 != 0x81) throw SwError(gp::kSwIncorrectP1P2, "PUT KEY loads whole key sets only (P2 81: ids 1, 2, 3)");
  if (c.data.empty()) throw SwError(gp::kSwWrongLength, "PUT KEY without data");
  const std::uint8_t replaced = c.p1;
  if (replaced != 0 && state_.key_sets.count(replaced) == 0)
    throw SwError(gp::kSwReferencedDataNotFound, "PUT KEY replaces a key version the card does not hold");

  gp::PutKey pk;
  gp::StaticKeys keys;
  try {
    pk = gp::PutKey::parse(c, session_->key_encryptor());
    keys = pk.static_keys();
  } catch (const gp::GpError& e) {
    switch (e.code()) {
      case gp::Errc::Unsupported: throw SwError(kSwAlgorithmNotSupported, e.what());
      // GP 2.3.1 Table 11-72 names '9485' for a wrong key check value; sekds's card answers
      // '6A80' (wrong data), the status word its TSM contract expects for a KCV mismatch.
      case gp::Errc::KcvMismatch:
      default: throw SwError(gp::kSwWrongData, e.what());
    }
  }
  const gp::KeyType type = pk.keys.front().type;
  for (const auto& k : pk.keys)
    if (k.type != type) throw SwError(gp::kSwWrongData, "PUT KEY: the three keys are not of one type");
  if (!key_type_fits(state_.identity.scp, type))
    throw SwError(kSwAlgorithmNotSupported, "PUT KEY: key type does not fit the card's secure channel protocol");
  const std::uint8_t kvn = pk.new_kvn;
  if (state_.key_sets.count(kvn) != 0 && kvn != replaced)
    throw SwError(gp::kSwWrongData, "PUT KEY: the new key version number is already in use");
  if (replaced == 0 && state_.key_sets.size() >= limits_.max_key_sets)
    throw SwError(kSwNotEnoughMemory, "PUT KEY: no room for another key set");

  KeySets next = state_.key_sets;
  if (replaced != 0) next.erase(replaced);
  next[kvn] = KeySet{kvn, type, std::move(keys), 0};
  // KVN 00 in INITIALIZE UPDATE follows the key set that replaced the default one.
  const std::uint8_t default_kvn = (replaced != 0 && replaced == state_.default_kvn) || state_.key_sets.empty()
                                       ? kvn
                                       : state_.default_kvn;
  persist([&](CardStore& s) { s.save_key_sets(state_.slot, next, default_kvn); });
  state_.key_sets = std::move(next);
  state_.default_kvn = default_kvn;
  return gp::ResponseApdu{pk.response_data(), gp::kSwNoError};
}

}  // namespace sekds::card
