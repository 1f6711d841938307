#!/usr/bin/env bash
# Starts Debian's real Keystone (the `keystone` package's WSGI app under uWSGI, SQLite, on a
# free loopback port, no Apache, nothing of /etc/keystone), bootstraps it and provisions what
# dvr's tests and Tempest need:
#   projects admin, demo, alt, service; users admin (admin on admin), demo (member on demo),
#   alt (member on alt), dvr (admin + service on service: the dvr server validates tokens
#   with it), dvr-agent (service on service: for agents that use a Keystone token).
# Usage: scripts/start-keystone.sh [DIR [DVR_URL]]   (default /tmp/dvr-keystone; DIR is wiped
# first). The catalog gets a `network` service whose endpoint is DVR_URL (default
# http://127.0.0.1:9696): the openstack CLI and Tempest use Neutron only when the catalog
# has one (a client may still point elsewhere with OS_NETWORK_ENDPOINT_OVERRIDE).
# Writes DIR/env (OS_AUTH_URL and the admin's OS_* variables, to source), DIR/env.demo,
# DIR/env.alt, DIR/env.dvr, DIR/env.dvr-agent (each user's OS_* variables), DIR/port and
# DIR/uwsgi.pid, and prints the OS_AUTH_URL. Stop with scripts/stop-keystone.sh [DIR].
# The recipe and its pitfalls: ../shared/reference/keystone.md. About 15 s on 2 cores.
set -euo pipefail
DIR=${1:-/tmp/dvr-keystone}
DVR_URL=${2:-http://127.0.0.1:9696}
command -v keystone-manage >/dev/null || { echo "start-keystone: keystone is not installed (scripts/install-deps.sh)" >&2; exit 2; }
if [ -f "$DIR/uwsgi.pid" ]; then "$(dirname "$0")/stop-keystone.sh" "$DIR"; fi
# Only a directory this script made (or none) is wiped.
if [ -e "$DIR" ] && [ ! -f "$DIR/keystone.conf" ]; then
  echo "start-keystone: $DIR exists and is not a Keystone directory of this script" >&2
  exit 2
fi
rm -rf "$DIR"
mkdir -p "$DIR"
mkdir -m 700 "$DIR/fernet-keys" "$DIR/credential-keys"
mkdir "$DIR/policy.d"
echo '{}' >"$DIR/policy.yaml"

# A free loopback port: ask the kernel for one (port 5000 is the packaged service's).
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT

# Never an empty `policy_dirs =` (oslo.policy would load every file of this directory);
# bcrypt rounds 4 before any password is written (token issue 9 ms instead of 200 ms);
# the in-memory cache needs the single uWSGI process started below.
cat >"$DIR/keystone.conf" <<EOF
[DEFAULT]
use_stderr = true
[database]
connection = sqlite:///$DIR/keystone.db
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = $DIR/fernet-keys
[fernet_receipts]
key_repository = $DIR/fernet-keys
[credential]
key_repository = $DIR/credential-keys
[identity]
password_hash_rounds = 4
[cache]
enabled = true
backend = dogpile.cache.memory
[oslo_policy]
policy_file = $DIR/policy.yaml
policy_dirs = $DIR/policy.d
EOF

user=$(id -un)
group=$(id -gn)
KM=(keystone-manage --config-file "$DIR/keystone.conf")
{
  "${KM[@]}" db_sync
  "${KM[@]}" fernet_setup --keystone-user "$user" --keystone-group "$group"
  "${KM[@]}" credential_setup --keystone-user "$user" --keystone-group "$group"
  "${KM[@]}" bootstrap --bootstrap-password adminpw --bootstrap-region-id RegionOne \
    --bootstrap-admin-url "$URL/v3/" --bootstrap-public-url "$URL/v3/" --bootstrap-internal-url "$URL/v3/"
} >"$DIR/manage.log" 2>&1 || { echo "start-keystone: keystone-manage failed, see $DIR/manage.log" >&2; tail -20 "$DIR/manage.log" >&2; exit 1; }

# --threads 1: SQLite objects may not cross threads; --processes 1: the in-memory cache is per
# process; --die-on-term + SIGTERM to stop (SIGQUIT reloads); --skip-atexit-teardown avoids
# greenlet's segfault at exit. uWSGI's http-socket closes each connection after its answer
# without saying so, and a client that reuses it for a POST gets "connection reset": the
# Connection: close header tells clients (the openstack CLI, dvr's validator) not to.
OS_KEYSTONE_CONFIG_FILES=$DIR/keystone.conf setsid uwsgi --plugin python3 \
  --http-socket "127.0.0.1:$PORT" --wsgi-file /usr/bin/keystone-wsgi-public \
  --master --processes 1 --threads 1 --lazy-apps --need-app --die-on-term \
  --skip-atexit-teardown --buffer-size 65535 --add-header "Connection: close" --pidfile "$DIR/uwsgi.pid" \
  >"$DIR/keystone.log" 2>&1 </dev/null &
echo "$PORT" >"$DIR/port"
up=0
for _ in $(seq 1 400); do # 20 s at most
  if curl -fs -o /dev/null "$URL/v3"; then up=1; break; fi
  sleep 0.05
done
if [ "$up" != 1 ]; then
  echo "start-keystone: Keystone did not answer on $URL/v3 within 20 s, see $DIR/keystone.log" >&2
  tail -20 "$DIR/keystone.log" >&2
  "$(dirname "$0")/stop-keystone.sh" "$DIR" || true
  exit 1
fi

write_env() { # file user password project
  cat >"$1" <<EOF
export OS_AUTH_URL=$URL/v3
export OS_IDENTITY_API_VERSION=3
export OS_AUTH_TYPE=password
export OS_USERNAME=$2
export OS_PASSWORD=$3
export OS_PROJECT_NAME=$4
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_REGION_NAME=RegionOne
EOF
}
write_env "$DIR/env" admin adminpw admin
write_env "$DIR/env.demo" demo demopw demo
write_env "$DIR/env.alt" alt altpw alt
write_env "$DIR/env.dvr" dvr dvrpw service
write_env "$DIR/env.dvr-agent" dvr-agent agentpw service

# openstack processes read their commands from stdin (each process costs ~1 s of start-up).
(
  # shellcheck source=/dev/null
  . "$DIR/env"
  # Creations print their ids (one line each, in this order); grants name everything by id:
  # this CLI (osc-lib 2.6 with keystoneclient 5.0) fails to find a role, user or project by
  # name in `role add` ("Resource.get() takes 1 positional argument but 2 were given").
  mapfile -t ids < <(/usr/bin/openstack 2>>"$DIR/provision.log" <<'EOF'
project create --domain default demo -f value -c id
project create --domain default alt -f value -c id
project create --domain default service -f value -c id
user create --domain default --password demopw demo -f value -c id
user create --domain default --password altpw alt -f value -c id
user create --domain default --password dvrpw dvr -f value -c id
user create --domain default --password agentpw dvr-agent -f value -c id
role create service -f value -c id
service create --name neutron network -f value -c id
role list -f value -c ID -c Name
EOF
)
  ((${#ids[@]} >= 9)) || { echo "start-keystone: provisioning failed: ${ids[*]}" >&2; cat "$DIR/provision.log" >&2; exit 1; }
  demo=${ids[0]} alt=${ids[1]} service=${ids[2]}
  u_demo=${ids[3]} u_alt=${ids[4]} u_dvr=${ids[5]} u_agent=${ids[6]} r_service=${ids[7]}
  role_id() { printf '%s\n' "${ids[@]:9}" | awk -v n="$1" '$2 == n {print $1}'; }
  r_member=$(role_id member) r_admin=$(role_id admin)
  /usr/bin/openstack >>"$DIR/provision.log" 2>&1 <<EOF
role add --project $demo --user $u_demo $r_member
role add --project $alt --user $u_alt $r_member
role add --project $service --user $u_dvr $r_admin
role add --project $service --user $u_dvr $r_service
role add --project $service --user $u_agent $r_service
endpoint create --region RegionOne ${ids[8]} public $DVR_URL
endpoint create --region RegionOne ${ids[8]} internal $DVR_URL
endpoint create --region RegionOne ${ids[8]} admin $DVR_URL
EOF
  got=$(/usr/bin/openstack role assignment list --names -f value -c Role -c User -c Project | sort)
  for want in "member demo@Default demo@Default" "member alt@Default alt@Default" \
    "admin dvr@Default service@Default" "service dvr@Default service@Default" \
    "service dvr-agent@Default service@Default"; do
    grep -qx "$want" <<<"$got" || { echo "start-keystone: provisioning missed '$want' (assignments: $got)" >&2; cat "$DIR/provision.log" >&2; exit 1; }
  done
) || { "$(dirname "$0")/stop-keystone.sh" "$DIR" || true; exit 1; }
echo "Keystone is up: OS_AUTH_URL=$URL/v3 (admin: . $DIR/env; users: $DIR/env.{demo,alt,dvr,dvr-agent})"
