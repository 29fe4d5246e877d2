#include "tsm/put_key_command.h"

#include "gp/put_key.h"

namespace sekds::tsm {

PutKeyCommand make_put_key(std::uint8_t new_kvn, gp::KeyType type, const gp::StaticKeys& keys,
                           std::optional<std::uint8_t> replace_kvn, const gp::KeyEncryptor& encryptor) {
  const gp::PutKey pk = gp::PutKey::key_set(new_kvn, type, keys, replace_kvn);
  return PutKeyCommand{pk.command(encryptor), pk.response_data()};
}

void check_put_key_response(std::uint8_t new_kvn, gp::KeyType type, const gp::StaticKeys& keys,
                            std::optional<std::uint8_t> replace_kvn, gp::ByteView data) {
  gp::PutKey::key_set(new_kvn, type, keys, replace_kvn).check_response(data);
}

}  // namespace sekds::tsm
