// Typed wrappers over the PKCS#11 calls this layer uses, on one session handle. Every failed
// call throws HsmError naming the function and the CKR_ value. A Session does not own its
// handle (the Hsm's pool does); ScopedObject destroys a session object on every path.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gp/bytes.h"
#include "hsm/pkcs11.h"

namespace sekds::hsm {

// An attribute template that owns its values (key material in it is wiped on release).
class Template {
 public:
  Template& add(CK_ATTRIBUTE_TYPE type, bool value);
  Template& add_ulong(CK_ATTRIBUTE_TYPE type, CK_ULONG value);
  Template& add(CK_ATTRIBUTE_TYPE type, std::string_view value);
  Template& add(CK_ATTRIBUTE_TYPE type, gp::ByteView value);
  // A CK_MECHANISM_TYPE array (CKA_ALLOWED_MECHANISMS).
  Template& add_mechanisms(CK_ATTRIBUTE_TYPE type, std::initializer_list<CK_MECHANISM_TYPE> mechanisms);
  // An attribute array (CKA_DERIVE_TEMPLATE, CKA_WRAP_TEMPLATE): the inner template is kept
  // alive by this one, since the outer attribute points into it.
  Template& add_template(CK_ATTRIBUTE_TYPE type, Template inner);
  // Appends every attribute of `other` (values copied; nested templates shared).
  Template& append(const Template& other);

  CK_ATTRIBUTE* data() noexcept;
  CK_ULONG size() const noexcept { return static_cast<CK_ULONG>(attrs_.size()); }

 private:
  std::vector<gp::SecureBytes> values_;
  std::vector<std::shared_ptr<Template>> nested_;  // parallel to attrs_; null for plain values
  std::vector<CK_ATTRIBUTE> attrs_;
};

// A mechanism with an optional parameter block the caller keeps alive.
CK_MECHANISM mechanism(CK_MECHANISM_TYPE type, void* param = nullptr, std::size_t param_len = 0) noexcept;

class Session {
 public:
  Session(CK_FUNCTION_LIST_PTR fn, CK_SESSION_HANDLE handle) noexcept : fn_(fn), h_(handle) {}

  CK_SESSION_HANDLE handle() const noexcept { return h_; }
  CK_FUNCTION_LIST_PTR fn() const noexcept { return fn_; }

  // Objects matching the template (at most `max`).
  std::vector<CK_OBJECT_HANDLE> find(Template& match, std::size_t max = 16);
  CK_OBJECT_HANDLE create(Template& attrs);
  CK_OBJECT_HANDLE generate_key(CK_MECHANISM_TYPE mech, Template& attrs);
  // C_DeriveKey with a CK_KEY_DERIVATION_STRING_DATA parameter (CKM_*_ECB_ENCRYPT_DATA).
  CK_OBJECT_HANDLE derive_encrypt_data(CK_OBJECT_HANDLE base, CK_MECHANISM_TYPE mech, gp::ByteView data,
                                       Template& attrs);
  void destroy(CK_OBJECT_HANDLE obj);

  gp::Bytes encrypt(CK_MECHANISM mech, CK_OBJECT_HANDLE key, gp::ByteView in);
  gp::SecureBytes decrypt(CK_MECHANISM mech, CK_OBJECT_HANDLE key, gp::ByteView in);
  gp::Bytes sign(CK_MECHANISM mech, CK_OBJECT_HANDLE key, gp::ByteView in);
  gp::Bytes wrap(CK_MECHANISM mech, CK_OBJECT_HANDLE wrapping_key, CK_OBJECT_HANDLE key);
  CK_OBJECT_HANDLE unwrap(CK_MECHANISM mech, CK_OBJECT_HANDLE unwrapping_key, gp::ByteView wrapped, Template& attrs);
  gp::SecureBytes random(std::size_t n);

  // Attribute reads. get_secret is for CKA_VALUE of non-sensitive objects.
  bool get_bool(CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type);
  CK_ULONG get_ulong(CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type);
  gp::Bytes get_bytes(CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type);
  gp::SecureBytes get_secret(CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type = CKA_VALUE);

  CK_SESSION_INFO info();

 private:
  CK_FUNCTION_LIST_PTR fn_;
  CK_SESSION_HANDLE h_;
};

// Destroys a (session) object when it goes out of scope, also when an exception unwinds.
class ScopedObject {
 public:
  ScopedObject(Session& s, CK_OBJECT_HANDLE h) noexcept : s_(&s), h_(h) {}
  ~ScopedObject();
  ScopedObject(const ScopedObject&) = delete;
  ScopedObject& operator=(const ScopedObject&) = delete;
  CK_OBJECT_HANDLE get() const noexcept { return h_; }
  // Destroys now and reports a failure (the destructor cannot).
  void destroy();
  // Keeps the object (e.g. a token object that was created successfully).
  CK_OBJECT_HANDLE release() noexcept;

 private:
  Session* s_;
  CK_OBJECT_HANDLE h_;
};

}  // namespace sekds::hsm
