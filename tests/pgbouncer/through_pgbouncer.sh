#!/usr/bin/env bash
# Runs a test command with every DSN it reads pointed at PgBouncer (scripts/pgbouncer, transaction
# mode) instead of the server: ENRICH_TEST_DSN, ENRICH_FIXTURE_DSN, DATABASE_URL. Fails, never
# skips, when PgBouncer is not configured.
#   through_pgbouncer.sh [--dsn-suffix '?statement_cache=off'] COMMAND [ARGS...]
set -euo pipefail
suffix=""
if [[ ${1:-} == --dsn-suffix ]]; then
  suffix="$2"
  shift 2
fi
if [[ -z ${ENRICH_PGBOUNCER_DSN:-} ]]; then
  echo "ENRICH_PGBOUNCER_DSN is not set (scripts/test starts scripts/pgbouncer; by hand:" \
    'scripts/pgbouncer start && eval "$(scripts/pgbouncer env)")' >&2
  exit 1
fi
base="${ENRICH_PGBOUNCER_DSN%/*}"
# The article's original code (asyncpg's statement cache, postgres.js's prepare) does not work
# behind PgBouncer in transaction mode: the endpoint suites keep it on the direct path and
# compare enrich through PgBouncer against it.
export ENRICH_ORIGINAL_FIXTURE_DSN="${ENRICH_FIXTURE_DSN:?ENRICH_FIXTURE_DSN is not set}"
export ENRICH_ORIGINAL_TEST_DSN="${ENRICH_TEST_DSN:?ENRICH_TEST_DSN is not set}"
export ENRICH_TEST_DSN="$ENRICH_PGBOUNCER_DSN$suffix"
export ENRICH_FIXTURE_DSN="$base/enrich_fixture$suffix"
export DATABASE_URL="$ENRICH_FIXTURE_DSN"
export ENRICH_THROUGH_PGBOUNCER=1

# PgBouncer must be up before, and still up after. PgBouncer 1.18 can crash on a cancel request
# under load (pgbouncer issue 822, fixed in 1.20.1; docs/deploy.md), whichever client sent it: if it
# died during the test, that is said with the end of its log, PgBouncer is started again and the
# test runs once more. A test that fails while PgBouncer stays up fails as it is.
pgbouncer="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/pgbouncer"
log="/tmp/enrich-pgbouncer-${ENRICH_PGBOUNCER_PORT:-54339}/pgbouncer.log"
if ! "$pgbouncer" status >/dev/null; then
  echo "FAIL: PgBouncer is not running (scripts/pgbouncer start)" >&2
  exit 1
fi
for attempt in 1 2; do
  status=0
  "$@" || status=$?
  "$pgbouncer" status >/dev/null && exit "$status"
  echo "PgBouncer died during this test (attempt $attempt); the end of its log:" >&2
  tail -n 5 "$log" >&2 2>/dev/null || true
  "$pgbouncer" start >&2 || exit 1
done
echo "FAIL: PgBouncer died twice during this test" >&2
exit 1
