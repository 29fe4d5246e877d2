#!/usr/bin/python3
# An independent GlobalPlatform host: opens an SCP02 or SCP03 secure channel to a card in a
# PC/SC reader, runs GET STATUS and PUT KEY (key set rotation), then proves the rotation with
# a new session under the new keys.
#
# Written from the specifications, sharing no code with sekds (src/gp) — that is its purpose:
# a second, independent reading of the specs to test sekds-card against.
#   - GlobalPlatform Card Specification 2.3 Annex E (SCP02, i=15/55), §11 (GET STATUS, PUT KEY,
#     INSTALL, LOAD), Annex B (ISO 9797-1 MACs);
#   - GlobalPlatform Amendment D (SCP03: NIST SP 800-108 KDF with AES-CMAC, C-MAC/C-DECRYPTION,
#     R-MAC/R-ENCRYPTION, AES PUT KEY);
#   - EMV CPS 1.1 key derivation (2-key 3DES master, KDD bytes 4..9).
# The secure channel code is in independent_gp_scp.py (python3-cryptography's AES, 3DES,
# CMAC); PC/SC is pyscard. Before touching a card the script checks itself against the public
# vectors in tests/vectors/*.json and refuses to run if one fails.
#
# Run with Debian's /usr/bin/python3 (python3-cryptography, python3-pyscard).
# Exit codes: 0 everything succeeded; 1 a card step failed (the message says which);
# 2 bad arguments; 3 self-test failed; 4 PC/SC trouble (no reader, no card).
# Key material is read from files and never printed (only KCVs are).

import argparse
import os
import sys
import time

# The secure channel half, beside this file (Python puts the script's directory on sys.path).
from independent_gp_scp import (ISD_AID, Apdu, HostError, Scp02Session, Scp03Session, SelfTestError,
                                derive_static_keys, kcv_aes, kcv_des, self_test)


# ---------------------------------------------------------------------------------------------
# BER-TLV and the GP objects this host reads

def parse_tlv(data):
    """A list of (tag, value) at one level; raises HostError on malformed input."""
    out = []
    i = 0
    while i < len(data):
        if data[i] in (0x00, 0xFF):  # padding between objects
            i += 1
            continue
        tag = data[i]
        i += 1
        if tag & 0x1F == 0x1F:
            while True:
                if i >= len(data):
                    raise HostError("truncated TLV tag")
                tag = (tag << 8) | data[i]
                i += 1
                if not data[i - 1] & 0x80:
                    break
        if i >= len(data):
            raise HostError("TLV %X without length" % tag)
        ln = data[i]
        i += 1
        if ln & 0x80:
            nb = ln & 0x7F
            if nb == 0 or nb > 3 or i + nb > len(data):
                raise HostError("bad TLV length for tag %X" % tag)
            ln = int.from_bytes(data[i:i + nb], "big")
            i += nb
        if i + ln > len(data):
            raise HostError("TLV %X of %d bytes runs past the end" % (tag, ln))
        out.append((tag, data[i:i + ln]))
        i += ln
    return out


def tlv_find(items, tag):
    for t, v in items:
        if t == tag:
            return v
    return None


GP_OID = bytes.fromhex("2A864886FC6B")  # 1.2.840.114283


def parse_card_recognition(data):
    """GET DATA '66' (card recognition data, GP Annex H): returns (scp, i) from the Secure Channel Protocol OID, or None."""
    top = parse_tlv(data)
    crd = tlv_find(top, 0x66)
    crd = crd if crd is not None else data
    inner = tlv_find(parse_tlv(crd), 0x73)
    if inner is None:
        raise HostError("card recognition data without tag '73'")
    scp = tlv_find(parse_tlv(inner), 0x64)
    if scp is None:
        return None
    oid = tlv_find(parse_tlv(scp), 0x06)
    if oid is None or len(oid) != 9 or oid[:7] != GP_OID + b"\x04":
        raise HostError("secure channel protocol object is not a GP OID 1.2.840.114283.4")
    return oid[7], oid[8]


LIFECYCLE_NAMES = {
    0x80: {0x01: "OP_READY", 0x07: "INITIALIZED", 0x0F: "SECURED", 0x7F: "CARD_LOCKED", 0xFF: "TERMINATED"},
    0x40: {0x03: "INSTALLED", 0x07: "SELECTABLE"},
    0x20: {0x01: "LOADED"},
    0x10: {0x01: "LOADED"},
}


def parse_get_status(p1, data):
    """GET STATUS, GP TLV format (P2 b2 set): 'E3' entries."""
    entries = []
    for tag, value in parse_tlv(data):
        if tag != 0xE3:
            raise HostError("GET STATUS entry with tag %X, expected E3" % tag)
        items = parse_tlv(value)
        aid = tlv_find(items, 0x4F)
        lc = tlv_find(items, 0x9F70)
        if aid is None or lc is None or len(lc) < 1:
            raise HostError("GET STATUS entry without AID '4F' or life cycle '9F70'")
        e = {"aid": aid, "lifecycle": lc[0], "privileges": tlv_find(items, 0xC5),
             "elf": tlv_find(items, 0xC4), "version": tlv_find(items, 0xCE),
             "modules": [v for t, v in items if t == 0x84]}
        entries.append(e)
    return entries


def describe_entry(p1, e):
    name = LIFECYCLE_NAMES.get(p1, {}).get(e["lifecycle"], "%02X" % e["lifecycle"])
    s = "%s %s" % (e["aid"].hex().upper(), name)
    if e["privileges"] is not None:
        s += " privileges %s" % e["privileges"].hex().upper()
    if e["elf"] is not None:
        s += " from %s" % e["elf"].hex().upper()
    if e["version"] is not None:
        s += " version %s" % ".".join(str(b) for b in e["version"])
    if e["modules"]:
        s += " modules %s" % ",".join(m.hex().upper() for m in e["modules"])
    return s


# ---------------------------------------------------------------------------------------------
# The card, through PC/SC

class Card:
    def __init__(self, reader_name, wait_seconds):
        from smartcard.System import readers
        from smartcard.Exceptions import CardConnectionException, NoCardException
        from smartcard.CardConnection import CardConnection
        found = [r for r in readers() if str(r) == reader_name]
        if not found:
            raise EnvironmentError("reader %r not found; readers: %s" % (reader_name, [str(r) for r in readers()]))
        self.conn = found[0].createConnection()
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                self.conn.connect(CardConnection.T1_protocol | CardConnection.T0_protocol)
                break
            except (NoCardException, CardConnectionException) as e:
                if time.monotonic() > deadline:
                    raise EnvironmentError("no card in %r after %d s: %s" % (reader_name, wait_seconds, e))
                time.sleep(0.2)
        self.atr = bytes(self.conn.getATR())
        self.trace = False

    def transmit(self, apdu):
        raw = apdu.encode()
        data, sw1, sw2 = self.conn.transmit(list(raw))
        data = bytes(data)
        # T=0: fetch what the card has ready.
        while sw1 == 0x61:
            more, sw1, sw2 = self.conn.transmit([0x00, 0xC0, 0x00, 0x00, sw2])
            data += bytes(more)
        if self.trace:
            # Headers and lengths only: a PUT KEY's data holds (encrypted) keys.
            print("  > %s Lc=%d%s  < %d bytes SW %02X%02X" % (raw[:4].hex().upper(), len(apdu.data),
                  "" if apdu.le is None else " Le", len(data), sw1, sw2), flush=True)
        return data, (sw1 << 8) | sw2

    def close(self):
        try:
            self.conn.disconnect()
        except Exception:
            pass


def step(msg):
    print(msg, flush=True)


class Host:
    def __init__(self, card, args):
        self.card = card
        self.args = args
        self.session = None

    def send(self, apdu, ok=(0x9000,), what=None):
        """Sends apdu (wrapped if a session is open); returns (data, sw). A status word not in
        `ok` is a HostError naming the command."""
        wire = self.session.wrap(apdu) if self.session else apdu
        data, sw = self.card.transmit(wire)
        if self.session:
            data = self.session.unwrap(data, sw)
        if ok is not None and sw not in ok:
            raise HostError("%s: card answered SW %04X" % (what or wire.encode()[:4].hex().upper(), sw))
        return data, sw

    def select_isd(self):
        self.session = None
        data, sw = self.send(Apdu(0x00, 0xA4, 0x04, 0x00, ISD_AID, 0x00), what="SELECT ISD")
        fci = tlv_find(parse_tlv(data), 0x6F)
        aid = tlv_find(parse_tlv(fci or b""), 0x84)
        if aid != ISD_AID:
            raise HostError("SELECT ISD: FCI names AID %s" % (aid.hex().upper() if aid else "none"))
        step("SELECT ISD %s: 9000, FCI AID %s" % (ISD_AID.hex().upper(), aid.hex().upper()))

    def card_recognition(self):
        data, sw = self.send(Apdu(0x80, 0xCA, 0x00, 0x66, b"", 0x00), ok=None)
        if sw != 0x9000:
            step("GET DATA '66': SW %04X (no card recognition data)" % sw)
            return None
        r = parse_card_recognition(data)
        if r:
            step("GET DATA '66': card recognition data says SCP%02X i=%02X" % r)
        return r

    def open(self, scp, level, kvn, static_keys=None, master=None, method=None, i=0x55):
        """INITIALIZE UPDATE + EXTERNAL AUTHENTICATE. Static keys are given, or derived from
        master by method with the KDD of the INITIALIZE UPDATE response."""
        self.session = None
        host_challenge = os.urandom(8)
        data, sw = self.send(Apdu(0x80, 0x50, kvn, 0x00, host_challenge, 0x00), ok=None)
        if sw != 0x9000:
            raise HostError("INITIALIZE UPDATE (KVN %02X): card answered SW %04X" % (kvn, sw))
        if len(data) < 12:
            raise HostError("INITIALIZE UPDATE response of %d bytes" % len(data))
        kdd = data[0:10]
        if static_keys is None:
            static_keys = derive_static_keys(method, master, kdd)
            step("static keys derived (%s) from the master and KDD %s" % (method, kdd.hex().upper()))
        if scp == 2:
            s = Scp02Session(static_keys, host_challenge, data, i=i)
            step("INITIALIZE UPDATE (KVN %02X): key info KVN %02X SCP02, sequence counter %s, KDD %s"
                 % (kvn, s.kvn, s.seq.hex().upper(), s.kdd.hex().upper()))
        else:
            s = Scp03Session(static_keys, host_challenge, data)
            step("INITIALIZE UPDATE (KVN %02X): key info KVN %02X SCP03 i=%02X, sequence counter %s, KDD %s"
                 % (kvn, s.kvn, s.i, s.seq.hex().upper() if s.seq else "-", s.kdd.hex().upper()))
        if kvn != 0 and s.kvn != kvn:
            raise HostError("INITIALIZE UPDATE for KVN %02X answered with KVN %02X" % (kvn, s.kvn))
        if s.expected_card_cryptogram() != s.card_cryptogram:
            raise HostError("card cryptogram mismatch: the card does not hold the static keys this host "
                            "derived (wrong master key, diversification or key version?)")
        step("card cryptogram verified")
        # Checked after the cryptogram: with wrong keys this would fail too, less clearly.
        if scp == 3 and s.seq is not None:
            if s.expected_card_challenge() != s.card_challenge:
                raise HostError("card challenge is not the pseudo-random one of Amendment D "
                                "(KDF(static ENC, '02', sequence counter || AID))")
            step("pseudo-random card challenge verified")
        ea = s.external_authenticate(level)
        rdata, sw = self.card.transmit(ea)
        if sw != 0x9000:
            raise HostError("EXTERNAL AUTHENTICATE (level %02X): card answered SW %04X (host cryptogram or "
                            "C-MAC refused)" % (level, sw))
        self.session = s
        step("EXTERNAL AUTHENTICATE level %02X: 9000, secure channel open" % level)
        return s

    def get_data_in_session(self, tag):
        """A case-2 command (no data) in the session: under C-DECRYPTION it still advances the
        SCP03 encryption counter, which the next encrypted command then proves."""
        data, sw = self.send(Apdu(0x80, 0xCA, tag >> 8, tag & 0xFF, b"", 0x00), what="GET DATA '%X'" % tag)
        value = tlv_find(parse_tlv(data), tag)
        if value is None:
            raise HostError("GET DATA '%X' answered without tag %X" % (tag, tag))
        step("GET DATA '%X' in the session (no command data): %s" % (tag, value.hex().upper()))
        return value

    def get_status(self, p1):
        names = {0x80: "ISD", 0x40: "applications and SDs", 0x20: "load files", 0x10: "load files and modules"}
        entries = []
        p2 = 0x02
        pages = 0
        while True:
            data, sw = self.send(Apdu(0x80, 0xF2, p1, p2, b"\x4F\x00", 0x00), ok=(0x9000, 0x6310, 0x6A88),
                                 what="GET STATUS P1=%02X" % p1)
            if sw == 0x6A88:
                if p2 & 0x01:
                    raise HostError("GET STATUS P1=%02X: 6A88 on a next-occurrence page" % p1)
                break
            entries += parse_get_status(p1, data)
            pages += 1
            if sw == 0x9000:
                break
            p2 = 0x03  # next occurrence
            if pages > 64:
                raise HostError("GET STATUS P1=%02X: more than 64 pages" % p1)
        step("GET STATUS P1=%02X (%s): %d entr%s in %d page(s)" % (p1, names[p1], len(entries),
                                                                    "y" if len(entries) == 1 else "ies", pages))
        for e in entries:
            step("  " + describe_entry(p1, e))
        return entries

    def put_key(self, old_kvn, new_kvn, new_keys, aes):
        kcv = kcv_aes if aes else kcv_des
        key_type = 0x88 if aes else 0x80
        body = bytes([new_kvn])
        for k in new_keys:
            enc = self.session.encrypt_key(k)
            if aes:
                # AES: the key data field is the key length then the encrypted key.
                block = bytes([len(k)]) + enc
            else:
                block = enc
            body += bytes([key_type, len(block)]) + block + b"\x03" + kcv(k)
        data, sw = self.send(Apdu(0x80, 0xD8, old_kvn, 0x81, body, 0x00), what="PUT KEY")
        want = bytes([new_kvn]) + b"".join(kcv(k) for k in new_keys)
        if data != want:
            raise HostError("PUT KEY answered %s, expected KVN + KCVs %s" % (data.hex().upper(), want.hex().upper()))
        step("PUT KEY (replace KVN %02X by %02X, %s): 9000, card KCVs %s match" % (
            old_kvn, new_kvn, "AES" if aes else "DES", " ".join(kcv(k).hex().upper() for k in new_keys)))

    def install_load(self, load_file, package, applets, instances):
        """INSTALL [for load], LOAD in blocks, INSTALL [for install and make selectable] xN:
        so that GET STATUS has something to list (and page through)."""
        self.send(Apdu(0x80, 0xE6, 0x02, 0x00, bytes([len(package)]) + package + bytes([len(ISD_AID)]) + ISD_AID
                       + b"\x00\x00\x00", 0x00), what="INSTALL [for load]")
        n = len(load_file)
        if n < 0x80:
            ln = bytes([n])
        elif n < 0x100:
            ln = b"\x81" + bytes([n])
        else:
            ln = b"\x82" + n.to_bytes(2, "big")
        blob = b"\xC4" + ln + load_file
        # 208: a multiple of both block sizes, so C-DECRYPTION pads a whole block (pad80 always).
        block = 208
        count = (len(blob) + block - 1) // block
        for b in range(count):
            last = b == count - 1
            self.send(Apdu(0x80, 0xE8, 0x80 if last else 0x00, b, blob[b * block:(b + 1) * block], 0x00),
                      what="LOAD block %d" % b)
        step("INSTALL [for load] + LOAD %s: %d bytes in %d block(s), 9000" % (package.hex().upper(), n, count))
        for k in range(instances):
            app = applets[0] + bytes([k])
            module = applets[0]
            params = b"\xC9\x00"
            self.send(Apdu(0x80, 0xE6, 0x0C, 0x00,
                           bytes([len(package)]) + package + bytes([len(module)]) + module + bytes([len(app)]) + app
                           + b"\x01\x00" + bytes([len(params)]) + params + b"\x00", 0x00),
                      what="INSTALL [for install and make selectable] %s" % app.hex().upper())
        step("INSTALL [for install and make selectable]: %d instance(s), 9000" % instances)


def read_hex_lines(path, count, what):
    try:
        with open(path) as f:
            lines = [ln.strip() for ln in f.read().splitlines() if ln.strip()]
    except OSError as e:
        raise ValueError("%s: cannot read %s: %s" % (what, path, e.strerror))
    if len(lines) != count:
        raise ValueError("%s: %s must hold %d line(s) of hex, has %d" % (what, path, count, len(lines)))
    try:
        return [bytes.fromhex(ln) for ln in lines]
    except ValueError:
        raise ValueError("%s: %s is not hex" % (what, path))  # the content is a key: not echoed


def byte_arg(s):
    v = int(s, 16)
    if not 0 <= v <= 0xFF:
        raise argparse.ArgumentTypeError("not a byte: %s" % s)
    return v


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description="Independent GlobalPlatform host (SCP02 / SCP03) over PC/SC")
    p.add_argument("--reader", help="PC/SC reader name")
    p.add_argument("--scp", type=int, choices=(2, 3), help="secure channel protocol")
    p.add_argument("--i", type=byte_arg, default=0x55, help="SCP02 i parameter in hex (15 or 55; default 55)")
    p.add_argument("--level", type=byte_arg, default=0x01, help="security level in hex (01, 03; SCP03 i=70 also 11 13 33)")
    p.add_argument("--kvn", type=byte_arg, default=0x00, help="key set to open with (hex; 00 = the card's default)")
    p.add_argument("--master-key-file", help="master key, one line of hex")
    p.add_argument("--method", choices=("emv", "kdf3", "none"), help="static key diversification")
    p.add_argument("--new-kvn", type=byte_arg, help="KVN of the key set PUT KEY writes (hex)")
    p.add_argument("--new-keys-file", help="new ENC, MAC, DEK: three lines of hex (default: random)")
    p.add_argument("--load-file", help="a load file (CAP components) to load and install before GET STATUS")
    p.add_argument("--package", help="its package AID (hex)")
    p.add_argument("--applet", help="its applet AID (hex); instances are applet AID || nn")
    p.add_argument("--instances", type=int, default=1)
    p.add_argument("--vectors", default=os.path.join(here, "..", "vectors"), help="directory of the public vectors")
    p.add_argument("--self-test-only", action="store_true")
    p.add_argument("--trace", action="store_true", help="print each APDU's header and lengths, and each response's")
    p.add_argument("--wait", type=int, default=20, help="seconds to wait for a card in the reader")
    a = p.parse_args(argv)

    try:
        n = self_test(a.vectors)
    except SelfTestError as e:
        print("FAIL: self-test against the public vectors failed, refusing to run: %s" % e, flush=True)
        return 3
    step("self-test: %d public vectors passed" % n)
    if a.self_test_only:
        return 0

    if not (a.reader and a.scp and a.master_key_file and a.method and a.new_kvn is not None):
        p.print_usage(sys.stderr)
        print("independent_gp_host: --reader, --scp, --master-key-file, --method and --new-kvn are required",
              file=sys.stderr)
        return 2
    try:
        master = read_hex_lines(a.master_key_file, 1, "--master-key-file")[0]
        aes = a.scp == 3
        if a.new_keys_file:
            new_keys = read_hex_lines(a.new_keys_file, 3, "--new-keys-file")
        else:
            new_keys = [os.urandom(16) for _ in range(3)]
        for k in new_keys:
            if len(k) != 16:
                raise ValueError("--new-keys-file: keys must be 16 bytes (2-key 3DES or AES-128)")
        load_file = None
        if a.load_file:
            with open(a.load_file, "rb") as f:
                load_file = f.read()
            if not (a.package and a.applet):
                raise ValueError("--load-file needs --package and --applet")
    except (ValueError, OSError) as e:
        print("independent_gp_host: %s" % e, file=sys.stderr)
        return 2

    try:
        card = Card(a.reader, a.wait)
    except EnvironmentError as e:
        print("FAIL: PC/SC: %s" % e, flush=True)
        return 4
    except Exception as e:  # pyscard raises its own types for a missing daemon
        print("FAIL: PC/SC: %s: %s" % (type(e).__name__, e), flush=True)
        return 4
    card.trace = a.trace
    try:
        step("reader %s, ATR %s" % (a.reader, card.atr.hex().upper()))
        h = Host(card, a)
        h.select_isd()
        rec = h.card_recognition()
        if rec is not None:
            if rec[0] != a.scp:
                raise HostError("the card says SCP%02X, this run asked for SCP%02X" % (rec[0], a.scp))
            if a.scp == 2 and rec[1] != a.i:
                raise HostError("the card says SCP02 i=%02X, this run asked for i=%02X" % (rec[1], a.i))

        s = h.open(a.scp, a.level, a.kvn, master=master, method=a.method, i=a.i)
        old_kvn = s.kvn
        h.get_data_in_session(0xC1)
        if load_file is not None:
            h.install_load(load_file, bytes.fromhex(a.package), [bytes.fromhex(a.applet)], a.instances)
        isd = h.get_status(0x80)
        if len(isd) != 1 or isd[0]["aid"] != ISD_AID:
            raise HostError("GET STATUS P1=80 did not list exactly the ISD")
        apps = h.get_status(0x40)
        elfs = h.get_status(0x20)
        h.get_status(0x10)
        if load_file is not None:
            pkg = bytes.fromhex(a.package)
            if not any(e["aid"] == pkg for e in elfs):
                raise HostError("GET STATUS P1=20 does not list the loaded package")
            if sum(1 for e in apps if e["elf"] == pkg) != a.instances:
                raise HostError("GET STATUS P1=40 does not list the %d installed instance(s)" % a.instances)
        h.put_key(old_kvn, a.new_kvn, new_keys, aes)

        # Prove the rotation: a new session under the new keys, then the old key set is gone.
        h.select_isd()
        h.open(a.scp, a.level, a.new_kvn, static_keys=tuple(new_keys), i=a.i)
        h.get_data_in_session(0xC1)
        isd = h.get_status(0x80)
        if len(isd) != 1 or isd[0]["aid"] != ISD_AID:
            raise HostError("GET STATUS P1=80 under the new keys did not list the ISD")
        h.select_isd()
        h.open(a.scp, a.level, 0x00, static_keys=tuple(new_keys), i=a.i)
        step("default key set (KVN 00) is now KVN %02X" % h.session.kvn)
        h.select_isd()
        _, sw = h.send(Apdu(0x80, 0x50, old_kvn, 0x00, os.urandom(8), 0x00), ok=None)
        if sw == 0x9000:
            raise HostError("INITIALIZE UPDATE with the old KVN %02X still succeeds" % old_kvn)
        step("INITIALIZE UPDATE with the old KVN %02X: SW %04X (key set replaced)" % (old_kvn, sw))
    except HostError as e:
        print("FAIL: %s" % e, flush=True)
        return 1
    except EnvironmentError as e:
        print("FAIL: PC/SC: %s" % e, flush=True)
        return 4
    finally:
        card.close()
    print("RESULT: OK", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
