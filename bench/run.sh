#!/usr/bin/env bash
# bench/run.sh — the sekds benchmark suite, every figure beside the baseline it is judged by,
# all measured in the same run on the same machine.
#
#   bench/run.sh [--quick] [--build-dir DIR] [--no-build] [--keep] [--workers N] [--out DIR]
#                [--server BIN] [--tag TEXT] [--profile]
#
# It brings up its own development environment (deploy/dev-env.sh up) in a temporary directory
# on a free port, restarts its sekds-server with a configuration sized for the run
# (max_connections 1200, no per-TSM rate limit), runs the scenarios, tears everything down,
# and writes bench/results/<UTC date>.json and .png (gnuplot). --quick: short measurements
# (about a minute in all); without it each figure is measured for longer and the latency is
# swept over several loads. --keep leaves the environment (and its server) running and says where.
# --server BIN measures another sekds-server binary (A/B of a change: the rest from --build-dir);
# --tag TEXT is stored in the results and the chart title (e.g. which build it was).
# --profile: after the measured scenarios, `perf record` the server during keys (AES128) and
# new connections, and print where its CPU goes per request (bench/perf_breakdown.py; Debian
# package linux-perf). The figures above are measured before, without perf attached.
#
# Scenarios (bench/README.md says what each figure means):
#   rss          1,000 idle mutual-TLS connections (one WSPing each), then 64 keep-alive
#                connections of WSGetDiversifiedKeys beside them: the server's VmRSS / VmHWM
#   echo         WSPing, keep-alive connections, closed loop (the transport baseline)
#   keys         WSGetDiversifiedKeys per demo key set, same connections and loop as echo
#   hsm          bench_hsm_ceiling on the same token: the demo key sets' own masters, tsm1's KEK
#   latency      64 keep-alive connections, open loop at a share of the keys throughput
#   newconn      WSPing on a new connection per request (full handshake) vs `openssl s_time -new`
#                on the same listener with the same certificates, same concurrency
#   e2e          bench_tsm_flows --manifest: sekds-tsm's batch engine, steps 1-8 on 1,000 fresh
#                virtual cards (sekds-card serve --grid), keys from this server (cards/s)
set -euo pipefail
# The sekds programs refuse to run as root unless told (src/process/hardening.h); this
# development script may be run as root (CI is).
export SEKDS_ALLOW_ROOT=1

REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SEKDS_BUILD_DIR:-$REPO/build-bench}
OUT=$REPO/bench/results
QUICK=no
BUILD_FIRST=yes
KEEP=no
WORKERS=16
PY=/usr/bin/python3
SERVER_BIN=""
TAG=""
PROFILE=no

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=yes; shift ;;
    --build-dir) [ $# -ge 2 ] || die "--build-dir needs a value"; BUILD=$(cd "$2" 2>/dev/null && pwd || echo "$2"); shift 2 ;;
    --no-build) BUILD_FIRST=no; shift ;;
    --keep) KEEP=yes; shift ;;
    --workers) [ $# -ge 2 ] || die "--workers needs a value"; WORKERS=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a value"; OUT=$2; shift 2 ;;
    --server) [ $# -ge 2 ] || die "--server needs a value"; SERVER_BIN=$2; shift 2 ;;
    --tag) [ $# -ge 2 ] || die "--tag needs a value"; TAG=$2; shift 2 ;;
    --profile) PROFILE=yes; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage; die "unknown argument: $1" ;;
  esac
done
case "$WORKERS" in ''|*[!0-9]*) die "--workers must be a number" ;; esac

# ---- tools ----
command -v openssl >/dev/null || die "openssl not found (Debian package openssl)"
[ -x "$PY" ] || die "$PY not found (Debian package python3)"
GNUPLOT=$(command -v gnuplot || true)
if [ "$PROFILE" = yes ]; then
  command -v perf >/dev/null || die "--profile needs perf (Debian package linux-perf)"
fi
[ -n "$GNUPLOT" ] || say "gnuplot not found: no chart this time (install it: sudo apt-get install gnuplot-nox)"

if [ "$QUICK" = yes ]; then
  T=1.0; WARM=0.3; HSM_T=0.4; ST_T=2; CARDS=1000; JOBS=8; LOADS="0.5"; CONNS="4"; GOALS=discover,run
else
  T=5; WARM=1; HSM_T=3; ST_T=5; CARDS=1000; JOBS=8; LOADS="0.1 0.25 0.5 0.75 0.9"; CONNS="1 4 16 64"; GOALS=discover,run
fi
BASE_CONNS=4      # connections of the echo / keys comparison
NEW_CONNS=1       # concurrency of the new-connection comparison (s_time is one connection at a time)
IDLE=1000         # idle connections of the RSS case
KEY_SETS="DES2 AES128 AES256"

# ---- build ----
TARGETS="sekds-server sekds-admin sekds-card bench_loadgen bench_hsm_ceiling bench_tsm_flows"
if [ "$BUILD_FIRST" = yes ]; then
  if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || die "cmake configure failed"
  fi
  # shellcheck disable=SC2086
  cmake --build "$BUILD" -j2 --target $TARGETS >/dev/null || die "build failed: cmake --build $BUILD --target $TARGETS"
fi
for b in src/service/sekds-server src/admin/sekds-admin src/card/sekds-card bench/bench_loadgen \
         bench/bench_hsm_ceiling bench/bench_tsm_flows; do
  [ -x "$BUILD/$b" ] || die "$BUILD/$b not found: build it (cmake --build $BUILD --target $TARGETS)"
done
LOADGEN=$BUILD/bench/bench_loadgen
SERVER_BIN=${SERVER_BIN:-$BUILD/src/service/sekds-server}
[ -x "$SERVER_BIN" ] || die "--server $SERVER_BIN: not an executable"

# ---- machine, before anything runs ----
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
START_S=$(date +%s)
CORES=$(nproc)
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
KERNEL=$(uname -sr)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "$STAMP: $CORES cores, ${CPU_MODEL:-unknown CPU}, $KERNEL, load average $LOAD_START"
# Other processes on the CPU over the last 2 s. Even at nice 19 they distort the figures: the
# server's threads wake from I/O and wait behind them (measured 2026-11-26: keys on 1 connection,
# p50 0.85 ms on a quiet machine, 4.0 ms beside nice-19 fuzzers, 1.0 ms with them at SCHED_IDLE).
BUSY=$($PY - <<'PY'
import os, time
def ticks():
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        fields = st[st.rindex(")") + 2:].split()
        out[pid] = (name, int(fields[11]) + int(fields[12]), int(fields[16]))
    return out
a = ticks(); time.sleep(2); b = ticks()
hz = os.sysconf("SC_CLK_TCK")
busy = sorted(((b[p][1] - a[p][1]) / (2.0 * hz), b[p][0], b[p][2], p) for p in b if p in a and p != str(os.getpid()))
print("; ".join("%s (pid %s, nice %d) %.0f%%" % (n, p, ni, 100 * c) for c, n, ni, p in reversed(busy) if c >= 0.2))
PY
)
[ -z "$BUSY" ] || say "WARNING: other processes are using the CPU, the figures will be low: $BUSY"

# ---- environment ----
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sekds-bench.XXXXXX")
DEV=$WORK/dev
RAW=$WORK/raw
mkdir -p "$RAW"
PORT=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SERVER_PID=""

stop_bench_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
cleanup() {
  local rc=$?
  if [ "$KEEP" = yes ] && [ $rc -eq 0 ]; then
    say "kept: $WORK (server pid ${SERVER_PID:-none} on port $PORT; stop it with kill $SERVER_PID; rm -rf $WORK)"
    return
  fi
  stop_bench_server
  SEKDS_BUILD_DIR=$BUILD "$REPO/deploy/dev-env.sh" down --dir "$DEV" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "dev environment in $WORK on port $PORT..."
t0=$(date +%s.%N)
SEKDS_BUILD_DIR=$BUILD "$REPO/deploy/dev-env.sh" up --dir "$DEV" --port "$PORT" >/dev/null 2>"$WORK/dev-env.log" ||
  { cat "$WORK/dev-env.log" >&2; die "deploy/dev-env.sh up failed"; }
SEKDS_BUILD_DIR=$BUILD "$REPO/deploy/dev-env.sh" down --dir "$DEV" >/dev/null 2>&1  # keeps DEV; our server instead
MANIFEST=$DEV/manifest.json
PKI=$DEV/pki

# The dev configuration, sized for the run: room for the 1,000 idle connections and the load
# beside them, and no per-TSM rate limit (one TSM certificate makes all the load). Everything
# else (TLS, HSM, store, log level) stays as the dev environment has it.
CONFIG=$DEV/sekds-server-bench.toml
$PY - "$DEV/sekds-server.toml" "$CONFIG" "$WORKERS" <<'PY'
import re, sys
src, dst, workers = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(src).read()
text = re.sub(r"(?m)^workers = \d+$", "workers = %s" % workers, text)
assert "[limits]" not in text, "the dev configuration has a [limits] section now: merge instead of appending"
text += "\n# bench/run.sh: sized for the benchmark (one address stands for many TSMs)\n[limits]\nmax_connections = 1200\nmax_handshakes_per_peer = 0\nrate_per_tsm = 0\n"
open(dst, "w").write(text)
PY
chmod 600 "$CONFIG"
SOFTHSM2_CONF=$DEV/softhsm/softhsm2.conf "$SERVER_BIN" --config "$CONFIG" --check-config >/dev/null ||
  die "the server refuses $CONFIG"
export SOFTHSM2_CONF=$DEV/softhsm/softhsm2.conf  # the dev token, for the server and bench_hsm_ceiling
setsid "$SERVER_BIN" --config "$CONFIG" </dev/null >>"$DEV/server.out" 2>&1 &
SERVER_PID=$!
healthz() {
  printf 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
    timeout 5 openssl s_client -quiet -connect "127.0.0.1:$PORT" -servername localhost \
      -cert "$PKI/tsm1.crt" -key "$PKI/tsm1.key" -CAfile "$PKI/ca.crt" -verify_return_error 2>/dev/null |
    head -1 | tr -d '\r' || true
}
for _ in $(seq 1 100); do
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -5 "$DEV/server.out" >&2; die "sekds-server exited at start-up"; }
  case "$(healthz)" in "HTTP/1.1 200"*) break ;; esac
  sleep 0.1
done
case "$(healthz)" in "HTTP/1.1 200"*) ;; *) die "sekds-server does not answer /healthz" ;; esac
SETUP_S=$($PY -c "import time; print(round(time.time() - $t0, 1))")
say "sekds-server $SERVER_PID ready ($WORKERS workers) after ${SETUP_S}s"

# loadgen NAME ARGS...: one scenario, its JSON in $RAW/NAME.json
loadgen() {
  local name=$1; shift
  "$LOADGEN" --manifest "$MANIFEST" "$@" >"$RAW/$name.json" 2>"$RAW/$name.err" ||
    { cat "$RAW/$name.err" >&2; die "scenario $name failed: bench_loadgen $*"; }
  $PY - "$RAW/$name.json" "$name" <<'PY' >&2
import json, sys
j = json.load(open(sys.argv[1])); l = j["latency_ms"]
bad = (", %d failed %s" % (j["failed"], j["errors"])) if j["failed"] else ""
print("bench:   %-22s %9.1f req/s  p50 %6.2f  p99 %7.2f  max %7.2f ms%s" % (sys.argv[2], j["req_per_s"], l["p50"], l["p99"], l["max"], bad))
PY
}
rate_of() { $PY -c "import json, sys; print(json.load(open(sys.argv[1]))['req_per_s'])" "$RAW/$1.json"; }

# 1. RSS first, on the fresh server: 1,000 idle connections, then load beside them.
say "rss: $IDLE idle connections, then 64 keep-alive WSGetDiversifiedKeys beside them"
loadgen rss --op keys --key-set AES128 --connections 64 --seconds "$T" --warmup "$WARM" --idle "$IDLE" \
  --server-pid "$SERVER_PID"

# 2. The transport baseline and the key release on the same connections.
say "echo and keys, $BASE_CONNS keep-alive connections (closed loop)"
for c in $CONNS; do
  loadgen "echo_c$c" --op ping --connections "$c" --seconds "$T" --warmup "$WARM"
  for ks in $KEY_SETS; do
    [ "$c" = "$BASE_CONNS" ] || [ "$ks" = AES128 ] || continue
    loadgen "keys_${ks}_c$c" --op keys --key-set "$ks" --connections "$c" --seconds "$T" --warmup "$WARM"
  done
done

# 3. The HSM's ceiling: the same token, the demo key sets' masters, tsm1's KEK (while the
#    server idles).
say "hsm: bench_hsm_ceiling on the server's token"
KS_ARGS=$($PY - "$MANIFEST" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
print(" ".join("--key-set %s:%d:%s:%s:%s" % (k["issuer"], k["kvn"], k["method"], k["key_type"],
                                              "per-role" if k["per_role"] else "shared") for k in m["key_sets"]))
PY
)
# shellcheck disable=SC2086
"$BUILD/bench/bench_hsm_ceiling" --conf "$DEV/softhsm/softhsm2.conf" --token "$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['token'])" "$MANIFEST")" \
  --pin-file "$DEV/softhsm/user.pin" --kek sekds/kek/tsm1/1 --seconds "$HSM_T" --threads 1,2 $KS_ARGS \
  >"$RAW/hsm.json" 2>"$RAW/hsm.err" || { cat "$RAW/hsm.err" >&2; die "bench_hsm_ceiling failed"; }
sed 's/^/bench:   /' "$RAW/hsm.err" >&2

# 4. Latency at 64 keep-alive connections, open loop at shares of the keys throughput.
KEYS_CAP=$(rate_of "keys_AES128_c$BASE_CONNS")
say "latency: 64 keep-alive connections, open loop at $LOADS x $KEYS_CAP req/s"
for share in $LOADS; do
  r=$($PY -c "print(max(1, round($share * $KEYS_CAP)))")
  loadgen "latency_keys_$share" --op keys --key-set AES128 --connections 64 --rate "$r" --seconds "$T" --warmup "$WARM"
done
ECHO_CAP=$(rate_of "echo_c$BASE_CONNS")
r=$($PY -c "print(max(1, round(0.5 * $ECHO_CAP)))")
loadgen latency_echo_0.5 --op ping --connections 64 --rate "$r" --seconds "$T" --warmup "$WARM"

# 5. New connections: WSPing with a full handshake each vs openssl s_time -new, same listener,
#    certificates and concurrency.
say "newconn: $NEW_CONNS connection(s) at a time, full handshakes"
loadgen newconn --op ping --mode new --connections "$NEW_CONNS" --seconds "$T" --warmup "$WARM"
loadgen resumed --op ping --mode resumed --connections "$NEW_CONNS" --seconds "$T" --warmup "$WARM"
$PY - "$PORT" "$PKI" "$ST_T" "$NEW_CONNS" "$RAW/s_time.json" <<'PY'
import json, re, subprocess, sys, time
port, pki, seconds, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
cmd = ["openssl", "s_time", "-connect", "127.0.0.1:" + port, "-new", "-time", str(seconds),
       "-cert", pki + "/tsm1.crt", "-key", pki + "/tsm1.key", "-CAfile", pki + "/ca.crt"]
t0 = time.monotonic()
procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(n)]
outs = [p.communicate()[0] for p in procs]
wall = time.monotonic() - t0
conns = 0
for o in outs:
    m = re.search(r"(\d+) connections in [\d.]+s", o)
    if not m:
        sys.exit("openssl s_time said: " + o[-400:])
    conns += int(m.group(1))
json.dump({"command": " ".join(cmd), "processes": n, "connections": conns, "wall_seconds": round(wall, 3),
           "handshakes_per_s": round(conns / wall, 1)}, open(out, "w"), indent=1)
print("bench:   %-22s %9.1f handshakes/s (%d in %.2f s)" % ("openssl s_time -new", conns / wall, conns, wall), file=sys.stderr)
PY

# 6. End to end: sekds-tsm's batch engine on fresh virtual cards, keys from this server.
say "e2e: bench_tsm_flows, $CARDS cards, $JOBS jobs, goals $GOALS"
"$BUILD/bench/bench_tsm_flows" --manifest "$MANIFEST" --key-type AES128 --cards "$CARDS" --jobs "$JOBS" \
  --goals "$GOALS" >"$RAW/e2e.json" 2>"$RAW/e2e.err" || { cat "$RAW/e2e.err" >&2; die "bench_tsm_flows failed"; }

# 7. Profiles (--profile), after every measured figure: perf attached to the server slows it.
#    profile NAME LOADGEN-ARGS...: DWARF call graphs of the server while bench_loadgen runs, the
#    server's CPU per request from /proc over the same window, the breakdown by stage.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
profile() {
  local name=$1; shift
  local secs; secs=$($PY -c "print(max(2, round(2 * $T)))")
  "$LOADGEN" --manifest "$MANIFEST" "$@" --seconds "$((secs + 2))" --warmup 0 >"$WORK/profile/$name.load.json" \
    2>"$WORK/profile/$name.load.err" &
  local lg=$!
  sleep 1
  local c0 r0 c1 r1; c0=$(cpu_ticks); r0=$(date +%s.%N)
  perf record -q -F 499 --call-graph dwarf,16384 -p "$SERVER_PID" -o "$WORK/profile/$name.data" -- sleep "$secs" \
    >/dev/null 2>"$WORK/profile/$name.perf.err" || { cat "$WORK/profile/$name.perf.err" >&2; die "perf record failed"; }
  c1=$(cpu_ticks); r1=$(date +%s.%N)
  wait "$lg" || { cat "$WORK/profile/$name.load.err" >&2; die "profile $name: bench_loadgen $* failed"; }
  # requests in the window from the run's rate (the run covers the window with a second either side)
  local ms; ms=$($PY - "$WORK/profile/$name.load.json" "$c0" "$c1" "$r0" "$r1" "$(getconf CLK_TCK)" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); c0, c1, r0, r1, hz = map(float, sys.argv[2:])
print("%.4f" % (1000 * (c1 - c0) / hz / (j["req_per_s"] * (r1 - r0))))
PY
)
  perf script -F ip,sym,dso -i "$WORK/profile/$name.data" 2>/dev/null |
    $PY "$REPO/bench/perf_breakdown.py" --name "$name" --cpu-ms-per-request "$ms" --json "$WORK/profile/$name.json" |
    sed 's/^/bench:   /' >&2
}
if [ "$PROFILE" = yes ]; then
  mkdir -p "$WORK/profile"
  say "profile: perf record of sekds-server, keys and new connections"
  profile keys_AES128 --op keys --key-set AES128 --connections "$BASE_CONNS"
  profile newconn --op ping --mode new --connections "$NEW_CONNS"
fi

SERVER_MEM_END=$(grep -E '^(VmRSS|VmHWM)' "/proc/$SERVER_PID/status" | tr -s ' \t' ' ' | tr '\n' ';')
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----
mkdir -p "$OUT"
RESULT=$OUT/$STAMP.json
CHART=$OUT/$STAMP.png
$PY - "$RAW" "$RESULT" <<PY
import json, os, sys
raw, result = sys.argv[1], sys.argv[2]
def load(name):
    return json.load(open(os.path.join(raw, name + ".json")))
base = "$BASE_CONNS"
machine = {"cores": int("$CORES"), "cpu_model": """$CPU_MODEL""", "kernel": "$KERNEL",
           "load_average_start": "$LOAD_START", "load_average_end": "$LOAD_END",
           "other_busy_processes_at_start": """$BUSY"""}
run = {"date": "$STAMP", "quick": "$QUICK" == "yes", "server_workers": int("$WORKERS"), "tag": "$TAG",
       "server_binary": "$SERVER_BIN",
       "setup_seconds": float("$SETUP_S"), "seconds_per_figure": float("$T"),
       "server_memory_end": "$SERVER_MEM_END"}
scen = {f[:-5]: load(f[:-5]) for f in sorted(os.listdir(raw)) if f.endswith(".json")}
hsm = scen.pop("hsm")
e2e = scen.pop("e2e")
s_time = scen.pop("s_time")

echo = scen["echo_c" + base]["req_per_s"]
ratios = {}
keys = {}
for ks in "$KEY_SETS".split():
    k = scen["keys_%s_c%s" % (ks, base)]
    ceiling = max(r["keysets_per_s"] for r in hsm["results"] if r["key_type"] == ks)
    keys[ks] = {"keys_per_s": k["req_per_s"], "echo_per_s": echo, "hsm_ceiling_per_s": ceiling,
                "ratio": round(k["req_per_s"] / min(echo, ceiling), 3), "p99_ms": k["latency_ms"]["p99"],
                "failed": k["failed"]}
worst = min(v["ratio"] for v in keys.values())
ratios["keys_vs_min_echo_hsm"] = {"value": worst, "goal": ">= 0.8", "ok": worst >= 0.8, "per_key_set": keys}
nc = scen["newconn"]["req_per_s"]
ratios["newconn_vs_openssl"] = {"value": round(nc / s_time["handshakes_per_s"], 3), "goal": ">= 0.8",
                                "ok": nc / s_time["handshakes_per_s"] >= 0.8, "newconn_per_s": nc,
                                "openssl_handshakes_per_s": s_time["handshakes_per_s"],
                                "resumed_per_s": scen["resumed"]["req_per_s"], "connections": int("$NEW_CONNS")}
lat = scen["latency_keys_0.5"]
ratios["p99_at_64_keepalive_ms"] = {"value": lat["latency_ms"]["p99"], "goal": "<= 5", "ok": lat["latency_ms"]["p99"] <= 5,
                                    "offered_per_s": lat["open_loop_rate"], "achieved_per_s": lat["req_per_s"],
                                    "latency_ms": lat["latency_ms"], "echo_p99_ms": scen["latency_echo_0.5"]["latency_ms"]["p99"]}
flows = e2e["goals"]["run"]
ratios["cards_per_s"] = {"value": round(flows["flows_per_second"], 1), "goal": ">= 500", "ok": flows["flows_per_second"] >= 500,
                         "cards": e2e["cards"], "jobs": e2e["jobs"], "what": "steps 1-8 on fresh cards (TTP keys, open, rotate, script)",
                         "discover_per_s": round(e2e["goals"]["discover"]["flows_per_second"], 1)}
rss = scen["rss"]
idle_mb = rss["server_memory_idle"]["vm_rss_kb"] / 1024
load_mb = rss["server_memory_load"]["vm_rss_kb"] / 1024
hwm_mb = rss["server_memory_after"]["vm_hwm_kb"] / 1024
ratios["rss_1000_connections_mb"] = {"value": round(max(idle_mb, load_mb), 1), "goal": "<= 128", "ok": max(idle_mb, load_mb) <= 128,
                                     "before_mb": round(rss["server_memory_before"]["vm_rss_kb"] / 1024, 1),
                                     "idle_mb": round(idle_mb, 1), "under_load_mb": round(load_mb, 1), "hwm_mb": round(hwm_mb, 1),
                                     "idle_connections": rss["idle_connections"], "idle_failed": rss.get("idle_failed", 0),
                                     "load_per_s": rss["req_per_s"]}
doc = {"machine": machine, "run": run, "goals": ratios, "scenarios": scen, "hsm_ceiling": hsm, "openssl_s_time": s_time,
       "e2e": e2e}
prof = os.path.join(os.path.dirname(raw), "profile")
if os.path.isdir(prof):  # --profile: where the server's CPU goes per request
    doc["profile"] = {f[:-5]: json.load(open(os.path.join(prof, f))) for f in sorted(os.listdir(prof))
                      if f.endswith(".json") and not f.endswith(".load.json")}
json.dump(doc, open(result, "w"), indent=1)
PY

$PY - "$RESULT" "$WORK/plot" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1])); out = sys.argv[2]; os.makedirs(out, exist_ok=True)
g = d["goals"]; s = d["scenarios"]
with open(os.path.join(out, "throughput.dat"), "w") as f:
    f.write('"echo (WSPing)" %s\n' % g["keys_vs_min_echo_hsm"]["per_key_set"]["AES128"]["echo_per_s"])
    for ks, v in g["keys_vs_min_echo_hsm"]["per_key_set"].items():
        f.write('"keys %s" %s\n' % (ks, v["keys_per_s"]))
        f.write('"HSM %s" %s\n' % (ks, v["hsm_ceiling_per_s"]))
    f.write('"new conn." %s\n' % g["newconn_vs_openssl"]["newconn_per_s"])
    f.write('"openssl s\\\\_time" %s\n' % g["newconn_vs_openssl"]["openssl_handshakes_per_s"])
    f.write('"resumed conn." %s\n' % g["newconn_vs_openssl"]["resumed_per_s"])
    f.write('"cards/s (e2e)" %s\n' % g["cards_per_s"]["value"])
with open(os.path.join(out, "latency.dat"), "w") as f:
    pts = sorted((v["req_per_s"], v["latency_ms"]) for k, v in s.items() if k.startswith("latency_keys_"))
    for rate, l in pts:
        f.write("%s %s %s %s %s\n" % (rate, l["p50"], l["p90"], l["p99"], l["max"]))
PY
if [ -n "$GNUPLOT" ]; then
  "$GNUPLOT" -e "datadir='$WORK/plot'; outfile='$CHART'; title='sekds bench $STAMP${TAG:+ [$TAG]} ($CORES cores, load $LOAD_START)'" \
    "$REPO/bench/plot.gp" || say "gnuplot failed: no chart"
fi

# ---- summary ----
$PY - "$RESULT" "${GNUPLOT:+$CHART}" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); m = d["machine"]; g = d["goals"]
print("sekds benchmark %s%s%s" % (d["run"]["date"], " (quick)" if d["run"]["quick"] else "",
      " [%s]" % d["run"]["tag"] if d["run"].get("tag") else ""))
print("machine: %d cores, %s, %s, load average %s at start (%s at end)" % (m["cores"], m["cpu_model"], m["kernel"],
      m["load_average_start"], m["load_average_end"]))
if m.get("other_busy_processes_at_start"):
    print("WARNING: other processes were using the CPU at the start: %s" % m["other_busy_processes_at_start"])
def mark(v): return "ok  " if v["ok"] else "MISS"
k = g["keys_vs_min_echo_hsm"]
print("%s keys / min(echo, HSM ceiling) = %.2f (goal %s)" % (mark(k), k["value"], k["goal"]))
for ks, v in k["per_key_set"].items():
    print("       %-6s %8.0f keys/s   echo %8.0f/s   HSM ceiling %6.0f key sets/s   ratio %.2f" % (ks, v["keys_per_s"],
          v["echo_per_s"], v["hsm_ceiling_per_s"], v["ratio"]))
n = g["newconn_vs_openssl"]
print("%s new connections / openssl s_time -new = %.2f (goal %s): %.0f req/s vs %.0f handshakes/s (resumed: %.0f req/s)" %
      (mark(n), n["value"], n["goal"], n["newconn_per_s"], n["openssl_handshakes_per_s"], n["resumed_per_s"]))
p = g["p99_at_64_keepalive_ms"]
print("%s p99 at 64 keep-alive connections = %.2f ms (goal %s ms): keys at %.0f req/s offered, p50 %.2f ms; echo p99 %.2f ms" %
      (mark(p), p["value"], p["goal"], p["offered_per_s"], p["latency_ms"]["p50"], p["echo_p99_ms"]))
c = g["cards_per_s"]
print("%s end to end = %.0f cards/s (goal %s): %s, %d cards, %d jobs" % (mark(c), c["value"], c["goal"], c["what"], c["cards"], c["jobs"]))
r = g["rss_1000_connections_mb"]
print("%s server RSS at %d connections = %.1f MB (goal %s MB): %.1f MB before, %.1f MB idle, %.1f MB under load, peak %.1f MB" %
      (mark(r), r["idle_connections"], r["value"], r["goal"], r["before_mb"], r["idle_mb"], r["under_load_mb"], r["hwm_mb"]))
for name, p in sorted(d.get("profile", {}).items()):
    print("profile %s: server CPU %.3f ms per request (perf attached), %d samples" % (name, p["cpu_ms_per_request"], p["samples"]))
    for r in p["stages"]:
        print("  %5.1f %%  %6.3f ms  %s" % (100 * r["share"], r["cpu_ms_per_request"], r["stage"]))
print("results: %s" % sys.argv[1])
if len(sys.argv) > 2 and sys.argv[2]:
    print("chart:   %s" % sys.argv[2])
PY
END_S=$(date +%s)
say "done in $((END_S - START_S)) s"
