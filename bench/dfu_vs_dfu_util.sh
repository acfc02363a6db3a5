#!/bin/sh
# SPDX-License-Identifier: MIT
# Download the same 64 KiB image into the simulated STM32 in DfuSe mode (tests/shim,
# shim_dfuse.c) with `lode flash --no-reset` and with `dfu-util -a 0 -s 0x08000000 -D`, both
# through the stand-in libusb (plain build). Both wait the bwPollTimeout the device reports in
# wall time, so wall time is the figure; the board's virtual time (what the flash model's
# erase and program times add up to) is printed beside it. The bound is the flash model's time
# for that image: the F103's typical 52.5 us per half-word plus 20 ms per erase (one mass
# erase for the whole flash; dfu-util erases each page); the shim charges no USB time.
# usage: bench/dfu_vs_dfu_util.sh <build-dir>      (needs dfu-util: scripts/deps.sh test)
set -u
b=${1:-build}
lode=$b/lode
plain=$b/tests/shim/plain
[ -d "$plain" ] || plain=$b/tests/shim/lib
[ -x "$lode" ] || { echo "dfu_vs_dfu_util: $lode is missing: build first" >&2; exit 1; }
command -v dfu-util >/dev/null 2>&1 || { echo "dfu_vs_dfu_util: dfu-util not found (scripts/deps.sh test)" >&2; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
head -c 65536 /dev/urandom >"$tmp/img.bin"
export LODE_USB_SHIM=dfuse:BENCH LODE_USB_SHIM_STATE_DIR=$tmp LODE_USB_SHIM_REPORT=1 LD_LIBRARY_PATH=$plain
now() { date +%s.%N; }
t0=$(now)
"$lode" flash --no-reset --probe dfu --format bin --base 0x08000000 "$tmp/img.bin" >"$tmp/lode.out" 2>&1 || { cat "$tmp/lode.out"; exit 1; }
t1=$(now)
dfu-util -a 0 -s 0x08000000 -D "$tmp/img.bin" >"$tmp/dfu.out" 2>&1 || { cat "$tmp/dfu.out"; exit 1; }
t2=$(now)
vt() { sed -n 's/.*closed at \([0-9.]*\) s of simulated time.*/\1/p' "$1" | tail -1; }
lv=$(vt "$tmp/lode.out")
dv=$(vt "$tmp/dfu.out")
awk -v l0="$t0" -v l1="$t1" -v d1="$t2" -v lv="$lv" -v dv="$dv" 'BEGIN {
    lw = l1 - l0; dw = d1 - l1
    hw = 65536 / 2 * 52.5e-6
    bm = hw + 0.020; bp = hw + 64 * 0.020
    printf "64 KiB into the simulated DfuSe STM32F103C8 (1 KiB pages, wTransferSize 2048)\n"
    printf "lode flash:  %.3f s wall, %.3f s of the board'\''s time (bound with mass erase %.3f s: %.1f %%)\n", lw, lv, bm, 100 * bm / lw
    printf "dfu-util:    %.3f s wall, %.3f s of the board'\''s time (bound with page erases %.3f s: %.1f %%)\n", dw, dv, bp, 100 * bp / dw
    printf "lode / dfu-util wall time: %.2f\n", lw / dw
}'
