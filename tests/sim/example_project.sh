#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# examples/cmake-ctest configured with lode's ARM toolchain file, built, and its ctest run: every
# test runs on the simulated board through `lode run` (CMAKE_CROSSCOMPILING_EMULATOR, the
# runner form), the chip from the project's lode.yaml.
# Usage: example_project.sh <lode-binary> <lode-source-dir>
set -u
LODE=$1
SRC=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LODE_SIM_STATE_DIR=$tmp/state
mkdir -p "$LODE_SIM_STATE_DIR"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
if ! cmake -S "$SRC/examples/cmake-ctest" -B "$tmp/b" "${gen[@]}" -DCMAKE_TOOLCHAIN_FILE="$SRC/cmake/arm-none-eabi.cmake" \
        -DLODE="$LODE" >"$tmp/cfg.log" 2>&1; then
    echo "FAIL: configuring the example project"; cat "$tmp/cfg.log"; exit 1
fi
if ! cmake --build "$tmp/b" >"$tmp/build.log" 2>&1; then
    echo "FAIL: building the example project"; cat "$tmp/build.log"; exit 1
fi
(cd "$tmp/b" && ctest --output-on-failure) >"$tmp/ctest.log" 2>&1
rc=$?
cat "$tmp/ctest.log"
[ $rc -eq 0 ] || { echo "FAIL: the example's ctest exited $rc"; exit 1; }
grep -q "100% tests passed, 0 tests failed out of 3" "$tmp/ctest.log" || { echo "FAIL: not 3 tests passed"; exit 1; }
# they really ran on the board: the nRF52840 from lode.yaml, with their arguments
(cd "$tmp/b" && "$LODE" run test_ring.elf wrap 8 20) >"$tmp/run.out" 2>&1 || { echo "FAIL: lode run test_ring.elf"; cat "$tmp/run.out"; exit 1; }
grep -q "wrap 8 x 20: ok" "$tmp/run.out" || { echo "FAIL: no output from the target"; cat "$tmp/run.out"; exit 1; }
(cd "$tmp/b" && "$LODE" info) 2>&1 | grep -q "nRF52840" || { echo "FAIL: lode.yaml's chip not used"; exit 1; }
echo "ok   example project: 3 tests on the simulated nRF52840 through lode"
