# Shared by the fault-injection scripts (sourced). Each script:
#   fault_init NAME "$@"   options --build DIR (default $SEKDS_BUILD_DIR or <repo>/build),
#                          --long (the long form), --keep (keep the temp dir, else it is
#                          deleted even on failure), --phase NAME
#                          (scripts with several parts: run one of them; default all)
#   env_up                 a dev environment (deploy/dev-env.sh) in a temp dir, its server stopped
#   write_config [EXTRA]   fault.toml: dev-env's configuration on a free port, no rate limit,
#                          its own log; EXTRA lines are appended (sections the dev config lacks)
#   server_start / server_kill9 / server_stop   the sekds-server this script owns
# and everything it started is stopped on exit (trap), whatever happens.
set -euo pipefail
# The sekds programs refuse to run as root unless told (src/process/hardening.h); this
# development script may be run as root (CI is).
export SEKDS_ALLOW_ROOT=1

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FAULT_DIR=$REPO/tests/fault
PY=/usr/bin/python3
CLIENT="$PY $FAULT_DIR/fault_client.py"

fail() { echo "FAIL [$FAULT_NAME]: $*" >&2; FAULT_FAILED=1; exit 1; }
note() { echo "[$FAULT_NAME] $*" >&2; }
check() {  # check DESCRIPTION COMMAND...: runs the command, fails the script if it fails
  local what=$1; shift
  if "$@"; then note "ok: $what"; else fail "$what"; fi
}

FAULT_PIDS=()
FAULT_FAILED=0
SERVER_PID=

fault_cleanup() {
  local rc=$?
  set +e
  for p in "${FAULT_PIDS[@]}"; do
    kill -KILL "$p" 2>/dev/null
  done
  [ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null
  for p in "${FAULT_PIDS[@]}" $SERVER_PID; do
    wait "$p" 2>/dev/null
  done
  if declare -F fault_local_cleanup >/dev/null; then fault_local_cleanup; fi
  if [ -n "${TMP:-}" ] && [ -d "$TMP" ]; then
    if [ "$rc" != 0 ] && [ -f "$TMP/dev/fault-server.log" ]; then
      echo "[$FAULT_NAME] last lines of the server log:" >&2
      tail -n 8 "$TMP/dev/fault-server.log" | cut -c1-400 >&2
    fi
    if [ "$KEEP" = yes ]; then
      echo "[$FAULT_NAME] files kept in $TMP (server log: $TMP/dev/fault-server.log)" >&2
    else
      rm -rf "$TMP"
    fi
  fi
  exit "$rc"
}

fault_init() {
  FAULT_NAME=$1; shift
  BUILD=${SEKDS_BUILD_DIR:-$REPO/build}
  LONG=no
  KEEP=no
  PHASE=all
  while [ $# -gt 0 ]; do
    case "$1" in
      --build) BUILD=$2; shift 2 ;;
      --long) LONG=yes; shift ;;
      --keep) KEEP=yes; shift ;;
      --phase) PHASE=$2; shift 2 ;;
      *) echo "usage: $0 [--build DIR] [--long] [--keep] [--phase NAME]" >&2; exit 2 ;;
    esac
  done
  BUILD=$(cd "$BUILD" && pwd)
  SERVER_BIN=$BUILD/src/service/sekds-server
  ADMIN_BIN=$BUILD/src/admin/sekds-admin
  for b in "$SERVER_BIN" "$ADMIN_BIN"; do
    [ -x "$b" ] || { echo "[$FAULT_NAME] $b not built (cmake --build $BUILD --target sekds-server sekds-admin)" >&2; exit 2; }
  done
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/sekds-fault-$FAULT_NAME.XXXXXX")
  chmod 700 "$TMP"
  trap fault_cleanup EXIT
  trap 'exit 130' INT TERM
}

free_port() {
  $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

env_up() {
  DEV=$TMP/dev
  local port
  port=$(free_port)
  local t0=$SECONDS
  if ! SEKDS_BUILD_DIR=$BUILD "$REPO/deploy/dev-env.sh" up --port "$port" --dir "$DEV" >"$TMP/dev-env.log" 2>&1; then
    tail -20 "$TMP/dev-env.log" >&2
    fail "deploy/dev-env.sh up"
  fi
  "$REPO/deploy/dev-env.sh" down --dir "$DEV" >>"$TMP/dev-env.log" 2>&1
  MANIFEST=$DEV/manifest.json
  DB=$DEV/sekds.db
  export SOFTHSM2_CONF=$DEV/softhsm/softhsm2.conf
  note "dev environment in $((SECONDS - t0)) s: $DEV"
}

write_config() {
  PORT=$(free_port)
  CONFIG=$DEV/fault.toml
  sed -e "s/^port = .*/port = $PORT/" -e 's/^file = "server.log"/file = "fault-server.log"/' \
    "$DEV/sekds-server.toml" > "$CONFIG"
  printf '\n[limits]\nrate_per_tsm = 0.0\n' >> "$CONFIG"
  [ $# -gt 0 ] && printf '%s\n' "$@" >> "$CONFIG"
  chmod 600 "$CONFIG"
}

health() { $CLIENT health --manifest "$MANIFEST" --port "$PORT" --timeout 5 "$@"; }

server_start() {  # starts sekds-server with $CONFIG and waits for /healthz 200 (fails after 30 s)
  setsid "$SERVER_BIN" --config "$CONFIG" </dev/null >>"$DEV/fault-server.out" 2>&1 &
  SERVER_PID=$!
  local i
  for i in $(seq 1 150); do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -5 "$DEV/fault-server.out" >&2; fail "sekds-server exited during start-up"; }
    if health >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  fail "sekds-server does not answer /healthz with 200"
}

server_kill9() {
  kill -KILL "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

server_stop() {
  kill -TERM "$SERVER_PID"
  local i
  for i in $(seq 1 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$SERVER_PID" 2>/dev/null && fail "sekds-server did not stop within 10 s of SIGTERM"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

# load OUT SECONDS [more fault_client.py load options]: a background load client (pid in LOAD_PID)
load_start() {
  local out=$1 seconds=$2; shift 2
  $CLIENT load --manifest "$MANIFEST" --port "$PORT" --seconds "$seconds" --out "$out" "$@" &
  LOAD_PID=$!
  FAULT_PIDS+=("$LOAD_PID")
}

# one_request OUT [options]: one request, its JSON line appended to OUT and printed
one_request() {
  local out=$1; shift
  local tmp=$TMP/one.jsonl
  rm -f "$tmp"
  $CLIENT load --manifest "$MANIFEST" --port "$PORT" --threads 1 --requests 1 --out "$tmp" "$@"
  cat "$tmp" >> "$out"
  cat "$tmp"
}

json_field() {  # json_field FIELD: reads one JSON object on stdin
  $PY -c 'import json, sys; v = json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$1"
}

audit_verify() { "$ADMIN_BIN" --config "$CONFIG" audit verify >"$TMP/audit-verify.out" 2>&1; }
