// Shared set-up of the SoftHSM-backed tests: a throwaway token, Hsm configs for it, trusted
// KEKs made under SO, and an independent RFC 3394 implementation (OpenSSL EVP AES-WRAP) to
// check what the HSM wrapped.
#pragma once

#include <memory>
#include <string>

#include "gp/bytes.h"
#include "hsm/hsm.h"
#include "hsm/key_objects.h"
#include "support/softhsm_token.h"

namespace sekds::hsmtest {

struct TokenFixture {
  test::SoftHsmToken token;

  TokenFixture() : token("hsm-test") {}
  hsm::HsmConfig config(hsm::LoginRole role = hsm::LoginRole::User) const;
  std::unique_ptr<hsm::Hsm> open(hsm::LoginRole role = hsm::LoginRole::User) const;
  // A trusted wrapping KEK made by an SO Hsm that is closed again before returning (USER and
  // SO cannot be logged in at once in one process). Returns its KCV.
  gp::Bytes make_kek(const std::string& label, gp::ByteView value) const;
  // `pkcs11-tool -O` as a child process, logged in as USER.
  std::string list_objects() const;
};

// Two components whose XOR is `key` (the test knows the master, the HSM only gets components).
hsm::KeyComponents split(gp::ByteView key, gp::KeyType type);

// RFC 3394 with OpenSSL's EVP (not the HSM, not our code).
gp::SecureBytes aes_unwrap(gp::ByteView kek, gp::ByteView wrapped);
gp::Bytes aes_wrap(gp::ByteView kek, gp::ByteView key);

// Runs `f` and returns the HsmError it throws (fails the test if it throws none).
template <class F>
hsm::HsmError expect_hsm_error(F&& f) {
  try {
    f();
  } catch (const hsm::HsmError& e) {
    return e;
  }
  throw std::runtime_error("expected an HsmError");
}

}  // namespace sekds::hsmtest
