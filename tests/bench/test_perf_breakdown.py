#!/usr/bin/env python3
"""bench/perf_breakdown.py on hand-made `perf script -F ip,sym,dso` text: each sample lands in the
stage of its outermost meaningful caller, shares and ms add up, bad input is refused."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SCRIPT = sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../bench/perf_breakdown.py")


def sample(*frames):
    """frames leaf first, as perf prints them"""
    return "".join("\t%16x %s\n" % (0x1000 + i, f) for i, f in enumerate(frames)) + "\n"


SRV = "(/x/sekds-server)"
SAMPLES = [
    # malloc called by the HSM code inside a SOAP dispatch: HSM, not SOAP and not "other"
    sample("malloc (/lib/libc.so.6)", "C_DeriveKey (/lib/softhsm/libsofthsm2.so)",
           "sekds::hsm::Session::derive_encrypt_data " + SRV, "SekdsSoap11Service::dispatch " + SRV,
           "sekds::service::detail::serve_one " + SRV, "sekds::service::Server::Impl::read_step " + SRV),
    # TCP send under SSL_write under gSOAP's flush: TLS records
    sample("tcp_sendmsg ([kernel.kallsyms])", "SSL_write (/lib/libssl.so.3)", "soap_flush_raw (/lib/libgsoapssl++.so)",
           "sekds::service::detail::serve_one " + SRV),
    # certificate chain check inside the handshake
    sample("EC_POINT_mul (/lib/libcrypto.so.3)", "X509_verify_cert (/lib/libcrypto.so.3)",
           "sekds::service::Server::Impl::handshake_step " + SRV),
    sample("[unknown] (/lib/libssl.so.3)", "sekds::service::Server::Impl::handshake_step " + SRV),
    # SQLite under a lookup, and under the group commit
    sample("sqlite3VdbeExec (/lib/libsqlite3.so.0)", "sekds::store::SqliteStore::find_key_set " + SRV),
    sample("fdatasync (/lib/libc.so.6)", "sqlite3WalFrames (/lib/libsqlite3.so.0)",
           "sekds::store::GroupCommitter::commit " + SRV),
    sample("sqlite3WalCheckpoint (/lib/libsqlite3.so.0)", "sekds::store::WalCheckpointer::run " + SRV),
    # gSOAP parsing with nothing else below
    sample("soap_peek_element (/lib/libgsoapssl++.so)", "SekdsSoap11Service::dispatch " + SRV),
    # nothing known
    sample("[unknown] ([unknown])", "clone3 (/lib/libc.so.6)"),
    sample("epoll_wait (/lib/libc.so.6)", "sekds::service::Server::Impl::event_loop " + SRV),
]


def run(text, *args):
    return subprocess.run([sys.executable, SCRIPT, "--name", "t"] + list(args), input=text, capture_output=True,
                          text=True)


class PerfBreakdown(unittest.TestCase):
    def breakdown(self, text, *args):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "b.json")
            r = run(text, "--json", out, *args)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out) as f:
                return json.load(f), r.stdout

    def test_each_sample_lands_in_its_stage(self):
        doc, _ = self.breakdown("".join(SAMPLES))
        self.assertEqual(doc["samples"], len(SAMPLES))
        share = {r["stage"]: r["share"] for r in doc["stages"]}
        n = float(len(SAMPLES))

        def of(prefix):
            hits = [v for k, v in share.items() if k.startswith(prefix)]
            self.assertEqual(len(hits), 1, "no single stage starts with %r in %s" % (prefix, list(share)))
            return hits[0]
        self.assertAlmostEqual(of("HSM"), 1 / n, places=4)
        self.assertAlmostEqual(of("TLS records"), 1 / n, places=4)
        self.assertAlmostEqual(of("TLS handshake: client chain"), 1 / n, places=4)
        self.assertAlmostEqual(of("TLS handshake: the rest"), 1 / n, places=4)
        self.assertAlmostEqual(of("store: lookups"), 1 / n, places=4)
        self.assertAlmostEqual(of("store: release and audit commit"), 1 / n, places=4)
        self.assertAlmostEqual(of("store: WAL checkpoint"), 1 / n, places=4)
        self.assertAlmostEqual(of("SOAP"), 1 / n, places=4)
        self.assertAlmostEqual(of("connections"), 1 / n, places=4)
        self.assertAlmostEqual(of("other"), 1 / n, places=4)
        self.assertAlmostEqual(sum(share.values()), 1.0, places=3)

    def test_cpu_per_request_is_split_by_share(self):
        doc, out = self.breakdown(SAMPLES[0] * 3 + SAMPLES[5], "--cpu-ms-per-request", "0.8")
        ms = {r["stage"].split(":")[0]: r["cpu_ms_per_request"] for r in doc["stages"]}
        self.assertEqual(sorted(ms), ["HSM", "store"])
        self.assertAlmostEqual(ms["HSM"], 0.6, places=3)
        self.assertAlmostEqual(ms["store"], 0.2, places=3)
        self.assertIn("server CPU 0.800 ms per request", out)

    def test_no_samples_is_an_error(self):
        r = run("")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no samples", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
