#!/usr/bin/env bash
# Installs the Debian packages in deploy/packages.txt that are missing. Idempotent:
# when everything is present it does nothing and needs no network.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# The dev environment, the tests and the demo talk to https://localhost:PORT (the dev server
# certificate names localhost). A Debian install always has it in /etc/hosts, but a bare
# debootstrap root (or some containers) has no /etc/hosts at all: add the standard lines.
ensure_localhost() {
  getent hosts localhost >/dev/null 2>&1 && return 0
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  echo "sekds: 'localhost' does not resolve (no /etc/hosts entry); adding 127.0.0.1 and ::1 localhost to /etc/hosts"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' | $sudo tee -a /etc/hosts >/dev/null
}
ensure_localhost

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
