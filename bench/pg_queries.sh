#!/usr/bin/env bash
# The article's enrichment workload (3 queries per enrichment, uniformly random user ids):
# pgbench (plain and pipelined) against enrich_bench_pg_queries, on the scripts/pg server with
# the scripts/seed data set. Prints a markdown table and saves it, with the exact commands and
# the environment, to bench/results/pg_queries.md.
#
#   bench/pg_queries.sh [--quick] [--duration S] [--warmup S] [--rounds N] [--build-dir DIR]
#                       [--no-build] [--output FILE] [--enrich-connections "16 4"]
#                       [--quiet-timeout S]
#
# Every variant runs alone for --warmup (8) + --duration (10) seconds on fresh connections; only
# the window after the warm-up counts (new backends fault in shared memory for several seconds
# on this machine, so throughput ramps up). For pgbench the window is cut out of its
# per-transaction log (-l); CPU times are sampled from /proc at the window's edges:
#   client CPU  = the benchmark process (pgbench, or enrich's getrusage over its own window)
#   server CPU  = every child of the postmaster (all backends, including anyone else's)
#   other CPU   = the rest of the machine (should be ~0; if not, someone else was busy)
# All variants run --rounds (3) times, interleaved; the table shows each variant's median round.
# Before each run it waits up to --quiet-timeout (60) seconds for the machine to be idle.
# --quick: one round of 3 s windows and warm-ups, without the 10-client pgbench variants, saved
# to bench/results/pg_queries-quick.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DURATION=10
WARMUP=8
QUICK=0
BUILD_DIR=build
BUILD=1
OUTPUT=""
USERS=100000
ACTIVITY=2000000
CONCURRENCY=64
ENRICH_CONNECTIONS="16 4"
GLOBAL_WARMUP=15
QUIET_TIMEOUT=60
ROUNDS=3
DURATION_SET=0
ROUNDS_SET=0
WARMUP_SET=0

usage() {
  sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1; shift ;;
    --duration) [[ $# -ge 2 ]] || usage; DURATION="$2"; DURATION_SET=1; shift 2 ;;
    --warmup) [[ $# -ge 2 ]] || usage; WARMUP="$2"; WARMUP_SET=1; shift 2 ;;
    --build-dir) [[ $# -ge 2 ]] || usage; BUILD_DIR="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --output) [[ $# -ge 2 ]] || usage; OUTPUT="$2"; shift 2 ;;
    --enrich-connections) [[ $# -ge 2 ]] || usage; ENRICH_CONNECTIONS="$2"; shift 2 ;;
    --quiet-timeout) [[ $# -ge 2 ]] || usage; QUIET_TIMEOUT="$2"; shift 2 ;;
    --rounds) [[ $# -ge 2 ]] || usage; ROUNDS="$2"; ROUNDS_SET=1; shift 2 ;;
    -h | --help) usage ;;
    *) usage ;;
  esac
done
if ((QUICK)); then
  ((DURATION_SET)) || DURATION=3
  ((WARMUP_SET)) || WARMUP=3
  GLOBAL_WARMUP=5
  QUIET_TIMEOUT=30
  ((ROUNDS_SET)) || ROUNDS=1
  : "${OUTPUT:=bench/results/pg_queries-quick.md}"
fi
: "${OUTPUT:=bench/results/pg_queries.md}"
[[ $DURATION =~ ^[0-9]+$ && $DURATION -ge 1 ]] || { echo "--duration: whole seconds >= 1" >&2; exit 2; }
[[ $WARMUP =~ ^[0-9]+$ ]] || { echo "--warmup: whole seconds" >&2; exit 2; }

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

PGBIN="${ENRICH_PG_BIN:-/usr/lib/postgresql/15/bin}"
PGBENCH="$PGBIN/pgbench"
[[ -x $PGBENCH ]] || PGBENCH="$(command -v pgbench || true)"
[[ -n $PGBENCH ]] || die "pgbench not found (postgresql-15 client)"
PSQL="$PGBIN/psql"
[[ -x $PSQL ]] || PSQL=psql
TICK="$(getconf CLK_TCK)"
WORK="$(mktemp -d /tmp/enrich-bench-pg-queries.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# ---- server, data, build -------------------------------------------------------------------

# Started if needed, never stopped: the server may be shared with other work.
"$ROOT/scripts/pg" start
eval "$("$ROOT/scripts/pg" env)" # DATABASE_URL
DSN="$DATABASE_URL"

DATABASE_URL="$DSN" "$ROOT/scripts/seed" --users "$USERS" --activity "$ACTIVITY"

BENCH_BIN="$ROOT/$BUILD_DIR/bench/enrich_bench_pg_queries"
if ((BUILD)); then
  log "building $BUILD_DIR (target enrich_bench_pg_queries)"
  if [[ $BUILD_DIR == build && ! -f build/CMakeCache.txt ]]; then
    "$ROOT/scripts/build"
  elif [[ $BUILD_DIR == build ]]; then
    cmake --build build --target enrich_bench_pg_queries >/dev/null # the shared build: keep its cache
  else
    cmake -G Ninja -S . -B "$BUILD_DIR" -DENRICH_BUILD_TESTS=OFF >/dev/null
    cmake --build "$BUILD_DIR" --target enrich_bench_pg_queries >/dev/null
  fi
fi
[[ -x $BENCH_BIN ]] || die "$BENCH_BIN not built"
BUILD_TYPE="$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$ROOT/$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)"

# ---- pgbench scripts -------------------------------------------------------------------------

cat >"$WORK/plain.sql" <<EOF
\\set id random(1, $USERS)
SELECT * FROM users WHERE id = :id;
SELECT * FROM user_preferences WHERE user_id = :id;
SELECT * FROM activity_log WHERE user_id = :id ORDER BY created_at DESC LIMIT 10;
EOF
cat >"$WORK/pipelined.sql" <<EOF
\\set id random(1, $USERS)
\\startpipeline
SELECT * FROM users WHERE id = :id;
SELECT * FROM user_preferences WHERE user_id = :id;
SELECT * FROM activity_log WHERE user_id = :id ORDER BY created_at DESC LIMIT 10;
\\endpipeline
EOF

# ---- measurement helpers ---------------------------------------------------------------------

# Our own backends are found by application name (the server is shared: other people's sessions
# and the server's background processes are not counted as server CPU).
PGBENCH_APP=enrich_bench_pgbench
ENRICH_APP=enrich_bench_pg_queries
case "$DSN" in
  postgres://* | postgresql://*) [[ $DSN == *\?* ]] && ENRICH_DSN="$DSN&" || ENRICH_DSN="$DSN?"
    ENRICH_DSN+="application_name=$ENRICH_APP" ;;
  *) ENRICH_DSN="$DSN application_name=$ENRICH_APP" ;;
esac

now() { date +%s.%N; }
sleep_until() { # epoch seconds (fractional)
  local s
  s="$(awk -v t="$1" -v n="$(now)" 'BEGIN { d = t - n; if (d < 0) d = 0; printf "%.3f", d }')"
  sleep "$s"
}
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
backend_pids() { # application_name
  "$PSQL" "$DSN" -X -At -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'" 2>/dev/null | tr '\n' ' ' || true
}
# utime+stime summed over the given pids into PIDS_TICKS (no subshell: a pid that is gone sets
# W_LOST).
pids_ticks() {
  local files=() p sum count
  for p in $1; do files+=("/proc/$p/stat"); done
  PIDS_TICKS=0
  ((${#files[@]})) || return 0
  read -r sum count < <({ cat "${files[@]}" 2>/dev/null || true; } | awk '{ s += $14 + $15; n++ } END { print s + 0, n + 0 }')
  PIDS_TICKS=$sum
  ((count == ${#files[@]})) || W_LOST=1
}
# Busy ticks of the whole machine (all cores), from /proc/stat.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }

# Waits until the machine is idle (other people's builds and tests distort the numbers): busy
# below 0.15 cores over 2 s, for at most QUIET_TIMEOUT seconds.
wait_quiet() {
  local deadline=$((SECONDS + QUIET_TIMEOUT)) m0 m1 busy warned=0
  while :; do
    m0="$(machine_ticks)"; sleep 2; m1="$(machine_ticks)"
    busy="$(awk -v a="$m0" -v b="$m1" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t / 2 }')"
    awk -v b="$busy" 'BEGIN { exit !(b < 0.15) }' && return 0
    if ((SECONDS >= deadline)); then
      log "machine still busy ($busy cores); running anyway (see the 'other CPU' column)"
      return 0
    fi
    ((warned)) || log "machine busy ($busy cores used by other work); waiting up to ${QUIET_TIMEOUT} s for quiet"
    warned=1
  done
}

# Samples at launch+WARMUP and launch+WARMUP+DURATION; sets W_* globals:
# W_C* client ticks, W_S* ticks of our backends, W_M* machine busy ticks.
measure_window() { # client_pid launch_epoch application_name
  local pid="$1" launch="$2" pids
  W_LOST=0
  sleep_until "$(awk -v l="$launch" -v w="$WARMUP" 'BEGIN { printf "%.6f", l + w - 0.2 }')"
  pids="$(backend_pids "$3")"
  sleep_until "$(awk -v l="$launch" -v w="$WARMUP" 'BEGIN { printf "%.6f", l + w }')"
  W_START="$(now)"; W_C0="$(proc_ticks "$pid")"; pids_ticks "$pids"; W_S0=$PIDS_TICKS; W_M0="$(machine_ticks)"
  sleep_until "$(awk -v l="$launch" -v w="$WARMUP" -v d="$DURATION" 'BEGIN { printf "%.6f", l + w + d }')"
  W_END="$(now)"; W_C1="$(proc_ticks "$pid")"; pids_ticks "$pids"; W_S1=$PIDS_TICKS; W_M1="$(machine_ticks)"
  W_BACKENDS="$(wc -w <<<"$pids")"
}

declare -A RESULTS  # "label|connections" -> newline-separated result rows, one per round
ORDER=()            # keys in first-run order
ROUND=0
RAW=()       # per-run raw lines for the results file
CMDS=()      # exact commands (first round)
DISCARDED=() # runs with errors that were repeated
REF_EPS="" REF_CPU=""
ANY_ERRORS=0
# Set by run_pgbench / run_enrich:
LAST_ROW=""  # label|connections|eps|client_cpu_us|server_cpu_us|other_cores|p50_ms|p99_ms|avg_ms|errors
LAST_OK=1
LAST_PROBLEM=""

add_row() {
  local key="${1%%|*}|$(cut -d'|' -f2 <<<"$1")"
  [[ -v "RESULTS[$key]" ]] || ORDER+=("$key")
  RESULTS[$key]+="${1#*|*|}"$'\n'
}

# Runs a variant; a run with errors (e.g. someone restarted the shared server) is reported and
# repeated once. A second failure is kept in the table and makes the script fail.
variant() { # run_pgbench|run_enrich args...
  local attempt
  for attempt in 1 2; do
    wait_quiet
    "$@"
    if ((LAST_OK)); then
      add_row "$LAST_ROW"
      return 0
    fi
    DISCARDED+=("round $ROUND, ${LAST_ROW%%|*}, ${3} connections, attempt $attempt: $LAST_PROBLEM")
    ((attempt == 1)) && log "!!! repeating this run once"
  done
  add_row "$LAST_ROW"
  ANY_ERRORS=1
}

fmt() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "" || v == "-") print "-"; else printf f, v }'; }

run_pgbench() { # label clients script
  local label="$1" clients="$2" script="$3"
  local dir
  dir="$(mktemp -d "$WORK/round$ROUND-pgbench-$clients-$(basename "$script" .sql)-XXXX")"
  local T=$((WARMUP + DURATION + 1))
  local cmd=("$PGBENCH" -n -M prepared -c "$clients" -j 2 -T "$T" -l --log-prefix="$dir/tx" -f "$script" "$DSN")
  if ((ROUND == 1)); then CMDS+=("PGAPPNAME=$PGBENCH_APP ${cmd[*]//$WORK/\$WORK}"); fi
  log "$label, $clients clients: ${cmd[*]}"
  local launch pid rc=0
  launch="$(now)"
  PGAPPNAME=$PGBENCH_APP "${cmd[@]}" >"$dir/out" 2>&1 &
  pid=$!
  measure_window "$pid" "$launch" "$PGBENCH_APP"
  wait "$pid" || rc=$?
  local failed
  failed="$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$dir/out")"
  [[ -n $failed ]] || failed="?"
  LAST_OK=1
  LAST_PROBLEM=""
  if ((rc != 0)) || [[ $failed != 0 ]] || ((W_LOST)) || ((W_BACKENDS != clients)); then
    LAST_OK=0
    LAST_PROBLEM="pgbench exit $rc, failed transactions $failed, $W_BACKENDS backends found for $clients clients$( ((W_LOST)) && echo ', a backend exited during the window')"
    log "!!! $label: $LAST_PROBLEM"
    tail -n 20 "$dir/out" >&2
    [[ $failed =~ ^[0-9]+$ && $failed != 0 ]] || failed="exit $rc"
  fi
  # Transactions that completed inside the window: count and latencies (µs).
  cat "$dir"/tx.* 2>/dev/null | awk -v s="$W_START" -v e="$W_END" '{ t = $5 + $6 / 1e6; if (t >= s && t < e) print $3 }' |
    sort -n >"$dir/lat" || true
  local n stats eps ccpu scpu other p50 p99 avg
  n="$(wc -l <"$dir/lat")"
  stats="$(awk -v n="$n" -v w0="$W_START" -v w1="$W_END" -v c0="$W_C0" -v c1="$W_C1" -v s0="$W_S0" -v s1="$W_S1" \
    -v m0="$W_M0" -v m1="$W_M1" -v tick="$TICK" '
    { a[NR] = $1; sum += $1 }
    END {
      win = w1 - w0
      if (n == 0) { print "0 - - - - - -"; exit }
      p50 = a[int(0.50 * (n - 1) + 1.5)]; p99 = a[int(0.99 * (n - 1) + 1.5)]
      c = (c1 - c0) / tick; s = (s1 - s0) / tick; m = (m1 - m0) / tick
      printf "%.1f %.2f %.2f %.2f %.3f %.3f %.3f\n", n / win, c * 1e6 / n, s * 1e6 / n,
        (m - c - s) / win, p50 / 1000, p99 / 1000, sum / n / 1000
    }' "$dir/lat")"
  read -r eps ccpu scpu other p50 p99 avg <<<"$stats"
  RAW+=("round $ROUND, $label, -c $clients: window $(awk -v a="$W_START" -v b="$W_END" 'BEGIN{printf "%.2f", b-a}') s, $n transactions, $eps/s, client CPU $ccpu us, server CPU $scpu us ($W_BACKENDS backends), other $other cores; pgbench summary (whole run, incl. ramp-up): $({ grep -E '^(tps|latency average|number of transactions actually)' "$dir/out" || true; } | tr '\n' ';' | sed 's/;$//')")
  LAST_ROW="$label|$clients|$eps|$ccpu|$scpu|$other|$p50|$p99|$avg|$failed"
  log "$label, $clients clients: $eps enrichments/s, client CPU $ccpu us, server CPU $scpu us per enrichment, p50 $p50 ms, p99 $p99 ms, other $other cores"
}

json_num() { sed -n "s/.*\"$1\":\\([-0-9.]*\\).*/\\1/p" <<<"$2"; }

run_enrich() { # label connections
  local label="$1" conns="$2"
  local dir
  dir="$(mktemp -d "$WORK/round$ROUND-enrich-$conns-XXXX")"
  local cmd=("$BENCH_BIN" --dsn "$ENRICH_DSN" --concurrency "$CONCURRENCY" --connections "$conns" --io-threads 1
    --warmup "$WARMUP" --duration "$DURATION" --users "$USERS")
  if ((ROUND == 1)); then CMDS+=("${cmd[*]}"); fi
  log "$label, $conns connections: ${cmd[*]}"
  local launch pid rc=0
  launch="$(now)"
  "${cmd[@]}" >"$dir/out" 2>"$dir/err" &
  pid=$!
  measure_window "$pid" "$launch" "$ENRICH_APP"
  wait "$pid" || rc=$?
  local json
  json="$(grep '^{' "$dir/out" || true)"
  LAST_OK=1
  LAST_PROBLEM=""
  if [[ -z $json ]]; then
    LAST_OK=0
    LAST_PROBLEM="no result (exit $rc): $(tail -n 3 "$dir/out" "$dir/err" | tr '\n' ' ')"
    log "!!! $label: $LAST_PROBLEM"
    cat "$dir/out" "$dir/err" >&2
    LAST_ROW="$label|$conns|-|-|-|-|-|-|-|exit $rc"
    return
  fi
  local errors warnings n eps ccpu
  errors="$(json_num errors "$json")"
  warnings="$(json_num log_warnings "$json")"
  n="$(json_num enrichments "$json")"
  eps="$(json_num enrichments_per_s "$json")"
  ccpu="$(json_num client_cpu_us_per_enrichment "$json")"
  if ((rc != 0)) || [[ $errors != 0 || $warnings != 0 ]] || ((W_LOST)) || ((W_BACKENDS != conns)); then
    LAST_OK=0
    LAST_PROBLEM="exit $rc, $errors errors, $warnings log warnings, $W_BACKENDS backends found for $conns connections$( ((W_LOST)) && echo ', a backend exited during the window'): $(grep -E '^ +[0-9]+ x ' "$dir/err" | head -n 3 | tr '\n' ' ')"
    log "!!! $label: $LAST_PROBLEM"
    cat "$dir/err" >&2
  fi
  local p50 p99 stats scpu other
  p50="$(awk -v v="$(sed -n 's/.*"p50":\([0-9.]*\).*/\1/p' <<<"$json")" 'BEGIN { printf "%.3f", v / 1000 }')"
  p99="$(awk -v v="$(sed -n 's/.*"p99":\([0-9.]*\).*/\1/p' <<<"$json")" 'BEGIN { printf "%.3f", v / 1000 }')"
  # Server and machine CPU over this script's window, which matches the bench's own window to
  # within ~50 ms (the bench starts its clock after connecting); scaled by the window lengths.
  stats="$(awk -v n="$n" -v w0="$W_START" -v w1="$W_END" -v s0="$W_S0" -v s1="$W_S1" -v m0="$W_M0" \
    -v m1="$W_M1" -v c0="$W_C0" -v c1="$W_C1" -v tick="$TICK" -v win_bench="$(json_num window_s "$json")" '
    BEGIN {
      win = w1 - w0; s = (s1 - s0) / tick; m = (m1 - m0) / tick; c = (c1 - c0) / tick
      n_here = n * win / win_bench
      printf "%.2f %.2f\n", (n_here > 0 ? s * 1e6 / n_here : 0), (m - c - s) / win
    }')"
  read -r scpu other <<<"$stats"
  RAW+=("round $ROUND, $label, $conns connections: server CPU $scpu us ($W_BACKENDS backends), other $other cores; $json")
  LAST_ROW="$label|$conns|$eps|$ccpu|$scpu|$other|$p50|$p99|-|$errors"
  log "$label, $conns connections: $eps enrichments/s, client CPU $ccpu us, server CPU $scpu us per enrichment, p50 $p50 ms, p99 $p99 ms, other $other cores, errors $errors"
}

# ---- warm-up ---------------------------------------------------------------------------------

log "warming up: pg_prewarm of the three tables and their indexes"
"$PSQL" "$DSN" -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_prewarm;
SELECT pg_prewarm(c.oid::regclass)
FROM pg_class c
WHERE c.relname IN ('users', 'user_preferences', 'activity_log', 'users_pkey',
                    'user_preferences_pkey', 'activity_log_pkey', 'activity_log_user_created_idx');
SQL
log "warming up: pgbench plain -c 16 for $GLOBAL_WARMUP s (not measured)"
"$PGBENCH" -n -M prepared -c 16 -j 2 -T "$GLOBAL_WARMUP" -f "$WORK/plain.sql" "$DSN" >"$WORK/warmup.out" 2>&1 ||
  { cat "$WORK/warmup.out" >&2; die "warm-up pgbench failed"; }

# ---- variants --------------------------------------------------------------------------------

for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
  log "round $ROUND of $ROUNDS"
  variant run_pgbench "pgbench plain" "$CONCURRENCY" "$WORK/plain.sql"
  variant run_pgbench "pgbench pipelined" "$CONCURRENCY" "$WORK/pipelined.sql"
  if ((!QUICK)); then
    variant run_pgbench "pgbench plain" 10 "$WORK/plain.sql"
    variant run_pgbench "pgbench pipelined" 10 "$WORK/pipelined.sql"
  fi
  for c in $ENRICH_CONNECTIONS; do
    variant run_enrich "enrich ($CONCURRENCY callers)" "$c"
  done
done

# ---- report ----------------------------------------------------------------------------------

# Per variant, the round with the median throughput (all its columns), the range over the rounds
# and the errors summed over the rounds.
ROWS=()
for key in "${ORDER[@]}"; do
  rows="$(printf '%s' "${RESULTS[$key]}" | sed '/^$/d')"
  n="$(wc -l <<<"$rows")"
  median="$(sort -t'|' -k1,1g <<<"$rows" | sed -n "$(((n + 1) / 2))p")"
  range="$(awk -F'|' 'NR == 1 { lo = hi = $1 } { if ($1 < lo) lo = $1; if ($1 > hi) hi = $1 }
    END { if (NR > 1) printf "%.0f–%.0f", lo, hi; else print "-" }' <<<"$rows")"
  errors="$(awk -F'|' '{ if ($8 ~ /^[0-9]+$/) s += $8; else bad = bad " " $8 } END { print s + 0 bad }' <<<"$rows")"
  IFS='|' read -r eps ccpu scpu other p50 p99 avg _ <<<"$median"
  ROWS+=("$key|$eps|$range|$ccpu|$scpu|$other|$p50|$p99|$avg|$errors")
done

# Reference: pgbench pipelined with $CONCURRENCY clients.
for r in "${ROWS[@]}"; do
  IFS='|' read -r label conns eps _ ccpu _ <<<"$r"
  if [[ $label == "pgbench pipelined" && $conns == "$CONCURRENCY" ]]; then REF_EPS="$eps"; REF_CPU="$ccpu"; fi
done

table() {
  echo "| variant | connections | enrichments/s | range over rounds | client CPU µs/enrichment | server CPU µs/enrichment | CPU-bound ceiling /s | other CPU (cores) | p50 ms | p99 ms | avg ms | errors | throughput vs pgbench pipelined | client CPU vs pgbench pipelined |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for r in "${ROWS[@]}"; do
    IFS='|' read -r label conns eps range ccpu scpu other p50 p99 avg errors <<<"$r"
    local rt rc ceiling
    rt="$(awk -v a="$eps" -v b="$REF_EPS" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else print "-" }')"
    rc="$(awk -v a="$ccpu" -v b="$REF_CPU" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2fx", a / b; else print "-" }')"
    ceiling="$(awk -v a="$ccpu" -v b="$scpu" -v n="$(nproc)" 'BEGIN { if (a + b > 0) printf "%.0f", n * 1e6 / (a + b); else print "-" }')"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$conns" \
      "$(fmt "$eps" '%.0f')" "$range" "$(fmt "$ccpu" '%.1f')" "$(fmt "$scpu" '%.1f')" "$ceiling" "$(fmt "$other" '%.2f')" \
      "$p50" "$p99" "$avg" "$errors" "$rt" "$rc"
  done
}

TABLE="$(table)"
echo
echo "$TABLE"
echo

mkdir -p "$(dirname "$OUTPUT")"
{
  echo "# pg_queries: the article's enrichment (3 queries per random user), pgbench vs enrich"
  echo
  echo "Generated by \`bench/pg_queries.sh$( ((QUICK)) && echo ' --quick')\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo "Each variant: ${WARMUP} s warm-up (not counted) + ${DURATION} s measured window, fresh connections, run alone;"
  echo "$ROUNDS round(s), interleaved; each row is the variant's median round (by throughput), with the range over the rounds."
  echo "Enrichments = pgbench transactions (3 statements each). Latency is per enrichment."
  echo "Client CPU = user+sys of the benchmark process over the window (pgbench: /proc, includes its -l per-transaction logging;"
  echo "enrich: getrusage of the whole process). Server CPU = the benchmark's own backends (by application_name) over the same window."
  echo "CPU-bound ceiling = nproc / (client + server CPU per enrichment): the rate if both were CPU-bound on this machine"
  echo "alone (ignores softirq and scheduler time not charged to either; more robust than the measured rate when the machine is shared)."
  echo "Other CPU = busy cores not accounted to either (noise from other work on the machine; the Linux scheduler shares CPU per"
  echo "thread, so under outside load variants with many backends (64) get a larger share than those with few)."
  echo
  echo "$TABLE"
  echo
  echo "## Environment"
  echo
  echo "- nproc: $(nproc); CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1); kernel $(uname -r)"
  echo "- server: $("$PSQL" "$DSN" -X -At -c 'SELECT version()'), shared_buffers $("$PSQL" "$DSN" -X -At -c 'SHOW shared_buffers'), config from scripts/pg"
  echo "- pgbench: $("$PGBENCH" --version)"
  echo "- compiler: $(c++ --version | head -n1); build: $BUILD_DIR ($BUILD_TYPE)"
  echo "- enrich: git $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "- data: $("$PSQL" "$DSN" -X -At -c "SELECT obj_description('users'::regclass, 'pg_class')") (scripts/seed), database $("$PSQL" "$DSN" -X -At -c 'SELECT pg_size_pretty(pg_database_size(current_database()))')"
  echo
  echo "## Commands"
  echo
  echo '```'
  echo "scripts/seed --users $USERS --activity $ACTIVITY"
  echo "# warm-up: pg_prewarm on the 3 tables + 4 indexes; then pgbench -n -M prepared -c 16 -j 2 -T $GLOBAL_WARMUP -f plain.sql"
  printf '%s\n' "${CMDS[@]}"
  echo '```'
  echo
  echo "plain.sql:"
  echo '```'
  cat "$WORK/plain.sql"
  echo '```'
  echo "pipelined.sql:"
  echo '```'
  cat "$WORK/pipelined.sql"
  echo '```'
  echo
  echo "## Runs with errors (repeated once)"
  echo
  if ((${#DISCARDED[@]})); then printf -- '- %s\n' "${DISCARDED[@]}"; else echo "none"; fi
  echo
  echo "## Raw"
  echo
  echo '```'
  printf '%s\n' "${RAW[@]}"
  echo '```'
} >"$OUTPUT"
log "saved $OUTPUT"
if ((${#DISCARDED[@]})); then
  log "!!! runs with errors (each repeated once):"
  printf '  %s\n' "${DISCARDED[@]}" >&2
fi

if ((ANY_ERRORS)); then
  log "!!! some variant reported errors; see above"
  exit 1
fi
