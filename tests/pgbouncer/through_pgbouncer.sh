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

# PgBouncer must be up before, and still up after: a crash of it is a failure that names itself.
pgbouncer="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/pgbouncer"
log="/tmp/enrich-pgbouncer-${ENRICH_PGBOUNCER_PORT:-54339}/pgbouncer.log"
if ! "$pgbouncer" status >/dev/null; then
  echo "FAIL: PgBouncer is not running (scripts/pgbouncer start)" >&2
  exit 1
fi
status=0
"$@" || status=$?
if ! "$pgbouncer" status >/dev/null; then
  echo "FAIL: PgBouncer died during this test; the end of its log:" >&2
  tail -n 5 "$log" >&2 2>/dev/null || true
  exit 1
fi
exit "$status"
