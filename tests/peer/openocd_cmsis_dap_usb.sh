#!/bin/sh
# SPDX-License-Identifier: MIT
# OpenOCD's CMSIS-DAP driver (interface/cmsis-dap.cfg, usb_bulk backend) against the simulated
# CMSIS-DAP v2 on the stand-in libusb (tests/shim, the build without sanitizers): it programs a
# 20 KiB image (several of its 4 KiB loader blocks, so the Cortex-M3 AHB-AP's 4 KiB TAR
# auto-increment matters), verifies it, resets, then dumps the flash and reads PC after a reset
# halt; lode reads the flash back through the same shim and board state. Both must match the
# image byte for byte. The board stands still between transfers (LODE_USB_SHIM_NO_IDLE).
# usage: openocd_cmsis_dap_usb.sh <lode> <firmware-dir> <shim-lib-dir>
set -u
lode=$1
fw=$2
shim=$3
command -v openocd >/dev/null 2>&1 || { echo "openocd_cmsis_dap_usb: openocd not found (scripts/deps.sh test installs it)"; exit 1; }
[ -f "$shim/libusb-1.0.so.0" ] || { echo "openocd_cmsis_dap_usb: no shim in $shim"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
LD_LIBRARY_PATH=$shim
LODE_USB_SHIM=cmsis-dap:OCDDAP
LODE_USB_SHIM_STATE_DIR=$tmp
LODE_USB_SHIM_NO_IDLE=1
LODE_USB_SHIM_REPORT=1
export LD_LIBRARY_PATH LODE_USB_SHIM LODE_USB_SHIM_STATE_DIR LODE_USB_SHIM_NO_IDLE LODE_USB_SHIM_REPORT
fail() {
    echo "openocd_cmsis_dap_usb: FAIL: $1"
    for f in "$tmp"/*.out; do [ -f "$f" ] && { echo "---- $f"; cat "$f"; }; done
    exit 1
}
# a deterministic 20 KiB image made of the F103 example programs
: >"$tmp/cat.bin"
while [ "$(wc -c <"$tmp/cat.bin")" -lt 20480 ]; do cat "$fw"/examples/*-stm32f103.bin >>"$tmp/cat.bin"; done
head -c 20480 "$tmp/cat.bin" >"$tmp/img.bin"
ocd() { # ocd NAME ARGS...
    name=$1
    shift
    timeout 120 openocd -c 'gdb_port disabled' -c 'tcl_port disabled' -c 'telnet_port disabled' \
        -f interface/cmsis-dap.cfg -c 'cmsis_dap_backend usb_bulk' -f target/stm32f1x.cfg \
        "$@" >"$tmp/$name.out" 2>&1
}
ocd program -c "program $tmp/img.bin 0x08000000 verify reset exit" || fail "openocd program exited with an error"
grep -q "CMSIS-DAP: Interface ready" "$tmp/program.out" || fail "OpenOCD did not take the simulated CMSIS-DAP v2"
grep -q "Verified OK" "$tmp/program.out" || fail "OpenOCD's verify did not pass"
grep -q "usb shim: OCDDAP closed at" "$tmp/program.out" || fail "the shim did not report its close"
ocd read -c init -c "reset halt" -c "dump_image $tmp/ocd.bin 0x08000000 20480" -c "reg pc" -c shutdown ||
    fail "openocd read exited with an error"
cmp "$tmp/img.bin" "$tmp/ocd.bin" >/dev/null || fail "OpenOCD's dump differs from the image"
reset=$(od -An -tx4 -j4 -N4 "$tmp/img.bin" | tr -d ' ')
reset=$(printf '0x%08x' $((0x$reset & ~1)))
grep -q "pc (/32): $reset" "$tmp/read.out" || fail "after reset halt PC is not the image's reset vector $reset"
"$lode" read 0x08000000 20480 -o "$tmp/lode.bin" --probe cmsis-dap:c251:f00a:OCDDAP >"$tmp/lode.out" 2>&1 ||
    fail "lode read through the shim failed"
cmp "$tmp/img.bin" "$tmp/lode.bin" >/dev/null || fail "lode reads back something else than the image"
echo "openocd_cmsis_dap_usb: all checks passed"
