#!/bin/sh
# Creates, idempotently, a SoftHSMv2 token for sekds:
#   DATA_DIR/softhsm/softhsm2.conf   (from hsm/softhsm2.conf.in)      mode 0600
#   DATA_DIR/softhsm/tokens/         SoftHSM's token directory          mode 0700
#   DATA_DIR/softhsm/user.pin, so.pin  the PINs, mode 0600 — generated at random when not
#                                     given: DEMO ONLY, see DEMO-PINS.txt beside them
# and initialises a token with the label if none has it. Re-running changes nothing.
# PINs never appear on a command line: pkcs11-tool reads them from the environment (env:).
# Prints the SOFTHSM2_CONF line to export and the [hsm] settings for sekds.
set -eu

REPO=$(cd "$(dirname "$0")/.." && pwd)
DATA_DIR=${DATA_DIR:-$REPO/var}
LABEL=sekds
MODULE=${SEKDS_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
USER_PIN_FILE=
SO_PIN_FILE=

usage() {
  cat <<USAGE
usage: $0 [--data-dir DIR] [--label LABEL] [--user-pin-file FILE] [--so-pin-file FILE] [--module PATH]
  --data-dir DIR        where softhsm/ is created (default: \$DATA_DIR or $REPO/var)
  --label LABEL         token label (default: sekds)
  --user-pin-file FILE  use this user PIN (file mode 0600) instead of generating a demo PIN
  --so-pin-file FILE    use this SO PIN (file mode 0600) instead of generating a demo PIN
  --module PATH         PKCS#11 module (default: \$SEKDS_PKCS11_MODULE or $MODULE)
USAGE
}

die() { echo "setup-token: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) [ $# -ge 2 ] || die "--data-dir needs a value"; DATA_DIR=$2; shift 2 ;;
    --label) [ $# -ge 2 ] || die "--label needs a value"; LABEL=$2; shift 2 ;;
    --user-pin-file) [ $# -ge 2 ] || die "--user-pin-file needs a value"; USER_PIN_FILE=$2; shift 2 ;;
    --so-pin-file) [ $# -ge 2 ] || die "--so-pin-file needs a value"; SO_PIN_FILE=$2; shift 2 ;;
    --module) [ $# -ge 2 ] || die "--module needs a value"; MODULE=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

case "$LABEL" in
  ''|*[!A-Za-z0-9._-]*) die "label '$LABEL' must be 1..32 characters of A-Z a-z 0-9 . _ -" ;;
esac
[ ${#LABEL} -le 32 ] || die "label '$LABEL' is longer than 32 characters"
command -v pkcs11-tool >/dev/null 2>&1 || die "pkcs11-tool not found (Debian package opensc)"
[ -r "$MODULE" ] || die "PKCS#11 module $MODULE not found (Debian package softhsm2)"

umask 077
SOFTHSM_DIR=$DATA_DIR/softhsm
mkdir -p "$SOFTHSM_DIR/tokens"
chmod 700 "$SOFTHSM_DIR" "$SOFTHSM_DIR/tokens"
SOFTHSM_DIR=$(cd "$SOFTHSM_DIR" && pwd)
CONF=$SOFTHSM_DIR/softhsm2.conf
if [ ! -f "$CONF" ]; then
  sed "s#@TOKEN_DIR@#$SOFTHSM_DIR/tokens#" "$REPO/hsm/softhsm2.conf.in" > "$CONF.tmp"
  chmod 600 "$CONF.tmp"
  mv "$CONF.tmp" "$CONF"
fi
export SOFTHSM2_CONF="$CONF"

# A PIN file must be a regular file that group and others cannot access (as sekds demands).
check_pin_file() {
  [ -f "$1" ] || die "PIN file $1 does not exist"
  mode=$(stat -c %a "$1")
  case "$mode" in
    ?00|600|400) ;;
    *) die "PIN file $1 has mode $mode; group and others must have no access (chmod 600 $1)" ;;
  esac
}

token_exists() {
  pkcs11-tool --module "$MODULE" -L 2>/dev/null |
    awk -v l="$LABEL" -F': ' '/token label/ { sub(/[ \t]+$/, "", $2); if ($2 == l) found = 1 } END { exit !found }'
}

EXISTS=no
token_exists && EXISTS=yes

random_pin() { od -An -tx1 -N8 /dev/urandom | tr -d ' \n'; }

# user.pin / so.pin: given files are used where they are; otherwise the demo files beside the conf.
resolve_pin() {  # $1 = given file or '', $2 = default file; prints the file to use
  if [ -n "$1" ]; then
    check_pin_file "$1"
    echo "$1"
  elif [ -f "$2" ]; then
    check_pin_file "$2"
    echo "$2"
  else
    [ "$EXISTS" = no ] || die "token '$LABEL' exists but $2 is missing: give --user-pin-file/--so-pin-file, or remove $SOFTHSM_DIR/tokens to start over"
    random_pin > "$2.tmp"
    echo >> "$2.tmp"
    chmod 600 "$2.tmp"
    mv "$2.tmp" "$2"
    cat > "$SOFTHSM_DIR/DEMO-PINS.txt" <<NOTE
DEMO ONLY. user.pin and so.pin in this directory were generated at random by hsm/setup-token.sh
for a development token. A production token gets its PINs from a ceremony and stores them
where the service's PIN source (file:/path, mode 0600, or env:NAME) can read them.
NOTE
    echo "$2"
  fi
}
USER_PIN_FILE=$(resolve_pin "$USER_PIN_FILE" "$SOFTHSM_DIR/user.pin")
SO_PIN_FILE=$(resolve_pin "$SO_PIN_FILE" "$SOFTHSM_DIR/so.pin")

SEKDS_SETUP_USER_PIN=$(cat "$USER_PIN_FILE")
SEKDS_SETUP_SO_PIN=$(cat "$SO_PIN_FILE")
export SEKDS_SETUP_USER_PIN SEKDS_SETUP_SO_PIN
[ -n "$SEKDS_SETUP_USER_PIN" ] || die "PIN file $USER_PIN_FILE is empty"
[ -n "$SEKDS_SETUP_SO_PIN" ] || die "PIN file $SO_PIN_FILE is empty"

if [ "$EXISTS" = yes ]; then
  echo "token '$LABEL' already exists in $SOFTHSM_DIR/tokens" >&2
else
  # SoftHSM always offers one uninitialised slot; pkcs11-tool addresses it by list index.
  INDEX=$(pkcs11-tool --module "$MODULE" -L 2>/dev/null |
    awk '/^Slot [0-9]+/ { idx = $2 } /token state:[ \t]*uninitialized/ { print idx; exit }')
  [ -n "$INDEX" ] || die "no free SoftHSM slot found"
  pkcs11-tool --module "$MODULE" --slot-index "$INDEX" --init-token --label "$LABEL" \
    --so-pin env:SEKDS_SETUP_SO_PIN >/dev/null 2>&1 || die "pkcs11-tool --init-token failed"
  pkcs11-tool --module "$MODULE" --token-label "$LABEL" --login --login-type so \
    --so-pin env:SEKDS_SETUP_SO_PIN --init-pin --new-pin env:SEKDS_SETUP_USER_PIN >/dev/null 2>&1 ||
    die "pkcs11-tool --init-pin failed"
  echo "token '$LABEL' initialised in $SOFTHSM_DIR/tokens" >&2
fi

# Whatever happened above, the user PIN must open the token now.
pkcs11-tool --module "$MODULE" --token-label "$LABEL" --login --pin env:SEKDS_SETUP_USER_PIN -O >/dev/null 2>&1 ||
  die "cannot log in to token '$LABEL' with the PIN in $USER_PIN_FILE"
unset SEKDS_SETUP_USER_PIN SEKDS_SETUP_SO_PIN

cat <<DONE
export SOFTHSM2_CONF=$CONF
# sekds [hsm] settings:
#   module = "$MODULE"
#   token  = "$LABEL"
#   pin    = "file:$USER_PIN_FILE"
#   (SO ceremonies: pin = "file:$SO_PIN_FILE")
DONE
