#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each of them; exit 1 on any crash,
# sanitizer report, broken invariant, leak, out-of-memory or timeout (libFuzzer saves the input
# under WORK/artifacts/). Figures (executions, cov, ft, exec/s) are printed per target.
#
#   tests/fuzz/run.sh [--seconds N] [--runs N] [--build DIR] [--work DIR] [--jobs 1|2] [TARGET...]
#
#   --seconds N  run each target N seconds (default 30)
#   --runs N     run each target for N executions instead (the long run: --runs 10000000)
#   --build DIR  the fuzz build directory (default <repo>/build-fuzz); configured if needed
#   --work DIR   corpus grown by the runs and artifacts (default DIR/fuzz-work); the committed
#                seeds (tests/fuzz/corpus/<target>) are read, never written
#   --jobs J     targets run at the same time (default 1; at most 2 on this machine)
#   TARGET...    a subset of fuzz_tlv fuzz_apdu fuzz_card fuzz_soap_request fuzz_http_reader
#
# Long run, in the background, niced (README.md has the figures it gave):
#   nohup nice -n 19 tests/fuzz/run.sh --runs 10000000 --jobs 2 > build-fuzz/long-run.log 2>&1 &
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SRC=$REPO/tests/fuzz
BUILD=$REPO/build-fuzz
WORK=
SECONDS_PER_TARGET=30
RUNS=
JOBS=1
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
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    fuzz_*) TARGETS+=("$1"); shift ;;
    *) die "unknown argument: $1" ;;
  esac
done
case "$SECONDS_PER_TARGET" in ''|*[!0-9]*) die "--seconds must be a number" ;; esac
case "$RUNS" in *[!0-9]*) die "--runs must be a number" ;; esac
case "$JOBS" in 1|2) ;; *) die "--jobs must be 1 or 2 (2 cores shared by everyone)" ;; esac
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
  [ -n "$RUNS" ] && limit=(-runs="$RUNS")
  local dict=()
  [ -f "$SRC/$t.dict" ] && dict=(-dict="$SRC/$t.dict")
  local rc=0
  "$BUILD/tests/fuzz/$t" "${limit[@]}" "${dict[@]}" -max_len="$(max_len "$t")" -timeout=20 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$art/" "$dir" "$SRC/corpus/$t" > "$WORK/$t.log" 2>&1 || rc=$?
  echo "$rc" > "$WORK/$t.rc"
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
  log=$WORK/$t.log
  rc=$(cat "$WORK/$t.rc" 2>/dev/null || echo 1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  artifacts=$(find "$WORK/artifacts/$t" -type f 2>/dev/null | wc -l)
  result=ok
  if [ "$rc" != 0 ] || [ "$artifacts" != 0 ]; then
    result="FAILED (exit $rc; see $log and $WORK/artifacts/$t/)"
    failed=1
  fi
  printf '%-18s %12s %8s %8s %8s %7s  %s\n' "$t" "${runs:-?}" "${secs:-?}" "${speed:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
echo "fuzz/run.sh: $(( $(date +%s) - start )) s; logs and grown corpora in $WORK" >&2
if [ "$failed" != 0 ]; then
  for t in "${TARGETS[@]}"; do
    grep -hE 'INVARIANT|ERROR: |SUMMARY|^    #[0-9] ' "$WORK/$t.log" 2>/dev/null | head -12 >&2 || true
  done
  exit 1
fi
