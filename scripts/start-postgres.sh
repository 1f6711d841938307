#!/usr/bin/env bash
# Starts Debian's PostgreSQL cluster and makes root a superuser role, for the API tests
# that run against PostgreSQL (they create and drop a database of their own). Idempotent.
set -euo pipefail
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
pg_lsclusters -h | grep -q . || pg_createcluster "$version" main
cluster=$(pg_lsclusters -h | head -1 | awk '{print $1" "$2}')
pg_ctlcluster $cluster start 2>/dev/null || true
for _ in $(seq 1 50); do
  su postgres -c "psql -Atqc 'SELECT 1'" >/dev/null 2>&1 && break
  sleep 0.2
done
su postgres -c "psql -Atqc \"SELECT 1 FROM pg_roles WHERE rolname = 'root'\"" | grep -q 1 ||
  su postgres -c "createuser --superuser root"
echo "PostgreSQL $cluster is up"
