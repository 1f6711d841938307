#!/usr/bin/env bash
# Runs OpenStack's own API tests, Debian's Tempest `tempest.api.network`, against a fresh
# `dvr server`, prints passed/failed/skipped, and fails when any test listed in
# scripts/tempest/expected-pass.txt did not pass (the tests dvr is known to pass: a
# regression there fails CI). Tests passing beyond the list are reported, not failures.
#
# Identity (TEMPEST_AUTH):
#   keystone  Debian's real Keystone (scripts/start-keystone.sh) and `dvr server --auth
#             keystone`; accounts demo (primary), alt (alt), admin (admin). The default once
#             both exist in this tree.
#   stub      scripts/tempest/keystone_stub.py, a stand-in that accepts any password, with
#             `dvr server` in noauth mode: the measure used until the real Keystone is in
#             main (see README). Chosen when start-keystone.sh or --auth is missing.
#
# Variables: DVR_BIN (build/dvr), WORK (scratch, default ${TMPDIR:-/tmp}/dvr-tempest; wiped),
#   REGEX (^tempest\.api\.network), CONCURRENCY (1), EXPECTED (the list to check; empty: no
#   check), KEEP_RUNNING=1 (leave servers up). Outputs in $WORK: summary.txt, passed.txt,
#   tempest-run.out (tracebacks), workspace/tempest.log (every HTTP exchange), dvr.log.
# Exit: 0 when every expected test passed; 1 otherwise; 2 when Tempest is not installed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HERE="$ROOT/scripts/tempest"
DVR_BIN="${DVR_BIN:-$ROOT/build/dvr}"
WORK="${WORK:-${TMPDIR:-/tmp}/dvr-tempest}"
REGEX="${REGEX:-^tempest\.api\.network}"
CONCURRENCY="${CONCURRENCY:-1}"
EXPECTED="${EXPECTED-$HERE/expected-pass.txt}"
PY=/usr/bin/python3 # the interpreter Debian's tempest is installed for

command -v tempest >/dev/null || { echo "tempest.sh: tempest is not installed (scripts/install-deps.sh)" >&2; exit 2; }
[ -x "$DVR_BIN" ] || { echo "tempest.sh: no dvr binary at $DVR_BIN (scripts/build.sh)" >&2; exit 2; }
if [ -z "${TEMPEST_AUTH:-}" ]; then
  TEMPEST_AUTH=stub
  if [ -x "$ROOT/scripts/start-keystone.sh" ] && "$DVR_BIN" server --help 2>&1 | grep -q -- '--auth'; then
    TEMPEST_AUTH=keystone
  fi
fi
# Only a directory this script made (or none) is wiped.
if [ -e "$WORK" ] && [ ! -f "$WORK/.dvr-tempest" ]; then
  echo "tempest.sh: $WORK exists and is not a work directory of this script" >&2
  exit 2
fi
rm -rf "$WORK"
mkdir -p "$WORK"
touch "$WORK/.dvr-tempest"
free_port() { "$PY" -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

PIDS=()
cleanup() {
  [ "${KEEP_RUNNING:-0}" = 1 ] && return
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "$TEMPEST_AUTH" = keystone ] && [ -f "$WORK/keystone/uwsgi.pid" ]; then
    "$ROOT/scripts/stop-keystone.sh" "$WORK/keystone" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

DVR_PORT="$(free_port)"
NET_URL="http://127.0.0.1:$DVR_PORT/"
WS="$WORK/workspace"
(cd "$WORK" && tempest init --name "dvr-tempest-$$" "$WS" >/dev/null)

if [ "$TEMPEST_AUTH" = keystone ]; then
  # Its catalog's network endpoint (what Tempest finds Neutron by) is this dvr server.
  "$ROOT/scripts/start-keystone.sh" "$WORK/keystone" "${NET_URL%/}" >"$WORK/keystone-start.log"
  # shellcheck source=/dev/null
  KS_URL="$(. "$WORK/keystone/env" && echo "${OS_AUTH_URL%/v3}")"
  (
    # shellcheck source=/dev/null
    . "$WORK/keystone/env.dvr"
    exec "$DVR_BIN" server --bind "127.0.0.1:$DVR_PORT" --db "sqlite:$WORK/dvr.db" \
      --auth keystone --auth-url "$OS_AUTH_URL"
  ) >"$WORK/dvr.log" 2>&1 &
  PIDS+=($!)
  cat >"$WS/etc/accounts.yaml" <<'EOF'
- {username: demo, project_name: demo, password: demopw, user_domain_name: Default, project_domain_name: Default, roles: [member]}
- {username: alt, project_name: alt, password: altpw, user_domain_name: Default, project_domain_name: Default, roles: [member]}
- {username: admin, project_name: admin, password: adminpw, user_domain_name: Default, project_domain_name: Default, types: [admin]}
EOF
  ADMIN=(admin adminpw admin)
else
  "$DVR_BIN" server --bind "127.0.0.1:$DVR_PORT" --db "sqlite:$WORK/dvr.db" >"$WORK/dvr.log" 2>&1 &
  PIDS+=($!)
  KS_PORT="$(free_port)"
  "$PY" "$HERE/keystone_stub.py" --bind "127.0.0.1:$KS_PORT" --network-url "$NET_URL" >"$WORK/keystone-stub.log" 2>&1 &
  PIDS+=($!)
  KS_URL="http://127.0.0.1:$KS_PORT"
  cp "$HERE/accounts.yaml.in" "$WS/etc/accounts.yaml"
  ADMIN=(tempest-admin secret tempest-admin-project)
fi
echo "tempest.sh: identity $TEMPEST_AUTH ($KS_URL/v3), dvr $NET_URL"

http_code() { curl -s -o /dev/null -w '%{http_code}' "$1" || true; }
for _ in $(seq 1 100); do
  [ "$(http_code "${NET_URL}v2.0/networks")" != 000 ] && [ "$(http_code "$KS_URL/v3")" = 200 ] && break
  sleep 0.2
done
[ "$(http_code "${NET_URL}v2.0/networks")" != 000 ] || { echo "tempest.sh: dvr server not answering, see $WORK/dvr.log" >&2; exit 1; }

# The admin's token and project, then the external network "public" Tempest's router tests use.
TOKEN_BODY="$(curl -sf -D "$WORK/token.headers" -XPOST "$KS_URL/v3/auth/tokens" -H 'Content-Type: application/json' \
  -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"'"${ADMIN[0]}"'","domain":{"name":"Default"},"password":"'"${ADMIN[1]}"'"}}},"scope":{"project":{"name":"'"${ADMIN[2]}"'","domain":{"name":"Default"}}}}}')"
TOKEN="$(tr -d '\r' <"$WORK/token.headers" | awk -F': ' 'tolower($1)=="x-subject-token"{print $2}')"
ADMIN_PROJECT="$("$PY" -c 'import json,sys;print(json.loads(sys.argv[1])["token"]["project"]["id"])' "$TOKEN_BODY")"
H=(-H "X-Auth-Token: $TOKEN" -H "X-Project-Id: $ADMIN_PROJECT" -H 'Content-Type: application/json')
PUB_ID="$(curl -sf -XPOST "${NET_URL}v2.0/networks" "${H[@]}" \
  -d '{"network":{"name":"public","router:external":true,"project_id":"'"$ADMIN_PROJECT"'"}}' |
  "$PY" -c 'import json,sys;print(json.load(sys.stdin)["network"]["id"])')"
curl -sf -XPOST "${NET_URL}v2.0/subnets" "${H[@]}" \
  -d '{"subnet":{"name":"public-subnet","network_id":"'"$PUB_ID"'","cidr":"172.24.4.0/24","ip_version":4,"project_id":"'"$ADMIN_PROJECT"'"}}' >/dev/null
# Tempest runs the tests of the extensions the server lists, and skips the others.
EXT="$(curl -sf "${NET_URL}v2.0/extensions" "${H[@]}" |
  "$PY" -c 'import json,sys;print(",".join(sorted(e["alias"] for e in json.load(sys.stdin)["extensions"])))')"
echo "tempest.sh: api_extensions $EXT"

sed -e "s|@KEYSTONE_URL@|$KS_URL|" -e "s|@PUBLIC_NETWORK_ID@|$PUB_ID|" \
  -e "s|@API_EXTENSIONS@|$EXT|" -e "s|@ACCOUNTS_FILE@|$WS/etc/accounts.yaml|" \
  -e "s|@LOG_FILE@|$WS/tempest.log|" -e "s|@LOCK_PATH@|$WS/tempest_lock|" "$HERE/tempest.conf.in" >"$WS/etc/tempest.conf"

cd "$WS"
stestr list "$REGEX" >"$WORK/tests.txt" 2>/dev/null || true
set +e
tempest run --regex "$REGEX" --concurrency "$CONCURRENCY" >"$WORK/tempest-run.out" 2>&1
set -e
stestr last --subunit >"$WORK/last.subunit" 2>/dev/null || true
"$PY" "$HERE/summarize.py" "$WORK/last.subunit" "$WORK/tests.txt" --passed "$WORK/passed.txt" | tee "$WORK/summary.txt"
echo "tempest.sh: identity $TEMPEST_AUTH; outputs in $WORK (summary.txt, passed.txt, tempest-run.out)"

[ -n "$EXPECTED" ] || exit 0
# Every expected test that REGEX selected must have passed; report those that pass beyond
# the list.
sed 's/\[.*//' "$WORK/tests.txt" | sort -u >"$WORK/selected.txt"
grep -v '^#' "$EXPECTED" | grep . | sort | comm -12 - "$WORK/selected.txt" >"$WORK/expected.txt"
missing="$(comm -23 "$WORK/expected.txt" <(sort "$WORK/passed.txt"))"
extra="$(sort "$WORK/passed.txt" | comm -13 "$WORK/expected.txt" -)"
[ -z "$extra" ] || printf 'tempest.sh: passing, not yet in %s:\n%s\n' "$EXPECTED" "$extra"
if [ -n "$missing" ]; then
  printf 'tempest.sh: FAILED: expected to pass (%s) but did not:\n%s\n' "$EXPECTED" "$missing" >&2
  exit 1
fi
echo "tempest.sh: every expected test selected passed ($(wc -l <"$WORK/expected.txt") of $EXPECTED)"
