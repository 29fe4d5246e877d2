#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/), small and committed.

The seeds are real inputs: the public GP vectors of tests/vectors/gp_data_objects.json, APDUs a
TSM sends and a card answers (recorded from the flows in tests/card and tests/tsm), operation
scripts for fuzz_card in its input format (see fuzz_card.cpp), and SOAP requests as the sekds
client sends them. Run it again after changing a format; it rewrites only its own files.
    tests/fuzz/make_seeds.py
"""
import json
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
VECTORS = HERE.parent / "vectors" / "gp_data_objects.json"


def h(s):
    return bytes.fromhex(s.replace(" ", ""))


def tlv(tag, value):
    t = tag.to_bytes((tag.bit_length() + 7) // 8, "big")
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n <= 0xFF:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82]) + n.to_bytes(2, "big")
    return t + length + value


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


# ---- GP data objects: the public vectors plus what sekds's virtual cards answer ----
vectors = json.loads(VECTORS.read_text())["vectors"]
objects = {f"vector_{i}_{v['kind']}": h(v["data"]) for i, v in enumerate(vectors)}
cplc = h("5345 4B44 4750 5330 0231 5330 00000001 BA7C 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000")
assert len(cplc) == 42, len(cplc)
objects.update({
    "kdd": tlv(0xCF, h("53454B440000000001BA")),
    "kdd_bare": h("53454B440000000001BA"),
    "counter_scp02": tlv(0xC1, h("0007")),
    "counter_scp03": tlv(0xC1, h("000102")),
    "url": tlv(0x5F50, b"https://ttp.example:8443/sekds/v1"),
    "url_ipv6": tlv(0x5F50, b"https://[::1]:8443/sekds/v1?x=1"),
    "iin": tlv(0x42, h("4242")),
    "cin": tlv(0x45, h("0102030405060708")),
    "cplc": tlv(0x9F7F, cplc),
    "key_info_extended": tlv(0xE0, tlv(0xC0, h("0130 FF88 0010 FF88 0010 01 00 01 00"))),
    "isd_fci": tlv(0x6F, tlv(0x84, h("A000000151000000")) + tlv(0xA5, tlv(0x73, h("06072A864886FC6B01")) + tlv(0x9F65, h("FF")))),
    "get_status_e3": tlv(0xE3, tlv(0x4F, h("A000000151000000")) + tlv(0x9F70, h("0F")) + tlv(0xC5, h("9EFE80"))),
    "padded_list": h("00 00") + tlv(0x42, h("4242")) + h("FF") + tlv(0xCF, h("00112233445566778899")),
    "non_minimal_length": h("5F50 81 0A") + b"http://h/x",
    "nested": tlv(0x70, tlv(0x71, tlv(0x72, tlv(0x73, tlv(0xDF8101, h("01")))))),
})
for name, data in objects.items():
    write("fuzz_tlv", name, data)
    write("fuzz_apdu", name, data)

# ---- APDUs (commands a TSM sends, answers of the virtual card) ----
apdus = {
    "cmd_select_isd": h("00A4040008A00000015100000000"),
    "cmd_get_data_cf": h("80CA00CF00"),
    "cmd_get_data_e0": h("80CA00E000"),
    "cmd_initialize_update": h("8050000008 0102030405060708 00"),
    "cmd_external_authenticate": h("8482330010 1122334455667788 99AABBCCDDEEFF00"),
    "cmd_get_status_apps": h("80F24002024F0000"),
    "cmd_case1": h("80F20000"),
    "cmd_case2e": h("80CA00E0000100"),
    "cmd_case3e": h("80E2800000000401020304"),
    "cmd_case4e": h("80E280000000040102030400 00"),
    "rsp_9000": h("9000"),
    "rsp_scp02_iu": h("53454B440000000001BA 20 02 0007 010203040506 1122334455667788 9000"),
    "rsp_scp03_iu": h("53454B440000000001BA 30 03 70 0102030405060708 1122334455667788 000001 9000"),
    "rsp_scp03_s16_iu": h("53454B440000000001BA 30 03 71") + bytes(32) + h("9000"),
}
for name, data in apdus.items():
    write("fuzz_apdu", name, data)

# ---- fuzz_card: operation scripts (fuzz_card.cpp: Harness::run) ----
# Card configurations (byte 0): 0 SCP02 i=15, 1 SCP02 i=55, 2 SCP03 i=00, 3 SCP03 i=10,
# 4 SCP03 i=70 none, 5 SCP03 i=70 KDF3 AES-192. Security level indexes: 00 01 03 11 13 33.
INS = [0xD8, 0xF2, 0xE6, 0xE8, 0xE4, 0xE2, 0xCA, 0xA4, 0x50, 0x82, 0xC0, 0x70]


def op_raw(apdu):
    return bytes([0, len(apdu)]) + apdu


def op_open(level_index, pick=0):
    return bytes([2, pick, level_index])


def op_command(ins, p1, p2, data=b"", le=None, cla=None):
    flags = 0
    body = b""
    if cla is not None:
        flags |= 0x01
        body += bytes([cla])
    if ins in INS:
        body += bytes([INS.index(ins)])
    else:
        flags |= 0x02
        body += bytes([ins])
    body += bytes([p1, p2])
    if len(data) > 255:
        flags |= 0x04
        body += struct.pack(">H", len(data))
    else:
        body += bytes([len(data)])
    body += data
    if le is not None:
        flags |= 0x08
        if le == 256:
            flags |= 0x10
        else:
            body += bytes([le - 1])
    return bytes([3, flags]) + body


def op_tamper(command_op, where, bit):
    return bytes([4]) + command_op[1:] + struct.pack(">HB", where, bit)


def op_put_key(new_kvn, material=bytes(range(0x40, 0x60)), flags=0, corrupt=0):
    return bytes([5, flags, new_kvn]) + material + struct.pack(">H", corrupt)


def op_load(package=h("A0000001515350"), applets=1, size=80, block=200, delete=True, corrupt=None):
    flags = applets | (0x18 if delete else 0) | (0x04 if corrupt is not None else 0)  # DELETE with related objects
    return (bytes([6, flags, len(package) - 5]) + package + bytes([size, block - 64]) +
            struct.pack(">H", corrupt or 0))


OP_RESET = bytes([7])
OP_FAIL_WRITE = bytes([8])


def op_get_data(index):
    return bytes([9, index])


levels = {0: 4, 1: 4, 2: 2, 3: 2, 4: 5, 5: 5}
for config, level in levels.items():
    script = (bytes([config]) + op_raw(h("00A4040008A00000015100000000")) + op_get_data(2) + op_get_data(3) +
              op_open(level) + op_get_data(0) +
              op_command(0xF2, 0x80, 0x02, h("4F00"), le=256) +
              op_load() +
              op_command(0xE2, 0x80, 0x00, b"record one", le=256) +
              op_put_key(0x31) + op_open(level, pick=0x20) +
              op_tamper(op_command(0xF2, 0x40, 0x02, h("4F00"), le=256), 7, 3) +
              OP_RESET + op_open(level) + OP_FAIL_WRITE + op_put_key(0x32) +
              op_put_key(0x20, flags=0x01))
    write("fuzz_card", f"flow_config{config}", script)
write("fuzz_card", "plain_get_data", bytes([4]) + b"".join(op_get_data(i) for i in range(9)))
write("fuzz_card", "level00_session", bytes([4]) + op_open(0) + op_command(0xF2, 0x80, 0x00, h("4F00"), le=256) +
      op_command(0xF2, 0x80, 0x01, h("4F00"), le=256))
write("fuzz_card", "wrong_key", bytes([2]) + op_open(2, pick=0x80) + op_command(0xD8, 0, 0x81, bytes(40)))

# ---- fuzz_soap_request: bodies as the sekds client (gSOAP) sends them ----
NS = 'xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sekds="https://sekds.example/sekds/v1"'
NS12 = 'xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" xmlns:sekds="https://sekds.example/sekds/v1"'


def envelope(body, ns=NS, prolog='<?xml version="1.0" encoding="UTF-8"?>\n'):
    return (prolog + f'<SOAP-ENV:Envelope {ns}><SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>').encode()


e0 = "E012C00401308810C00402308810C00403308810"
keys_req = ("<sekds:WSGetDiversifiedKeys>"
            "<sekds:KeyDiversificationData>53454B440000000001BA</sekds:KeyDiversificationData>"
            f"<sekds:KeyInformation>{e0}</sekds:KeyInformation>"
            "<sekds:SequenceCounter>000001</sekds:SequenceCounter>"
            "<sekds:KekIndex>1</sekds:KekIndex>"
            "<sekds:KeySetVersion>48</sekds:KeySetVersion>"
            "<sekds:IssuerIdentificationNumber>4242</sekds:IssuerIdentificationNumber>"
            "<sekds:CardImageNumber>0102030405060708</sekds:CardImageNumber>"
            f"<sekds:Cplc>{cplc.hex().upper()}</sekds:Cplc>"
            "<sekds:RequestId>tsm1-0001</sekds:RequestId>"
            "</sekds:WSGetDiversifiedKeys>")
write("fuzz_soap_request", "get_keys_full", envelope(keys_req))
write("fuzz_soap_request", "get_keys_soap12", envelope(keys_req, NS12))
write("fuzz_soap_request", "get_keys_minimal", envelope(
    "<sekds:WSGetDiversifiedKeys><sekds:KeyDiversificationData>00112233445566778899</sekds:KeyDiversificationData>"
    "<sekds:KeyInformation>E012C00401208010C00402208010C00403208010</sekds:KeyInformation>"
    "<sekds:SequenceCounter>0007</sekds:SequenceCounter><sekds:KekIndex>2</sekds:KekIndex>"
    "</sekds:WSGetDiversifiedKeys>"))
write("fuzz_soap_request", "get_kek_info", envelope("<sekds:WSGetKekInfo/>"))
write("fuzz_soap_request", "ping", envelope("<sekds:WSPing><sekds:Message>hello &amp; &#x41;</sekds:Message></sekds:WSPing>"))
write("fuzz_soap_request", "ping_with_header", envelope(
    '<sekds:WSPing><sekds:Message>x</sekds:Message></sekds:WSPing>').replace(
    b"<SOAP-ENV:Body>", b'<SOAP-ENV:Header><x:Trace xmlns:x="urn:x"><x:a>1</x:a></x:Trace></SOAP-ENV:Header><SOAP-ENV:Body>'))
write("fuzz_soap_request", "dtd_refused", envelope("<sekds:WSPing><sekds:Message>&a;</sekds:Message></sekds:WSPing>",
                                                  prolog='<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>'))

# ---- fuzz_http_reader: what a client sends on a connection (the reader's limits in that
# target: a 512-byte header, a 1,024-byte body) ----
def http(body=b"", chunked=False, extra=b""):
    hdr = b"POST /sekds/v1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml; charset=utf-8\r\n" + extra
    hdr += b"Transfer-Encoding: chunked\r\n" if chunked else b"Content-Length: %d\r\n" % len(body)
    return hdr + b"\r\n" + body


def chunks(body, sizes, ext=b""):
    out, at = b"", 0
    for n in sizes:
        out += b"%x%s\r\n" % (n, ext) + body[at:at + n] + b"\r\n"
        at += n
    return out + b"0\r\n\r\n"


ping = envelope("<sekds:WSPing><sekds:Message>hi</sekds:Message></sekds:WSPing>")
write("fuzz_http_reader", "post_content_length", http(ping))
write("fuzz_http_reader", "post_chunked", http(chunks(ping, [40, len(ping) - 40]), chunked=True))
write("fuzz_http_reader", "post_chunked_ext_trailer", http(chunks(ping, [len(ping)], b";a=b")[:-2] + b"X-T: 1\r\n\r\n", chunked=True))
write("fuzz_http_reader", "pipelined", b"\r\n" + http(ping) + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
      http(chunks(ping, [1] * 5 + [len(ping) - 5]), chunked=True))
write("fuzz_http_reader", "expect_continue", http(ping, extra=b"Expect: 100-continue\r\n"))
write("fuzz_http_reader", "cl_and_te", http(chunks(ping, [len(ping)]), chunked=True, extra=b"Content-Length: 10\r\n"))
write("fuzz_http_reader", "get_lf_only", b"GET /metrics HTTP/1.1\nHost: x\n\n")
write("fuzz_http_reader", "body_too_large", http(b"<a>" + b"x" * 1100 + b"</a>"))

print("seeds written under", CORPUS)
