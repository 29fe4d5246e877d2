#!/usr/bin/env bash
# The audit database fails under a running sekds-server, then recovers. The database lives on a
# small ext4 file system (a loop device, mounted in a private mount namespace of this script, so
# nothing outside sees it and it vanishes with the script):
#   read-only: the database and its WAL are made immutable (chattr +i; writes through the open
#              file descriptors then fail with EPERM, even for root)
#   disk full: a filler file takes every free block
# Passes when, during each fault, key requests are refused with AuditUnavailable and carry no
# wrapped key, no answer with keys lacks its AuditId, every AuditId received is an OK record of
# that card in the audit log afterwards, the SAME server releases keys again once the fault is
# gone (recovery without restart), and `sekds-admin audit verify` accepts the chain.
# Needs root (mount, losetup, chattr); otherwise it is skipped with exit code 77: the server's
# configuration does not expose the store's max_size_bytes (SQLite max_page_count), which would
# have been the unprivileged way to fill the "disk".
#   tests/fault/store_faults.sh [--build DIR] [--long] [--keep]
# Short: one read-only and one disk-full episode. Long: 3 of each, with 4 client threads.
if [ -z "${SEKDS_FAULT_NS:-}" ]; then
  if unshare -m --propagation private true 2>/dev/null; then
    SEKDS_FAULT_NS=1 exec unshare -m --propagation private "$0" "$@"
  fi
  echo "[store_faults] SKIP: cannot create a private mount namespace (needs root / CAP_SYS_ADMIN)" >&2
  exit 77
fi
source "$(dirname "$0")/lib.sh"
fault_init store_faults "$@"

EPISODES=1 THREADS=1
[ "$LONG" = yes ] && EPISODES=3 THREADS=4

FS=$TMP/dbfs
fault_local_cleanup() {
  chattr -i "$FS"/* 2>/dev/null
  mountpoint -q "$FS" && umount "$FS" 2>/dev/null
  return 0
}

env_up
truncate -s 24M "$TMP/dbfs.img"
mkfs.ext4 -q -F "$TMP/dbfs.img" || { echo "[store_faults] SKIP: mkfs.ext4 failed" >&2; exit 77; }
mkdir -p "$FS"
mount -o loop "$TMP/dbfs.img" "$FS" 2>"$TMP/mount.err" || { cat "$TMP/mount.err" >&2; echo "[store_faults] SKIP: cannot mount a loop file system" >&2; exit 77; }
$PY -c 'import sqlite3, sys
src, dst = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
src.backup(dst); dst.close(); src.close()' "$DB" "$FS/sekds.db"
chmod 600 "$FS/sekds.db"
DB=$FS/sekds.db
write_config
sed -i "s#^path = \"sekds.db\"#path = \"$DB\"#" "$CONFIG"
grep -q "^path = \"$DB\"" "$CONFIG" || fail "could not point [store] path at $DB"
server_start
pid=$SERVER_PID

LOGS=()
r=$(one_request "$TMP/before.jsonl")
LOGS+=("$TMP/before.jsonl")
[ -n "$(echo "$r" | json_field audit_id)" ] || fail "no key release before the fault: $r"

# during LOG: all answers are AuditUnavailable without keys, or (disk full, before the file system
# runs out) OK with an AuditId; at least one AuditUnavailable.
judge_fault() {
  $PY -c '
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
refused = [r for r in recs if r.get("fault") == "AuditUnavailable"]
bad = [r for r in recs if (r.get("wrapped") and not r.get("audit_id"))
       or (r.get("fault") == "AuditUnavailable" and r.get("wrapped"))
       or (not r.get("audit_id") and r.get("fault") != "AuditUnavailable")]
if sys.argv[2] == "all": bad += [r for r in recs if r.get("fault") != "AuditUnavailable"]
for r in bad[:5]: print("unexpected:", json.dumps(r), file=sys.stderr)
print("%d requests, %d AuditUnavailable, %d released" % (len(recs), len(refused), sum(1 for r in recs if r.get("audit_id"))), file=sys.stderr)
sys.exit(1 if bad or not refused else 0)' "$1" "$2"
}

recover() {  # the same process releases keys again within 30 s
  local what=$1 t0 i r
  t0=$(date +%s.%N)
  for i in $(seq 1 60); do
    r=$(one_request "$TMP/recovery.jsonl")
    if [ -n "$(echo "$r" | json_field audit_id)" ]; then
      [ "$SERVER_PID" = "$pid" ] && kill -0 "$SERVER_PID" || fail "$what: the server process changed or died"
      note "$what: keys released again $($PY -c "import time; print(round(time.time() - $t0, 1))") s after the fault ended, same process"
      return 0
    fi
    sleep 0.5
  done
  fail "$what: no key release within 30 s after the fault ended (last: $r)"
}

for n in $(seq 1 "$EPISODES"); do
  # ---- read-only ----
  OUT=$TMP/readonly-$n.jsonl
  [ -f "$DB-wal" ] || fail "no WAL file beside the database"
  chattr +i "$DB" "$DB-wal"
  note "read-only $n: database and WAL immutable"
  $CLIENT load --manifest "$MANIFEST" --port "$PORT" --threads "$THREADS" --requests $((5 * THREADS)) --out "$OUT"
  chattr -i "$DB" "$DB-wal"
  LOGS+=("$OUT")
  check "read-only $n: every request AuditUnavailable, no wrapped key" judge_fault "$OUT" all
  recover "read-only $n"

  # ---- disk full ----
  OUT=$TMP/diskfull-$n.jsonl
  dd if=/dev/zero of="$FS/filler" bs=64k status=none 2>/dev/null || true
  sync
  note "disk full $n: $(df -h --output=avail "$FS" | tail -1 | tr -d ' ') left"
  # Until the database needs a new block the appends still fit (WAL pages are reused): send
  # requests until AuditUnavailable shows, at most 60 s.
  $CLIENT load --manifest "$MANIFEST" --port "$PORT" --threads "$THREADS" --seconds 60 --out "$OUT" \
    --stop-file "$TMP/full-seen" &
  lp=$!
  FAULT_PIDS+=("$lp")
  for i in $(seq 1 600); do
    grep -q '"AuditUnavailable"' "$OUT" 2>/dev/null && break
    kill -0 "$lp" 2>/dev/null || break
    sleep 0.1
  done
  sleep 1  # a few more requests while the disk stays full
  touch "$TMP/full-seen"
  wait "$lp" || true
  rm -f "$TMP/full-seen" "$FS/filler"
  sync
  LOGS+=("$OUT")
  check "disk full $n: AuditUnavailable without keys once the disk is full; OK answers carry an AuditId" judge_fault "$OUT" some
  recover "disk full $n"
done
LOGS+=("$TMP/recovery.jsonl")

server_stop
result=$($CLIENT check-audit --db "$DB" "${LOGS[@]}") || { echo "$result" >&2; fail "AuditIds missing or wrong in the audit log"; }
check "sekds-admin audit verify accepts the chain" audit_verify
echo "PASS [store_faults]: $EPISODES read-only and $EPISODES disk-full episode(s); $result"
