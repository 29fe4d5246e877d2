#!/usr/bin/env bash
# The end-to-end demo (DESIGN §1). Grows with the product; today it runs what exists.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=build/src
step() { printf '\n== %s\n' "$*"; }
step "static-key diversification (lab utility, demo master key 40..4F)"
for m in emv visa2 kdf3; do
  "$bin/tsm/sekds-tsm" derive --method "$m" --master 404142434445464748494A4B4C4D4E4F --kdd 00010203040506070809
done
