// PUT KEY for a whole key set, kept in its own translation unit: gp/put_key.h and
// gp/key_information.h both define gp::kKeyTypeDes / kKeyTypeAes, so no file may include both
// (reported to the gp owner); this header includes neither.
#pragma once

#include <cstdint>
#include <optional>

#include "gp/apdu.h"
#include "gp/diversification.h"
#include "gp/key_type.h"

namespace sekds::gp {
class KeyEncryptor;
}

namespace sekds::tsm {

struct PutKeyCommand {
  gp::CommandApdu apdu;  // plain (wrap it with the open channel)
  gp::Bytes expected_response;  // new KVN followed by the KCV of each key
};

// The PUT KEY of key set `new_kvn` (ENC, MAC, DEK as ids 1, 2, 3), replacing `replace_kvn`
// (nullopt: adding). Throws gp::GpError.
PutKeyCommand make_put_key(std::uint8_t new_kvn, gp::KeyType type, const gp::StaticKeys& keys,
                           std::optional<std::uint8_t> replace_kvn, const gp::KeyEncryptor& encryptor);
// Checks the card's answer. Throws gp::GpError(KcvMismatch / InvalidLength).
void check_put_key_response(std::uint8_t new_kvn, gp::KeyType type, const gp::StaticKeys& keys,
                            std::optional<std::uint8_t> replace_kvn, gp::ByteView data);

}  // namespace sekds::tsm
