#!/usr/bin/env bash
# kill -9 of sekds-server under load, then a restart, several times. Passes when every AuditId a
# client received is an OK release record of that client's card and request id in the audit
# log (a key release is durable before its answer leaves), no AuditId was given twice, no client
# got wrapped keys without an AuditId, clients are served again after each restart, and
# `sekds-admin audit verify` accepts the chain.
#   tests/fault/kill9.sh [--build DIR] [--long] [--keep]
# Short: 2 kills, 3 s of load around each, 4 client threads. Long: 10 kills, 10 s, 8 threads.
source "$(dirname "$0")/lib.sh"
fault_init kill9 "$@"

CYCLES=2 PHASE=3 THREADS=4
[ "$LONG" = yes ] && CYCLES=10 PHASE=10 THREADS=8

env_up
write_config
server_start

LOG=$TMP/load.jsonl
load_start "$LOG" 3600 --threads "$THREADS" --stop-file "$TMP/stop"
restarted_at=()
for c in $(seq 1 "$CYCLES"); do
  sleep "$PHASE"
  server_kill9
  note "cycle $c: sekds-server killed with SIGKILL under load"
  sleep 0.3
  server_start
  restarted_at+=("$(date +%s.%N)")
  note "cycle $c: restarted"
done
sleep "$PHASE"
touch "$TMP/stop"
wait "$LOAD_PID"
server_stop

summary=$($CLIENT summary "$LOG")
note "client outcomes: $summary"
check "load was running when the server was killed (transport errors seen)" \
  $PY -c 'import json, sys; s = json.loads(sys.argv[1]); sys.exit(0 if any(k not in ("ok",) for k in s) else 1)' "$summary"
for t in "${restarted_at[@]}"; do
  check "clients served again after the restart at $t" \
    $PY -c 'import json, sys
t = float(sys.argv[2])
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if any(r.get("audit_id") and r["t"] > t for r in recs) else 1)' "$LOG" "$t"
done
result=$($CLIENT check-audit --db "$DB" "$LOG") || { echo "$result" >&2; fail "AuditIds received by clients are missing or wrong in the audit log"; }
note "audit: $result"
check "sekds-admin audit verify accepts the chain" audit_verify
echo "PASS [kill9]: $CYCLES kills under load; $result"
