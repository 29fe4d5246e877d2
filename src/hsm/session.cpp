#include "hsm/session.h"

#include <algorithm>

#include "hsm/error.h"

namespace sekds::hsm {

// ---- Template -------------------------------------------------------------------------------

Template& Template::add(CK_ATTRIBUTE_TYPE type, bool value) {
  const std::uint8_t b = value ? CK_TRUE : CK_FALSE;
  return add(type, gp::ByteView(&b, 1));
}

Template& Template::add_ulong(CK_ATTRIBUTE_TYPE type, CK_ULONG value) {
  return add(type, gp::ByteView(reinterpret_cast<const std::uint8_t*>(&value), sizeof value));
}

Template& Template::add(CK_ATTRIBUTE_TYPE type, std::string_view value) {
  return add(type, gp::ByteView(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
}

Template& Template::add(CK_ATTRIBUTE_TYPE type, gp::ByteView value) {
  values_.emplace_back(value.begin(), value.end());
  nested_.emplace_back();
  attrs_.push_back({type, nullptr, static_cast<CK_ULONG>(value.size())});
  return *this;
}

Template& Template::add_mechanisms(CK_ATTRIBUTE_TYPE type, std::initializer_list<CK_MECHANISM_TYPE> mechanisms) {
  return add(type, gp::ByteView(reinterpret_cast<const std::uint8_t*>(mechanisms.begin()),
                                mechanisms.size() * sizeof(CK_MECHANISM_TYPE)));
}

Template& Template::add_template(CK_ATTRIBUTE_TYPE type, Template inner) {
  values_.emplace_back();
  nested_.push_back(std::make_shared<Template>(std::move(inner)));
  attrs_.push_back({type, nullptr, static_cast<CK_ULONG>(nested_.back()->size() * sizeof(CK_ATTRIBUTE))});
  return *this;
}

Template& Template::append(const Template& other) {
  for (std::size_t i = 0; i < other.attrs_.size(); ++i) {
    values_.push_back(other.values_[i]);
    nested_.push_back(other.nested_[i]);
    attrs_.push_back({other.attrs_[i].type, nullptr, other.attrs_[i].ulValueLen});
  }
  return *this;
}

CK_ATTRIBUTE* Template::data() noexcept {
  // Pointers are set late: values_ may have been reallocated while the template grew.
  for (std::size_t i = 0; i < attrs_.size(); ++i) {
    if (nested_[i])
      attrs_[i].pValue = nested_[i]->data();
    else
      attrs_[i].pValue = values_[i].empty() ? nullptr : values_[i].data();
  }
  return attrs_.data();
}

CK_MECHANISM mechanism(CK_MECHANISM_TYPE type, void* param, std::size_t param_len) noexcept {
  return CK_MECHANISM{type, param, static_cast<CK_ULONG>(param_len)};
}

// ---- Session --------------------------------------------------------------------------------

namespace {
unsigned char* uc(const std::uint8_t* p) { return const_cast<unsigned char*>(p); }
CK_ULONG ul(std::size_t n) { return static_cast<CK_ULONG>(n); }
}  // namespace

std::vector<CK_OBJECT_HANDLE> Session::find(Template& match, std::size_t max) {
  check_rv(fn_->C_FindObjectsInit(h_, match.data(), match.size()), "C_FindObjectsInit");
  std::vector<CK_OBJECT_HANDLE> out(max);
  CK_ULONG n = 0;
  CK_RV rv = fn_->C_FindObjects(h_, out.data(), ul(max), &n);
  CK_RV rv_final = fn_->C_FindObjectsFinal(h_);  // always, or the session stays in a find operation
  check_rv(rv, "C_FindObjects");
  check_rv(rv_final, "C_FindObjectsFinal");
  out.resize(n);
  return out;
}

CK_OBJECT_HANDLE Session::create(Template& attrs) {
  CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
  check_rv(fn_->C_CreateObject(h_, attrs.data(), attrs.size(), &h), "C_CreateObject");
  return h;
}

CK_OBJECT_HANDLE Session::generate_key(CK_MECHANISM_TYPE mech, Template& attrs) {
  CK_MECHANISM m = mechanism(mech);
  CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
  check_rv(fn_->C_GenerateKey(h_, &m, attrs.data(), attrs.size(), &h), "C_GenerateKey");
  return h;
}

CK_OBJECT_HANDLE Session::derive_encrypt_data(CK_OBJECT_HANDLE base, CK_MECHANISM_TYPE mech, gp::ByteView data,
                                              Template& attrs) {
  CK_KEY_DERIVATION_STRING_DATA param{uc(data.data()), ul(data.size())};
  CK_MECHANISM m = mechanism(mech, &param, sizeof param);
  CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
  check_rv(fn_->C_DeriveKey(h_, &m, base, attrs.data(), attrs.size(), &h), "C_DeriveKey");
  return h;
}

void Session::destroy(CK_OBJECT_HANDLE obj) { check_rv(fn_->C_DestroyObject(h_, obj), "C_DestroyObject"); }

gp::Bytes Session::encrypt(CK_MECHANISM mech, CK_OBJECT_HANDLE key, gp::ByteView in) {
  check_rv(fn_->C_EncryptInit(h_, &mech, key), "C_EncryptInit");
  gp::Bytes out(in.size() + 64);
  CK_ULONG n = ul(out.size());
  check_rv(fn_->C_Encrypt(h_, uc(in.data()), ul(in.size()), out.data(), &n), "C_Encrypt");
  out.resize(n);
  return out;
}

gp::SecureBytes Session::decrypt(CK_MECHANISM mech, CK_OBJECT_HANDLE key, gp::ByteView in) {
  check_rv(fn_->C_DecryptInit(h_, &mech, key), "C_DecryptInit");
  gp::SecureBytes out(in.size() + 64);
  CK_ULONG n = ul(out.size());
  check_rv(fn_->C_Decrypt(h_, uc(in.data()), ul(in.size()), out.data(), &n), "C_Decrypt");
  out.resize(n);
  return out;
}

gp::Bytes Session::sign(CK_MECHANISM mech, CK_OBJECT_HANDLE key, gp::ByteView in) {
  check_rv(fn_->C_SignInit(h_, &mech, key), "C_SignInit");
  gp::Bytes out(64);
  CK_ULONG n = ul(out.size());
  check_rv(fn_->C_Sign(h_, uc(in.data()), ul(in.size()), out.data(), &n), "C_Sign");
  out.resize(n);
  return out;
}

gp::Bytes Session::wrap(CK_MECHANISM mech, CK_OBJECT_HANDLE wrapping_key, CK_OBJECT_HANDLE key) {
  gp::Bytes out(128);  // keys up to 32 bytes: RFC 3394 output is 40 bytes at most
  CK_ULONG n = ul(out.size());
  check_rv(fn_->C_WrapKey(h_, &mech, wrapping_key, key, out.data(), &n), "C_WrapKey");
  out.resize(n);
  return out;
}

CK_OBJECT_HANDLE Session::unwrap(CK_MECHANISM mech, CK_OBJECT_HANDLE unwrapping_key, gp::ByteView wrapped,
                                 Template& attrs) {
  CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
  check_rv(fn_->C_UnwrapKey(h_, &mech, unwrapping_key, uc(wrapped.data()), ul(wrapped.size()), attrs.data(),
                            attrs.size(), &h),
           "C_UnwrapKey");
  return h;
}

gp::SecureBytes Session::random(std::size_t n) {
  gp::SecureBytes out(n);
  if (n > 0) check_rv(fn_->C_GenerateRandom(h_, out.data(), ul(n)), "C_GenerateRandom");
  return out;
}

bool Session::get_bool(CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type) {
  CK_BBOOL v = CK_FALSE;
  CK_ATTRIBUTE a{type, &v, sizeof v};
  check_rv(fn_->C_GetAttributeValue(h_, obj, &a, 1), "C_GetAttributeValue");
  return v == CK_TRUE;
}

CK_ULONG Session::get_ulong(CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type) {
  CK_ULONG v = 0;
  CK_ATTRIBUTE a{type, &v, sizeof v};
  check_rv(fn_->C_GetAttributeValue(h_, obj, &a, 1), "C_GetAttributeValue");
  return v;
}

gp::Bytes Session::get_bytes(CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE a{type, nullptr, 0};
  check_rv(fn_->C_GetAttributeValue(h_, obj, &a, 1), "C_GetAttributeValue");
  gp::Bytes out(a.ulValueLen);
  a.pValue = out.data();
  check_rv(fn_->C_GetAttributeValue(h_, obj, &a, 1), "C_GetAttributeValue");
  out.resize(a.ulValueLen);
  return out;
}

gp::SecureBytes Session::get_secret(CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type) {
  gp::SecureBytes out(64);
  CK_ATTRIBUTE a{type, out.data(), ul(out.size())};
  CK_RV rv = fn_->C_GetAttributeValue(h_, obj, &a, 1);
  if (rv == CKR_BUFFER_TOO_SMALL) {
    a = {type, nullptr, 0};
    check_rv(fn_->C_GetAttributeValue(h_, obj, &a, 1), "C_GetAttributeValue");
    out.assign(a.ulValueLen, 0);
    a.pValue = out.data();
    rv = fn_->C_GetAttributeValue(h_, obj, &a, 1);
  }
  check_rv(rv, "C_GetAttributeValue");
  out.resize(a.ulValueLen);
  return out;
}

CK_SESSION_INFO Session::info() {
  CK_SESSION_INFO i{};
  check_rv(fn_->C_GetSessionInfo(h_, &i), "C_GetSessionInfo");
  return i;
}

// ---- ScopedObject ---------------------------------------------------------------------------

ScopedObject::~ScopedObject() {
  if (h_ != CK_INVALID_HANDLE) s_->fn()->C_DestroyObject(s_->handle(), h_);
}

void ScopedObject::destroy() {
  CK_OBJECT_HANDLE h = release();
  if (h != CK_INVALID_HANDLE) s_->destroy(h);
}

CK_OBJECT_HANDLE ScopedObject::release() noexcept {
  CK_OBJECT_HANDLE h = h_;
  h_ = CK_INVALID_HANDLE;
  return h;
}

}  // namespace sekds::hsm
