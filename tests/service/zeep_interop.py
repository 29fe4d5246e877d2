#!/usr/bin/python3
"""Independent client check: python3-zeep (not gSOAP) reads wsdl/sekds.wsdl and calls a running
sekds server over mutual TLS through both bindings. Prints one JSON object with what it saw.

  zeep_interop.py WSDL ENDPOINT CERT KEY CA
"""
import json
import sys

import requests
import zeep
from zeep.exceptions import Fault
from zeep.transports import Transport


def main():
    wsdl, endpoint, cert, key, ca = sys.argv[1:6]
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would override `verify`
    session.cert = (cert, key)
    session.verify = ca
    client = zeep.Client(wsdl, transport=Transport(session=session))
    ns = "{https://sekds.example/sekds/v1}"
    out = {}
    for binding in ("SekdsSoap11", "SekdsSoap12"):
        service = client.create_service(ns + binding, endpoint)
        res = {"ping": service.WSPing(Message="zeep " + binding)}
        try:
            service.WSGetKekInfo()
            res["kek_info"] = "no fault"
        except Fault as f:
            # the SekdsFault detail, as zeep parses it from the WSDL's fault part
            code = f.detail.find(".//" + ns + "Code") if f.detail is not None else None
            res["fault_code"] = code.text if code is not None else None
            res["fault_message"] = f.message
        # zeep passes xs:hexBinary through as hex text, both ways
        keys = service.WSGetDiversifiedKeys(
            KeyDiversificationData="00010203040506070809",
            KeyInformation="E012C00401308810C00402308810C00403308810",
            SequenceCounter="00002A",
            KekIndex=7,
            RequestId="zeep-1")
        res["key_type"] = keys.KeyType
        res["scp"] = keys.Scp
        kcv = keys.Enc.Kcv
        res["enc_kcv"] = (kcv.hex() if isinstance(kcv, bytes) else kcv).upper()
        res["audit_id"] = keys.AuditId
        out[binding] = res
    print(json.dumps(out))


if __name__ == "__main__":
    main()
