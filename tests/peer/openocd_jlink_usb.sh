#!/bin/sh
# SPDX-License-Identifier: MIT
# OpenOCD's jlink driver (interface/jlink.cfg over Debian's libjaylink, SWD) against the
# simulated J-Link V11 on the stand-in libusb (tests/shim/shim_jlink.c, the build without
# sanitizers), in front of the bit-level SWD target: it examines the STM32F103, programs a
# 20 KiB image with its stm32f1x driver, verifies it and resets; it dumps the flash again in a
# second session, and lode reads the board's saved state back with --probe sim and through the
# same J-Link on the shim (its own J-Link driver). All must match
# the image byte for byte. The first SWD cycles OpenOCD sent are written as a VCD
# (LODE_USB_SHIM_JLINK_VCD) and sigrok-cli's swd decoder must find the line reset, the
# JTAG-to-SWD switch and the DPIDR read with the F103's DPIDR in them.
# usage: openocd_jlink_usb.sh <lode> <firmware-dir> <shim-lib-dir>
set -u
lode=$1
fw=$2
shim=$3
command -v openocd >/dev/null 2>&1 || { echo "openocd_jlink_usb: openocd not found (scripts/deps.sh test installs it)"; exit 1; }
command -v sigrok-cli >/dev/null 2>&1 || { echo "openocd_jlink_usb: sigrok-cli not found (scripts/deps.sh test installs it)"; exit 1; }
[ -f "$shim/libusb-1.0.so.0" ] || { echo "openocd_jlink_usb: no shim in $shim"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
LD_LIBRARY_PATH=$shim
LODE_USB_SHIM=jlink:600000123
LODE_USB_SHIM_STATE_DIR=$tmp
LODE_USB_SHIM_NO_IDLE=1
LODE_USB_SHIM_REPORT=1
export LD_LIBRARY_PATH LODE_USB_SHIM LODE_USB_SHIM_STATE_DIR LODE_USB_SHIM_NO_IDLE LODE_USB_SHIM_REPORT
fail() {
    echo "openocd_jlink_usb: FAIL: $1"
    for f in "$tmp"/*.out; do [ -f "$f" ] && { echo "---- $f"; tail -40 "$f"; }; done
    exit 1
}
: >"$tmp/cat.bin"
while [ "$(wc -c <"$tmp/cat.bin")" -lt 20480 ]; do cat "$fw"/examples/*-stm32f103.bin >>"$tmp/cat.bin"; done
head -c 20480 "$tmp/cat.bin" >"$tmp/img.bin"
ocd() { # ocd NAME ARGS...
    name=$1
    shift
    timeout 240 openocd -c 'gdb_port disabled' -c 'tcl_port disabled' -c 'telnet_port disabled' \
        -f interface/jlink.cfg -c 'transport select swd' -c 'adapter speed 4000' -f target/stm32f1x.cfg \
        "$@" >"$tmp/$name.out" 2>&1
}
LODE_USB_SHIM_JLINK_VCD=$tmp/swd.vcd ocd program -c "program $tmp/img.bin 0x08000000 verify reset exit" ||
    fail "openocd program exited with an error"
grep -q "J-Link V11 compiled" "$tmp/program.out" || fail "OpenOCD did not print the simulated J-Link's firmware"
grep -q "VTarget = 3.300 V" "$tmp/program.out" || fail "OpenOCD did not read VTref 3.3 V"
grep -q "SWD DPIDR 0x1ba01477" "$tmp/program.out" || fail "OpenOCD did not read the F103's DPIDR over SWD"
grep -q "Verified OK" "$tmp/program.out" || fail "OpenOCD's verify did not pass"
grep -q "usb shim: 600000123: J-Link .* HW_JTAG3 commands" "$tmp/program.out" || fail "the shim did not report the J-Link's figures"
ocd read -c init -c "reset halt" -c "dump_image $tmp/ocd.bin 0x08000000 20480" -c "reg pc" -c shutdown ||
    fail "openocd read exited with an error"
cmp "$tmp/img.bin" "$tmp/ocd.bin" >/dev/null || fail "OpenOCD's dump differs from the image"
reset=$(od -An -tx4 -j4 -N4 "$tmp/img.bin" | tr -d ' ')
reset=$(printf '0x%08x' $((0x$reset & ~1)))
grep -q "pc (/32): $reset" "$tmp/read.out" || fail "after reset halt PC is not the image's reset vector $reset"
"$lode" read 0x08000000 20480 -o "$tmp/lode.bin" --probe sim --chip STM32F103C8 --sim-state "$tmp/600000123.state" \
    >"$tmp/lode.out" 2>&1 || fail "lode read of the saved board failed"
cmp "$tmp/img.bin" "$tmp/lode.bin" >/dev/null || fail "lode reads back something else than the image"
# and through the same simulated J-Link on the stand-in libusb, with lode's J-Link driver
"$lode" read 0x08000000 20480 -o "$tmp/lode-usb.bin" --probe jlink:600000123 >"$tmp/lode-usb.out" 2>&1 ||
    fail "lode read through the J-Link on the shim failed"
cmp "$tmp/img.bin" "$tmp/lode-usb.bin" >/dev/null || fail "lode reads back something else through the J-Link"
# sigrok's swd decoder on the first cycles OpenOCD clocked
[ -s "$tmp/swd.vcd" ] || fail "no VCD written"
sigrok-cli -I vcd -i "$tmp/swd.vcd" -P swd:swclk=swclk:swdio=swdio -A swd >"$tmp/sigrok.out" 2>&1 ||
    fail "sigrok-cli failed on the VCD"
grep -q "LINERESET" "$tmp/sigrok.out" || fail "sigrok found no line reset"
grep -q "JTAG->SWD" "$tmp/sigrok.out" || fail "sigrok found no JTAG-to-SWD switch"
grep -qi "0x1ba01477" "$tmp/sigrok.out" || fail "sigrok did not decode the DPIDR read"
echo "openocd_jlink_usb: all checks passed"
