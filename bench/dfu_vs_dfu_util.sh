#!/bin/sh
# SPDX-License-Identifier: MIT
# Download the same 64 KiB image into the simulated STM32 in DfuSe mode (tests/shim,
# shim_dfuse.c) with `lode flash --no-reset` and with `dfu-util -a 0 -s 0x08000000 -D`, both
# through the stand-in libusb (plain build). The shim charges every control transfer's time on
# a full-speed bus (usb_shim.c fs_control_ps) and the flash model's erase/program times to the
# board's clock, so the board's virtual time is each tool's protocol cost; both also wait the
# bwPollTimeout the device reports in wall time, so wall time is the other figure. The bound is
# the least a host must do: the flash model's time (52.5 us per half-word, 20 ms per erase: one
# mass erase for the whole flash -- dfu-util erases each page, so its own bound has 64) plus the
# bus time of the fewest control transfers (erase and Set Address commands, 2 KiB DNLOADs, two
# GETSTATUS each: busy, then idle).
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
awk -v l0="$t0" -v l1="$t1" -v d1="$t2" -v lv="$lv" -v dv="$dv" '
function ctl(n,   b) { b = 169 + 105; for (; n > 0; n -= 64) b += 105 + 8 * (n < 64 ? n : 64); return b / 12e6 }
function cmd(n) { return ctl(n) + 2 * ctl(6) }
BEGIN {
    lw = l1 - l0; dw = d1 - l1
    flash = 65536 / 2 * 52.5e-6
    data = 32 * cmd(2048)
    bm = flash + 0.020 + cmd(1) + cmd(5) + data
    bp = flash + 64 * (0.020 + cmd(5)) + cmd(5) + data
    printf "64 KiB into the simulated DfuSe STM32F103C8 (1 KiB pages, wTransferSize 2048, full-speed USB)\n"
    printf "bound (mass erase): %.4f s = flash %.4f + erase 0.020 + USB %.4f\n", bm, flash, bm - flash - 0.020
    printf "lode flash:  board %.4f s (%.1f %% of the bound), wall %.3f s (%.1f %%)\n", lv, 100 * bm / lv, lw, 100 * bm / lw
    printf "dfu-util:    board %.4f s (%.1f %% of its bound %.4f s with page erases, %.1f %% of lode'\''s), wall %.3f s\n", dv, 100 * bp / dv, bp, 100 * bm / dv, dw
    printf "lode / dfu-util: board time %.2f, wall time %.2f\n", lv / dv, lw / dw
}'
