#include "gp/put_key.h"

#include "gp/error.h"
#include "gp/kcv.h"

namespace sekds::gp {

namespace {

void check_kvn(std::uint8_t kvn, const char* what) {
  if (kvn == 0 || kvn > 0x7F)
    throw GpError(Errc::InvalidArgument, std::string(what) + " must be 01..7F, got " + std::to_string(kvn));
}

std::string key_label(std::size_t index, std::uint8_t first_id) {
  return "key id " + std::to_string(first_id + index);
}

KeyType type_for(std::uint8_t gp_type, std::size_t len, const std::string& label) {
  if (gp_type == kKeyTypeDes) {
    if (len == 16) return KeyType::Des2;
    if (len == 24) return KeyType::Des3;
  } else if (gp_type == kKeyTypeAes) {
    if (auto t = aes_type_for_length(len)) return *t;
  } else {
    throw GpError(Errc::Unsupported, label + ": key type " + std::to_string(gp_type) + " is neither DES (80) nor AES (88)");
  }
  throw GpError(Errc::InvalidLength, label + ": a key of " + std::to_string(len) + " bytes does not fit key type " +
                                         std::to_string(gp_type));
}

}  // namespace

PutKey PutKey::key_set(std::uint8_t new_kvn, KeyType type, const StaticKeys& keys, std::optional<std::uint8_t> replace_kvn) {
  PutKey p;
  p.replaced_kvn = replace_kvn.value_or(0);
  p.new_kvn = new_kvn;
  p.first_key_id = 1;
  for (KeyRole r : kKeyRoles) p.keys.push_back({type, keys.of(r)});
  return p;
}

CommandApdu PutKey::command(const KeyEncryptor& encryptor) const {
  check_kvn(new_kvn, "new key version number");
  if (replaced_kvn != 0) check_kvn(replaced_kvn, "replaced key version number");
  if (keys.empty()) throw GpError(Errc::InvalidArgument, "PUT KEY without keys");
  if (first_key_id == 0 || first_key_id + keys.size() - 1 > 0x7F)
    throw GpError(Errc::InvalidArgument, "PUT KEY key identifiers must be 01..7F");
  const std::size_t bs = block_size(encryptor.cipher());
  Bytes data{new_kvn};
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const PutKeyKey& k = keys[i];
    const std::string label = key_label(i, first_key_id);
    if (k.value.size() != key_length(k.type))
      throw GpError(Errc::InvalidLength, label + ": " + key_type_name(k.type) + " key must be " +
                                             std::to_string(key_length(k.type)) + " bytes, got " +
                                             std::to_string(k.value.size()));
    Bytes block;
    if (is_aes(k.type)) {
      SecureBytes padded(k.value);
      padded.resize((padded.size() + bs - 1) / bs * bs, 0x00);
      block.push_back(static_cast<std::uint8_t>(k.value.size()));
      const Bytes enc = encryptor.encrypt(padded);
      block.insert(block.end(), enc.begin(), enc.end());
      data.push_back(kKeyTypeAes);
    } else {
      if (k.value.size() % bs != 0)
        throw GpError(Errc::Unsupported, label + ": a " + std::to_string(k.value.size()) +
                                             "-byte DES key cannot be encrypted whole in " + std::to_string(bs) +
                                             "-byte blocks");
      block = encryptor.encrypt(k.value);
      data.push_back(kKeyTypeDes);
    }
    data.push_back(static_cast<std::uint8_t>(block.size()));
    data.insert(data.end(), block.begin(), block.end());
    const Bytes check = kcv(gp_kcv_alg(k.type), k.value);
    data.push_back(static_cast<std::uint8_t>(check.size()));
    data.insert(data.end(), check.begin(), check.end());
  }
  const auto p2 = static_cast<std::uint8_t>((keys.size() > 1 ? 0x80 : 0x00) | first_key_id);
  return CommandApdu(kClaGp, kInsPutKey, replaced_kvn, p2, std::move(data), 256u);
}

PutKey PutKey::parse(const CommandApdu& plain, const KeyEncryptor& encryptor) {
  if (plain.ins != kInsPutKey) throw GpError(Errc::ApduMalformed, "not a PUT KEY command");
  PutKey p;
  p.replaced_kvn = static_cast<std::uint8_t>(plain.p1 & 0x7F);
  p.first_key_id = static_cast<std::uint8_t>(plain.p2 & 0x7F);
  if (p.first_key_id == 0) throw GpError(Errc::InvalidArgument, "PUT KEY P2 names key id 0");
  const ByteView d(plain.data);
  if (d.empty()) throw GpError(Errc::ApduMalformed, "PUT KEY without data");
  p.new_kvn = d[0];
  check_kvn(p.new_kvn, "new key version number");
  const std::size_t bs = block_size(encryptor.cipher());
  std::size_t pos = 1;
  auto take = [&](std::size_t n, const std::string& what) -> ByteView {
    if (pos + n > d.size()) throw GpError(Errc::ApduMalformed, "PUT KEY data ends inside " + what, pos);
    ByteView v = d.subspan(pos, n);
    pos += n;
    return v;
  };
  while (pos < d.size()) {
    const std::string label = key_label(p.keys.size(), p.first_key_id);
    const std::uint8_t gp_type = take(1, label + " type")[0];
    const std::size_t block_len = take(1, label + " length")[0];
    const ByteView block = take(block_len, label + " key data");
    SecureBytes value;
    if (block_len != 0 && block_len % bs == 0) {
      value = encryptor.decrypt(block);
    } else {
      // Length-prefixed form: key length, then the padded key encrypted.
      if (block_len < 1 + bs || (block_len - 1) % bs != 0 || block[0] > block_len - 1 || block[0] == 0)
        throw GpError(Errc::ApduMalformed, label + ": key component block of " + std::to_string(block_len) +
                                               " bytes is not a key length and whole encrypted blocks");
      value = encryptor.decrypt(block.subspan(1));
      value.resize(block[0]);
    }
    const KeyType type = type_for(gp_type, value.size(), label);
    const std::size_t kcv_len = take(1, label + " KCV length")[0];
    if (kcv_len != kKcvLength)
      throw GpError(Errc::InvalidArgument, label + ": KCV must be " + std::to_string(kKcvLength) + " bytes, got " +
                                               std::to_string(kcv_len));
    const ByteView sent = take(kcv_len, label + " KCV");
    if (!equal_ct(sent, kcv(gp_kcv_alg(type), value)))
      throw GpError(Errc::KcvMismatch, label + ": the key check value does not match the decrypted key");
    p.keys.push_back({type, std::move(value)});
  }
  if (p.keys.empty()) throw GpError(Errc::ApduMalformed, "PUT KEY without keys");
  return p;
}

Bytes PutKey::response_data() const {
  Bytes out{new_kvn};
  for (const auto& k : keys) {
    const Bytes check = kcv(gp_kcv_alg(k.type), k.value);
    out.insert(out.end(), check.begin(), check.end());
  }
  return out;
}

void PutKey::check_response(ByteView data) const {
  const Bytes expected = response_data();
  if (data.size() != expected.size())
    throw GpError(Errc::InvalidLength, "PUT KEY response must be " + std::to_string(expected.size()) + " bytes, got " +
                                           std::to_string(data.size()));
  if (data[0] != new_kvn)
    throw GpError(Errc::InvalidArgument, "PUT KEY response names key version " + std::to_string(data[0]) + ", sent " +
                                             std::to_string(new_kvn));
  if (!equal_ct(data, expected)) throw GpError(Errc::KcvMismatch, "PUT KEY response: the card reports other key check values");
}

StaticKeys PutKey::static_keys() const {
  if (keys.size() != 3 || first_key_id != 1)
    throw GpError(Errc::InvalidArgument, "PUT KEY does not hold the key set ENC, MAC, DEK (key ids 1, 2, 3)");
  return {keys[0].value, keys[1].value, keys[2].value};
}

}  // namespace sekds::gp
