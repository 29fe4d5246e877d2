// Key types of GlobalPlatform static and session keys, named as in the SOAP contract.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "gp/crypto.h"

namespace sekds::gp {

enum class KeyType { Des2, Des3, Aes128, Aes192, Aes256 };

std::size_t key_length(KeyType t) noexcept;
bool is_aes(KeyType t) noexcept;
Cipher cipher_of(KeyType t) noexcept;
// "DES2", "DES3", "AES128", "AES192", "AES256" (the SOAP KeyType values).
const char* key_type_name(KeyType t) noexcept;
std::optional<KeyType> parse_key_type(std::string_view s) noexcept;
// AES type for a key length; nullopt for other lengths.
std::optional<KeyType> aes_type_for_length(std::size_t len) noexcept;

}  // namespace sekds::gp
