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

# --- Python ------------------------------------------------------------------
# Activate the project's venv (scripts/setup makes it; scripts/build installs enrich into it).
if [ -f "$ENRICH_ROOT/.venv/bin/activate" ] && [ "${VIRTUAL_ENV:-}" != "$ENRICH_ROOT/.venv" ]; then
  . "$ENRICH_ROOT/.venv/bin/activate"
fi

# --- Node ---------------------------------------------------------------------
# `require('enrich')` from anywhere (examples/fastify/app.js): build/node/node_modules/enrich is a
# link to bindings/node (made by the CMake build), which loads build/node/enrich.node.
case ":${NODE_PATH:-}:" in
  *":$ENRICH_ROOT/build/node/node_modules:"*) ;;
  *) NODE_PATH="$ENRICH_ROOT/build/node/node_modules${NODE_PATH:+:$NODE_PATH}" ;;
esac
export NODE_PATH
