// Block-cipher primitives on OpenSSL 3 EVP. Nothing here is a home-made cipher:
// single DES is run as 3DES with K1=K2=K3 so the legacy provider is never needed.
#pragma once

#include <cstddef>

#include "gp/bytes.h"

namespace sekds::gp {

enum class Cipher {
  Des,   // 8-byte key
  Des3,  // 16-byte (2-key) or 24-byte (3-key) key
  Aes,   // 16, 24 or 32-byte key
};

std::size_t block_size(Cipher c) noexcept;

// ECB/CBC without padding: `in` must be a whole number of blocks.
// `out` must have in.size() bytes; it may alias `in`.
void ecb_encrypt(Cipher c, ByteView key, ByteView in, std::span<std::uint8_t> out);
void ecb_decrypt(Cipher c, ByteView key, ByteView in, std::span<std::uint8_t> out);
void cbc_encrypt(Cipher c, ByteView key, ByteView iv, ByteView in, std::span<std::uint8_t> out);
void cbc_decrypt(Cipher c, ByteView key, ByteView iv, ByteView in, std::span<std::uint8_t> out);

Bytes ecb_encrypt(Cipher c, ByteView key, ByteView in);
Bytes ecb_decrypt(Cipher c, ByteView key, ByteView in);
Bytes cbc_encrypt(Cipher c, ByteView key, ByteView iv, ByteView in);
Bytes cbc_decrypt(Cipher c, ByteView key, ByteView iv, ByteView in);
// Same, for results that are keys.
SecureBytes ecb_encrypt_secure(Cipher c, ByteView key, ByteView in);
SecureBytes ecb_decrypt_secure(Cipher c, ByteView key, ByteView in);
SecureBytes cbc_decrypt_secure(Cipher c, ByteView key, ByteView iv, ByteView in);

// AES-CMAC (NIST SP 800-38B), full 16-byte tag.
Bytes aes_cmac(ByteView key, ByteView msg);
SecureBytes aes_cmac_secure(ByteView key, ByteView msg);

// ISO/IEC 9797-1 padding method 2: append 0x80, then zeros up to a block multiple.
Bytes pad80(ByteView data, std::size_t block);
// Removes method-2 padding; throws GpError(PaddingInvalid) if absent.
Bytes unpad80(ByteView data);

// ISO/IEC 9797-1 MAC algorithm 3 ("retail MAC") with DES: single-DES CBC under
// key[0:8] over all but the last block, 3DES on the last. `data` must be padded.
Bytes retail_mac(ByteView key16, ByteView icv, ByteView data);
// ISO/IEC 9797-1 MAC algorithm 1 with 3DES (full 3DES CBC, last block). `data` padded.
Bytes des3_cbc_mac(ByteView key, ByteView icv, ByteView data);

// Cryptographically strong random bytes (RAND_bytes); throws on failure.
Bytes random_bytes(std::size_t n);
SecureBytes random_secure(std::size_t n);

// Sets odd parity in each byte of a DES key (SoftHSM does this on derived keys).
void set_des_parity(std::span<std::uint8_t> key) noexcept;
// True when a and b are equal DES keys once parity bits are ignored.
bool equal_des_mod_parity(ByteView a, ByteView b) noexcept;

}  // namespace sekds::gp
