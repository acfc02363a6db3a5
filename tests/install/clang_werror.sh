#!/bin/sh
# SPDX-License-Identifier: MIT
# lode builds with clang and -Werror (the project's warnings; CI builds with gcc): a build
# directory of its own, configured here and kept between runs (incremental), without the
# target firmware and peer tests. Any clang warning fails it.
#
# usage: clang_werror.sh <source-dir> <build-dir>
# exit:  0 the build is clean; 1 a warning, an error, or clang is missing.
set -u
if [ $# -ne 2 ]; then
    echo "usage: $0 <source-dir> <build-dir>" >&2
    exit 1
fi
src=$1 build=$2
command -v clang >/dev/null 2>&1 || { echo "clang_werror: clang not found (scripts/deps.sh test installs it)" >&2; exit 1; }
gen=Ninja
command -v ninja >/dev/null 2>&1 || gen="Unix Makefiles"
CC=clang cmake -S "$src" -B "$build" -G "$gen" -DCMAKE_BUILD_TYPE=Debug -DLODE_WERROR=ON \
    -DLODE_FIRMWARE=OFF -DLODE_PEER_TESTS=OFF >"$build.log" 2>&1 || { cat "$build.log"; exit 1; }
grep -q '^CMAKE_C_COMPILER:.*clang' "$build/CMakeCache.txt" || { echo "clang_werror: $build is not a clang build"; exit 1; }
if ! cmake --build "$build" -j2 >"$build.log" 2>&1; then
    grep -E 'error|warning' "$build.log" | head -40
    echo "clang_werror: FAIL: the clang build has warnings or errors (all of it in $build.log)"
    exit 1
fi
echo "clang_werror: ok"
exit 0
