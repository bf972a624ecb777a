#!/usr/bin/env bash
# Installs the build into a temporary prefix and builds and runs a separate CMake project that
# uses it through find_package(enrich).
#   check_install.sh BUILD_DIR
set -euo pipefail
build=$1
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
mkdir "$work/src"
cp "$here/CMakeLists.txt.in" "$work/src/CMakeLists.txt"
cp "$here/main.cpp" "$work/src/"
cmake -G Ninja -S "$work/src" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
LD_LIBRARY_PATH="$work/prefix/lib" "$work/build/consumer"
