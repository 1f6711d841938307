#!/usr/bin/env bash
# The README's test command: install, build, run every test (ctest prints the summary),
# then, as root, Tempest's network API tests (scripts/tempest.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
if [ "$(id -u)" = 0 ]; then
  scripts/start-postgres.sh  # the API tests run on SQLite and on PostgreSQL
  export DVR_TEST_PG=1
  # The tests with authentication run against Debian's real Keystone (label keystone);
  # without it they skip.
  if command -v keystone-manage >/dev/null; then
    ks_dir=$(mktemp -d /tmp/dvr-test-keystone.XXXXXX)
    rmdir "$ks_dir"
    trap 'scripts/stop-keystone.sh "$ks_dir"' EXIT
    scripts/start-keystone.sh "$ks_dir"
    export DVR_TEST_KEYSTONE=$ks_dir
  fi
fi
(cd build && ctest --output-on-failure -j"$(nproc)")
if [ "$(id -u)" = 0 ]; then
  # OpenStack's own API tests against a fresh server; any test of
  # scripts/tempest/expected-pass.txt that does not pass fails the run.
  scripts/tempest.sh
fi
