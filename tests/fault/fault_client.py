#!/usr/bin/python3
"""Clients for the fault-injection scripts (tests/fault/*.sh); Python standard library only.

  health      GET /healthz with a TSM certificate; prints the status and body; exit 0 on 200
  load        WSGetDiversifiedKeys in a loop on keep-alive mutual-TLS connections (one per
              thread), reconnecting after any error; one JSON line per request, flushed at once,
              so nothing a client received is lost whatever happens to the server
  check-audit every AuditId in the load logs is an OK release record of the same card (KDD) and
              request id in the database; prints the counts
  hostile     connections that never finish: silent TCP, a TLS ClientHello cut short, TLS
              done but an HTTP request cut short, and bodies trickled a byte at a time; each one
              reopened when the server closes it, until --seconds have passed
  summary     counts and latency percentiles of load logs (by outcome)
  split-body  one request whose body ends inside an attribute value, sent in two TLS records
              (finding F2 of tests/fuzz/README.md); prints the first line of the answer

Every command reads the dev environment's manifest.json (deploy/dev-env.sh) for certificates
and key sets. Requests name the issuer by its IIN and carry an 'E0' template that matches the
key set, a random KDD and a unique RequestId.
"""
import argparse
import http.client
import json
import os
import random
import re
import socket
import sqlite3
import ssl
import sys
import threading
import time

NS = "https://sekds.example/sekds/v1"
ACTION = NS + "/WSGetDiversifiedKeys"
KEY_TYPES = {"DES2": (0x80, 16), "DES3": (0x80, 24), "AES128": (0x88, 16), "AES192": (0x88, 24), "AES256": (0x88, 32)}


def manifest_of(path):
    with open(path) as f:
        return json.load(f)


def tls_context(m, tsm):
    t = next(x for x in m["tsms"] if x["name"] == tsm)
    ctx = ssl.create_default_context(cafile=m["ca_cert"])
    ctx.load_cert_chain(t["cert"], t["key"])
    return ctx


def key_set_of(m, issuer):
    return next(k for k in m["key_sets"] if k["issuer"] == issuer)


def key_information(ks):
    code, length = KEY_TYPES[ks["key_type"]]
    body = b"".join(bytes([0xC0, 4, kid, ks["kvn"], code, length]) for kid in (1, 2, 3))
    return bytes([0xE0, len(body)]) + body


def request_body(ks, kdd, counter, request_id, kek_index=1):
    width = 2 if str(ks["scp"]) in ("2", "02") else 3
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:s="%s"><soap:Body>'
        "<s:WSGetDiversifiedKeys>"
        "<s:KeyDiversificationData>%s</s:KeyDiversificationData>"
        "<s:KeyInformation>%s</s:KeyInformation>"
        "<s:SequenceCounter>%s</s:SequenceCounter>"
        "<s:KekIndex>%d</s:KekIndex>"
        "<s:KeySetVersion>%d</s:KeySetVersion>"
        "<s:IssuerIdentificationNumber>%s</s:IssuerIdentificationNumber>"
        "<s:RequestId>%s</s:RequestId>"
        "</s:WSGetDiversifiedKeys></soap:Body></soap:Envelope>"
        % (NS, kdd.hex().upper(), key_information(ks).hex().upper(), counter.to_bytes(width, "big").hex().upper(),
           kek_index, ks["kvn"], ks["iin"], request_id)).encode()


def parse_answer(status, body):
    text = body.decode("utf-8", "replace")
    audit = re.search(r"<(?:\w+:)?AuditId>([^<]*)</", text)
    code = re.search(r"<(?:\w+:)?Code>([A-Za-z]+)</(?:\w+:)?Code>", text)
    wrapped = re.search(r"<(?:\w+:)?WrappedKey>", text) is not None
    return {"status": status, "audit_id": audit.group(1) if audit else None,
            "fault": code.group(1) if code else (None if status == 200 else "HTTP%d" % status), "wrapped": wrapped}


class Connection:
    def __init__(self, ctx, port, timeout):
        self.ctx, self.port, self.timeout = ctx, port, timeout
        self.c = None

    def post(self, body):
        if self.c is None:
            self.c = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=self.timeout)
        try:
            self.c.request("POST", "/sekds/v1", body, {"Content-Type": "text/xml; charset=utf-8",
                                                        "SOAPAction": '"%s"' % ACTION})
            r = self.c.getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close":
                self.close()
            return r.status, data
        except Exception:
            self.close()
            raise

    def close(self):
        if self.c is not None:
            try:
                self.c.close()
            except Exception:
                pass
            self.c = None


def cmd_health(a):
    m = manifest_of(a.manifest)
    ctx = tls_context(m, a.tsm)
    c = http.client.HTTPSConnection("127.0.0.1", a.port, context=ctx, timeout=a.timeout)
    try:
        c.request("GET", "/healthz")
        r = c.getresponse()
        print(r.status, r.read().decode().strip())
        return 0 if r.status == 200 else 1
    except Exception as e:
        print("error", type(e).__name__, e)
        return 2


def cmd_load(a):
    m = manifest_of(a.manifest)
    ctx = tls_context(m, a.tsm)
    ks = key_set_of(m, a.issuer)
    out = open(a.out, "a", buffering=1)
    lock = threading.Lock()
    deadline = time.monotonic() + a.seconds if a.seconds else None
    stop = threading.Event()
    counter = [0]
    tag = "%s-%d-%d" % (a.tsm, os.getpid(), int(time.time()))

    def next_index():
        with lock:
            if a.requests and counter[0] >= a.requests:
                return None
            counter[0] += 1
            return counter[0]

    def worker(n):
        conn = Connection(ctx, a.port, a.timeout)
        rnd = random.Random((os.getpid() << 8) + n)
        while not stop.is_set():
            if deadline and time.monotonic() >= deadline:
                break
            if a.stop_file and os.path.exists(a.stop_file):
                break
            i = next_index()
            if i is None:
                break
            kdd = bytes(rnd.getrandbits(8) for _ in range(10))
            rid = "%s-%d" % (tag, i)
            rec = {"kdd": kdd.hex().upper(), "request_id": rid, "thread": n}
            t0 = time.monotonic()
            try:
                status, body = conn.post(request_body(ks, kdd, 1, rid))
                rec.update(parse_answer(status, body))
            except Exception as e:  # transport error: the server is gone, slow or refusing
                rec.update({"status": None, "audit_id": None, "fault": None, "wrapped": False,
                            "error": type(e).__name__})
            rec["latency_ms"] = round((time.monotonic() - t0) * 1000, 2)
            rec["t"] = round(time.time(), 3)
            with lock:
                out.write(json.dumps(rec) + "\n")
            if a.new_connection:
                conn.close()
            if rec.get("error"):
                if a.no_retry:
                    break
                time.sleep(0.05)
            if a.pause:
                time.sleep(a.pause)
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(a.threads)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    except KeyboardInterrupt:
        stop.set()
    out.close()
    return 0


def read_logs(paths):
    recs = []
    for p in paths:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if line:
                    recs.append(json.loads(line))
    return recs


def cmd_check_audit(a):
    recs = read_logs(a.logs)
    got = [r for r in recs if r.get("audit_id")]
    db = sqlite3.connect("file:%s?mode=ro" % a.db, uri=True)
    rows = {}
    for seq, kdd, result, rid, op in db.execute(
            "SELECT seq, kdd, result, request_id, operation FROM audit WHERE operation = 'WSGetDiversifiedKeys'"):
        rows[str(seq)] = (kdd, result, rid)
    missing, wrong = [], []
    for r in got:
        row = rows.get(r["audit_id"])
        if row is None:
            missing.append(r)
        elif (row[0] or "").upper() != r["kdd"] or row[1] != "OK" or row[2] != r["request_id"]:
            wrong.append((r, row))
    ids = [r["audit_id"] for r in got]
    dup = len(ids) - len(set(ids))
    released_without_id = [r for r in recs if r.get("wrapped") and not r.get("audit_id")]
    print(json.dumps({"requests": len(recs), "audit_ids": len(got), "missing_in_audit": len(missing),
                      "mismatched": len(wrong), "duplicate_audit_ids": dup,
                      "keys_without_audit_id": len(released_without_id),
                      "ok_release_records": sum(1 for v in rows.values() if v[1] == "OK")}))
    for r in missing[:5]:
        print("MISSING", json.dumps(r), file=sys.stderr)
    for r, row in wrong[:5]:
        print("MISMATCH", json.dumps(r), row, file=sys.stderr)
    return 1 if missing or wrong or dup or released_without_id else 0


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def cmd_summary(a):
    recs = read_logs(a.logs)
    if a.since:
        recs = [r for r in recs if r["t"] >= a.since]
    if a.until:
        recs = [r for r in recs if r["t"] <= a.until]
    by = {}
    for r in recs:
        k = "ok" if r.get("audit_id") else (r.get("fault") or r.get("error") or "other")
        by.setdefault(k, []).append(r["latency_ms"])
    out = {k: {"count": len(v), "p50_ms": percentile(v, 50), "p90_ms": percentile(v, 90), "p99_ms": percentile(v, 99),
               "max_ms": max(v)} for k, v in sorted(by.items())}
    print(json.dumps(out))
    return 0


# ---- hostile connections ----

def client_hello_prefix(port):
    """The first bytes of a real TLS ClientHello (captured from an in-memory handshake), cut short."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outg, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outg.read()
    return hello[: max(5, len(hello) // 2)]


def cmd_hostile(a):
    m = manifest_of(a.manifest)
    ctx = tls_context(m, a.tsm)
    hello = client_hello_prefix(a.port)
    deadline = time.monotonic() + a.seconds
    opened = {"silent": 0, "partial_hello": 0, "partial_http": 0, "trickle": 0, "refused": 0}
    lock = threading.Lock()

    def count(k):
        with lock:
            opened[k] += 1

    def hold(kind):
        while time.monotonic() < deadline:
            s = None
            try:
                raw = socket.create_connection(("127.0.0.1", a.port), timeout=5)
                raw.settimeout(1.0)
                s = raw
                if kind == "partial_hello":
                    raw.sendall(hello)
                elif kind in ("partial_http", "trickle"):
                    s = ctx.wrap_socket(raw, server_hostname="localhost")
                    head = ("POST /sekds/v1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
                            "Content-Length: 4000\r\n\r\n<?xml version=\"1.0\"?><soap:Envelope ").encode()
                    s.sendall(head if kind == "partial_http" else head[:20])
                count(kind)
                # Hold it (trickling one byte a second) until the server closes it or time is up.
                while time.monotonic() < deadline:
                    try:
                        if kind == "trickle":
                            s.sendall(b"x")
                        data = s.recv(4096)
                        if not data:
                            break  # closed by the server: reopen
                    except (socket.timeout, ssl.SSLWantReadError):
                        continue
                    except (OSError, ssl.SSLError):
                        break
            except (OSError, ssl.SSLError):
                count("refused")
                time.sleep(0.2)
            finally:
                if s is not None:
                    try:
                        s.close()
                    except Exception:
                        pass

    plan = [("silent", a.silent), ("partial_hello", a.partial_hello), ("partial_http", a.partial_http),
            ("trickle", a.trickle)]
    threads = []
    for kind, n in plan:
        for _ in range(n):
            t = threading.Thread(target=hold, args=(kind,), daemon=True)
            t.start()
            threads.append(t)
            time.sleep(0.002)
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()) + 10)
    print(json.dumps({"connections_opened": opened}))
    return 0


def cmd_split_body(a):
    m = manifest_of(a.manifest)
    ctx = tls_context(m, a.tsm)
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", a.port), timeout=10), server_hostname="localhost")
    part1 = b'<?xml version="1.0"?><soap:Envelope xmlns:soap="' + b"a" * 6000
    part2 = b"b" * 3000  # Content-Length ends here, inside the attribute value
    s.sendall(b"POST /sekds/v1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n"
              % (len(part1) + len(part2)))
    s.sendall(part1)
    time.sleep(0.3)  # the server parses the first record before the second arrives
    s.sendall(part2)
    s.settimeout(a.timeout)
    try:
        data = s.recv(4096)
        print(data.split(b"\r\n", 1)[0].decode("latin-1") if data else "closed")
        return 0 if data else 1
    except (socket.timeout, OSError) as e:
        print("no answer (%s)" % type(e).__name__)
        return 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(s):
        s.add_argument("--manifest", required=True)
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--tsm", default="tsm1")
        s.add_argument("--timeout", type=float, default=15.0)

    s = sub.add_parser("health")
    common(s)
    s = sub.add_parser("load")
    common(s)
    s.add_argument("--issuer", default="demo-scp03-aes128")
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--seconds", type=float, default=0)
    s.add_argument("--requests", type=int, default=0)
    s.add_argument("--stop-file")
    s.add_argument("--pause", type=float, default=0)
    s.add_argument("--no-retry", action="store_true")
    s.add_argument("--new-connection", action="store_true", help="a new TLS connection for every request")
    s.add_argument("--out", required=True)
    s = sub.add_parser("check-audit")
    s.add_argument("--db", required=True)
    s.add_argument("logs", nargs="+")
    s = sub.add_parser("summary")
    s.add_argument("--since", type=float)
    s.add_argument("--until", type=float)
    s.add_argument("logs", nargs="+")
    s = sub.add_parser("hostile")
    common(s)
    s.add_argument("--silent", type=int, default=0)
    s.add_argument("--partial-hello", type=int, default=0)
    s.add_argument("--partial-http", type=int, default=0)
    s.add_argument("--trickle", type=int, default=0)
    s.add_argument("--seconds", type=float, default=10)
    s = sub.add_parser("split-body")
    common(s)
    a = p.parse_args()
    return {"split-body": cmd_split_body, "health": cmd_health, "load": cmd_load, "check-audit": cmd_check_audit, "summary": cmd_summary,
            "hostile": cmd_hostile}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
