#include "service/soap_convert.h"

#include <cstring>

namespace sekds::service::soapconv {
namespace {

gp::Bytes bytes_of(const xsd__hexBinary& h) {
  if (h.__ptr == nullptr || h.__size <= 0) return {};
  return gp::Bytes(h.__ptr, h.__ptr + h.__size);
}

// Copies into memory owned by the soap context (freed by soap_end).
void set_hex(struct soap* soap, xsd__hexBinary& h, const gp::Bytes& b) {
  h.__size = static_cast<int>(b.size());
  h.__ptr = static_cast<unsigned char*>(soap_malloc(soap, b.empty() ? 1 : b.size()));
  if (h.__ptr != nullptr && !b.empty()) std::memcpy(h.__ptr, b.data(), b.size());
}

xsd__hexBinary* new_hex(struct soap* soap, const gp::Bytes& b) {
  xsd__hexBinary* h = soap_new_xsd__hexBinary(soap);
  set_hex(soap, *h, b);
  return h;
}

std::optional<sekds__KeyType> key_type_to_soap(gp::KeyType t) {
  switch (t) {
    case gp::KeyType::Des2: return sekds__KeyType__DES2;
    case gp::KeyType::Des3: return sekds__KeyType__DES3;
    case gp::KeyType::Aes128: return sekds__KeyType__AES128;
    case gp::KeyType::Aes192: return sekds__KeyType__AES192;
    case gp::KeyType::Aes256: return sekds__KeyType__AES256;
  }
  return std::nullopt;
}

std::optional<gp::KeyType> key_type_from_soap(sekds__KeyType t) {
  switch (t) {
    case sekds__KeyType__DES2: return gp::KeyType::Des2;
    case sekds__KeyType__DES3: return gp::KeyType::Des3;
    case sekds__KeyType__AES128: return gp::KeyType::Aes128;
    case sekds__KeyType__AES192: return gp::KeyType::Aes192;
    case sekds__KeyType__AES256: return gp::KeyType::Aes256;
  }
  return std::nullopt;
}

std::optional<sekds__KekAlgorithm> kek_algorithm_to_soap(const std::string& a) {
  if (a == "AES128") return sekds__KekAlgorithm__AES128;
  if (a == "AES192") return sekds__KekAlgorithm__AES192;
  if (a == "AES256") return sekds__KekAlgorithm__AES256;
  return std::nullopt;
}

const char* kek_algorithm_from_soap(sekds__KekAlgorithm a) {
  switch (a) {
    case sekds__KekAlgorithm__AES128: return "AES128";
    case sekds__KekAlgorithm__AES192: return "AES192";
    case sekds__KekAlgorithm__AES256: return "AES256";
  }
  return nullptr;
}

std::optional<sekds__KekState> kek_state_to_soap(const std::string& s) {
  if (s == "pending") return sekds__KekState__pending;
  if (s == "active") return sekds__KekState__active;
  if (s == "retired") return sekds__KekState__retired;
  return std::nullopt;
}

const char* kek_state_from_soap(sekds__KekState s) {
  switch (s) {
    case sekds__KekState__pending: return "pending";
    case sekds__KekState__active: return "active";
    case sekds__KekState__retired: return "retired";
  }
  return nullptr;
}

sekds__WrappedKey* wrapped_to_soap(struct soap* soap, const WrappedKeyOut& k) {
  sekds__WrappedKey* w = soap_new_sekds__WrappedKey(soap);
  set_hex(soap, w->WrappedKey, k.wrapped_key);
  set_hex(soap, w->Kcv, k.kcv);
  return w;
}

}  // namespace

std::string truncate_utf8(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  // Step back over continuation bytes (10xxxxxx) so no character is cut in half.
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

std::variant<GetKeysRequest, Fault> request_from_soap(const _sekds__WSGetDiversifiedKeys& in) {
  GetKeysRequest r;
  r.kdd = bytes_of(in.KeyDiversificationData);
  r.key_information = bytes_of(in.KeyInformation);
  r.sequence_counter = bytes_of(in.SequenceCounter);
  r.kek_index = in.KekIndex;
  if (in.KeySetVersion) r.key_set_version = *in.KeySetVersion;
  if (in.IssuerIdentificationNumber) r.iin = bytes_of(*in.IssuerIdentificationNumber);
  if (in.CardImageNumber) r.cin = bytes_of(*in.CardImageNumber);
  if (in.Cplc) r.cplc = bytes_of(*in.Cplc);
  if (in.RequestId) r.request_id = *in.RequestId;
  if (auto f = validate(r)) return *f;
  return r;
}

std::optional<std::string> response_to_soap(struct soap* soap, const GetKeysResponse& r,
                                            _sekds__WSGetDiversifiedKeysResponse& out) {
  if (auto problem = validate(r)) return problem;
  auto kt = key_type_to_soap(r.key_type);
  if (!kt) return "unknown key type";
  out.KeySetVersion = r.key_set_version;
  out.KeyType = *kt;
  out.Scp = r.scp == 2 ? sekds__Scp__02 : sekds__Scp__03;
  out.WrapAlgorithm = sekds__WrapAlgorithm__AES_KW_RFC3394;
  out.KekIndex = r.kek_index;
  set_hex(soap, out.KekKcv, r.kek_kcv);
  out.Enc = wrapped_to_soap(soap, r.enc);
  out.Mac = wrapped_to_soap(soap, r.mac);
  out.Dek = wrapped_to_soap(soap, r.dek);
  out.AuditId = r.audit_id;
  return std::nullopt;
}

std::optional<std::string> kek_info_to_soap(struct soap* soap, const std::vector<KekInfo>& keks,
                                            _sekds__WSGetKekInfoResponse& out) {
  if (keks.size() > 1024) return "more than 1024 KEKs";
  for (const KekInfo& k : keks)
    if (auto problem = validate(k)) return problem;
  for (const KekInfo& k : keks) {
    sekds__KekInfo* s = soap_new_sekds__KekInfo(soap);
    s->KekIndex = k.index;
    s->Algorithm = *kek_algorithm_to_soap(k.algorithm);
    set_hex(soap, s->Kcv, k.kcv);
    s->State = *kek_state_to_soap(k.state);
    if (k.valid_from) {
      s->ValidFrom = soap_new_std__string(soap);
      *s->ValidFrom = *k.valid_from;
    }
    if (k.valid_until) {
      s->ValidUntil = soap_new_std__string(soap);
      *s->ValidUntil = *k.valid_until;
    }
    out.Kek.push_back(s);
  }
  return std::nullopt;
}

void request_to_soap(struct soap* soap, const GetKeysRequest& r, _sekds__WSGetDiversifiedKeys& out) {
  set_hex(soap, out.KeyDiversificationData, r.kdd);
  set_hex(soap, out.KeyInformation, r.key_information);
  set_hex(soap, out.SequenceCounter, r.sequence_counter);
  out.KekIndex = r.kek_index;
  if (r.key_set_version) {
    out.KeySetVersion = static_cast<unsigned char*>(soap_malloc(soap, 1));
    *out.KeySetVersion = *r.key_set_version;
  }
  if (r.iin) out.IssuerIdentificationNumber = new_hex(soap, *r.iin);
  if (r.cin) out.CardImageNumber = new_hex(soap, *r.cin);
  if (r.cplc) out.Cplc = new_hex(soap, *r.cplc);
  if (r.request_id) {
    out.RequestId = soap_new_std__string(soap);
    *out.RequestId = *r.request_id;
  }
}

std::variant<GetKeysResponse, std::string> response_from_soap(const _sekds__WSGetDiversifiedKeysResponse& in) {
  GetKeysResponse r;
  r.key_set_version = in.KeySetVersion;
  auto kt = key_type_from_soap(in.KeyType);
  if (!kt) return std::string("unknown KeyType in the response");
  r.key_type = *kt;
  r.scp = in.Scp == sekds__Scp__02 ? 2 : 3;
  r.wrap_algorithm = WrapAlgorithm::AesKwRfc3394;
  r.kek_index = in.KekIndex;
  r.kek_kcv = bytes_of(in.KekKcv);
  if (!in.Enc || !in.Mac || !in.Dek) return std::string("Enc, Mac or Dek missing in the response");
  r.enc = {bytes_of(in.Enc->WrappedKey), bytes_of(in.Enc->Kcv)};
  r.mac = {bytes_of(in.Mac->WrappedKey), bytes_of(in.Mac->Kcv)};
  r.dek = {bytes_of(in.Dek->WrappedKey), bytes_of(in.Dek->Kcv)};
  r.audit_id = in.AuditId;
  if (auto problem = validate(r)) return "invalid response: " + *problem;
  return r;
}

std::variant<std::vector<KekInfo>, std::string> kek_info_from_soap(const _sekds__WSGetKekInfoResponse& in) {
  std::vector<KekInfo> out;
  for (const sekds__KekInfo* s : in.Kek) {
    if (s == nullptr) continue;
    KekInfo k;
    k.index = s->KekIndex;
    const char* alg = kek_algorithm_from_soap(s->Algorithm);
    const char* state = kek_state_from_soap(s->State);
    if (!alg || !state) return std::string("unknown KEK algorithm or state in the response");
    k.algorithm = alg;
    k.state = state;
    k.kcv = bytes_of(s->Kcv);
    if (s->ValidFrom) k.valid_from = *s->ValidFrom;
    if (s->ValidUntil) k.valid_until = *s->ValidUntil;
    out.push_back(std::move(k));
  }
  return out;
}

sekds__FaultCode fault_code_to_soap(FaultCode c) noexcept {
  switch (c) {
    case FaultCode::InvalidArgument: return sekds__FaultCode__InvalidArgument;
    case FaultCode::UnknownKeySet: return sekds__FaultCode__UnknownKeySet;
    case FaultCode::KeyInformationMismatch: return sekds__FaultCode__KeyInformationMismatch;
    case FaultCode::NotEntitled: return sekds__FaultCode__NotEntitled;
    case FaultCode::UnknownKek: return sekds__FaultCode__UnknownKek;
    case FaultCode::KekNotActive: return sekds__FaultCode__KekNotActive;
    case FaultCode::NotAccredited: return sekds__FaultCode__NotAccredited;
    case FaultCode::RateLimited: return sekds__FaultCode__RateLimited;
    case FaultCode::HsmUnavailable: return sekds__FaultCode__HsmUnavailable;
    case FaultCode::AuditUnavailable: return sekds__FaultCode__AuditUnavailable;
    case FaultCode::Internal: return sekds__FaultCode__Internal;
    case FaultCode::CounterReplay: return sekds__FaultCode__CounterReplay;
  }
  return sekds__FaultCode__Internal;
}

FaultCode fault_code_from_soap(sekds__FaultCode c) noexcept {
  switch (c) {
    case sekds__FaultCode__InvalidArgument: return FaultCode::InvalidArgument;
    case sekds__FaultCode__UnknownKeySet: return FaultCode::UnknownKeySet;
    case sekds__FaultCode__KeyInformationMismatch: return FaultCode::KeyInformationMismatch;
    case sekds__FaultCode__NotEntitled: return FaultCode::NotEntitled;
    case sekds__FaultCode__UnknownKek: return FaultCode::UnknownKek;
    case sekds__FaultCode__KekNotActive: return FaultCode::KekNotActive;
    case sekds__FaultCode__NotAccredited: return FaultCode::NotAccredited;
    case sekds__FaultCode__RateLimited: return FaultCode::RateLimited;
    case sekds__FaultCode__HsmUnavailable: return FaultCode::HsmUnavailable;
    case sekds__FaultCode__AuditUnavailable: return FaultCode::AuditUnavailable;
    case sekds__FaultCode__Internal: return FaultCode::Internal;
    case sekds__FaultCode__CounterReplay: return FaultCode::CounterReplay;
  }
  return FaultCode::Internal;
}

// The generated table lists SOAP 1.2 first (the WSDL has a SOAP 1.2 binding), which makes
// gSOAP speak 1.2; these two tables put the wanted version first and accept the other.
// (soap_set_version() does not stick: gSOAP re-reads the table when it starts a message.)
const struct Namespace kNamespaces11[] = {
    {"SOAP-ENV", "http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/*/soap-envelope", nullptr},
    {"SOAP-ENC", "http://schemas.xmlsoap.org/soap/encoding/", "http://www.w3.org/*/soap-encoding", nullptr},
    {"xsi", "http://www.w3.org/2001/XMLSchema-instance", "http://www.w3.org/*/XMLSchema-instance", nullptr},
    {"xsd", "http://www.w3.org/2001/XMLSchema", "http://www.w3.org/*/XMLSchema", nullptr},
    {"sekds", "https://sekds.example/sekds/v1", nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr}};
const struct Namespace kNamespaces12[] = {
    {"SOAP-ENV", "http://www.w3.org/2003/05/soap-envelope", "http://schemas.xmlsoap.org/soap/envelope/", nullptr},
    {"SOAP-ENC", "http://www.w3.org/2003/05/soap-encoding", "http://schemas.xmlsoap.org/soap/encoding/", nullptr},
    {"xsi", "http://www.w3.org/2001/XMLSchema-instance", "http://www.w3.org/*/XMLSchema-instance", nullptr},
    {"xsd", "http://www.w3.org/2001/XMLSchema", "http://www.w3.org/*/XMLSchema", nullptr},
    {"sekds", "https://sekds.example/sekds/v1", nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr}};

void use_soap_version(struct soap* soap, short version) {
  soap_set_namespaces(soap, version == 2 ? kNamespaces12 : kNamespaces11);
  soap->version = version == 2 ? 2 : 1;
}

int set_fault(struct soap* soap, const Fault& f) {
  std::string message = truncate_utf8(f.message, 256);
  const char* text = soap_strdup(soap, message.c_str());
  // A fresh fault: gSOAP may have filled one in already (for another SOAP version, too).
  soap->fault = nullptr;
  if (is_sender_fault(f.code)) soap_sender_fault(soap, text, nullptr);
  else soap_receiver_fault(soap, text, nullptr);
  _sekds__SekdsFault* detail = soap_new__sekds__SekdsFault(soap);
  detail->Code = fault_code_to_soap(f.code);
  detail->Message = message;
  // soap_faultdetail() creates the Detail element of the right SOAP version.
  (void)soap_faultdetail(soap);
  SOAP_ENV__Detail* d = soap->version == 2 ? soap->fault->SOAP_ENV__Detail : soap->fault->detail;
  if (d != nullptr) d->sekds__SekdsFault = detail;
  return soap->error = SOAP_FAULT;
}

std::optional<Fault> fault_from_soap(struct soap* soap) {
  if (soap->fault == nullptr) return std::nullopt;
  for (SOAP_ENV__Detail* d : {soap->fault->detail, soap->fault->SOAP_ENV__Detail}) {
    if (d != nullptr && d->sekds__SekdsFault != nullptr)
      return Fault{fault_code_from_soap(d->sekds__SekdsFault->Code), d->sekds__SekdsFault->Message};
  }
  return std::nullopt;
}

}  // namespace sekds::service::soapconv
