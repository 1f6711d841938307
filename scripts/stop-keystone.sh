#!/usr/bin/env bash
# Stops the Keystone that scripts/start-keystone.sh started in DIR (default /tmp/dvr-keystone)
# and removes DIR. SIGTERM, not SIGQUIT (which reloads uWSGI under --die-on-term); the master
# reaps its worker once a second, so this takes about 2 s. Idempotent.
set -euo pipefail
DIR=${1:-/tmp/dvr-keystone}
if [ -f "$DIR/uwsgi.pid" ]; then
  pid=$(cat "$DIR/uwsgi.pid")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 200); do # 10 s, then KILL
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
fi
# Only a directory start-keystone.sh made is removed.
if [ -f "$DIR/keystone.conf" ]; then rm -rf "$DIR"; fi
