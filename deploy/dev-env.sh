#!/usr/bin/env bash
# DEMO ONLY — the sekds development environment every later test and the demo use.
#
#   deploy/dev-env.sh up     [--port P] [--dir DIR]   make (or complete) it and start sekds-server
#   deploy/dev-env.sh down   [--dir DIR] [--purge]    stop the server (--purge: also delete DIR)
#   deploy/dev-env.sh status [--dir DIR]              report; exit 0 running+healthy, 3 not running
#
# DIR (default var/dev, git-ignored) receives, all DEMO ONLY:
#   pki/                dev PKI (certs/dev-pki.sh): CA, server (SAN localhost, 127.0.0.1),
#                       tsm1, tsm2, tsm3 (revoked in ca.crl), rogue (another CA)
#   softhsm/            a SoftHSM token 'sekds-dev' (hsm/setup-token.sh), random demo PINs
#   sekds.db            the database (sekds-admin init)
#   components/         demo master-key component sheets (sekds-admin component demo-split)
#   keks/<tsm>/         KEK component sheets of the KEK ceremonies (sekds-admin kek generate)
#   sekds-server.toml   the server's configuration (from deploy/dev/sekds-server.toml.in)
#   server.pid, server.log, server.out
#   manifest.json       what tests and the demo need: endpoint, certificates, KEKs and master
#                       keys IN CLEAR (DEMO ONLY), server pid, config path
# Three issuers get a key set each, imported from demo components through `sekds-admin keyset
# import`: SCP02 EMV CPS 1.1 DES2, SCP03 KDF3 AES-128, SCP03 KDF3 AES-256. tsm1 and tsm2 are
# accredited; tsm1 is entitled to all three issuers, tsm2 to the AES-128 one; both get KEK
# index 1 (AES-256, two custodians), generated and activated.
#
# Idempotent: `up` again keeps what exists, completes what is missing, restarts the server only
# if its configuration changed. Binaries: $SEKDS_BUILD_DIR (default <repo>/build), built first.
set -euo pipefail
# The sekds programs refuse to run as root unless told (src/process/hardening.h); this
# development script may be run as root (CI is).
export SEKDS_ALLOW_ROOT=1

REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SEKDS_BUILD_DIR:-$REPO/build}
ADMIN_BIN=$BUILD/src/admin/sekds-admin
SERVER_BIN=$BUILD/src/service/sekds-server
MODULE=${SEKDS_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
PY=/usr/bin/python3
TOKEN=sekds-dev
cmd=${1:-}
[ $# -gt 0 ] && shift
DIR=$REPO/var/dev
PORT=8443
PURGE=no

die() { echo "dev-env: $*" >&2; exit 1; }
say() { echo "dev-env: $*" >&2; }
usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --port) [ $# -ge 2 ] || die "--port needs a value"; PORT=$2; shift 2 ;;
    --dir) [ $# -ge 2 ] || die "--dir needs a value"; DIR=$2; shift 2 ;;
    --purge) PURGE=yes; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage; die "unknown argument: $1" ;;
  esac
done
case "$PORT" in ''|*[!0-9]*) die "--port must be a number" ;; esac
[ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "--port must be 1..65535"

mkdir -p "$DIR"
chmod 700 "$DIR"
DIR=$(cd "$DIR" && pwd)
PKI=$DIR/pki
CONFIG=$DIR/sekds-server.toml
PIDFILE=$DIR/server.pid
MANIFEST=$DIR/manifest.json
export SOFTHSM2_CONF=$DIR/softhsm/softhsm2.conf

# ---- server process ----

server_pid() {  # prints the pid of our running server, or nothing
  [ -f "$PIDFILE" ] || return 0
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null || true)
  case "$pid" in ''|*[!0-9]*) return 0 ;; esac
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "sekds-server --config $CONFIG"; then
    echo "$pid"
  fi
}

config_port() { sed -n 's/^port = \([0-9]*\)$/\1/p' "$CONFIG" 2>/dev/null | head -1; }

healthz() {  # prints the HTTP status line of GET /healthz (mutual TLS with tsm1's certificate)
  local port=$1
  printf 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
    timeout 5 openssl s_client -quiet -connect "127.0.0.1:$port" -servername localhost \
      -cert "$PKI/tsm1.crt" -key "$PKI/tsm1.key" -CAfile "$PKI/ca.crt" -verify_return_error 2>/dev/null |
    head -1 | tr -d '\r' || true
}

stop_server() {
  local pid
  pid=$(server_pid)
  if [ -z "$pid" ]; then
    rm -f "$PIDFILE"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "server $pid did not stop on SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  say "server $pid stopped"
}

show_server_output() {
  local f
  for f in "$DIR/server.out" "$DIR/server.log"; do
    [ -s "$f" ] && tail -n 20 "$f" >&2
  done
  return 0
}

start_server() {
  [ -x "$SERVER_BIN" ] || die "$SERVER_BIN not found: build it first (cmake --build ${BUILD#$REPO/} --target sekds-server) or set SEKDS_BUILD_DIR"
  "$SERVER_BIN" --config "$CONFIG" --check-config >/dev/null || die "the server refuses $CONFIG (see above)"
  setsid "$SERVER_BIN" --config "$CONFIG" </dev/null >>"$DIR/server.out" 2>&1 &
  local pid=$!
  echo "$pid" > "$PIDFILE"
  local status=""
  for _ in $(seq 1 150); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      show_server_output
      die "sekds-server exited during start-up"
    fi
    status=$(healthz "$PORT")
    case "$status" in "HTTP/1.1 200"*) break ;; esac
    sleep 0.2
  done
  case "$status" in
    "HTTP/1.1 200"*) say "sekds-server $pid answers /healthz on https://localhost:$PORT" ;;
    *) show_server_output
       die "sekds-server $pid does not answer /healthz with 200 (got '${status:-nothing}')" ;;
  esac
}

# ---- down / status ----

if [ "$cmd" = down ]; then
  stop_server
  if [ "$PURGE" = yes ]; then
    case "$DIR" in /|"$REPO"|"$HOME") die "refusing to delete $DIR" ;; esac
    rm -rf "$DIR"
    say "deleted $DIR"
  fi
  exit 0
fi

if [ "$cmd" = status ]; then
  pid=$(server_pid)
  if [ -z "$pid" ]; then
    echo "sekds-server: not running (dir $DIR)"
    exit 3
  fi
  port=$(config_port)
  status=$(healthz "$port")
  echo "sekds-server: running, pid $pid, https://localhost:$port/sekds/v1, /healthz: ${status:-no answer}"
  echo "config:   $CONFIG"
  echo "manifest: $MANIFEST"
  echo "export SOFTHSM2_CONF=$SOFTHSM2_CONF SEKDS_CONFIG=$CONFIG   # to use sekds-admin on it"
  case "$status" in "HTTP/1.1 200"*) exit 0 ;; *) exit 1 ;; esac
fi

[ "$cmd" = up ] || { usage; die "expected up, down or status"; }

# ---- up ----

[ -x "$ADMIN_BIN" ] || die "$ADMIN_BIN not found: build it first (cmake --build ${BUILD#$REPO/} --target sekds-admin sekds-server) or set SEKDS_BUILD_DIR"
[ -x "$PY" ] || die "$PY not found (Debian package python3)"
umask 077
cat > "$DIR/DEMO-ONLY.txt" <<'EOF'
DEMO ONLY. Everything in this directory was made by deploy/dev-env.sh for development and
tests: unprotected PKI keys, random demo PINs, demo master keys and KEKs (in clear in
manifest.json and in the component sheets). Never use any of it outside development.
EOF

"$REPO/certs/dev-pki.sh" "$PKI" >/dev/null
DATA_DIR=$DIR "$REPO/hsm/setup-token.sh" --data-dir "$DIR" --label "$TOKEN" --module "$MODULE" >/dev/null
SO_PIN_SOURCE=file:$DIR/softhsm/so.pin

sed -e "s#@PORT@#$PORT#" -e "s#@MODULE@#$MODULE#" -e "s#@TOKEN@#$TOKEN#" \
  "$REPO/deploy/dev/sekds-server.toml.in" > "$CONFIG.new"
chmod 600 "$CONFIG.new"
CONFIG_CHANGED=yes
if [ -f "$CONFIG" ] && cmp -s "$CONFIG" "$CONFIG.new"; then CONFIG_CHANGED=no; fi
mv "$CONFIG.new" "$CONFIG"

admin() { "$ADMIN_BIN" --config "$CONFIG" --operator dev-env "$@"; }
# json_has JSON-COMMAND... -- PYTHON-EXPRESSION: true when the expression holds for the
# parsed output `j` of the command.
json_has() {
  local expr=${!#}
  local out
  out=$(admin "${@:1:$#-1}" --json)
  JSON=$out $PY -c "import json, os, sys; j = json.loads(os.environ['JSON']); sys.exit(0 if ($expr) else 1)"
}

admin init >/dev/null

# issuer  IIN  KVN  SCP  method  key type
ISSUERS="demo-scp02-emv:A000000001:32:02:emv:DES2
demo-scp03-aes128:A000000002:48:03:kdf3:AES128
demo-scp03-aes256:A000000003:48:03:kdf3:AES256"

for line in $ISSUERS; do
  IFS=: read -r name iin kvn scp method type <<<"$line"
  if ! json_has issuer list "any(i['name'] == '$name' for i in j['issuers'])"; then
    admin issuer add --name "$name" --iin "$iin" >/dev/null
    say "issuer $name added"
  fi
  sheets=$DIR/components/$name-$kvn
  if ! json_has keyset list --issuer "$name" "any(k['kvn'] == $kvn for k in j['key_sets'])"; then
    if [ ! -f "$sheets/mk-$name-$kvn-custodian-1-of-2.txt" ]; then
      rm -rf "$sheets"
      admin component demo-split --issuer "$name" --kvn "$kvn" --key-type "$type" --out "$sheets" >/dev/null
    fi
    admin keyset import --issuer "$name" --kvn "$kvn" --scp "$scp" --method "$method" --key-type "$type" \
      --component "$sheets/mk-$name-$kvn-custodian-1-of-2.txt" \
      --component "$sheets/mk-$name-$kvn-custodian-2-of-2.txt" --yes >/dev/null 2>"$DIR/.import.err" ||
      { cat "$DIR/.import.err" >&2; die "keyset import for $name failed"; }
    rm -f "$DIR/.import.err"
    say "key set $kvn of $name imported from demo components"
  fi
done

cert_fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g'; }

for tsm in tsm1 tsm2; do
  if json_has tsm list "any(t['name'] == '$tsm' for t in j['tsms'])"; then
    fp=$(cert_fp "$PKI/$tsm.crt")
    json_has tsm list "any(t['name'] == '$tsm' and t['cert_sha256'] == '$fp' and t['state'] == 'accredited' for t in j['tsms'])" ||
      die "$tsm is accredited with another certificate (or revoked) than $PKI/$tsm.crt: start over with '$0 down --purge --dir $DIR'"
  else
    admin tsm accredit --name "$tsm" --cert "$PKI/$tsm.crt" >/dev/null
    say "$tsm accredited"
  fi
done

GRANTS="tsm1:demo-scp02-emv tsm1:demo-scp03-aes128 tsm1:demo-scp03-aes256 tsm2:demo-scp03-aes128"
for g in $GRANTS; do
  tsm=${g%%:*}
  issuer=${g#*:}
  if ! json_has tsm list "any(t['name'] == '$tsm' and '$issuer' in t['issuers'] for t in j['tsms'])"; then
    admin tsm grant --name "$tsm" --issuer "$issuer" >/dev/null
  fi
done

for tsm in tsm1 tsm2; do
  if ! json_has kek list --tsm "$tsm" "any(k['index'] == 1 for k in j['keks'])"; then
    admin kek generate --tsm "$tsm" --index 1 --alg AES256 --custodians 2 --out "$DIR/keks/$tsm" \
      --so-pin-source "$SO_PIN_SOURCE" >/dev/null
    say "KEK 1 of $tsm generated"
  fi
  if json_has kek list --tsm "$tsm" "any(k['index'] == 1 and k['state'] == 'pending' for k in j['keks'])"; then
    admin kek activate --tsm "$tsm" --index 1 >/dev/null
    say "KEK 1 of $tsm activated"
  fi
done

# The server: started, or restarted when its configuration changed.
if [ -n "$(server_pid)" ] && [ "$CONFIG_CHANGED" = yes ]; then
  say "configuration changed: restarting the server"
  stop_server
fi
if [ -z "$(server_pid)" ]; then
  start_server
else
  case "$(healthz "$PORT")" in
    "HTTP/1.1 200"*) say "sekds-server $(server_pid) already running on https://localhost:$PORT" ;;
    *) die "sekds-server $(server_pid) runs but does not answer /healthz on port $PORT" ;;
  esac
fi

# ---- manifest.json (DEMO ONLY: keys in clear) ----

WORK=$(mktemp -d "$DIR/.manifest-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
admin --json keyset list > "$WORK/keysets.json"
admin --json issuer list > "$WORK/issuers.json"
admin --json tsm list > "$WORK/tsms.json"
admin --json kek list > "$WORK/keks.json"
for line in $ISSUERS; do
  IFS=: read -r name iin kvn scp method type <<<"$line"
  sheets=$DIR/components/$name-$kvn
  if [ -f "$sheets/mk-$name-$kvn-custodian-1-of-2.txt" ]; then
    admin --json component combine --reveal "$sheets"/mk-"$name"-"$kvn"-custodian-*.txt > "$WORK/mk-$name-$kvn.json" 2>/dev/null
  fi
done
for f in "$DIR"/keks/*/kek-*-custodian-1-of-*.txt; do
  [ -f "$f" ] || continue
  base=$(basename "$f")
  stem=${base%-custodian-1-of-*}
  admin --json component combine --reveal "$(dirname "$f")/$stem"-custodian-*.txt > "$WORK/$stem.json" 2>/dev/null
done

PORT=$PORT DIR=$DIR PKI=$PKI CONFIG=$CONFIG WORK=$WORK PID=$(server_pid) TOKEN=$TOKEN MANIFEST=$MANIFEST \
  $PY - <<'PY'
import glob, json, os

env = os.environ
work, d, pki = env["WORK"], env["DIR"], env["PKI"]
port = int(env["PORT"])
load = lambda name: json.load(open(os.path.join(work, name)))
issuers = {i["name"]: i for i in load("issuers.json")["issuers"]}
tsms = load("tsms.json")["tsms"]
keks = load("keks.json")["keks"]

def combined(stem):
    p = os.path.join(work, stem + ".json")
    if not os.path.exists(p):
        return None
    return json.load(open(p))

key_sets = []
for k in load("keysets.json")["key_sets"]:
    stem = "mk-%s-%d" % (k["issuer"], k["kvn"])
    c = combined(stem)
    sheets = sorted(glob.glob(os.path.join(d, "components", "%s-%d" % (k["issuer"], k["kvn"]), stem + "-custodian-*.txt")))
    key_sets.append({
        "issuer": k["issuer"], "iin": issuers[k["issuer"]]["iin"], "kvn": k["kvn"], "scp": k["scp"], "i": k["i"],
        "key_type": k["key_type"], "method": k["method"], "kdf_layout": k["kdf_layout"],
        "kdf_constants": k["kdf_constants"], "per_role": k["per_role"], "kcv": k["kcv"]["enc"], "kcv_alg": k["kcv_alg"],
        "master_key_hex": c["keys"][0]["value"] if c else None,
        "component_files": sheets,
    })

tsm_out = []
for t in tsms:
    mine = []
    for k in keks:
        if k["tsm"] != t["name"]:
            continue
        stem = "kek-%s-%d" % (t["name"], k["index"])
        c = combined(stem)
        mine.append({
            "index": k["index"], "algorithm": k["algorithm"], "kcv": k["kcv"], "kcv_alg": k["kcv_alg"], "state": k["state"],
            "value_hex": c["keys"][0]["value"] if c else None,
            "component_files": sorted(glob.glob(os.path.join(d, "keks", t["name"], stem + "-custodian-*.txt"))),
        })
    tsm_out.append({
        "name": t["name"], "state": t["state"], "cert_sha256": t["cert_sha256"], "subject": t["subject"],
        "cert": os.path.join(pki, t["name"] + ".crt"), "key": os.path.join(pki, t["name"] + ".key"),
        "pem": os.path.join(pki, t["name"] + ".pem"), "issuers": t["issuers"], "keks": mine,
    })

manifest = {
    "demo_only": True,
    "warning": "DEMO ONLY: demo keys, KEKs and PINs in clear; never use outside development",
    "endpoint": "https://localhost:%d/sekds/v1" % port,
    "healthz": "https://localhost:%d/healthz" % port,
    "listen": {"host": "127.0.0.1", "port": port},
    "ca_cert": os.path.join(pki, "ca.crt"),
    "crl": os.path.join(pki, "ca.crl"),
    "config": env["CONFIG"],
    "database": os.path.join(d, "sekds.db"),
    "softhsm2_conf": os.path.join(d, "softhsm", "softhsm2.conf"),
    "token": env["TOKEN"],
    "so_pin_source": "file:" + os.path.join(d, "softhsm", "so.pin"),
    "server": {"pid": int(env["PID"]) if env.get("PID") else None, "config": env["CONFIG"],
               "log": os.path.join(d, "server.log"), "pid_file": os.path.join(d, "server.pid")},
    "tsms": tsm_out,
    "rogue": {"cert": os.path.join(pki, "rogue.crt"), "key": os.path.join(pki, "rogue.key"),
              "pem": os.path.join(pki, "rogue.pem"), "ca": os.path.join(pki, "rogue-ca.crt")},
    "revoked": {"name": "tsm3", "cert": os.path.join(pki, "tsm3.crt"), "key": os.path.join(pki, "tsm3.key"),
                "pem": os.path.join(pki, "tsm3.pem")},
    "key_sets": key_sets,
}
tmp = env["MANIFEST"] + ".tmp"
with open(tmp, "w") as f:
    json.dump(manifest, f, indent=2)
    f.write("\n")
os.chmod(tmp, 0o600)
os.replace(tmp, env["MANIFEST"])
PY
say "manifest: $MANIFEST (DEMO ONLY)"
echo "export SOFTHSM2_CONF=$SOFTHSM2_CONF SEKDS_CONFIG=$CONFIG"
