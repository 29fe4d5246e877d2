#!/usr/bin/env bash
# Replays fuzz inputs against a real sekds-server: a dev environment (deploy/dev-env.sh) in a
# temporary directory on a free port, the way tests/fault does it (tests/fault/lib.sh), then
# replay.py for the files, then /healthz, and the server's resident memory before, at its peak
# (sampled every 0.1 s; the server is killed past 1.5 GB) and after. Everything it starts is
# stopped on exit.
#
#   tests/fuzz/replay.sh [--build DIR] [--keep] [--raw] [--flood MB] FILE...
#
#   --build DIR  where sekds-server and sekds-admin are built (default build/, not a fuzz build)
#   --keep       keep the temporary directory (the server log is dev/fault-server.log)
#   --raw        the files are whole HTTP requests (fuzz_http_reader), else request bodies
#                (fuzz_soap_request)
#   --flood MB   after each file, its body again and again up to MB megabytes (replay.py)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
lib_args=()
client_args=()
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build) lib_args+=(--build "$2"); shift 2 ;;
    --keep) lib_args+=(--keep); shift ;;
    --raw) client_args+=(--raw); shift ;;
    --flood) client_args+=(--flood "$2"); shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) files+=("$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"); shift ;;
  esac
done
[ ${#files[@]} -gt 0 ] || { echo "usage: $0 [--build DIR] [--keep] [--raw] [--flood MB] FILE..." >&2; exit 2; }
source "$HERE/../fault/lib.sh"
fault_init fuzz_replay "${lib_args[@]}"

env_up
write_config
server_start
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0; }
rss0=$(rss)
peak=$rss0
/usr/bin/python3 "$HERE/replay.py" --manifest "$MANIFEST" --port "$PORT" "${client_args[@]}" "${files[@]}" &
client=$!
FAULT_PIDS+=("$client")
while kill -0 "$client" 2>/dev/null; do
  r=$(rss)
  [ "$r" -gt "$peak" ] && peak=$r
  if [ "$r" -gt 1572864 ]; then
    server_kill9
    fail "sekds-server passed 1.5 GB ($r kB): killed"
  fi
  sleep 0.1
done
wait "$client" || fail "replay.py failed"
note "server RSS ${rss0} kB before, ${peak} kB at its peak, $(rss) kB after"
check "server healthy after them" health
server_stop
