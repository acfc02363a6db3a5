#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# dfu-util (0.11, Debian's; scripts/deps.sh test) as the referee for lode's DFU driver: both
# talk to the same simulated STM32 in DfuSe mode (tests/shim, shim_dfuse.c; flash kept in the
# state directory between processes). dfu-util lists it with its alternate settings' names,
# downloads with -s ADDR:leave, uploads; lode and dfu-util read back each other's images
# identical.
# usage: dfu_util_dfuse.sh <lode> <shim-dir (lode)> <plain shim-dir (dfu-util)>
set -u
LODE=$1
SHIM=$2
PLAIN=$3
command -v dfu-util >/dev/null || { echo "FAIL: dfu-util is not installed (scripts/deps.sh test)"; exit 1; }
export LODE_USB_SHIM="dfuse:DFUPEER"
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
check dfu-util-list 0 'alt=0, name="@Internal Flash  /0x08000000/064\*001Kg", serial="DFUPEER"' -- dfu -l
check dfu-util-list-ob 0 'alt=1, name="@Option Bytes  /0x1FFFF800/01\*016 a"' -- dfu -l
# dfu-util writes, lode reads back
check dfu-util-download 0 "File downloaded successfully" -- dfu -a 0 -s 0x08000000:leave -D "$D/a.bin"
check lode-read 0 "read 30000 bytes" -- lode read 0x08000000 30000 -o "$D/a.lode" --probe dfu
check same-a 0 "" -- cmp "$D/a.bin" "$D/a.lode"
check lode-verify-a 0 "identical" -- lode verify --probe dfu --format bin --base 0x08000000 "$D/a.bin"
# lode writes, dfu-util reads back
check lode-flash 0 "flashed .* through DFU" -- lode flash --probe dfu --format bin --base 0x08000000 "$D/b.bin"
check dfu-util-upload 0 "Upload done" -- dfu -a 0 -s 0x08000000:50001 -U "$D/b.dfu-util"
check same-b 0 "" -- cmp "$D/b.bin" "$D/b.dfu-util"
echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
