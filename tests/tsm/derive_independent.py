#!/usr/bin/python3
"""Independent check of `sekds-tsm derive`.

The reference here is written from the specifications with python3-cryptography's 3DES,
AES and CMAC (no sekds code involved):
  VISA2      key = 3DES-ECB(MK, KDD[0:2] KDD[4:8] F0 k || KDD[0:2] KDD[4:8] 0F k)
  EMV CPS 1.1 key = 3DES-ECB(MK, KDD[4:10] F0 k || KDD[4:10] 0F k)
  KDF3 / SCP03 KDF: block_i = AES-CMAC(MK, layout(i, k, L, KDD)), blocks concatenated and cut
                    to the master's length; KDF3 layout i|000000|k|00|kdd, SCP03 (GP Amd D,
                    SP 800-108 counter mode) 00*11|k|00|L|i|kdd
  KCV        DES: 3DES-ECB(key, 00*8)[:3]; AES: AES-ECB(key, 01*16)[:3]
It first proves itself on the public vectors (tests/vectors/diversification.json), then
runs random cases of every method and key length through `sekds-tsm derive --json` and
compares byte for byte (DES keys modulo parity bits, KCVs exactly), then checks that bad
input exits non-zero with one stderr line naming the option.

usage: derive_independent.py PATH/TO/sekds-tsm
"""
import json
import os
import random
import subprocess
import sys

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

HERE = os.path.dirname(os.path.abspath(__file__))
ROLES = {"enc": 1, "mac": 2, "dek": 3}


def ecb(alg, key, data):
    e = Cipher(alg(key), modes.ECB()).encryptor()
    return e.update(data) + e.finalize()


def des3(key, data):
    return ecb(algorithms.TripleDES, key, data)


def aes_cmac(key, data):
    c = CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def kcv(key, is_aes):
    return (ecb(algorithms.AES, key, b"\x01" * 16) if is_aes else des3(key, b"\x00" * 8))[:3]


def parse_layout(spec):
    parts = []
    for tok in spec.split("|"):
        if tok in ("i", "k", "L", "kdd"):
            parts.append(tok)
        else:
            parts.append(bytes.fromhex(tok))
    return parts


def kdf_input(parts, i, k, bits, kdd):
    out = b""
    for p in parts:
        if p == "i":
            out += bytes([i])
        elif p == "k":
            out += bytes([k])
        elif p == "L":
            out += bits.to_bytes(2, "big")
        elif p == "kdd":
            out += kdd
        else:
            out += p
    return out


KDF3_LAYOUT = "i|000000|k|00|kdd"
SCP03_LAYOUT = "0000000000000000000000|k|00|L|i|kdd"


def derive(method, master, kdd, layout=None, constants=(1, 2, 3)):
    """-> {role: key} from the specs above."""
    keys = {}
    for role, kid in ROLES.items():
        if method == "none":
            keys[role] = master
        elif method == "visa2":
            half = kdd[0:2] + kdd[4:8]
            keys[role] = des3(master, half + bytes([0xF0, kid]) + half + bytes([0x0F, kid]))
        elif method == "emv":
            half = kdd[4:10]
            keys[role] = des3(master, half + bytes([0xF0, kid]) + half + bytes([0x0F, kid]))
        elif method in ("kdf3", "scp03kdf"):
            parts = parse_layout(layout or (KDF3_LAYOUT if method == "kdf3" else SCP03_LAYOUT))
            k = constants[kid - 1]
            out, i = b"", 1
            while len(out) < len(master):
                out += aes_cmac(master, kdf_input(parts, i, k, 8 * len(master), kdd))
                i += 1
            keys[role] = out[: len(master)]
        else:
            raise ValueError(method)
    return keys


def strip_parity(b):
    return bytes(x & 0xFE for x in b)


def self_check():
    with open(os.path.join(HERE, "..", "vectors", "diversification.json")) as f:
        vectors = json.load(f)["vectors"]
    n = 0
    for v in vectors:
        m = v["method"].lower()
        master, kdd = bytes.fromhex(v["master"]), bytes.fromhex(v["kdd"])
        keys = derive(m, master, kdd)
        if "kcv" in v:
            for role in ROLES:
                got = kcv(keys[role], v["kcv_alg"] == "aes").hex().upper()
                assert got == v["kcv"][role.upper()].upper(), (v, role, got)
        else:
            got = keys[v["purpose"].lower()]
            assert got == bytes.fromhex(v["expected_key"]), (v, got.hex())
        n += 1
    return n


def run(tool, args, stdin=None):
    return subprocess.run([tool, "derive"] + args, input=stdin, capture_output=True, text=True, timeout=30)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    tool = sys.argv[1]
    failures = []
    print(f"reference self-check: {self_check()} public vectors agree")

    rnd = random.Random(int.from_bytes(os.urandom(8), "big"))
    cases = []
    for _ in range(12):
        cases.append(("visa2", 16, None, None, None))
        cases.append(("emv", 16, None, None, None))
        for n in (16, 24, 32):
            cases.append(("kdf3", n, None, None, None))
            cases.append(("scp03kdf", n, None, None, None))
        for n, kt in ((16, None), (24, None), (32, None), (16, "AES128"), (24, "AES192"), (16, "DES2")):
            cases.append(("none", n, None, None, kt))
    # issuer-defined layouts and constants
    for _ in range(12):
        lit = os.urandom(rnd.randint(1, 12)).hex().upper()
        layout = rnd.choice(
            [f"i|{lit}|k|kdd", f"{lit}|k|00|L|i|kdd", f"kdd|k|i|{lit}", f"k|i|L|kdd|{lit}", f"i|k|kdd"])
        consts = tuple(rnd.randrange(256) for _ in range(3))
        cases.append((rnd.choice(["kdf3", "scp03kdf"]), rnd.choice([16, 24, 32]), layout, consts, None))

    compared = 0
    for method, n, layout, consts, key_type in cases:
        master, kdd = os.urandom(n), os.urandom(10)
        args = ["--method", method, "--master", master.hex(), "--kdd", kdd.hex().upper(), "--json"]
        if layout:
            args += ["--layout", layout]
        if consts:
            args += ["--constants", ",".join(f"{c:02X}" for c in consts)]
        if key_type:
            args += ["--key-type", key_type]
        label = f"{method} {n}B layout={layout} constants={consts} key_type={key_type}"
        p = run(tool, args)
        if p.returncode != 0:
            failures.append(f"{label}: exit {p.returncode}: {p.stderr.strip()}")
            continue
        lines = p.stdout.splitlines()
        if len(lines) != 1:
            failures.append(f"{label}: --json printed {len(lines)} lines")
            continue
        out = json.loads(lines[0])
        want = derive(method, master, kdd, layout, consts or (1, 2, 3))
        is_aes = method in ("kdf3", "scp03kdf") or (method == "none" and (key_type or "").startswith("AES")) or (
            method == "none" and key_type is None and n == 32)
        want_type = ("AES%d" % (8 * n)) if is_aes else ("DES2" if n == 16 else "DES3")
        if out.get("method") != method:
            failures.append(f"{label}: method {out.get('method')}")
        if out.get("key_type") != want_type:
            failures.append(f"{label}: key_type {out.get('key_type')}, expected {want_type}")
        for role in ROLES:
            got = out.get(role, "")
            if got != got.upper():
                failures.append(f"{label}: {role} not uppercase hex")
            g, w = bytes.fromhex(got), want[role]
            same = strip_parity(g) == strip_parity(w) if not is_aes else g == w
            if not same or len(g) != len(w):
                failures.append(f"{label}: {role} {got} != {w.hex().upper()}")
            wk = kcv(w, is_aes).hex().upper()
            if out.get("kcv", {}).get(role) != wk:
                failures.append(f"{label}: kcv {role} {out.get('kcv', {}).get(role)} != {wk}")
        compared += 1

    # the master can come from stdin, so it stays out of the process list
    master, kdd = os.urandom(16), os.urandom(10)
    p = run(tool, ["--method", "emv", "--master", "-", "--kdd", kdd.hex(), "--json"], stdin=master.hex() + "\n")
    if p.returncode != 0 or json.loads(p.stdout)["enc"] != derive("emv", master, kdd)["enc"].hex().upper():
        failures.append(f"--master - (stdin): exit {p.returncode} {p.stderr.strip()}")

    # human output: the lab warning and the KCVs
    p = run(tool, ["--method", "visa2", "--master", "404142434445464748494A4B4C4D4E4F", "--kdd", "00010203040506070809"])
    if p.returncode != 0 or "LAB MATERIAL" not in p.stdout or "2BE598" not in p.stdout:
        failures.append(f"text output: {p.returncode} {p.stdout!r}")

    k16, k24, kdd10 = "40" * 16, "41" * 24, "00" * 10
    bad = [
        (["--method", "visa2", "--master", k16[:-1], "--kdd", kdd10], "sekds-tsm: --master: odd number of hex digits"),
        (["--method", "visa2", "--master", "Z" + k16[1:], "--kdd", kdd10], "sekds-tsm: --master: not hex"),
        (["--method", "visa2", "--master", k24, "--kdd", kdd10], "sekds-tsm: --master: visa2 needs a 16-byte"),
        (["--method", "emv", "--master", "40" * 32, "--kdd", kdd10], "sekds-tsm: --master: emv needs a 16-byte"),
        (["--method", "kdf3", "--master", "40" * 20, "--kdd", kdd10], "sekds-tsm: --master: kdf3 needs a 16, 24 or 32-byte"),
        (["--method", "scp03kdf", "--master", "40" * 8, "--kdd", kdd10], "sekds-tsm: --master: scp03kdf needs"),
        (["--method", "none", "--master", "40" * 15, "--kdd", kdd10], "sekds-tsm: --master: none needs"),
        (["--method", "kdf3", "--master", k16, "--kdd", "00" * 9], "sekds-tsm: --kdd: must be 10 bytes, got 9"),
        (["--method", "kdf3", "--master", k16, "--kdd", "00" * 11], "sekds-tsm: --kdd: must be 10 bytes, got 11"),
        (["--method", "kdf3", "--master", k16, "--kdd", "000"], "sekds-tsm: --kdd: odd number of hex digits"),
        (["--method", "visa3", "--master", k16, "--kdd", kdd10], "sekds-tsm: --method: unknown method 'visa3'"),
        (["--method", "visa2", "--master", k16, "--kdd", kdd10, "--layout", "i|k|kdd"], "sekds-tsm: --layout: only kdf3"),
        (["--method", "kdf3", "--master", k16, "--kdd", kdd10, "--layout", "i|zz|kdd"], "sekds-tsm: --layout:"),
        (["--method", "kdf3", "--master", k16, "--kdd", kdd10, "--layout", "i|00|kdd"], "sekds-tsm: --layout:"),
        (["--method", "scp03kdf", "--master", k16, "--kdd", kdd10, "--constants", "01,02"], "sekds-tsm: --constants:"),
        (["--method", "emv", "--master", k16, "--kdd", kdd10, "--constants", "01,02,03"], "sekds-tsm: --constants: only"),
        (["--method", "kdf3", "--master", k16, "--kdd", kdd10, "--key-type", "DES2"], "sekds-tsm: --key-type:"),
        (["--method", "none", "--master", k24, "--kdd", kdd10, "--key-type", "AES128"], "sekds-tsm: --key-type: AES128 keys are 16"),
        (["--method", "none", "--master", k16, "--kdd", kdd10, "--key-type", "RSA"], "sekds-tsm: --key-type: unknown key type"),
        (["--method", "kdf3", "--master", k16], "sekds-tsm: --kdd is required"),
        (["--master", k16, "--kdd", kdd10], "sekds-tsm: --method is required"),
    ]
    for args, prefix in bad:
        p = run(tool, args)
        lines = p.stderr.splitlines()
        label = " ".join(args)
        if p.returncode == 0:
            failures.append(f"bad input accepted: {label}")
        if len(lines) != 1 or not lines[0].startswith(prefix):
            failures.append(f"bad input {label}: stderr {p.stderr!r}, expected one line starting {prefix!r}")
        if p.stdout:
            failures.append(f"bad input {label}: printed {p.stdout!r}")
        if "--master" in args and args[args.index("--master") + 1] in p.stderr:
            failures.append(f"bad input {label}: the master key is echoed on stderr")

    print(f"compared {compared} random derivations; {len(bad)} bad-input cases")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures or compared != len(cases) else 0


if __name__ == "__main__":
    sys.exit(main())
