#!/usr/bin/env bash
# The end-to-end demo (DESIGN §1, steps 0-8) on one machine, DEMO ONLY:
#   TTP:  the dev environment (deploy/dev-env.sh): SoftHSM token, database, three issuers'
#         master keys imported from components, tsm1 accredited with a KEK, sekds-server on TLS.
#   TSM:  its own SoftHSM token holding its copy of the KEK (imported from the custodians'
#         component sheets, KCVs checked), and its own key sets to rotate cards to.
#   Cards: a grid of virtual GP cards (sekds-card): SCP02 (EMV CPS 1.1, DES2), SCP03 (KDF3,
#         AES-128) and SCP03 (KDF3, AES-256), their '5F50' URL pointing at the TTP.
# Then per card: sekds-tsm rotate (steps 1-7) and run (step 8: GET STATUS, LOAD + INSTALL of a
# 9 KB load file). Key check values are printed, never plaintext keys.
#
#   deploy/demo.sh [--port P] [--grid-port G] [--dir DIR]     (defaults 8443, 9555, var/demo)
# Binaries from $SEKDS_BUILD_DIR (default build/). Leaves the TTP server and the grid running
# and says how to stop them.
set -euo pipefail
# The sekds programs refuse to run as root unless told (src/process/hardening.h); this
# development script may be run as root (CI is).
export SEKDS_ALLOW_ROOT=1
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SEKDS_BUILD_DIR:-$REPO/build}
export SEKDS_BUILD_DIR=$BUILD
PORT=8443
GRID_PORT=9555
DIR=$REPO/var/demo
PY=/usr/bin/python3
while [ $# -gt 0 ]; do
  case "$1" in
    --port) PORT=$2; shift 2 ;;
    --grid-port) GRID_PORT=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument: $1" >&2; exit 2 ;;
  esac
done
TSM=$BUILD/src/tsm/sekds-tsm
CARD=$BUILD/src/card/sekds-card
for b in "$TSM" "$CARD" "$BUILD/src/service/sekds-server" "$BUILD/src/admin/sekds-admin"; do
  [ -x "$b" ] || { echo "demo: $b is missing: build first (deploy/quickstart.sh demo does)" >&2; exit 1; }
done
mkdir -p "$DIR"
chmod 700 "$DIR"
DIR=$(cd "$DIR" && pwd)
TTP_DIR=$DIR/ttp
TSM_DIR=$DIR/tsm
mkdir -p "$TSM_DIR"
chmod 700 "$TSM_DIR"

# Each step prints its name, its output (indented) and how long it took.
step() {
  local title=$1; shift
  printf '\n== %s\n' "$title"
  local t0 t1 rc=0
  t0=$(date +%s%N)
  "$@" 2>&1 | sed 's/^/   /' || rc=${PIPESTATUS[0]}
  t1=$(date +%s%N)
  printf '   (%d ms)\n' $(( (t1 - t0) / 1000000 ))
  if [ "$rc" -ne 0 ]; then echo "demo: step failed (exit $rc): $title" >&2; exit "$rc"; fi
}
json() { "$PY" -c "import json,sys; d=json.load(open('$TTP_DIR/manifest.json')); print($1)"; }

# ---- the TTP -----------------------------------------------------------------------------
step "TTP: dev environment (PKI, HSM token, database, master keys from components, tsm1 + KEK 1, server)" \
  "$REPO/deploy/dev-env.sh" up --dir "$TTP_DIR" --port "$PORT"
ENDPOINT=$(json 'd["endpoint"]')
URL="https://localhost:$PORT/sekds/v1"

# ---- the TSM -----------------------------------------------------------------------------
TSM_HSM=$TSM_DIR/softhsm
step "TSM: its own PKCS#11 token (SoftHSM, DEMO PINs)" \
  "$REPO/hsm/setup-token.sh" --data-dir "$TSM_DIR" --label sekds-tsm
export SOFTHSM2_CONF=$TSM_HSM/softhsm2.conf
# The TSM's own master keys (what it rotates cards to): random, DEMO ONLY, never printed.
umask 077
for f in own-aes128.key:16 own-aes256.key:32 own-des.key:16; do
  name=${f%%:*}; len=${f##*:}
  [ -s "$TSM_DIR/$name" ] || openssl rand -hex "$len" > "$TSM_DIR/$name"
done
umask 022
cat > "$TSM_DIR/sekds-tsm.toml" <<EOF
# DEMO ONLY: written by deploy/demo.sh
kek_index = 1
level = "cmac+cdec"

[[ttp]]
url_prefix = "https://localhost:$PORT/"
certificate = "$(json 'd["tsms"][0]["cert"]')"
private_key = "$(json 'd["tsms"][0]["key"]')"
ca = "$(json 'd["ca_cert"]')"

[kek_token]
module = "/usr/lib/softhsm/libsofthsm2.so"
token = "sekds-tsm"
pin = "file:$TSM_HSM/user.pin"
state_file = "kek-state.json"

[[own_keys]]
scp = 3
kvn = 0x40
method = "kdf3"
master_key_file = "own-aes128.key"
key_type = "AES128"

[[own_keys]]
scp = 3
kvn = 0x41
method = "kdf3"
master_key_file = "own-aes256.key"
key_type = "AES256"

[[own_keys]]
scp = 2
kvn = 0x40
method = "emv"
master_key_file = "own-des.key"
key_type = "DES2"
EOF
export SEKDS_TSM_CONFIG=$TSM_DIR/sekds-tsm.toml
mapfile -t KEK_SHEETS < <(json '"\n".join(d["tsms"][0]["keks"][0]["component_files"])')
if "$TSM" kek list --json 2>/dev/null | grep -q '"index": *1'; then
  step "TSM: KEK 1 already in its token" "$TSM" kek list
else
  args=()
  for s in "${KEK_SHEETS[@]}"; do args+=(--component "$s"); done
  step "TSM: import KEK 1 from the custodians' component sheets (each KCV checked, then the combined KCV)" \
    "$TSM" kek import --index 1 "${args[@]}"
fi

# ---- the cards ---------------------------------------------------------------------------
GRID_DB=$DIR/grid.db
if [ -f "$DIR/grid.pid" ] && kill -0 "$(cat "$DIR/grid.pid")" 2>/dev/null; then
  kill "$(cat "$DIR/grid.pid")"; sleep 0.5
fi
rm -f "$GRID_DB" "$GRID_DB"-wal "$GRID_DB"-shm
n=0
while IFS=: read -r idx scp i; do
  n=$((n + 1))
  umask 077
  json "d['key_sets'][$idx]['master_key_hex']" > "$DIR/issuer-master-$idx.key"
  umask 022
  step "Cards: personalise card $n — $(json "d['key_sets'][$idx]['issuer'] + ': SCP' + d['key_sets'][$idx]['scp'] + ' ' + d['key_sets'][$idx]['method'] + ' ' + d['key_sets'][$idx]['key_type']")" \
    "$CARD" personalise --db "$GRID_DB" --count 1 \
      --issuer "$(json "d['key_sets'][$idx]['iin']")" --kvn "$(json "d['key_sets'][$idx]['kvn']")" \
      --scp "$scp" --i "$i" --method "$(json "d['key_sets'][$idx]['method']")" \
      --key-type "$(json "d['key_sets'][$idx]['key_type']")" \
      --master-key-file "$DIR/issuer-master-$idx.key" --url "$URL"
  rm -f "$DIR/issuer-master-$idx.key"
done < <(json '"\n".join("%d:%s:%s" % (n, k["scp"], k["i"]) for n, k in enumerate(d["key_sets"]))')
"$CARD" serve --db "$GRID_DB" --grid "127.0.0.1:$GRID_PORT" > "$DIR/grid.log" 2>&1 &
echo $! > "$DIR/grid.pid"
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$GRID_PORT") 2>/dev/null && break
  sleep 0.1
done
step "Cards: a grid of $n virtual secure elements on 127.0.0.1:$GRID_PORT" "$CARD" list --db "$GRID_DB"
step "Cards: a 9 KB load file (package A00000015153504B, applet A0000001515350414C)" \
  "$CARD" make-loadfile --package A00000015153504B --applet A0000001515350414C --size 9216 --out "$DIR/demo.loadfile"
cat > "$DIR/demo.script" <<EOF
# step 8: the TSM's management script (sekds-tsm run)
get-status
load $DIR/demo.loadfile
install A00000015153504B A0000001515350414C A0000001515350414C01
get-status
EOF

# ---- the flow, per card ------------------------------------------------------------------
for slot in $(seq 1 "$n"); do
  CARD_SPEC=grid:127.0.0.1:$GRID_PORT/$slot
  step "Card $slot: steps 1-2 — read the card (URL first)" "$TSM" info --card "$CARD_SPEC"
  step "Card $slot: steps 1-5 — fetch its keys from the TTP (KCVs only)" "$TSM" keys --card "$CARD_SPEC"
  step "Card $slot: steps 1-7 — open the secure channel, rotate to the TSM's keys (PUT KEY), re-open" \
    "$TSM" rotate --card "$CARD_SPEC"
  step "Card $slot: step 8 — run the management script (GET STATUS, LOAD + INSTALL 9 KB)" \
    "$TSM" run "$DIR/demo.script" --card "$CARD_SPEC"
done

step "TTP: the audit chain verifies" env SEKDS_CONFIG="$(json 'd["config"]')" SOFTHSM2_CONF="$(json 'd["softhsm2_conf"]')" \
  "$BUILD/src/admin/sekds-admin" audit verify

cat <<EOF

Demo complete. Left running (DEMO ONLY):
  sekds-server  https://localhost:$PORT/sekds/v1   (pid $(json 'd["server"]["pid"]'), data in $TTP_DIR)
  sekds-card    grid on 127.0.0.1:$GRID_PORT       (pid $(cat "$DIR/grid.pid"), cards in $GRID_DB)
Stop them with:
  kill \$(cat $DIR/grid.pid); deploy/dev-env.sh down --dir $TTP_DIR
Everything it made is under $DIR (git-ignored); delete it to start afresh.
EOF
