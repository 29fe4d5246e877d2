#!/usr/bin/python3
"""An independent TSM client for sekds: python3-zeep (not gSOAP), requests and python3-cryptography
(not sekds' gp code). It reads ONLY the contract (wsdl/sekds.wsdl) and a manifest in the format of
deploy/dev-env.sh's var/dev/manifest.json (endpoint, CA, TSM certificate/key, KEK values, key sets
with their demo master keys), and checks:

  * for every key set in the manifest: the three keys fetched over mutual TLS unwrap (RFC 3394)
    under the TSM's KEK and equal the keys it computes itself (EMV CPS 1.1 with 3DES, KDF3 with
    AES-CMAC), the KCVs are the GP ones, the KEK KCV is the manifest's;
  * WSGetKekInfo lists the TSM's KEK;
  * hostile requests (malformed XML, oversize, billion laughs, XXE) get clean faults (or HTTP 413)
    and the server keeps serving.

  independent_client.py --manifest MANIFEST [--wsdl WSDL]
  independent_client.py --dev-env DEV_ENV_SH [--wsdl WSDL]   (ctest: `up` in a temp dir on a free
                                                               port, the checks, then `down`)
Prints one line per check; exit 0 when all pass, 1 otherwise.
"""
import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile

import requests
import zeep
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap
from zeep.exceptions import Fault
from zeep.transports import Transport

NS = "{https://sekds.example/sekds/v1}"
ROLES = (("ENC", 1), ("MAC", 2), ("DEK", 3))
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


# ---- the expected keys, computed here (GlobalPlatform conventions) ----

def tdes_ecb(key, data):
    if len(key) == 16:
        key = key + key[:8]  # 2-key 3DES
    try:  # cryptography >= 43 moved TripleDES to the decrepit module
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    except ImportError:
        TripleDES = algorithms.TripleDES
    e = Cipher(TripleDES(key), modes.ECB()).encryptor()
    return e.update(data) + e.finalize()


def aes_ecb(key, data):
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return e.update(data) + e.finalize()


def aes_cmac(key, data):
    c = cmac.CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def emv_cps11(master, kdd, k):
    """EMV CPS 1.1: 3DES-ECB(MK, KDD[4..9] F0 k || KDD[4..9] 0F k)."""
    data = kdd[4:10] + bytes([0xF0, k]) + kdd[4:10] + bytes([0x0F, k])
    return tdes_ecb(master, data)


def kdf3(master, kdd, k):
    """GlobalPlatformPro's KDF3: block_i = AES-CMAC(MK, i 00 00 00 k 00 KDD), truncated."""
    out = b""
    i = 1
    while len(out) < len(master):
        out += aes_cmac(master, bytes([i, 0, 0, 0, k, 0]) + kdd)
        i += 1
    return out[:len(master)]


def diversify(method, master, kdd, k):
    if method == "emv":
        return emv_cps11(master, kdd, k)
    if method == "kdf3":
        return kdf3(master, kdd, k)
    raise ValueError("method %s is not implemented by this client" % method)


def kcv(key, aes):
    return (aes_ecb(key, b"\x01" * 16) if aes else tdes_ecb(key, b"\x00" * 8))[:3]


def strip_parity(b):
    return bytes(x & 0xFE for x in b)


def self_test():
    """Public known answers (GlobalPlatformPro's TestPlaintextKeys / TestSCP03), so a wrong
    implementation here cannot agree with a wrong server."""
    mk = bytes.fromhex("404142434445464748494A4B4C4D4E4F")
    kdd = bytes.fromhex("00010203040506070809")
    got = [kcv(emv_cps11(mk, kdd, k), False).hex().upper() for _, k in ROLES]
    check(got == ["C33013", "6F4CA6", "BB8179"], "EMV CPS 1.1 known answer (GlobalPlatformPro)")
    got = [kcv(kdf3(mk, kdd, k), True).hex().upper() for _, k in ROLES]
    check(got == ["E79C05", "D1BD77", "3FDE8C"], "KDF3 AES-128 known answer (GlobalPlatformPro)")
    mk = bytes.fromhex("8C72C72CF908411653018807950D82FBAD947562F0828A0B10B8B9606ABF3BCD")
    got = kdf3(mk, bytes.fromhex("D9B1DE5D0362DEDCE4FB"), 1).hex().upper()
    check(got == "9AAC5D0B3601F89438A0D9D0B6B256CFB47E6462DFA5228D3420C4AC7C224781",
          "KDF3 AES-256 known answer (GlobalPlatformPro)")


# ---- the card data a TSM would read ----

def key_information(kvn, aes, length):
    """'E0' with one basic 'C0' per key: KID, KVN, type ('80' DES / '88' AES), length."""
    body = b""
    for _, kid in ROLES:
        body += bytes([0xC0, 4, kid, kvn, 0x88 if aes else 0x80, length])
    return bytes([0xE0, len(body)]) + body


def as_bytes(v):
    return bytes.fromhex(v) if isinstance(v, str) else bytes(v)


# ---- the checks ----

def session_for(tsm, ca):
    s = requests.Session()
    s.trust_env = False
    s.cert = (tsm["cert"], tsm["key"])
    s.verify = ca
    return s


def fetch_all(m, wsdl):
    tsm = next(t for t in m["tsms"] if t["name"] == "tsm1")
    kek = next(k for k in tsm["keks"] if k["state"] == "active")
    kek_value = bytes.fromhex(kek["value_hex"])
    check(kcv(kek_value, True).hex().upper() == kek["kcv"], "KEK %d value matches its KCV" % kek["index"])
    client = zeep.Client(wsdl, transport=Transport(session=session_for(tsm, m["ca_cert"])))
    for binding in ("SekdsSoap11", "SekdsSoap12"):
        svc = client.create_service(NS + binding, m["endpoint"])
        for ks in m["key_sets"]:
            if ks["issuer"] not in tsm["issuers"]:
                continue
            name = "%s %s KVN %d" % (binding, ks["issuer"], ks["kvn"])
            aes = ks["key_type"].startswith("AES")
            master = bytes.fromhex(ks["master_key_hex"])
            length = len(master) if aes else 16
            kdd = secrets.token_bytes(10)
            counter = secrets.randbelow(0x7FFF) + 1
            scp = int(str(ks["scp"]), 16) if isinstance(ks["scp"], str) else int(ks["scp"])
            r = svc.WSGetDiversifiedKeys(
                KeyDiversificationData=kdd.hex().upper(),
                KeyInformation=key_information(ks["kvn"], aes, length).hex().upper(),
                SequenceCounter=counter.to_bytes(2 if scp == 2 else 3, "big").hex().upper(),
                KekIndex=kek["index"],
                KeySetVersion=ks["kvn"],
                IssuerIdentificationNumber=ks["iin"],
                RequestId="independent-" + secrets.token_hex(8))
            check(r.KeySetVersion == ks["kvn"] and r.KekIndex == kek["index"], name + ": KVN and KEK index")
            check(r.KeyType == ks["key_type"] and r.Scp == ("02" if scp == 2 else "03"), name + ": key type and SCP")
            check(as_bytes(r.KekKcv).hex().upper() == kek["kcv"], name + ": KEK KCV")
            check(r.WrapAlgorithm == "AES-KW-RFC3394" and r.AuditId.isdigit(), name + ": wrap algorithm, AuditId")
            for role, k in ROLES:
                w = getattr(r, role.capitalize())
                plain = aes_key_unwrap(kek_value, as_bytes(w.WrappedKey))
                want = diversify(ks["method"], master, kdd, k)
                same = plain == want if aes else strip_parity(plain) == strip_parity(want)
                check(same, name + ": " + role + " equals the independently derived key")
                check(as_bytes(w.Kcv) == kcv(want, aes), name + ": " + role + " KCV")
        infos = svc.WSGetKekInfo()
        check(any(i.KekIndex == kek["index"] and as_bytes(i.Kcv).hex().upper() == kek["kcv"] for i in infos),
              binding + ": WSGetKekInfo lists KEK %d" % kek["index"])


def fault_code(resp):
    """The SekdsFault Code of an HTTP answer, or None."""
    import xml.etree.ElementTree as ET
    try:
        root = ET.fromstring(resp.content)
    except ET.ParseError:
        return None
    code = root.find(".//" + NS + "Code")
    return code.text if code is not None else None


def hostile(m):
    tsm = next(t for t in m["tsms"] if t["name"] == "tsm1")
    s = session_for(tsm, m["ca_cert"])
    url = m["endpoint"]
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    env = ('<?xml version="1.0"?>%s<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
           'xmlns:s="https://sekds.example/sekds/v1"><soapenv:Body><s:WSPing><s:Message>%s</s:Message></s:WSPing>'
           '</soapenv:Body></soapenv:Envelope>')
    laughs = ('<!DOCTYPE lolz [<!ENTITY lol "lol">' +
              "".join('<!ENTITY lol%d "%s">' % (i, ("&lol%d;" % (i - 1) if i > 1 else "&lol;") * 10) for i in range(1, 10)) +
              ']>')
    cases = [
        ("malformed XML", "<soapenv:Envelope><unclosed>", ("InvalidArgument",)),
        ("billion laughs", env % (laughs, "&lol9;"), ("InvalidArgument",)),
        ("XXE", env % ('<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;"), ("InvalidArgument",)),
        ("oversize", env % ("", "A" * (2 * 1024 * 1024)), (413,)),
    ]
    for name, body, expect in cases:
        try:
            resp = s.post(url, data=body.encode(), headers=headers, timeout=30)
        except requests.RequestException as e:
            check(413 in expect, "%s: refused (%s)" % (name, type(e).__name__))
            continue
        if 413 in expect:
            check(resp.status_code == 413, "%s: HTTP %d" % (name, resp.status_code))
        else:
            code = fault_code(resp)
            check(resp.status_code == 500 and code in expect, "%s: HTTP %d, fault %s" % (name, resp.status_code, code))
            check(b"root:" not in resp.content and b"lollol" not in resp.content, name + ": nothing expanded or read")
    # Still serving.
    client = zeep.Client(WSDL, transport=Transport(session=session_for(tsm, m["ca_cert"])))
    svc = client.create_service(NS + "SekdsSoap11", url)
    check(svc.WSPing(Message="still there") == "still there", "the server keeps serving after hostile requests")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


WSDL = None


def main():
    global WSDL
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--manifest")
    p.add_argument("--dev-env")
    p.add_argument("--wsdl", default=os.path.join(here, "..", "..", "wsdl", "sekds.wsdl"))
    a = p.parse_args()
    WSDL = os.path.abspath(a.wsdl)
    if bool(a.manifest) == bool(a.dev_env):
        p.error("give exactly one of --manifest and --dev-env")
    self_test()
    tmp = None
    try:
        if a.dev_env:
            tmp = tempfile.mkdtemp(prefix="sekds-independent-")
            d = os.path.join(tmp, "dev")
            up = subprocess.run([a.dev_env, "up", "--dir", d, "--port", str(free_port())],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if up.returncode != 0:
                print(up.stdout)
                check(False, "deploy/dev-env.sh up (exit %d)" % up.returncode)
                return 1
            manifest = os.path.join(d, "manifest.json")
        else:
            manifest = a.manifest
        with open(manifest) as f:
            m = json.load(f)
        fetch_all(m, WSDL)
        hostile(m)
    finally:
        if tmp:
            subprocess.run([a.dev_env, "down", "--dir", os.path.join(tmp, "dev")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
