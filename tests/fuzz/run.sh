#!/usr/bin/env bash
# Builds the libFuzzer targets with clang++ (ASan + UBSan) into build-fuzz/ and runs each one for
# a bounded time. Exits non-zero if a fuzzer finds a crash, a leak, UB or a broken invariant
# (the reproducer is left in build-fuzz/artifacts/).
#   tests/fuzz/run.sh [seconds per fuzzer, default 20]
# Environment: ENRICH_FUZZ_BUILD_DIR (default <repo>/build-fuzz), ENRICH_FUZZ_JOBS (ninja -j).
#
# The library is built by the project's own CMake (tests, examples and benchmarks off) with
# -fsanitize=fuzzer-no-link,address,undefined; each fuzzer is then linked with -fsanitize=fuzzer.
# Seeds come from tests/fuzz/corpus/<name>/ (read only); what the fuzzer finds on top goes to
# build-fuzz/corpus/<name>/ and is reused by the next run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SECONDS_EACH="${1:-20}"
BUILD="${ENRICH_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
FUZZ_DIR="$ROOT/tests/fuzz"

if ! [[ $SECONDS_EACH =~ ^[0-9]+$ ]] || ((SECONDS_EACH < 1)); then
  echo "usage: $(basename "$0") [seconds per fuzzer]" >&2
  exit 2
fi
CXX="$(command -v clang++ || true)"
CC="$(command -v clang || true)"
if [[ -z $CXX || -z $CC ]]; then
  echo "[fuzz] clang/clang++ not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi

SANITIZE="address,undefined"
COMPILE_FLAGS="-fsanitize=fuzzer-no-link,$SANITIZE -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

echo "[fuzz] building the library with $CXX into $BUILD/lib"
cmake -G Ninja -S "$ROOT" -B "$BUILD/lib" \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DCMAKE_C_FLAGS_DEBUG="-O1 -g" \
  -DCMAKE_CXX_FLAGS="$COMPILE_FLAGS" -DCMAKE_C_FLAGS="$COMPILE_FLAGS" \
  -DENRICH_BUILD_TESTS=OFF -DENRICH_BUILD_EXAMPLES=OFF -DENRICH_BUILD_BENCH=OFF >/dev/null
ninja -C "$BUILD/lib" ${ENRICH_FUZZ_JOBS:+-j "$ENRICH_FUZZ_JOBS"} enrich_static

# shellcheck disable=SC2207 # pkg-config prints a word list
LIBS=($(pkg-config --libs libpq libcurl fmt))
build_fuzzer() { # name [extra compiler args...]
  local name="$1"
  shift
  echo "[fuzz] linking $BUILD/$name"
  "$CXX" -std=c++20 -O1 -g -fsanitize=fuzzer,$SANITIZE -fno-sanitize-recover=undefined \
    -fno-omit-frame-pointer -Wall -Wextra -Werror \
    -I"$ROOT/include" -I"$BUILD/lib/include" -I"$ROOT/lib" -I"$ROOT/capi" "$@" \
    "$FUZZ_DIR/$name.cpp" "$BUILD/lib/lib/libenrich.a" "${LIBS[@]}" -pthread -o "$BUILD/$name"
}
build_fuzzer plan_loader_fuzz
build_fuzzer inputs_fuzz -DENRICH_REFERENCE_PLAN="\"$ROOT/examples/plans/user_enriched.json\""
build_fuzzer jsonb_js_fuzz

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
FAILED=()
run_fuzzer() { # name corpus-name
  local name="$1" corpus="$2" log="$BUILD/$1.log"
  mkdir -p "$BUILD/corpus/$corpus" "$BUILD/artifacts"
  echo "[fuzz] running $name for ${SECONDS_EACH}s (log: $log)"
  if "$BUILD/$name" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
    -max_len=8192 -print_final_stats=1 -dict="$FUZZ_DIR/plan.dict" \
    -artifact_prefix="$BUILD/artifacts/$name-" \
    "$BUILD/corpus/$corpus" "$FUZZ_DIR/corpus/$corpus" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^Done' "$log" | sed "s/^/[fuzz] $name: /" || true
  else
    echo "[fuzz] $name FAILED; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    FAILED+=("$name")
  fi
}
run_fuzzer plan_loader_fuzz plan_loader
run_fuzzer inputs_fuzz inputs
run_fuzzer jsonb_js_fuzz jsonb_js

if ((${#FAILED[@]})); then
  echo "[fuzz] FAIL: ${FAILED[*]} (reproducers in $BUILD/artifacts/)" >&2
  exit 1
fi
echo "[fuzz] ok: no crash in ${SECONDS_EACH}s per fuzzer"
