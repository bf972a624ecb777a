#!/usr/bin/env bash
# The issue's second reproduction: enrich-run on the reference plan through PgBouncer, 20,000
# runs with 64 in flight, must finish with zero failed runs (before: 303-706 failed, and
# connections dropped with "pipeline results out of step with statements").
#   enrich_run_reference_plan.sh ENRICH_RUN PLAN
set -euo pipefail
enrich_run="$1"
# The plan's own 2 s deadline is a wall-clock bound that a starved 2-core machine can miss (a few
# runs timed out while a build ran beside the suite); what this test is about is the protocol
# (no failed run, no connection out of step), so it runs a copy whose deadline is a minute.
plan="$(mktemp --suffix=.json)"
trap 'rm -f "$plan"' EXIT
sed 's/"deadline_ms": *[0-9]*/"deadline_ms": 60000/' "$2" >"$plan"
grep -q '"deadline_ms": 60000' "$plan" || { echo "FAIL: no deadline_ms in $2" >&2; exit 1; }
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
