#!/usr/bin/env bash
# The issue's second reproduction: enrich-run on the reference plan through PgBouncer, 20,000
# runs with 64 in flight, must finish with zero failed runs (before: 303-706 failed, and
# connections dropped with "pipeline results out of step with statements").
#   enrich_run_reference_plan.sh ENRICH_RUN PLAN
set -euo pipefail
enrich_run="$1"
plan="$2"
out="$("$enrich_run" "$plan" --dsn "$DATABASE_URL" --repeat 20000 --concurrency 64 \
  --random userId=1:2000 --quiet 2>&1)" || {
  echo "$out"
  exit 1
}
echo "$out"
summary="$(grep '"plans"' <<<"$out" | tail -n1)"
if [[ $summary != *'"errors":0,'* || $summary != *'"runs":20000'* ]]; then
  echo "FAIL: expected 20000 runs and no errors" >&2
  exit 1
fi
if grep -q 'out of step' <<<"$out"; then
  echo "FAIL: a connection was dropped with results out of step" >&2
  exit 1
fi
echo "PASS: 20000 runs, 0 errors"
