#!/usr/bin/env bash
# A request body that ends (Content-Length reached) inside an XML attribute value, sent in two TLS
# records so that gSOAP is inside the value when the request guard refuses the rest — finding F2
# of tests/fuzz/README.md, found by fuzz_soap_request. Passes when the server answers it (a fault
# or an HTTP error) within 5 s, its resident memory grows by less than 64 MB, and it still answers
# /healthz. A watchdog kills the server if it passes 512 MB, so the machine is never at risk.
#   tests/fault/hostile_body.sh [--build DIR] [--keep]
source "$(dirname "$0")/lib.sh"
fault_init hostile_body "$@"

env_up
write_config
server_start
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0; }
rss0=$(rss)
$CLIENT split-body --manifest "$MANIFEST" --port "$PORT" --timeout 5 > "$TMP/answer.txt" &
cp=$!
FAULT_PIDS+=("$cp")
peak=$rss0
while kill -0 "$cp" 2>/dev/null; do
  r=$(rss)
  [ "$r" -gt "$peak" ] && peak=$r
  if [ "$r" -gt 524288 ]; then
    server_kill9
    fail "sekds-server grew to $((r / 1024)) MB on one 9 KB request (killed by the watchdog): gSOAP loops in soap_peek_element after the guard's SOAP_EOM (finding F2)"
  fi
  sleep 0.05
done
wait "$cp" && answered=yes || answered=no
sleep 0.5
r=$(rss)
[ "$r" -gt "$peak" ] && peak=$r
note "answer: $(cat "$TMP/answer.txt"); RSS ${rss0} kB before, peak ${peak} kB"
[ $((peak - rss0)) -lt 65536 ] ||
  fail "sekds-server grew by $(((peak - rss0) / 1024)) MB in 5 s on one 9 KB request and still grows: gSOAP loops in soap_peek_element after the guard's SOAP_EOM (finding F2)"
[ "$answered" = yes ] || fail "no answer within 5 s to a body that ends inside an attribute value"
check "server healthy after it" health
server_stop
echo "PASS [hostile_body]: answered, memory stable"
