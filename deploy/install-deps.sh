#!/usr/bin/env bash
# Installs the Debian packages in deploy/packages.txt that are missing. Idempotent:
# when everything is present it does nothing and needs no network.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/packages.txt" "$@")
missing=()
for p in "${wanted[@]}"; do
  p=$(echo "$p" | tr -d '[:space:]')
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "sekds: all Debian packages present"
  exit 0
fi
echo "sekds: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "sekds: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
# pcscd's socket unit must not be started by the package scripts inside containers/chroots
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
