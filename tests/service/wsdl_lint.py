#!/usr/bin/python3
"""Checks wsdl/sekds.wsdl for what the contract promises: every schema element and named type is
documented, every KCV field states its convention, both SOAP bindings exist, the target
namespace is versioned. Prints the problems (none: exit 0).

  wsdl_lint.py WSDL
"""
import sys
import xml.etree.ElementTree as ET

XS = "{http://www.w3.org/2001/XMLSchema}"
WSDL = "{http://schemas.xmlsoap.org/wsdl/}"


def doc_of(node):
    d = node.find(XS + "annotation/" + XS + "documentation")
    return (d.text or "").strip() if d is not None else ""


def main():
    root = ET.parse(sys.argv[1]).getroot()
    problems = []
    if not root.get("targetNamespace", "").endswith("/sekds/v1"):
        problems.append("targetNamespace is not versioned .../sekds/v1")
    for tag in ("element", "simpleType", "complexType"):
        for node in root.iter(XS + tag):
            name = node.get("name")
            if tag != "element" and name is None:
                continue  # anonymous types are documented by their element
            if not doc_of(node):
                problems.append("xs:%s %s has no xs:documentation" % (tag, name or node.get("ref")))
            if tag == "element" and name in ("Kcv", "KekKcv") and "GP-" not in doc_of(node):
                problems.append("%s does not state its KCV convention" % name)
    bindings = {b.get("name"): b for b in root.iter(WSDL + "binding")}
    soap11 = [n for n, b in bindings.items() if b.find("{http://schemas.xmlsoap.org/wsdl/soap/}binding") is not None]
    soap12 = [n for n, b in bindings.items() if b.find("{http://schemas.xmlsoap.org/wsdl/soap12/}binding") is not None]
    if not soap11 or not soap12:
        problems.append("a SOAP 1.1 and a SOAP 1.2 binding are both required")
    for port in root.iter("{http://schemas.xmlsoap.org/wsdl/soap/}address"):
        if not port.get("location", "").endswith("/sekds/v1"):
            problems.append("service address does not end in /sekds/v1")
    ops = {o.get("name") for o in root.iter(WSDL + "portType") for o in o.iter(WSDL + "operation")}
    for op in ("WSGetDiversifiedKeys", "WSGetKekInfo", "WSPing"):
        if op not in ops:
            problems.append("operation %s missing" % op)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
