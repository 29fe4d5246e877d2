#include "gp/crypto.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <string>

#include "gp/error.h"

namespace sekds::gp {
namespace {

[[noreturn]] void fail(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "no OpenSSL error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  throw GpError(Errc::CryptoFailure, what + ": " + buf);
}

struct CipherDeleter {
  void operator()(EVP_CIPHER* c) const noexcept { EVP_CIPHER_free(c); }
};
using CipherPtr = std::unique_ptr<EVP_CIPHER, CipherDeleter>;

// Explicitly fetched once: implicit fetches on every call cost more than the cipher.
const EVP_CIPHER* fetch(const char* name) {
  EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, name, nullptr);
  if (c == nullptr) fail(std::string("cannot fetch cipher ") + name);
  return c;
}

const EVP_CIPHER* select(Cipher c, std::size_t key_len, bool cbc) {
  static const EVP_CIPHER* des3_ecb = fetch("DES-EDE3-ECB");
  static const EVP_CIPHER* des3_cbc = fetch("DES-EDE3-CBC");
  static const EVP_CIPHER* des2_ecb = fetch("DES-EDE-ECB");
  static const EVP_CIPHER* des2_cbc = fetch("DES-EDE-CBC");
  static const EVP_CIPHER* aes128_ecb = fetch("AES-128-ECB");
  static const EVP_CIPHER* aes192_ecb = fetch("AES-192-ECB");
  static const EVP_CIPHER* aes256_ecb = fetch("AES-256-ECB");
  static const EVP_CIPHER* aes128_cbc = fetch("AES-128-CBC");
  static const EVP_CIPHER* aes192_cbc = fetch("AES-192-CBC");
  static const EVP_CIPHER* aes256_cbc = fetch("AES-256-CBC");
  switch (c) {
    case Cipher::Des:
      if (key_len == 8) return cbc ? des3_cbc : des3_ecb;  // key expanded to K|K|K
      break;
    case Cipher::Des3:
      if (key_len == 16) return cbc ? des2_cbc : des2_ecb;
      if (key_len == 24) return cbc ? des3_cbc : des3_ecb;
      break;
    case Cipher::Aes:
      if (key_len == 16) return cbc ? aes128_cbc : aes128_ecb;
      if (key_len == 24) return cbc ? aes192_cbc : aes192_ecb;
      if (key_len == 32) return cbc ? aes256_cbc : aes256_ecb;
      break;
  }
  throw GpError(Errc::InvalidLength, "key length " + std::to_string(key_len) + " does not fit the cipher");
}

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};

void run(Cipher c, ByteView key, ByteView iv, ByteView in, std::span<std::uint8_t> out, bool cbc,
         bool enc) {
  const std::size_t bs = block_size(c);
  if (in.size() % bs != 0)
    throw GpError(Errc::InvalidLength, "data is not a whole number of " + std::to_string(bs) + "-byte blocks");
  if (out.size() != in.size()) throw GpError(Errc::InvalidLength, "output buffer size differs from input");
  if (cbc && iv.size() != bs) throw GpError(Errc::InvalidLength, "IV must be one block");
  const EVP_CIPHER* cipher = select(c, key.size(), cbc);
  std::uint8_t k3[24];
  const std::uint8_t* k = key.data();
  if (c == Cipher::Des) {  // single DES as EDE3 with three equal keys
    for (int i = 0; i < 3; ++i) std::copy(key.begin(), key.end(), k3 + 8 * i);
    k = k3;
  }
  std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) fail("EVP_CIPHER_CTX_new");
  int ok = EVP_CipherInit_ex2(ctx.get(), cipher, k, cbc ? iv.data() : nullptr, enc ? 1 : 0, nullptr);
  if (c == Cipher::Des) secure_wipe(k3, sizeof k3);
  if (ok != 1) fail("cipher init");
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  int len = 0;
  if (!in.empty() && EVP_CipherUpdate(ctx.get(), out.data(), &len, in.data(), static_cast<int>(in.size())) != 1)
    fail("cipher update");
  int fin = 0;
  if (EVP_CipherFinal_ex(ctx.get(), out.data() + len, &fin) != 1) fail("cipher final");
}

template <class Out>
Out run_alloc(Cipher c, ByteView key, ByteView iv, ByteView in, bool cbc, bool enc) {
  Out out(in.size());
  run(c, key, iv, in, out, cbc, enc);
  return out;
}

}  // namespace

std::size_t block_size(Cipher c) noexcept { return c == Cipher::Aes ? 16 : 8; }

void ecb_encrypt(Cipher c, ByteView key, ByteView in, std::span<std::uint8_t> out) { run(c, key, {}, in, out, false, true); }
void ecb_decrypt(Cipher c, ByteView key, ByteView in, std::span<std::uint8_t> out) { run(c, key, {}, in, out, false, false); }
void cbc_encrypt(Cipher c, ByteView key, ByteView iv, ByteView in, std::span<std::uint8_t> out) { run(c, key, iv, in, out, true, true); }
void cbc_decrypt(Cipher c, ByteView key, ByteView iv, ByteView in, std::span<std::uint8_t> out) { run(c, key, iv, in, out, true, false); }

Bytes ecb_encrypt(Cipher c, ByteView key, ByteView in) { return run_alloc<Bytes>(c, key, {}, in, false, true); }
Bytes ecb_decrypt(Cipher c, ByteView key, ByteView in) { return run_alloc<Bytes>(c, key, {}, in, false, false); }
Bytes cbc_encrypt(Cipher c, ByteView key, ByteView iv, ByteView in) { return run_alloc<Bytes>(c, key, iv, in, true, true); }
Bytes cbc_decrypt(Cipher c, ByteView key, ByteView iv, ByteView in) { return run_alloc<Bytes>(c, key, iv, in, true, false); }
SecureBytes ecb_encrypt_secure(Cipher c, ByteView key, ByteView in) { return run_alloc<SecureBytes>(c, key, {}, in, false, true); }
SecureBytes ecb_decrypt_secure(Cipher c, ByteView key, ByteView in) { return run_alloc<SecureBytes>(c, key, {}, in, false, false); }
SecureBytes cbc_decrypt_secure(Cipher c, ByteView key, ByteView iv, ByteView in) { return run_alloc<SecureBytes>(c, key, iv, in, true, false); }

namespace {
struct MacDeleter {
  void operator()(EVP_MAC* m) const noexcept { EVP_MAC_free(m); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* m) const noexcept { EVP_MAC_CTX_free(m); }
};

template <class Out>
Out cmac(ByteView key, ByteView msg) {
  static EVP_MAC* mac = [] {
    EVP_MAC* m = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
    if (m == nullptr) fail("cannot fetch CMAC");
    return m;
  }();
  const char* name = nullptr;
  switch (key.size()) {
    case 16: name = "AES-128-CBC"; break;
    case 24: name = "AES-192-CBC"; break;
    case 32: name = "AES-256-CBC"; break;
    default: throw GpError(Errc::InvalidLength, "AES-CMAC key must be 16, 24 or 32 bytes, got " + std::to_string(key.size()));
  }
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx(EVP_MAC_CTX_new(mac));
  if (!ctx) fail("EVP_MAC_CTX_new");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, const_cast<char*>(name), 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1) fail("CMAC init");
  if (!msg.empty() && EVP_MAC_update(ctx.get(), msg.data(), msg.size()) != 1) fail("CMAC update");
  Out out(16);
  std::size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != 16) fail("CMAC final");
  return out;
}
}  // namespace

Bytes aes_cmac(ByteView key, ByteView msg) { return cmac<Bytes>(key, msg); }
SecureBytes aes_cmac_secure(ByteView key, ByteView msg) { return cmac<SecureBytes>(key, msg); }

Bytes pad80(ByteView data, std::size_t block) {
  Bytes out(data.begin(), data.end());
  out.push_back(0x80);
  while (out.size() % block != 0) out.push_back(0x00);
  return out;
}

Bytes unpad80(ByteView data) {
  std::size_t i = data.size();
  while (i > 0 && data[i - 1] == 0x00) --i;
  if (i == 0 || data[i - 1] != 0x80) throw GpError(Errc::PaddingInvalid, "ISO 9797-1 method 2 padding not found");
  return Bytes(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(i - 1));
}

Bytes retail_mac(ByteView key16, ByteView icv, ByteView data) {
  if (key16.size() != 16) throw GpError(Errc::InvalidLength, "retail MAC key must be 16 bytes");
  if (data.empty() || data.size() % 8 != 0) throw GpError(Errc::InvalidLength, "retail MAC data must be padded to 8 bytes");
  Bytes chain(icv.begin(), icv.end());
  ByteView k1 = key16.subspan(0, 8);
  const std::size_t head = data.size() - 8;
  if (head > 0) {
    Bytes c = cbc_encrypt(Cipher::Des, k1, chain, data.subspan(0, head));
    chain.assign(c.end() - 8, c.end());
  }
  return cbc_encrypt(Cipher::Des3, key16, chain, data.subspan(head, 8));
}

Bytes des3_cbc_mac(ByteView key, ByteView icv, ByteView data) {
  if (data.empty() || data.size() % 8 != 0) throw GpError(Errc::InvalidLength, "3DES MAC data must be padded to 8 bytes");
  Bytes c = cbc_encrypt(Cipher::Des3, key, icv, data);
  return Bytes(c.end() - 8, c.end());
}

Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  if (n != 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) fail("RAND_bytes");
  return out;
}

SecureBytes random_secure(std::size_t n) {
  SecureBytes out(n);
  if (n != 0 && RAND_priv_bytes(out.data(), static_cast<int>(n)) != 1) fail("RAND_priv_bytes");
  return out;
}

void set_des_parity(std::span<std::uint8_t> key) noexcept {
  for (auto& b : key) {
    std::uint8_t v = b & 0xFE;
    int ones = __builtin_popcount(v);
    b = static_cast<std::uint8_t>(v | ((ones % 2 == 0) ? 1 : 0));
  }
}

bool equal_des_mod_parity(ByteView a, ByteView b) noexcept {
  if (a.size() != b.size()) return false;
  std::uint8_t diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<std::uint8_t>((a[i] ^ b[i]) & 0xFE);
  return diff == 0;
}

}  // namespace sekds::gp
