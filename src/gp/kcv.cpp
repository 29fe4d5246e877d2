#include "gp/kcv.h"

#include "gp/error.h"

namespace sekds::gp {

const char* kcv_alg_name(KcvAlg a) noexcept {
  switch (a) {
    case KcvAlg::Des3Zero: return "DES3-ECB-ZERO";
    case KcvAlg::AesGp: return "AES-ECB-01";
    case KcvAlg::AesCmac: return "AES-CMAC-ZERO";
  }
  return "?";
}

Bytes kcv_plaintext(KcvAlg a) {
  switch (a) {
    case KcvAlg::Des3Zero: return Bytes(8, 0x00);
    case KcvAlg::AesGp: return Bytes(16, 0x01);
    case KcvAlg::AesCmac: return Bytes(16, 0x00);
  }
  return {};
}

Bytes kcv(KcvAlg a, ByteView key, std::size_t len) {
  Bytes full;
  switch (a) {
    case KcvAlg::Des3Zero: full = ecb_encrypt(key.size() == 8 ? Cipher::Des : Cipher::Des3, key, kcv_plaintext(a)); break;
    case KcvAlg::AesGp: full = ecb_encrypt(Cipher::Aes, key, kcv_plaintext(a)); break;
    case KcvAlg::AesCmac: full = aes_cmac(key, kcv_plaintext(a)); break;
  }
  if (len > full.size()) throw GpError(Errc::InvalidLength, "KCV longer than one block");
  full.resize(len);
  return full;
}

KcvAlg gp_kcv_alg(KeyType t) noexcept { return is_aes(t) ? KcvAlg::AesGp : KcvAlg::Des3Zero; }

}  // namespace sekds::gp
