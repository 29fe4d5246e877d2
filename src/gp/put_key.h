// PUT KEY (GP 2.3.1 11.8, Amd D 7.2): the host builds the command data for a new key set,
// the card parses it, decrypts the keys and checks their KCVs.
//
// Data field: new KVN, then per key: type | length | key component block | 03 | KCV.
//   DES (type 80): the key encrypted whole (8-byte blocks under the channel's key encryptor).
//   AES (type 88): key length byte | the key zero-padded to whole blocks, encrypted (Amd D).
// A block whose length is not a multiple of the cipher block starts with the key length
// (GP 2.3.1 Table 11-70), which is how the card tells the two forms apart.
// KCVs use the GP convention of the key's type (gp_kcv_alg): 3DES of zeros / AES of 0x01s.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "gp/apdu.h"
#include "gp/diversification.h"
#include "gp/key_information.h"  // kKeyTypeDes / kKeyTypeAes (GP Table 11-16)
#include "gp/key_type.h"
#include "gp/scp_common.h"

namespace sekds::gp {


struct PutKeyKey {
  KeyType type = KeyType::Des2;
  SecureBytes value;
};

struct PutKey {
  std::uint8_t replaced_kvn = 0;  // P1: 00 adds a new key set, 01..7F replaces that key set
  std::uint8_t new_kvn = 0;       // 01..7F
  std::uint8_t first_key_id = 1;  // P2 b7..b1; the keys get consecutive ids from here
  std::vector<PutKeyKey> keys;

  // A key set ENC, MAC, DEK (ids 1, 2, 3) of one type. replace_kvn absent: add.
  static PutKey key_set(std::uint8_t new_kvn, KeyType type, const StaticKeys& keys,
                        std::optional<std::uint8_t> replace_kvn = std::nullopt);

  // Host: the plain PUT KEY command (wrap it with the open channel). Throws GpError on
  // values that do not fit (KVN range, key lengths, alignment of DES keys).
  CommandApdu command(const KeyEncryptor& encryptor) const;
  // Card: parses the plain (unwrapped) command, decrypts every key and checks its KCV.
  // Throws GpError(ApduMalformed / InvalidLength / Unsupported / KcvMismatch) naming the key.
  static PutKey parse(const CommandApdu& plain, const KeyEncryptor& encryptor);

  // Card: the response data, new KVN followed by the KCV of each key.
  Bytes response_data() const;
  // Host: checks the card's response data against the keys sent. Throws GpError(KcvMismatch / InvalidLength).
  void check_response(ByteView data) const;

  // The three keys as ENC, MAC, DEK; throws GpError(InvalidArgument) unless ids are 1, 2, 3.
  StaticKeys static_keys() const;
};

}  // namespace sekds::gp
