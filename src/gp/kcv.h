// Key check values. Each convention has a name so every field can say which it uses.
#pragma once

#include "gp/bytes.h"
#include "gp/key_type.h"

namespace sekds::gp {

enum class KcvAlg {
  Des3Zero,  // 3DES-ECB of 8 zero bytes (GP, payment)
  AesGp,     // AES-ECB of 16 bytes 0x01 (GlobalPlatform SCP03 convention)
  AesCmac,   // AES-CMAC of 16 zero bytes (X9.24 / TR-31 style)
};

inline constexpr std::size_t kKcvLength = 3;

const char* kcv_alg_name(KcvAlg a) noexcept;
// The block whose encryption gives the KCV (zeros or 0x01s).
Bytes kcv_plaintext(KcvAlg a);
// First `len` bytes of the check value.
Bytes kcv(KcvAlg a, ByteView key, std::size_t len = kKcvLength);
// GP convention for a key type: DES -> Des3Zero, AES -> AesGp.
KcvAlg gp_kcv_alg(KeyType t) noexcept;

}  // namespace sekds::gp
