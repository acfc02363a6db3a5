#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# dfu-util (0.11) as the referee for lode's plain DFU 1.1 path: both talk to the same simulated
# DFU 1.1 device (tests/shim, shim_dfu11.c; flash kept in the state directory between
# processes). dfu-util lists it, downloads (manifestation included) and uploads; it detaches a
# run-time interface as lode does; lode and dfu-util read back each other's images identical.
# usage: dfu_util_dfu11.sh <lode> <shim-dir (lode)> <plain shim-dir (dfu-util)>
set -u
LODE=$1
SHIM=$2
PLAIN=$3
command -v dfu-util >/dev/null || { echo "FAIL: dfu-util is not installed (scripts/deps.sh test)"; exit 1; }
export LODE_USB_SHIM="dfu11:DFU11PEER"
export LODE_USB_SHIM_STATE_DIR=$(mktemp -d)
trap 'rm -rf "$LODE_USB_SHIM_STATE_DIR"' EXIT
D=$LODE_USB_SHIM_STATE_DIR
fails=0
pass=0
. "$(dirname "$0")/../lib_check.sh"
dfu() { LD_LIBRARY_PATH=$PLAIN timeout 120 dfu-util "$@"; }
lode() { LD_LIBRARY_PATH=$SHIM timeout 120 "$LODE" "$@"; }
head -c 30000 /dev/urandom >"$D/a.bin"
head -c 50001 /dev/urandom >"$D/b.bin"
head -c 20000 /dev/urandom >"$D/c.bin"
check dfu-util-list 0 'Found DFU: \[1209:0df1\] ver=0100, .*alt=0, name="lode DFU 1.1 application area", serial="DFU11PEER"' -- dfu -l
# dfu-util writes, lode reads back
check dfu-util-download 0 "state\(2\) = dfuIDLE" -- dfu -D "$D/a.bin"
check lode-read 0 "read 30000 bytes" -- lode read 0x08000000 30000 -o "$D/a.lode" --probe dfu
check same-a 0 "" -- cmp "$D/a.bin" "$D/a.lode"
check lode-verify-a 0 "identical" -- lode verify --probe dfu --format bin --base 0x08000000 "$D/a.bin"
# lode writes, dfu-util reads back (the whole 64 KiB application area)
check lode-flash 0 "flashed .* through DFU" -- lode flash --probe dfu --format bin --base 0x08000000 "$D/b.bin"
check dfu-util-upload 0 "Received a total of 65536 bytes" -- dfu -U "$D/b.dfu-util"
check same-b 0 "" -- cmp -n 50001 "$D/b.bin" "$D/b.dfu-util"
# a run-time interface: dfu-util detaches it (-E: wait 1 s for it to come back), lode reads it back
LODE_USB_SHIM="dfu11-rt:DFU11PEER" check dfu-util-detach 0 "Device really in Run-Time Mode, send DFU detach request" -- \
    dfu -E 1 -D "$D/c.bin"
check same-c 0 "identical" -- lode verify --probe dfu --format bin --base 0x08000000 "$D/c.bin"
echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
