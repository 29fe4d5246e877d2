#!/usr/bin/env bash
# The README's two commands:
#   deploy/quickstart.sh demo   install what is missing, build, run the end-to-end demo
#   deploy/quickstart.sh test   install what is missing, build, run the whole test suite
# Both are idempotent and run as root or as a user with sudo (used only for apt-get).
set -euo pipefail
# The sekds programs refuse to run as root unless told (src/process/hardening.h); this
# development script may be run as root (CI is).
export SEKDS_ALLOW_ROOT=1
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
what=${1:-}
case "$what" in
  demo|test) ;;
  *) echo "usage: deploy/quickstart.sh demo|test" >&2; exit 2 ;;
esac

deploy/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
configure() {  # configure DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
}

case "$what" in
  demo)
    configure build
    cmake --build build -j "$jobs"
    exec deploy/demo.sh
    ;;
  test)
    configure build
    cmake --build build -j "$jobs"
    # the whole suite on the optimised build ...
    ctest --test-dir build --output-on-failure --no-tests=error -j "$jobs" --timeout 1200
    # ... and the pure layers again under AddressSanitizer + UndefinedBehaviorSanitizer
    configure build-asan -DSEKDS_SANITIZE=ON
    cmake --build build-asan -j "$jobs" --target sanitize_tests
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --test-dir build-asan --output-on-failure --no-tests=error -L sanitize -j "$jobs" --timeout 1200
    # ... and every libFuzzer target for 30 s from its committed seeds (clang, ASan + UBSan);
    # the long run is documented in tests/fuzz/README.md
    tests/fuzz/run.sh --seconds 30 --build build-fuzz
    ;;
esac
