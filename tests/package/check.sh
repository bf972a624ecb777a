#!/usr/bin/env bash
# Installs every artifact of dist/ (scripts/package) into fresh projects in a scratch directory
# outside the repository (mktemp -d under /tmp) and uses each against the fixture database:
#   python   a new venv, `pip install --no-index <wheel>` (no compiler, no -dev package needed:
#            libpq and libcurl come from the wheel, checked in /proc/self/maps), a query and the
#            reference plan; the sdist's and the wheel's contents and versions
#   node     new npm projects with fastify from npm: `npm install <tgz>` (the prebuilt addon loads,
#            nothing is compiled), `npm install --ignore-scripts <tgz>`, and the tarball without
#            its prebuilt addon (the install script builds from the sources it carries); a Fastify
#            app serving the reference plan, a query; tsc --noEmit on a TypeScript use of it
#   cmake    the C/C++ install tree unpacked, a CMake project using find_package(enrich)
#   pkg-c    a C program built with `pkg-config --cflags --libs enrich`
#
#   tests/package/check.sh [DIST_DIR]      (default: <repo>/dist)
# Needs ENRICH_FIXTURE_DSN (scripts/test sets it); fails, never skips, when anything is missing.
# The build from source (node, ~2 minutes on 2 cores) runs once per tarball: a pass is remembered
# in build/package/ by the tarball's and this directory's checksums (ENRICH_PACKAGE_RECHECK=1
# runs it anyway).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DIST="$(cd "${1:-$ROOT/dist}" && pwd)"

FAILED=0
RESULTS=()
step() { # name command...: runs the command, records PASS/FAIL with its time
  local name="$1" start=$SECONDS
  shift
  printf '\n---- package check: %s ----\n' "$name"
  if "$@"; then
    RESULTS+=("$(printf 'PASS %-34s [%ss]' "$name" "$((SECONDS - start))")")
  else
    RESULTS+=("$(printf 'FAIL %-34s [%ss]' "$name" "$((SECONDS - start))")")
    FAILED=1
  fi
}

if [[ -z ${ENRICH_FIXTURE_DSN:-} ]]; then
  echo "[package check] ENRICH_FIXTURE_DSN is not set (scripts/test sets it)" >&2
  exit 1
fi
VERSION="$(awk '/^#define ENRICH_VERSION_(MAJOR|MINOR|PATCH) [0-9]+$/ {v[$2] = $3}
  END {print v["ENRICH_VERSION_MAJOR"] "." v["ENRICH_VERSION_MINOR"] "." v["ENRICH_VERSION_PATCH"]}' "$ROOT/capi/enrich.h")"
SDIST="$DIST/enrich-$VERSION.tar.gz"
WHEEL="$(compgen -G "$DIST/enrich-$VERSION-cp*-manylinux_*_x86_64.whl" | head -n1)"
TGZ="$DIST/enrich-$VERSION.tgz"
TREE_TGZ="$DIST/enrich-$VERSION-linux-x86_64.tar.gz"
for f in "$SDIST" "$WHEEL" "$TGZ" "$TREE_TGZ"; do
  [[ -n $f && -f $f ]] || { echo "[package check] missing artifact ${f:-<wheel>} in $DIST (scripts/package)" >&2; exit 1; }
done

# The venv's interpreter is the one the wheel was built for (cp311 here).
BASE_PYTHON="$("$ROOT/.venv/bin/python" -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')"
SCRATCH="$(mktemp -d /tmp/enrich-package-check.XXXXXX)"
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$SCRATCH/plans"
cp "$ROOT"/examples/plans/*.json "$SCRATCH/plans/"
# Nothing of the repository's environment (scripts/env.sh) may leak into the fresh projects.
unset NODE_PATH PYTHONPATH VIRTUAL_ENV LD_LIBRARY_PATH ENRICH_NODE_ADDON PKG_CONFIG_PATH
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
# What the fresh npm projects install from npm besides the tarball (bindings/node's pins).
FASTIFY="fastify@$(node -p 'require(process.argv[1]).devDependencies.fastify' "$ROOT/bindings/node/package.json")"
TYPESCRIPT="typescript@$(node -p 'require(process.argv[1]).devDependencies.typescript' "$ROOT/bindings/node/package.json")"
TYPES_NODE="@types/node@$(node -p 'require(process.argv[1]).devDependencies["@types/node"]' "$ROOT/bindings/node/package.json")"

# The wheel's file list, or one file of it (Python's zipfile: no unzip needed).
wheel_file() { # [name]
  "$BASE_PYTHON" - "$WHEEL" "$@" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    if len(sys.argv) > 2:
        sys.stdout.write(z.read(sys.argv[2]).decode())
    else:
        print("\n".join(z.namelist()))
PY
}

# --- one version ---------------------------------------------------------------------------------
check_versions() {
  local ok=0 v
  v="$(node -p 'require(process.argv[1]).version' "$ROOT/bindings/node/package.json")"
  [[ $v == "$VERSION" ]] || { echo "bindings/node/package.json: $v, capi/enrich.h: $VERSION"; ok=1; }
  v="$(tar -xzOf "$SDIST" "enrich-$VERSION/PKG-INFO" | sed -n 's/^Version: //p')"
  [[ $v == "$VERSION" ]] || { echo "sdist PKG-INFO: $v"; ok=1; }
  v="$(wheel_file "enrich-$VERSION.dist-info/METADATA" | sed -n 's/^Version: //p')"
  [[ $v == "$VERSION" ]] || { echo "wheel METADATA: $v"; ok=1; }
  v="$(tar -xzOf "$TGZ" package/package.json | node -p 'JSON.parse(require("fs").readFileSync(0)).version')"
  [[ $v == "$VERSION" ]] || { echo "npm tarball package.json: $v"; ok=1; }
  ((ok == 0)) && echo "version $VERSION: capi/enrich.h, package.json, sdist, wheel, npm tarball"
  return $ok
}

# --- Python --------------------------------------------------------------------------------------
check_sdist() {
  local list missing=0 f
  list="$(tar -tzf "$SDIST")"
  for f in pyproject.toml CMakeLists.txt cmake/version_config.hpp.in cmake/enrich.pc.in capi/enrich.h \
    include/enrich/enrich.hpp lib/CMakeLists.txt bindings/python/CMakeLists.txt \
    bindings/python/src/enrich/__init__.py bindings/python/src/enrich/py.typed \
    bindings/python/src/enrich/_native.pyi; do
    grep -qx "enrich-$VERSION/$f" <<<"$list" || { echo "sdist lacks $f"; missing=1; }
  done
  if grep -E "^enrich-$VERSION/(tests|examples|bench|bindings/node|build)/" <<<"$list" | head -n3 | grep .; then
    echo "sdist holds the files above, which it should not"
    missing=1
  fi
  ((missing == 0)) && echo "sdist: $(wc -l <<<"$list") entries, the core and bindings/python included"
  return $missing
}

check_wheel() {
  local venv="$SCRATCH/py" native
  local list
  list="$(wheel_file)"
  grep -qx 'enrich/py.typed' <<<"$list" && grep -qx 'enrich/_native.pyi' <<<"$list" ||
    { echo "the wheel lacks py.typed or _native.pyi"; return 1; }
  echo "wheel: $(grep -c '^enrich.libs/' <<<"$list") libraries in enrich.libs/, py.typed and _native.pyi"
  local show
  show="$("$ROOT/.venv/bin/python" -m auditwheel show "$WHEEL")" || return 1
  grep -A1 'consistent with' <<<"$show" | tr '\n' ' ' | sed 's/  */ /g'
  echo
  grep -q 'platform tag: "manylinux_' <<<"$show" || { echo "auditwheel: no manylinux tag"; return 1; }
  "$BASE_PYTHON" -m venv "$venv" || return 1
  # --no-index: from the wheel alone, nothing from PyPI, nothing compiled.
  "$venv/bin/python" -m pip install -q --no-index --no-deps --disable-pip-version-check "$WHEEL" || return 1
  native="$(compgen -G "$venv/lib/python3*/site-packages/enrich/_native*.so")"
  echo "readelf -d $(basename "$native"):"
  readelf -d "$native" | grep -E 'NEEDED|RPATH|RUNPATH' | sed 's/^/  /'
  cp "$HERE/consumer.py" "$SCRATCH/consumer.py" || return 1
  (cd "$SCRATCH" && "$venv/bin/python" consumer.py "$SCRATCH/plans/user_enriched_python.json" "$VERSION")
}

# --- Node ----------------------------------------------------------------------------------------
npm_project() { # dir: a new npm project with consumer.js (require resolves from the script's place)
  mkdir -p "$1" && (cd "$1" && npm init -y >/dev/null) && cp "$HERE/consumer.js" "$1/"
}

check_npm_install() {
  local dir="$SCRATCH/node"
  npm_project "$dir" || return 1
  (cd "$dir" && npm install --loglevel=error "$FASTIFY" "$TYPESCRIPT" "$TYPES_NODE" "$TGZ") || return 1
  if [[ -e $dir/node_modules/enrich/build ]]; then
    echo "npm install compiled something (node_modules/enrich/build exists)"
    return 1
  fi
  (cd "$dir" && node consumer.js "$SCRATCH/plans/user_enriched.json" "$VERSION" prebuilds)
}

check_tsc() {
  local dir="$SCRATCH/node"
  cp "$HERE/consumer.ts" "$HERE/tsconfig.json" "$dir/" || return 1
  (cd "$dir" && ./node_modules/.bin/tsc -p . && echo "tsc --noEmit: index.d.ts and fastify.d.ts resolve from the installed tarball")
}

check_npm_ignore_scripts() {
  local dir="$SCRATCH/node-ignore-scripts"
  npm_project "$dir" || return 1
  (cd "$dir" && npm install --loglevel=error --ignore-scripts "$FASTIFY" "$TGZ") || return 1
  (cd "$dir" && node consumer.js "$SCRATCH/plans/user_enriched.json" "$VERSION" prebuilds)
}

check_npm_from_source() {
  local dir="$SCRATCH/node-from-source" unpacked="$SCRATCH/tgz" key stamp="$ROOT/build/package/.node-from-source.pass"
  key="$({ sha256sum <"$TGZ"; cat "$HERE/check.sh" "$HERE/consumer.js" | sha256sum; node --version; } | sha256sum | cut -d' ' -f1)"
  if [[ ${ENRICH_PACKAGE_RECHECK:-0} != 1 && -f $stamp && "$(cat "$stamp")" == "$key" ]]; then
    echo "this tarball built from source and passed before (build/package/.node-from-source.pass); ENRICH_PACKAGE_RECHECK=1 repeats it"
    return 0
  fi
  # The same tarball without its prebuilt addon: the install script must build from core/.
  mkdir -p "$unpacked" && tar -xzf "$TGZ" -C "$unpacked" || return 1
  rm -rf "$unpacked/package/prebuilds"
  tar -czf "$SCRATCH/enrich-$VERSION-noprebuilt.tgz" -C "$unpacked" package || return 1
  npm_project "$dir" || return 1
  (cd "$dir" && npm install --loglevel=error --foreground-scripts "$FASTIFY" "$SCRATCH/enrich-$VERSION-noprebuilt.tgz") || return 1
  [[ -f $dir/node_modules/enrich/build/Release/enrich.node ]] || { echo "no build/Release/enrich.node"; return 1; }
  (cd "$dir" && node consumer.js "$SCRATCH/plans/user_enriched.json" "$VERSION" build) || return 1
  mkdir -p "$(dirname "$stamp")" && echo "$key" >"$stamp"
}

# --- C and C++ -----------------------------------------------------------------------------------
check_tree() {
  mkdir -p "$SCRATCH/tree" && tar -xzf "$TREE_TGZ" -C "$SCRATCH/tree" || return 1
  local prefix="$SCRATCH/tree/enrich-$VERSION-linux-x86_64" want have
  # Only the public headers.
  want="$( (cd "$ROOT/include" && find enrich -name '*.hpp'; echo enrich/version_config.hpp; echo enrich.h) | sort)"
  have="$(cd "$prefix/include" && find . -type f | sed 's|^\./||' | sort)"
  if [[ $want != "$have" ]]; then
    echo "installed headers differ from the public ones:"
    diff <(echo "$want") <(echo "$have")
    return 1
  fi
  echo "include/: the $(wc -l <<<"$have") public headers"
}

check_cmake_consumer() {
  local prefix="$SCRATCH/tree/enrich-$VERSION-linux-x86_64"
  cmake -G Ninja -S "$HERE/cmake" -B "$SCRATCH/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DENRICH_EXPECTED_VERSION="$VERSION" >/dev/null || return 1
  cmake --build "$SCRATCH/cmake-build" >/dev/null || return 1
  "$SCRATCH/cmake-build/consumer" "$ENRICH_FIXTURE_DSN" "$SCRATCH/plans/user_enriched.json" "$VERSION"
}

check_pkg_config_consumer() {
  local prefix="$SCRATCH/tree/enrich-$VERSION-linux-x86_64" flags libdir v
  export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
  v="$(pkg-config --modversion enrich)" || return 1
  [[ $v == "$VERSION" ]] || { echo "enrich.pc: version $v"; return 1; }
  flags="$(pkg-config --cflags --libs enrich)" || return 1
  libdir="$(pkg-config --variable=libdir enrich)"
  echo "pkg-config --cflags --libs enrich: $flags"
  # shellcheck disable=SC2086 # flags is a word list
  cc -std=c11 -Wall -Wextra -pedantic -Werror "$HERE/consumer.c" $flags -Wl,-rpath,"$libdir" \
    -o "$SCRATCH/c-consumer" || return 1
  unset PKG_CONFIG_PATH
  "$SCRATCH/c-consumer" "$ENRICH_FIXTURE_DSN" "$SCRATCH/plans/user_enriched.json" "$VERSION"
}

echo "[package check] $DIST (version $VERSION) in $SCRATCH"
step "versions" check_versions
step "python sdist contents" check_sdist
step "python wheel (fresh venv)" check_wheel
step "node npm install (prebuilt)" check_npm_install
step "node tsc --noEmit (installed types)" check_tsc
step "node npm install --ignore-scripts" check_npm_ignore_scripts
step "node install from source" check_npm_from_source
step "c/c++ install tree headers" check_tree
step "cmake find_package consumer" check_cmake_consumer
step "pkg-config C consumer" check_pkg_config_consumer

printf '\n---- package check summary ----\n'
printf '%s\n' "${RESULTS[@]}"
exit $FAILED
