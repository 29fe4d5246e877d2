// The generated gSOAP service class, implemented over the KeyService. One per pooled soap
// context (SoapSlot); it serves the connection attached to that context (soap->user).
#pragma once

#include "soapSekdsSoap11Service.h"  // generated at build time (compiled with WITH_PURE_VIRTUAL)
#include "service/server_internal.h"

namespace sekds::service::detail {

class SoapEndpoint : public SekdsSoap11Service {
 public:
  explicit SoapEndpoint(struct soap* s) : SekdsSoap11Service(s) {}

  int WSGetDiversifiedKeys(_sekds__WSGetDiversifiedKeys* in, _sekds__WSGetDiversifiedKeysResponse& out) override;
  int WSGetKekInfo(_sekds__WSGetKekInfo* in, _sekds__WSGetKekInfoResponse& out) override;
  int WSPing(_sekds__WSPing* in, _sekds__WSPingResponse& out) override;
  // wsdl2h collects the SOAP 1.2 binding's operations as "_" twins; the dispatcher matches the
  // first ones for both versions, but they must exist.
  int WSGetDiversifiedKeys_(_sekds__WSGetDiversifiedKeys* in, _sekds__WSGetDiversifiedKeysResponse& out) override {
    return WSGetDiversifiedKeys(in, out);
  }
  int WSGetKekInfo_(_sekds__WSGetKekInfo* in, _sekds__WSGetKekInfoResponse& out) override {
    return WSGetKekInfo(in, out);
  }
  int WSPing_(_sekds__WSPing* in, _sekds__WSPingResponse& out) override { return WSPing(in, out); }
  SekdsSoap11Service* copy() override { return nullptr; }  // connections never copy endpoints

 private:
  // Common entry of every operation: restores the request's SOAP version (the generated
  // dispatcher resets the namespace table, which resets soap->version) and checks the action.
  int begin(const char* operation);
  int fault(const Fault& f);
  Connection& conn() const { return *static_cast<Connection*>(soap->user); }
};

}  // namespace sekds::service::detail
