#!/usr/bin/env python3
"""Where sekds-server's CPU goes: `perf script -F ip,sym,dso` of a call-graph recording, read on
standard input, sorted into the stages of a request.

  perf script -F ip,sym,dso -i perf.data | bench/perf_breakdown.py --name keys \
      [--cpu-ms-per-request MS] [--json OUT]

Each sample goes to the first stage, in the order below, that any frame of its stack belongs to
(so a malloc inside the HSM call counts as HSM, a TCP send inside SSL_write as TLS records). The
stage list is the request's path through the server; bench/run.sh --profile calls this.
"""
import argparse
import json
import re
import sys

# (stage, pattern matched against "symbol (dso)" of each frame); first stage that matches wins.
STAGES = [
    ("TLS handshake: client chain verification", r"^X509_verify_cert "),
    ("TLS handshake: the rest", r"handshake_step|SSL_do_handshake|SSL_accept |^tls_|ossl_statem"),
    ("store: WAL checkpoint thread", r"WalCheckpointer"),
    ("HSM: derive, KCV, wrap (PKCS#11, SoftHSM)", r"^sekds::hsm::|libsofthsm2\.so"),
    ("store: release and audit commit (group commit, SQLite, fdatasync)",
     r"^sekds::store::(GroupCommitter|SqliteStore::record_release|SqliteStore::Impl::insert_audit)"),
    ("store: lookups (TSM, issuer, key set, entitlement, KEK)", r"^sekds::store::|libsqlite3\.so"),
    ("TLS records: SSL_read / SSL_write, TCP", r"^SSL_(read|write|peek|shutdown|pending)"),
    ("logging", r"sekds::service::log_json|libspdlog|libfmt"),
    ("SOAP: gSOAP parse, dispatch, serialise", r"^soap_|libgsoapssl|SekdsSoap11Service|^sekds::service::detail::"),
    ("connections: accept, epoll, worker hand-off", r"^sekds::service::Server::"),
]
OTHER = "other (thread start, scheduler, unresolved stacks)"
COMPILED = [(name, re.compile(p)) for name, p in STAGES]
FRAME = re.compile(r"^\s*[0-9a-f]+ (.*)$")


def samples(lines):
    """Yields the frames ("symbol (dso)") of each sample; samples are separated by blank lines."""
    frames = []
    for line in lines:
        if not line.strip():
            if frames:
                yield frames
                frames = []
            continue
        m = FRAME.match(line)
        if m:
            frames.append(m.group(1))
    if frames:
        yield frames


def stage_of(frames):
    for name, pattern in COMPILED:
        if any(pattern.search(f) for f in frames):
            return name
    return OTHER


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True, help="what was profiled (keys, newconn)")
    ap.add_argument("--cpu-ms-per-request", type=float, help="server CPU per request, to show each stage in ms")
    ap.add_argument("--json", help="write the breakdown here as JSON")
    a = ap.parse_args()

    counts = {}
    total = 0
    for frames in samples(sys.stdin):
        s = stage_of(frames)
        counts[s] = counts.get(s, 0) + 1
        total += 1
    if total == 0:
        sys.exit("perf_breakdown: no samples on standard input (was the recording made with --call-graph?)")

    order = [n for n, _ in STAGES] + [OTHER]
    rows = [{"stage": n, "share": round(counts.get(n, 0) / total, 4)} for n in order if counts.get(n)]
    if a.cpu_ms_per_request is not None:
        for r in rows:
            r["cpu_ms_per_request"] = round(r["share"] * a.cpu_ms_per_request, 3)
    doc = {"name": a.name, "samples": total, "cpu_ms_per_request": a.cpu_ms_per_request, "stages": rows}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=1)

    head = "profile %s: %d samples" % (a.name, total)
    if a.cpu_ms_per_request is not None:
        head += ", server CPU %.3f ms per request" % a.cpu_ms_per_request
    print(head)
    for r in rows:
        ms = ("  %6.3f ms" % r["cpu_ms_per_request"]) if "cpu_ms_per_request" in r else ""
        print("  %5.1f %%%s  %s" % (100 * r["share"], ms, r["stage"]))


if __name__ == "__main__":
    main()
