#include "gp/key_type.h"

namespace sekds::gp {

std::size_t key_length(KeyType t) noexcept {
  switch (t) {
    case KeyType::Des2: return 16;
    case KeyType::Des3: return 24;
    case KeyType::Aes128: return 16;
    case KeyType::Aes192: return 24;
    case KeyType::Aes256: return 32;
  }
  return 0;
}

bool is_aes(KeyType t) noexcept { return t == KeyType::Aes128 || t == KeyType::Aes192 || t == KeyType::Aes256; }

Cipher cipher_of(KeyType t) noexcept { return is_aes(t) ? Cipher::Aes : Cipher::Des3; }

const char* key_type_name(KeyType t) noexcept {
  switch (t) {
    case KeyType::Des2: return "DES2";
    case KeyType::Des3: return "DES3";
    case KeyType::Aes128: return "AES128";
    case KeyType::Aes192: return "AES192";
    case KeyType::Aes256: return "AES256";
  }
  return "?";
}

std::optional<KeyType> parse_key_type(std::string_view s) noexcept {
  for (KeyType t : {KeyType::Des2, KeyType::Des3, KeyType::Aes128, KeyType::Aes192, KeyType::Aes256})
    if (s == key_type_name(t)) return t;
  return std::nullopt;
}

std::optional<KeyType> aes_type_for_length(std::size_t len) noexcept {
  switch (len) {
    case 16: return KeyType::Aes128;
    case 24: return KeyType::Aes192;
    case 32: return KeyType::Aes256;
    default: return std::nullopt;
  }
}

}  // namespace sekds::gp
