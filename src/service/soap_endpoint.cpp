#include "service/soap_endpoint.h"

#include <exception>

#include "service/logging.h"
#include "service/soap_convert.h"

namespace sekds::service::detail {
namespace {

constexpr const char* kActionPrefix = "https://sekds.example/sekds/v1/";

// Text from a peer: printable, no control characters (gSOAP turns an undeclared entity into
// 0x7F; the request guard refuses those earlier, this is the second line).
bool is_clean_text(const std::string& s) {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) return false;
  return true;
}

}  // namespace

int SoapEndpoint::begin(const char* operation) {
  conn().rec.operation = operation;
  soapconv::use_soap_version(soap, conn().soap_version);
  // SOAP 1.1 SOAPAction header or SOAP 1.2 action parameter; empty means "the request URI".
  if (soap->action != nullptr && *soap->action != '\0') {
    std::string expected = std::string(kActionPrefix) + operation;
    if (expected != soap->action)
      return fault({FaultCode::InvalidArgument,
                    soapconv::truncate_utf8(std::string("SOAP action '") + soap->action + "' does not match the operation " +
                                                operation,
                                            256)});
  }
  return SOAP_OK;
}

int SoapEndpoint::fault(const Fault& f) {
  conn().rec.fault = fault_code_name(f.code);
  conn().rec.domain_fault = true;
  return soapconv::set_fault(soap, f);
}

int SoapEndpoint::WSPing(_sekds__WSPing* in, _sekds__WSPingResponse& out) {
  if (int e = begin("WSPing")) return e;
  if (in == nullptr) return fault({FaultCode::InvalidArgument, "empty WSPing"});
  if (!is_clean_text(in->Message)) return fault({FaultCode::InvalidArgument, "Message contains control characters"});
  out.Message = in->Message;
  return SOAP_OK;
}

int SoapEndpoint::WSGetDiversifiedKeys(_sekds__WSGetDiversifiedKeys* in, _sekds__WSGetDiversifiedKeysResponse& out) {
  if (int e = begin("WSGetDiversifiedKeys")) return e;
  if (in == nullptr) return fault({FaultCode::InvalidArgument, "empty WSGetDiversifiedKeys"});
  if (!conn().ctx.limiter.allow(conn().identity.cert_sha256_hex))
    return fault({FaultCode::RateLimited, "too many requests from this TSM; retry later"});
  auto converted = soapconv::request_from_soap(*in);
  if (auto* f = std::get_if<Fault>(&converted)) return fault(*f);
  const GetKeysRequest& request = std::get<GetKeysRequest>(converted);
  if (request.request_id) conn().rec.request_id = *request.request_id;

  std::variant<GetKeysResponse, Fault> result;
  try {
    result = conn().ctx.keys.get_diversified_keys(conn().identity, request);
  } catch (const std::exception& e) {
    log_json(spdlog::level::err, {{"event", "key_service_exception"}, {"op", "WSGetDiversifiedKeys"}, {"error", e.what()}});
    return fault({FaultCode::Internal, "internal error"});
  }
  if (auto* f = std::get_if<Fault>(&result)) return fault(*f);
  const GetKeysResponse& response = std::get<GetKeysResponse>(result);
  conn().rec.audit_id = response.audit_id;
  if (auto problem = soapconv::response_to_soap(soap, response, out)) {
    log_json(spdlog::level::err, {{"event", "key_service_invalid_response"}, {"op", "WSGetDiversifiedKeys"},
                                  {"error", *problem}});
    return fault({FaultCode::Internal, "internal error"});
  }
  return SOAP_OK;
}

int SoapEndpoint::WSGetKekInfo(_sekds__WSGetKekInfo* in, _sekds__WSGetKekInfoResponse& out) {
  if (int e = begin("WSGetKekInfo")) return e;
  if (in == nullptr) return fault({FaultCode::InvalidArgument, "empty WSGetKekInfo"});
  if (!conn().ctx.limiter.allow(conn().identity.cert_sha256_hex))
    return fault({FaultCode::RateLimited, "too many requests from this TSM; retry later"});
  std::variant<std::vector<KekInfo>, Fault> result;
  try {
    result = conn().ctx.keys.get_kek_info(conn().identity);
  } catch (const std::exception& e) {
    log_json(spdlog::level::err, {{"event", "key_service_exception"}, {"op", "WSGetKekInfo"}, {"error", e.what()}});
    return fault({FaultCode::Internal, "internal error"});
  }
  if (auto* f = std::get_if<Fault>(&result)) return fault(*f);
  if (auto problem = soapconv::kek_info_to_soap(soap, std::get<std::vector<KekInfo>>(result), out)) {
    log_json(spdlog::level::err, {{"event", "key_service_invalid_response"}, {"op", "WSGetKekInfo"}, {"error", *problem}});
    return fault({FaultCode::Internal, "internal error"});
  }
  return SOAP_OK;
}

}  // namespace sekds::service::detail
