# Source me (bash):  . scripts/env.sh
# Puts build outputs on PATH and exports the test/demo DSNs of the scripts/pg cluster.
# No `set -euo pipefail` here on purpose: it would leak into the caller's shell.

# Repo root from this file's location, so sourcing works from any cwd.
ENRICH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ENRICH_ROOT

# Build output dirs holding executables (missing ones are harmless). Prepended
# only once, so sourcing repeatedly does not grow PATH.
for _enrich_dir in "$ENRICH_ROOT/build/bin" "$ENRICH_ROOT/build/bench" \
  "$ENRICH_ROOT/build/examples/cpp" "$ENRICH_ROOT/build/examples/stub"; do
  case ":$PATH:" in
    *":$_enrich_dir:"*) ;;
    *) PATH="$_enrich_dir:$PATH" ;;
  esac
done
unset _enrich_dir
export PATH

# ENRICH_PG_PORT, ENRICH_TEST_DSN, DATABASE_URL, ENRICH_TEST_PG_RESTART
# (does not start the server; use scripts/pg start).
eval "$("$ENRICH_ROOT/scripts/pg" env)"

# --- Python (later) ----------------------------------------------------------
# Activate the venv made by scripts/setup and expose the built extension, e.g.:
#   [ -f "$ENRICH_ROOT/.venv/bin/activate" ] && . "$ENRICH_ROOT/.venv/bin/activate"
#   export PYTHONPATH="$ENRICH_ROOT/build/python${PYTHONPATH:+:$PYTHONPATH}"

# --- Node (later) ------------------------------------------------------------
# Expose the built addon, e.g.:
#   export NODE_PATH="$ENRICH_ROOT/build/node${NODE_PATH:+:$NODE_PATH}"
