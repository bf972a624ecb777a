#!/usr/bin/env bash
# The shared library exports exactly the C API listed in capi/exported_symbols.txt and, besides
# it, only the documented C++ API (namespace enrich). An accidental export or a removal fails.
#   check_exports.sh path/to/libenrich.so path/to/exported_symbols.txt
set -euo pipefail
lib=$1
expected=$2
actual_c=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^_Z' | sort)
if ! diff <(grep -v '^#' "$expected" | sort) <(echo "$actual_c"); then
  echo "FAIL: exported C symbols differ from $expected (< expected, > actual)" >&2
  exit 1
fi
stray=$(nm -DC --defined-only "$lib" | grep -v ' enrich_' | cut -d' ' -f3- |
  grep -vE '^(enrich::|typeinfo for enrich::|typeinfo name for enrich::|vtable for enrich::)' || true)
if [[ -n $stray ]]; then
  echo "FAIL: symbols outside namespace enrich are exported:" >&2
  echo "$stray" | head -20 >&2
  exit 1
fi
# Every exported C symbol is declared in the public header.
header=$(dirname "$expected")/enrich.h
for sym in $actual_c; do
  grep -qE "\\b$sym\\(" "$header" || { echo "FAIL: $sym is exported but not declared in enrich.h" >&2; exit 1; }
done
echo "exports ok: $(echo "$actual_c" | wc -l) C symbols, C++ API in namespace enrich only"
