#include "hsm/kek.h"

#include <algorithm>

#include "gp/kcv.h"
#include "gp/keywrap.h"
#include "hsm/key_objects.h"

namespace sekds::hsm {
namespace {

gp::KeyType kek_type(gp::ByteView value) {
  auto t = gp::aes_type_for_length(value.size());
  if (!t)
    throw HsmError(HsmErrc::InvalidArgument,
                   "a KEK is AES-128/192/256 (16, 24 or 32 bytes), got " + std::to_string(value.size()) + " bytes");
  return *t;
}

void refuse_existing(Hsm& hsm, Session& s, const std::string& label) {
  if (hsm.label_exists(s, label))
    throw HsmError(HsmErrc::ObjectExists, "an object labelled '" + label + "' exists already; labels are never reused");
}

// The KEK check record (kek.h): "SKK1" | KCV (3) | RFC 3394 wrap of the check key (24).
constexpr std::uint8_t kCheckMagic[4] = {'S', 'K', 'K', '1'};
constexpr std::size_t kCheckWrapLength = 24;

gp::Bytes check_key_value() { return gp::Bytes(16, 0xC3); }  // public by design

// The RFC 3394 wrap of the public check key under `kek`, made in the HSM.
gp::Bytes wrap_check_key(Session& s, CK_OBJECT_HANDLE kek, bool private_objects) {
  Template t;  // no CKA_VALUE_LEN: C_CreateObject takes the length from CKA_VALUE
  t.add_ulong(CKA_CLASS, CKO_SECRET_KEY)
      .add_ulong(CKA_KEY_TYPE, CKK_AES)
      .add(CKA_TOKEN, false)
      .add(CKA_PRIVATE, private_objects)
      .add(CKA_SENSITIVE, false)
      .add(CKA_EXTRACTABLE, true)
      .add(CKA_VALUE, gp::ByteView(check_key_value()));
  ScopedObject probe(s, s.create(t));
  gp::Bytes out = s.wrap(mechanism(CKM_AES_KEY_WRAP), kek, probe.get());
  probe.destroy();
  return out;
}

}  // namespace

gp::Bytes KekStore::create_kek(const std::string& label, gp::ByteView value) {
  const gp::KeyType type = kek_type(value);
  if (hsm_.role() != LoginRole::SecurityOfficer)
    throw HsmError(HsmErrc::InvalidArgument,
                   "creating a KEK sets CKA_TRUSTED, which only the SO can do: open the Hsm with the SO role");
  const gp::Bytes expected = gp::kcv(gp::KcvAlg::AesGp, value);
  gp::Bytes kcv = hsm_.with_session("create KEK", [&](Session& s) {
    refuse_existing(hsm_, s, label);
    Template attrs;
    attrs.add(CKA_TOKEN, true)
        .add(CKA_PRIVATE, false)  // SO sessions can only create public objects
        .add(CKA_TRUSTED, true)
        .add(CKA_SENSITIVE, true)
        .add(CKA_EXTRACTABLE, false)
        .add(CKA_WRAP, true)
        .add(CKA_UNWRAP, false)
        .add(CKA_ENCRYPT, false)
        .add(CKA_DECRYPT, false)
        .add(CKA_SIGN, false)
        .add(CKA_VERIFY, false)
        .add(CKA_DERIVE, false)
        .add_mechanisms(CKA_ALLOWED_MECHANISMS, {CKM_AES_KEY_WRAP})  // no CBC/ECB: no encryption oracle
        .add(CKA_LABEL, std::string_view(label))
        .add(CKA_ID, std::string_view(label));
    ScopedObject kek(s, materialise_key(s, value, type, attrs, false));
    // The ceremony holds the value: the check wrap it expects is computed here, and the HSM's
    // KEK must produce the same (nothing but a key wrap leaves the HSM).
    const gp::Bytes expected_wrap = gp::aes_key_wrap(gp::KeyWrapAlgorithm::Rfc3394, value, check_key_value());
    if (!gp::equal_ct(wrap_check_key(s, kek.get(), false), expected_wrap))
      throw HsmError(HsmErrc::KcvMismatch, label + ": the KEK in the HSM does not hold the combined value (KCV " +
                                               gp::to_hex(expected) + "); nothing was kept");
    gp::Bytes record(std::begin(kCheckMagic), std::end(kCheckMagic));
    record.insert(record.end(), expected.begin(), expected.end());
    record.insert(record.end(), expected_wrap.begin(), expected_wrap.end());
    // Public, beside the KEK, which an SO session makes public.
    ScopedObject rec(s, create_key_record(s, label, kKekCheckApplication, record, false));
    kek.release();  // keep the token objects
    rec.release();
    return expected;
  });
  hsm_.forget_handles();
  return kcv;
}

gp::Bytes KekStore::kek_kcv(const std::string& label) {
  return hsm_.with_session("KEK KCV", [&](Session& s) {
    CK_OBJECT_HANDLE kek = hsm_.find_object(s, CKO_SECRET_KEY, label);
    if (!s.get_bool(kek, CKA_WRAP))
      throw HsmError(HsmErrc::Unsupported, "KEK '" + label +
                                               "' cannot wrap, so it cannot be checked in the HSM; use the "
                                               "KCV returned when it was imported");
    const auto found = find_key_records(s, label, kKekCheckApplication);
    if (found.size() != 1)
      throw HsmError(HsmErrc::ObjectNotFound, "KEK '" + label + "' has no check record (" + kKekCheckApplication + ")");
    const gp::Bytes record = s.get_bytes(found.front(), CKA_VALUE);
    if (record.size() != 4 + gp::kKcvLength + kCheckWrapLength ||
        !std::equal(std::begin(kCheckMagic), std::end(kCheckMagic), record.begin()))
      throw HsmError(HsmErrc::InvalidArgument, "KEK '" + label + "': its check record is malformed");
    const gp::ByteView kcv = gp::ByteView(record).subspan(4, gp::kKcvLength);
    const gp::ByteView expected_wrap = gp::ByteView(record).subspan(4 + gp::kKcvLength);
    if (!gp::equal_ct(wrap_check_key(s, kek, hsm_.private_objects()), expected_wrap))
      throw HsmError(HsmErrc::KcvMismatch, "KEK '" + label + "' in the HSM is not the key its ceremony recorded (KCV " +
                                               gp::to_hex(kcv) + ")");
    return gp::Bytes(kcv.begin(), kcv.end());
  });
}

gp::Bytes KekStore::import_unwrap_kek(const std::string& label, gp::ByteView value) {
  const gp::KeyType type = kek_type(value);
  const gp::Bytes kcv = gp::kcv(gp::KcvAlg::AesGp, value);
  hsm_.with_session("import unwrap KEK", [&](Session& s) {
    refuse_existing(hsm_, s, label);
    Template attrs;
    attrs.add(CKA_TOKEN, true)
        .add(CKA_PRIVATE, hsm_.private_objects())
        .add(CKA_SENSITIVE, true)
        .add(CKA_EXTRACTABLE, false)
        .add(CKA_WRAP, false)
        .add(CKA_UNWRAP, true)
        .add_mechanisms(CKA_ALLOWED_MECHANISMS, {CKM_AES_KEY_WRAP})
        .add(CKA_ENCRYPT, false)
        .add(CKA_DECRYPT, false)
        .add(CKA_SIGN, false)
        .add(CKA_VERIFY, false)
        .add(CKA_DERIVE, false)
        .add(CKA_LABEL, std::string_view(label))
        .add(CKA_ID, std::string_view(label));
    materialise_key(s, value, type, attrs, hsm_.private_objects());
  });
  hsm_.forget_handles();
  return kcv;
}

gp::SecureBytes KekStore::unwrap_key(const std::string& kek_label, gp::ByteView wrapped, gp::KeyType type) {
  const std::size_t len = gp::key_length(type);
  if (wrapped.size() != len + 8)
    throw HsmError(HsmErrc::InvalidArgument, std::string("an RFC 3394 wrapped ") + gp::key_type_name(type) +
                                                 " key is " + std::to_string(len + 8) + " bytes, got " +
                                                 std::to_string(wrapped.size()));
  try {
    return unwrap_raw(kek_label, wrapped, type);
  } catch (const HsmError& e) {
    // SoftHSM answers a wrapped key that fails the RFC 3394 integrity check with
    // CKR_GENERAL_ERROR (the token itself is fine: Hsm's health check said so).
    if (!e.unavailable() && e.code() == HsmErrc::Pkcs11 && e.rv() == CKR_GENERAL_ERROR)
      throw HsmError("C_UnwrapKey", e.rv(), "the wrapped key failed the integrity check (wrong KEK or altered data)");
    throw;
  }
}

gp::SecureBytes KekStore::unwrap_raw(const std::string& kek_label, gp::ByteView wrapped, gp::KeyType type) {
  const std::size_t len = gp::key_length(type);
  return hsm_.with_session("unwrap key", [&](Session& s) {
    CK_OBJECT_HANDLE kek = hsm_.find_object(s, CKO_SECRET_KEY, kek_label);
    Template t;
    t.add_ulong(CKA_CLASS, CKO_SECRET_KEY).add_ulong(CKA_KEY_TYPE, ck_key_type(type));
    t.add(CKA_TOKEN, false)
        .add(CKA_PRIVATE, hsm_.private_objects())
        .add(CKA_SENSITIVE, false)
        .add(CKA_EXTRACTABLE, true);
    ScopedObject key(s, s.unwrap(mechanism(CKM_AES_KEY_WRAP), kek, wrapped, t));
    gp::SecureBytes value = s.get_secret(key.get());
    key.destroy();
    if (value.size() != len)
      throw HsmError(HsmErrc::InvalidArgument, "unwrapped key is " + std::to_string(value.size()) + " bytes, " +
                                                   gp::key_type_name(type) + " needs " + std::to_string(len));
    return value;
  });
}

}  // namespace sekds::hsm
