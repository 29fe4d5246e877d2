// The one place where generated gSOAP types meet the domain types of key_service.h.
// Internal to src/service (server and client); nothing above src/service includes it.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "soapH.h"  // generated at build time from wsdl/sekds.wsdl
#include "service/key_service.h"

namespace sekds::service::soapconv {

// ---- server side: SOAP request -> domain, domain -> SOAP response ----
// Converts and validates (validate(GetKeysRequest)); the Fault is InvalidArgument.
std::variant<GetKeysRequest, Fault> request_from_soap(const _sekds__WSGetDiversifiedKeys& in);
// Fills `out` (allocated in `soap`); returns what is wrong if the KeyService's answer breaks
// the WSDL (nothing is filled then).
std::optional<std::string> response_to_soap(struct soap* soap, const GetKeysResponse& r,
                                            _sekds__WSGetDiversifiedKeysResponse& out);
std::optional<std::string> kek_info_to_soap(struct soap* soap, const std::vector<KekInfo>& keks,
                                            _sekds__WSGetKekInfoResponse& out);

// ---- client side: domain -> SOAP request, SOAP response -> domain ----
void request_to_soap(struct soap* soap, const GetKeysRequest& r, _sekds__WSGetDiversifiedKeys& out);
std::variant<GetKeysResponse, std::string> response_from_soap(const _sekds__WSGetDiversifiedKeysResponse& in);
std::variant<std::vector<KekInfo>, std::string> kek_info_from_soap(const _sekds__WSGetKekInfoResponse& in);

// ---- faults ----
sekds__FaultCode fault_code_to_soap(FaultCode c) noexcept;
FaultCode fault_code_from_soap(sekds__FaultCode c) noexcept;
// Makes the next message written on `soap` SOAP 1.1 (1) or SOAP 1.2 (2); both stay accepted
// on input.
void use_soap_version(struct soap* soap, short version);
// Sets soap->fault for `f` (Client/Sender or Server/Receiver as is_sender_fault says) with a
// SekdsFault detail, for the SOAP version in soap->version. Returns SOAP_FAULT.
int set_fault(struct soap* soap, const Fault& f);
// The SekdsFault detail of a received fault, if any.
std::optional<Fault> fault_from_soap(struct soap* soap);

// At most `max` bytes of `s`, cut on a UTF-8 character boundary.
std::string truncate_utf8(const std::string& s, std::size_t max);

}  // namespace sekds::service::soapconv
