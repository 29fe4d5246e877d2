#!/usr/bin/python3
"""Sends fuzz inputs to a running sekds-server over mutual TLS and prints what it answers.

    tests/fuzz/replay.py --manifest DEV/manifest.json --port N [--raw] [--tsm NAME] FILE...

Without --raw each FILE is the body of a POST /sekds/v1 with Content-Length (the format of
fuzz_soap_request's inputs), sent in two TLS records cut in its middle (the server reads a
request to its end however it is cut); with --raw each FILE is sent as it is, in two records cut
after its header (the format of fuzz_http_reader's inputs: whole HTTP requests). One connection per file. Prints one JSON line
per file: the status line, the fault code and string or the first bytes of the answer, the time
it took. --flood MB then sends what follows the file's header (its body) again and again, up to
MB megabytes or 8 seconds, one TLS record per copy: a request that never ends (finding F5). Python standard library only;
tests/fuzz/replay.sh starts a server for it.
"""
import argparse
import json
import re
import socket
import ssl
import sys
import time


def tls_context(manifest, tsm):
    with open(manifest) as f:
        m = json.load(f)
    t = next(x for x in m["tsms"] if x["name"] == tsm)
    ctx = ssl.create_default_context(cafile=m["ca_cert"])
    ctx.load_cert_chain(t["cert"], t["key"])
    return ctx


def read_answer(s, timeout):
    """The first HTTP answer on s (framed by Content-Length, else up to the close)."""
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    want = int(m.group(1)) if m else None
    while want is None or len(body) < want:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def summarise(answer):
    if not answer:
        return {"status": "closed without an answer"}
    head, _, body = answer.partition(b"\r\n\r\n")
    out = {"status": head.split(b"\r\n", 1)[0].decode("latin-1")}
    ce = re.search(rb"(?im)^content-encoding:\s*(\S+)", head)
    if ce:
        out["content_encoding"] = ce.group(1).decode("latin-1")
    text = body.decode("utf-8", "replace")
    code = re.search(r"<(?:\w+:)?Code>([A-Za-z]+)</", text)
    reason = re.search(r"<(?:\w+:)?(?:faultstring|Text)[^>]*>([^<]*)</", text)
    message = re.search(r"<(?:\w+:)?Message>([^<]*)</", text)  # WSPing's echo: the operation ran
    if code:
        out["fault"] = code.group(1)
    if reason:
        out["reason"] = reason.group(1)[:200]
    if message and not code:
        out["echo"] = message.group(1)[:200]
    if not code and not reason and not message:
        out["body"] = text[:200]
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--manifest", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tsm", default="tsm1")
    p.add_argument("--raw", action="store_true", help="each file is a whole HTTP request")
    p.add_argument("--timeout", type=float, default=15.0)
    p.add_argument("--flood", type=int, default=0, metavar="MB", help="then repeat the file's body up to MB megabytes")
    p.add_argument("files", nargs="+")
    a = p.parse_args()
    ctx = tls_context(a.manifest, a.tsm)
    for path in a.files:
        with open(path, "rb") as f:
            data = f.read()
        if not a.raw:
            data = (b"POST /sekds/v1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml; charset=utf-8\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(data)) + data
        t0 = time.monotonic()
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout),
                            server_hostname="localhost")
        try:
            # Two TLS records: cut after the header of a whole request, else in the middle.
            header_end = data.find(b"\r\n\r\n")
            cut = header_end + 4 if a.raw and header_end >= 0 else len(data) // 2
            s.sendall(data[:cut])
            time.sleep(0.05)
            s.sendall(data[cut:])
            flooded = 0
            if a.flood:
                body = data[data.find(b"\r\n\r\n") + 4:]
                block = body * max(1, 16000 // len(body))
                t1 = time.monotonic()
                while flooded < a.flood << 20 and time.monotonic() - t1 < 8:
                    s.sendall(block)
                    flooded += len(block)
            answer = read_answer(s, a.timeout)
            result = summarise(answer)
            if a.flood:
                result["flooded_mb"] = round(flooded / 2**20, 1)
        except (socket.timeout, OSError) as e:
            result = {"status": "no answer (%s)" % type(e).__name__}
        finally:
            s.close()
        result = {"file": path, **result, "seconds": round(time.monotonic() - t0, 3)}
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
