#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each of them; exit 1 on any crash,
# sanitizer report, broken invariant, leak, out-of-memory or timeout (libFuzzer saves the input
# under WORK/artifacts/). Figures (executions, cov, ft, exec/s) are printed per target.
#
#   tests/fuzz/run.sh [--seconds N] [--runs N] [--build DIR] [--work DIR] [--jobs 1|2] [--workers 1|2]
#                     [TARGET...]
#
#   --seconds N  run each target N seconds (default 30)
#   --runs N     run each target for N executions instead (the long run: --runs 10000000)
#   --build DIR  the fuzz build directory (default <repo>/build-fuzz); configured if needed
#   --work DIR   corpus grown by the runs and artifacts (default DIR/fuzz-work); the committed
#                seeds (tests/fuzz/corpus/<target>) are read, never written
#   --jobs J     targets run at the same time (default 1; at most 2 on this machine)
#   --workers W  processes per target, fuzzing one shared corpus (libFuzzer re-reads it, each
#                process picks its own random seed); --runs N is split between them, the
#                executions and exec/s are summed
#                (fuzz_card's long run: about 1,000 exec/s per process)
#   TARGET...    a subset of fuzz_tlv fuzz_apdu fuzz_card fuzz_soap_request fuzz_http_reader
#
# Long run, in the background, niced (README.md has the figures it gave):
#   nohup chrt --idle 0 tests/fuzz/run.sh --runs 10000000 --jobs 2 > build-fuzz/long-run.log 2>&1 &
#   nohup chrt --idle 0 tests/fuzz/run.sh --runs 10000000 --workers 2 fuzz_card > build-fuzz/card-run.log 2>&1 &
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SRC=$REPO/tests/fuzz
BUILD=$REPO/build-fuzz
WORK=
SECONDS_PER_TARGET=30
RUNS=
JOBS=1
WORKERS=1
ALL_TARGETS=(fuzz_tlv fuzz_apdu fuzz_card fuzz_soap_request fuzz_http_reader)
TARGETS=()

die() { echo "fuzz/run.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) [ $# -ge 2 ] || die "--seconds needs a value"; SECONDS_PER_TARGET=$2; shift 2 ;;
    --runs) [ $# -ge 2 ] || die "--runs needs a value"; RUNS=$2; shift 2 ;;
    --build) [ $# -ge 2 ] || die "--build needs a value"; BUILD=$2; shift 2 ;;
    --work) [ $# -ge 2 ] || die "--work needs a value"; WORK=$2; shift 2 ;;
    --jobs) [ $# -ge 2 ] || die "--jobs needs a value"; JOBS=$2; shift 2 ;;
    --workers) [ $# -ge 2 ] || die "--workers needs a value"; WORKERS=$2; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    fuzz_*) TARGETS+=("$1"); shift ;;
    *) die "unknown argument: $1" ;;
  esac
done
case "$SECONDS_PER_TARGET" in ''|*[!0-9]*) die "--seconds must be a number" ;; esac
case "$RUNS" in *[!0-9]*) die "--runs must be a number" ;; esac
case "$JOBS" in 1|2) ;; *) die "--jobs must be 1 or 2 (2 cores shared by everyone)" ;; esac
case "$WORKERS" in 1|2) ;; *) die "--workers must be 1 or 2 (2 cores shared by everyone)" ;; esac
[ "$WORKERS" = 1 ] || [ "$JOBS" = 1 ] || die "--workers 2 with --jobs 2 would run 4 processes on 2 cores"
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL_TARGETS[@]}")
for t in "${TARGETS[@]}"; do
  [ -d "$SRC/corpus/$t" ] || die "unknown target $t (expected one of ${ALL_TARGETS[*]})"
done
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)
WORK=${WORK:-$BUILD/fuzz-work}

# ---- build (only the fuzz targets and the libraries they need) ----
command -v clang++ >/dev/null || die "clang++ not found (Debian package clang)"
if [ ! -f "$BUILD/CMakeCache.txt" ] || ! grep -q '^SEKDS_FUZZ:BOOL=ON' "$BUILD/CMakeCache.txt"; then
  # SEKDS_WERROR=OFF: clang warns about code g++ accepts elsewhere in the tree; the fuzz
  # sources themselves are compiled with -Werror (tests/fuzz/CMakeLists.txt).
  cmake -S "$REPO" -B "$BUILD" -DSEKDS_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEKDS_WERROR=OFF >/dev/null
fi
cmake --build "$BUILD" -j2 --target "${TARGETS[@]}" >/dev/null || {
  cmake --build "$BUILD" -j1 --target "${TARGETS[@]}" 2>&1 | grep -E 'error|Error' | head -20 >&2
  die "build failed"
}

# ---- run ----
max_len() {  # inputs long enough for the target's format
  case "$1" in
    fuzz_soap_request) echo 16384 ;;
    *) echo 4096 ;;
  esac
}

run_one() {
  local t=$1
  local dir=$WORK/corpus/$t art=$WORK/artifacts/$t
  if [ -d "$art" ] && [ -n "$(ls -A "$art")" ]; then  # keep earlier findings, judge this run alone
    mkdir -p "$WORK/artifacts-previous/$t"
    mv "$art"/* "$WORK/artifacts-previous/$t/"
  fi
  mkdir -p "$dir" "$art"
  local limit=(-max_total_time="$SECONDS_PER_TARGET")
  [ -n "$RUNS" ] && limit=(-runs="$(( (RUNS + WORKERS - 1) / WORKERS ))")
  local dict=()
  [ -f "$SRC/$t.dict" ] && dict=(-dict="$SRC/$t.dict")
  local w pids=() rc=0
  rm -f "$WORK/$t".w*.log
  for w in $(seq 1 "$WORKERS"); do
    "$BUILD/tests/fuzz/$t" "${limit[@]}" "${dict[@]}" -max_len="$(max_len "$t")" -timeout=20 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/" "$dir" "$SRC/corpus/$t" \
      > "$(log_of "$t" "$w")" 2>&1 &
    pids+=($!)
  done
  # A worker that finds something stops the other: its input is the result.
  for _ in "${pids[@]}"; do
    local r=0
    wait -n "${pids[@]}" 2>/dev/null || r=$?
    [ "$r" = 0 ] && continue
    [ "$rc" != 0 ] || rc=$r
    kill "${pids[@]}" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  echo "$rc" > "$WORK/$t.rc"
}

log_of() {  # worker 1 writes TARGET.log, worker 2 TARGET.w2.log
  if [ "$2" = 1 ]; then echo "$WORK/$1.log"; else echo "$WORK/$1.w$2.log"; fi
}

mkdir -p "$WORK"
# Shorter allocation stacks in ASan reports: the stack depot is a seventh of fuzz_card's time
# with the default 30 frames. Anything set by the caller wins.
export ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=10}
start=$(date +%s)
if [ "$JOBS" = 1 ]; then
  for t in "${TARGETS[@]}"; do
    echo "fuzz/run.sh: $t ..." >&2
    run_one "$t"
  done
else
  i=0
  while [ $i -lt ${#TARGETS[@]} ]; do
    pids=()
    for t in "${TARGETS[@]:$i:2}"; do
      echo "fuzz/run.sh: $t ..." >&2
      run_one "$t" &
      pids+=($!)
    done
    wait "${pids[@]}"
    i=$((i + 2))
  done
fi

# ---- report ----
failed=0
printf '%-18s %12s %8s %8s %8s %7s  %s\n' target executions seconds exec/s cov ft result
for t in "${TARGETS[@]}"; do
  rc=$(cat "$WORK/$t.rc" 2>/dev/null || echo 1)
  runs=0 speed=0 secs=0 cov=0 ft=0
  for w in $(seq 1 "$WORKERS"); do  # executions and exec/s summed, the rest the larger
    log=$(log_of "$t" "$w")
    [ -f "$log" ] || continue
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    v=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -aE '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    c=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    f=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    d=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    runs=$((runs + ${n:-0})) speed=$((speed + ${v:-0}))
    [ "${d:-0}" -le "$secs" ] || secs=$d
    [ "${c:-0}" -le "$cov" ] || cov=$c
    [ "${f:-0}" -le "$ft" ] || ft=$f
  done
  artifacts=$(find "$WORK/artifacts/$t" -type f 2>/dev/null | wc -l)
  result=ok
  if [ "$rc" != 0 ] || [ "$artifacts" != 0 ]; then
    result="FAILED (exit $rc; see $WORK/$t*.log and $WORK/artifacts/$t/)"
    failed=1
  fi
  printf '%-18s %12s %8s %8s %8s %7s  %s\n' "$t" "${runs:-?}" "${secs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
echo "fuzz/run.sh: $(( $(date +%s) - start )) s; logs and grown corpora in $WORK" >&2
if [ "$failed" != 0 ]; then
  for t in "${TARGETS[@]}"; do
    grep -hE 'INVARIANT|ERROR: |SUMMARY|^    #[0-9] ' "$WORK/$t".*log 2>/dev/null | head -12 >&2 || true
  done
  exit 1
fi
