#!/bin/sh
# SPDX-License-Identifier: MIT
# pyOCD (Debian's python3-pyocd, 0.13: pyusb's libusb1 backend) against the simulated
# ST-Link/V2 on the stand-in libusb (tests/shim, the build without sanitizers): pyocd-flashtool
# chip-erases and programs a 20 KiB image into the STM32F103 (pyOCD 0.13 has no F103C8 target;
# stm32f103rc's 2 KiB pages need the chip erase), then lode reads the flash back through the
# same shim and board state, byte for byte. The board stands still between transfers.
# usage: pyocd_stlink_usb.sh <lode> <firmware-dir> <shim-lib-dir>
set -u
lode=$1
fw=$2
shim=$3
command -v pyocd-flashtool >/dev/null 2>&1 ||
    { echo "pyocd_stlink_usb: pyocd-flashtool not found (scripts/deps.sh test installs python3-pyocd)"; exit 1; }
[ -f "$shim/libusb-1.0.so.0" ] || { echo "pyocd_stlink_usb: no shim in $shim"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
LD_LIBRARY_PATH=$shim
LODE_USB_SHIM=stlink-v2:PYOCDST
LODE_USB_SHIM_STATE_DIR=$tmp
LODE_USB_SHIM_NO_IDLE=1
LODE_USB_SHIM_REPORT=1
export LD_LIBRARY_PATH LODE_USB_SHIM LODE_USB_SHIM_STATE_DIR LODE_USB_SHIM_NO_IDLE LODE_USB_SHIM_REPORT
fail() {
    echo "pyocd_stlink_usb: FAIL: $1"
    for f in "$tmp"/*.out; do [ -f "$f" ] && { echo "---- $f"; cat "$f"; }; done
    exit 1
}
: >"$tmp/cat.bin"
while [ "$(wc -c <"$tmp/cat.bin")" -lt 20480 ]; do cat "$fw"/examples/*-stm32f103.bin >>"$tmp/cat.bin"; done
head -c 20480 "$tmp/cat.bin" >"$tmp/img.bin"
timeout 300 pyocd-flashtool -t stm32f103rc -ce -f 4000000 "$tmp/img.bin" >"$tmp/pyocd.out" 2>&1 ||
    fail "pyocd-flashtool exited with an error"
grep -q "Programmed 20480 bytes" "$tmp/pyocd.out" || fail "pyOCD did not program the image"
grep -q "usb shim: PYOCDST closed at" "$tmp/pyocd.out" || fail "pyOCD did not use the shim's ST-Link"
"$lode" read 0x08000000 20480 -o "$tmp/lode.bin" --probe stlink:0483:3748:PYOCDST >"$tmp/lode.out" 2>&1 ||
    fail "lode read through the shim failed"
cmp "$tmp/img.bin" "$tmp/lode.bin" >/dev/null || fail "lode reads back something else than the image"
echo "pyocd_stlink_usb: all checks passed"
