#include "fixture.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "gp/kcv.h"
#include "hsm/kek.h"

namespace sekds::hsmtest {

hsm::HsmConfig TokenFixture::config(hsm::LoginRole role) const {
  hsm::HsmConfig c;
  c.module_path = test::SoftHsmToken::module_path();
  c.token = token.label();
  c.pin = hsm::PinSource::parse(role == hsm::LoginRole::User ? token.user_pin_source() : token.so_pin_source());
  c.role = role;
  c.retry_initial = std::chrono::milliseconds(20);
  c.retry_max = std::chrono::milliseconds(200);
  return c;
}

std::unique_ptr<hsm::Hsm> TokenFixture::open(hsm::LoginRole role) const {
  return std::make_unique<hsm::Hsm>(config(role));
}

gp::Bytes TokenFixture::make_kek(const std::string& label, gp::ByteView value) const {
  hsm::Hsm so(config(hsm::LoginRole::SecurityOfficer));
  return hsm::KekStore(so).create_kek(label, value);
}

std::string TokenFixture::list_objects() const {
  std::string out;
  int rc = test::SoftHsmToken::run({"pkcs11-tool", "--module", test::SoftHsmToken::module_path(), "--token-label",
                                    token.label(), "--login", "--pin", "env:SEKDS_TEST_P11_PIN", "-O"},
                                   &out, {"SEKDS_TEST_P11_PIN=" + token.user_pin()});
  if (rc != 0) throw std::runtime_error("pkcs11-tool -O failed (" + std::to_string(rc) + "): " + out);
  return out;
}

namespace {

gp::SecureBytes wrap_cipher(bool wrap, gp::ByteView kek, gp::ByteView in) {
  const EVP_CIPHER* c = kek.size() == 16   ? EVP_aes_128_wrap()
                        : kek.size() == 24 ? EVP_aes_192_wrap()
                                           : EVP_aes_256_wrap();
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  gp::SecureBytes out(in.size() + 16);
  int n = 0, m = 0;
  bool ok = EVP_CipherInit_ex(ctx, c, nullptr, kek.data(), nullptr, wrap ? 1 : 0) == 1 &&
            EVP_CipherUpdate(ctx, out.data(), &n, in.data(), static_cast<int>(in.size())) == 1 &&
            EVP_CipherFinal_ex(ctx, out.data() + n, &m) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) throw std::runtime_error(wrap ? "AES-WRAP failed" : "AES-UNWRAP failed (integrity check)");
  out.resize(static_cast<std::size_t>(n + m));
  return out;
}

}  // namespace

gp::SecureBytes aes_unwrap(gp::ByteView kek, gp::ByteView wrapped) { return wrap_cipher(false, kek, wrapped); }

gp::Bytes aes_wrap(gp::ByteView kek, gp::ByteView key) {
  gp::SecureBytes w = wrap_cipher(true, kek, key);
  return gp::Bytes(w.begin(), w.end());
}

hsm::KeyComponents split(gp::ByteView key, gp::KeyType type) {
  const auto alg = gp::gp_kcv_alg(type);
  hsm::KeyComponents c;
  c.parts.push_back(gp::random_secure(key.size()));
  c.parts.push_back(gp::to_secure(key));
  gp::xor_into(c.parts[1], gp::view(c.parts[0]));
  for (const auto& p : c.parts) c.kcvs.push_back(gp::kcv(alg, gp::view(p)));
  c.combined_kcv = gp::kcv(alg, key);
  return c;
}

}  // namespace sekds::hsmtest
