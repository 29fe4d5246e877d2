#!/usr/bin/env bash
# The HSM goes away while sekds-server runs and comes back: the SoftHSM token directory is
# moved away and the PKCS#11 module file (a copy the server loads) with it. Passes when, during
# the outage, every key request is refused with HsmUnavailable and no wrapped key leaves, /healthz
# says 503, the refusals are audited; when both return, the SAME server process releases keys
# again (recovery without restart; the time it took is printed), every AuditId received is in
# the audit log and the chain verifies. Then a server started with a module path that does not
# load must refuse to start (one line naming hsm.module) instead of serving.
#   tests/fault/hsm_outage.sh [--build DIR] [--long] [--keep]
# Short: one outage of 3 s with one client. Long: 5 outages of 15 s under 4 client threads.
source "$(dirname "$0")/lib.sh"
fault_init hsm_outage "$@"

OUTAGES=1 OUTAGE_S=3 THREADS=1
[ "$LONG" = yes ] && OUTAGES=5 OUTAGE_S=15 THREADS=4

env_up
MODULE_SRC=$(readlink -f "${SEKDS_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}")
mkdir -p "$DEV/module"
cp "$MODULE_SRC" "$DEV/module/libsofthsm2.so"
write_config
sed -i "s#^module = .*#module = \"$DEV/module/libsofthsm2.so\"#" "$CONFIG"
server_start
pid_before=$SERVER_PID
TOKENS=$DEV/softhsm/tokens

LOG=$TMP/requests.jsonl
r=$(one_request "$LOG")
[ -n "$(echo "$r" | json_field audit_id)" ] || fail "no key release before the outage: $r"

for n in $(seq 1 "$OUTAGES"); do
  OUT=$TMP/outage-$n.jsonl
  mv "$TOKENS" "$TOKENS.away"
  mv "$DEV/module/libsofthsm2.so" "$DEV/module/libsofthsm2.so.away"
  note "outage $n: token directory and module moved away"
  # The server works from in-memory copies of the masters and KEKs and looks at the token again
  # every 250 ms (hsm::Hsm::kWorkingCopyRecheck): the outage is judged from then on.
  sleep 0.3
  $CLIENT load --manifest "$MANIFEST" --port "$PORT" --threads "$THREADS" --seconds "$OUTAGE_S" --pause 0.05 --out "$OUT"
  h=$(health || true)
  mv "$DEV/module/libsofthsm2.so.away" "$DEV/module/libsofthsm2.so"
  mv "$TOKENS.away" "$TOKENS"
  note "outage $n: back; /healthz during the outage: $h"
  case "$h" in 503*) ;; *) fail "/healthz did not say 503 during the outage: $h" ;; esac
  check "outage $n: every request refused with HsmUnavailable, no wrapped key" $PY -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
bad = [r for r in recs if r.get("wrapped") or r.get("audit_id") or r.get("fault") != "HsmUnavailable"]
for r in bad[:5]: print("unexpected:", json.dumps(r), file=sys.stderr)
print("%d requests during the outage" % len(recs), file=sys.stderr)
sys.exit(1 if bad or not recs else 0)' "$OUT"
  # Recovery: the same process, no restart. The HSM layer reconnects after its back-off
  # (1 s doubling to 30 s by default): allow 70 s.
  t0=$(date +%s.%N)
  recovered=
  for i in $(seq 1 140); do
    r=$(one_request "$LOG")
    if [ -n "$(echo "$r" | json_field audit_id)" ]; then recovered=yes; break; fi
    sleep 0.5
  done
  [ -n "$recovered" ] || fail "outage $n: no key release within 70 s of the HSM's return (last: $r)"
  [ "$SERVER_PID" = "$pid_before" ] && kill -0 "$SERVER_PID" || fail "the server process changed or died"
  note "outage $n: keys released again $($PY -c "import time; print(round(time.time() - $t0, 1))") s after the HSM returned, same process"
  check "outage $n: /healthz 200 again" health
done

server_stop
refusals=$($PY -c 'import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute("SELECT count(*) FROM audit WHERE operation = ? AND result = ?", ("WSGetDiversifiedKeys", "HsmUnavailable")).fetchone()[0])' "$DB")
[ "$refusals" -gt 0 ] || fail "no HsmUnavailable refusal in the audit log"
note "HsmUnavailable refusals audited: $refusals"
result=$($CLIENT check-audit --db "$DB" "$LOG" "$TMP"/outage-*.jsonl) || { echo "$result" >&2; fail "AuditIds missing or wrong in the audit log"; }
check "sekds-admin audit verify accepts the chain" audit_verify

# Start-up with a module that does not load: refused, one line naming hsm.module.
mv "$DEV/module/libsofthsm2.so" "$DEV/module/libsofthsm2.so.away"
set +e
timeout 30 "$SERVER_BIN" --config "$CONFIG" </dev/null >"$TMP/start-no-module.out" 2>&1
rc=$?
set -e
mv "$DEV/module/libsofthsm2.so.away" "$DEV/module/libsofthsm2.so"
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "sekds-server started (exit $rc) with a module that does not load"
grep -q "hsm.module" "$TMP/start-no-module.out" || { cat "$TMP/start-no-module.out" >&2; fail "start-up refusal does not name hsm.module"; }
note "start-up without the module: exit $rc, $(head -1 "$TMP/start-no-module.out")"
echo "PASS [hsm_outage]: $OUTAGES outage(s); $result"
