#include "gp/keywrap.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

#include "gp/error.h"

namespace sekds::gp {

namespace {

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};

[[noreturn]] void crypto_fail(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = "no OpenSSL error";
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  throw GpError(Errc::CryptoFailure, what + ": " + buf);
}

const EVP_CIPHER* fetch(const char* name) {
  EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, name, nullptr);
  if (c == nullptr) crypto_fail(std::string("cannot fetch cipher ") + name);
  return c;
}

// Fetched once: the implicit fetch on every call costs more than the wrap.
const EVP_CIPHER* wrap_cipher(KeyWrapAlgorithm alg, std::size_t kek_len) {
  static const EVP_CIPHER* w128 = fetch("AES-128-WRAP");
  static const EVP_CIPHER* w192 = fetch("AES-192-WRAP");
  static const EVP_CIPHER* w256 = fetch("AES-256-WRAP");
  static const EVP_CIPHER* p128 = fetch("AES-128-WRAP-PAD");
  static const EVP_CIPHER* p192 = fetch("AES-192-WRAP-PAD");
  static const EVP_CIPHER* p256 = fetch("AES-256-WRAP-PAD");
  const bool pad = alg == KeyWrapAlgorithm::Rfc5649;
  switch (kek_len) {
    case 16: return pad ? p128 : w128;
    case 24: return pad ? p192 : w192;
    case 32: return pad ? p256 : w256;
    default:
      throw GpError(Errc::InvalidLength, "KEK must be an AES-128/192/256 key, got " + std::to_string(kek_len) + " bytes");
  }
}

// One-shot wrap or unwrap; returns false when OpenSSL rejects the input (integrity failure).
template <class Out>
bool run(KeyWrapAlgorithm alg, ByteView kek, ByteView in, bool enc, Out& out) {
  const EVP_CIPHER* cipher = wrap_cipher(alg, kek.size());
  std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) crypto_fail("EVP_CIPHER_CTX_new");
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_CipherInit_ex2(ctx.get(), cipher, kek.data(), nullptr, enc ? 1 : 0, nullptr) != 1) crypto_fail("key wrap init");
  out.assign(in.size() + 16, 0);
  int len = 0;
  if (EVP_CipherUpdate(ctx.get(), out.data(), &len, in.data(), static_cast<int>(in.size())) != 1 || len < 0) {
    secure_wipe(out.data(), out.size());
    out.clear();
    ERR_clear_error();
    return false;
  }
  int fin = 0;
  if (EVP_CipherFinal_ex(ctx.get(), out.data() + len, &fin) != 1) {
    secure_wipe(out.data(), out.size());
    out.clear();
    ERR_clear_error();
    return false;
  }
  const auto total = static_cast<std::size_t>(len + fin);
  secure_wipe(out.data() + total, out.size() - total);
  out.resize(total);
  return true;
}

}  // namespace

const char* key_wrap_name(KeyWrapAlgorithm a) noexcept {
  switch (a) {
    case KeyWrapAlgorithm::Rfc3394: return "RFC3394";
    case KeyWrapAlgorithm::Rfc5649: return "RFC5649";
  }
  return "?";
}

std::optional<KeyWrapAlgorithm> parse_key_wrap(std::string_view s) noexcept {
  for (auto a : {KeyWrapAlgorithm::Rfc3394, KeyWrapAlgorithm::Rfc5649})
    if (s == key_wrap_name(a)) return a;
  return std::nullopt;
}

Bytes aes_key_wrap(KeyWrapAlgorithm alg, ByteView kek, ByteView key) {
  if (alg == KeyWrapAlgorithm::Rfc3394 && (key.size() < 16 || key.size() % 8 != 0))
    throw GpError(Errc::InvalidLength,
                  "RFC 3394 wraps keys of 16 bytes or more in 8-byte steps, got " + std::to_string(key.size()) + " bytes");
  if (alg == KeyWrapAlgorithm::Rfc5649 && key.empty()) throw GpError(Errc::InvalidLength, "RFC 5649 cannot wrap an empty key");
  if (key.size() > 0x10000) throw GpError(Errc::InvalidLength, "key to wrap is too long");
  Bytes out;
  if (!run(alg, kek, key, true, out)) crypto_fail(std::string(key_wrap_name(alg)) + " wrap");
  return out;
}

SecureBytes aes_key_unwrap(KeyWrapAlgorithm alg, ByteView kek, ByteView wrapped) {
  const std::size_t min = alg == KeyWrapAlgorithm::Rfc3394 ? 24 : 16;
  if (wrapped.size() < min || wrapped.size() % 8 != 0 || wrapped.size() > 0x10008)
    throw GpError(Errc::InvalidLength, std::string(key_wrap_name(alg)) + " wrapped data must be a multiple of 8 bytes, at least " +
                                           std::to_string(min) + ", got " + std::to_string(wrapped.size()));
  SecureBytes out;
  if (!run(alg, kek, wrapped, false, out))
    throw GpError(Errc::UnwrapFailed, std::string(key_wrap_name(alg)) +
                                         " unwrap: integrity check failed (wrong KEK or tampered data)");
  return out;
}

}  // namespace sekds::gp
