#!/bin/sh
# SPDX-License-Identifier: MIT
# OpenOCD's own USB ST-Link code against the simulated ST-Link/V2 on the stand-in libusb
# (tests/shim): both of its ST-Link drivers -
#   - DAP direct (interface/stlink-dap.cfg, dapdirect_swd; over USB it batches 32-bit accesses
#     with RW_MISC_OUT/IN), and
#   - the high-level adapter (interface/stlink.cfg, hla_swd: READMEM/WRITEMEM, READREG/WRITEREG,
#     run/step/status through the probe's own commands)
# program + verify + reset an ELF with the stm32f1x driver, then lode (through the same shim
# and board state) reads the flash back byte-exact; the HLA run also checks memory, register
# and step round trips.
# usage: openocd_stlink_usb.sh <lode> <firmware-dir> <shim-lib-dir>
set -u
lode=$1
fw=$2
shim=$3
elf=$fw/examples/hello-stm32f103.elf
bin=$fw/examples/hello-stm32f103.bin
command -v openocd >/dev/null 2>&1 || { echo "openocd_stlink_usb: openocd not found (scripts/deps.sh test installs it)"; exit 1; }
[ -f "$shim/libusb-1.0.so.0" ] || { echo "openocd_stlink_usb: no shim in $shim"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
LD_LIBRARY_PATH=$shim
LODE_USB_SHIM=stlink-v2:OCDSERIAL
LODE_USB_SHIM_STATE_DIR=$tmp
export LD_LIBRARY_PATH LODE_USB_SHIM LODE_USB_SHIM_STATE_DIR
# a sanitizer build of the shim needs its runtime first in a program built without it
preload=""
asan=$(ldd "$shim/libusb-1.0.so.0" | sed -n 's/.*libasan[^ ]* => \([^ ]*\).*/\1/p')
if [ -n "$asan" ]; then
    preload=$asan
    ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0
    export ASAN_OPTIONS
fi
fail() {
    echo "openocd_stlink_usb: FAIL: $1"
    for f in "$tmp"/*.out; do [ -f "$f" ] && { echo "---- $f"; cat "$f"; }; done
    exit 1
}
ocd() { # ocd NAME ARGS...
    name=$1
    shift
    LD_PRELOAD=$preload timeout 120 openocd -c "gdb_port disabled" -c "tcl_port disabled" -c "telnet_port disabled" \
        "$@" >"$tmp/$name.out" 2>&1
}
size=$(wc -c <"$bin")
for drv in dap hla; do
    rm -f "$tmp"/*.state
    if [ $drv = dap ]; then
        ocd $drv -f interface/stlink-dap.cfg -c 'transport select dapdirect_swd' -f target/stm32f1x.cfg \
            -c "program $elf verify reset exit" || fail "openocd ($drv) exited with an error"
    else
        ocd $drv -f interface/stlink.cfg -f target/stm32f1x.cfg \
            -c "program $elf verify reset exit" || fail "openocd ($drv) exited with an error"
    fi
    grep -q "STLINK V2J37S7" "$tmp/$drv.out" || fail "$drv: OpenOCD did not find the ST-Link V2J37S7 on USB"
    grep -q "Verified OK" "$tmp/$drv.out" || fail "$drv: OpenOCD's verify did not pass"
    if grep -q "error executing cortex_m crc algorithm" "$tmp/$drv.out"; then
        fail "$drv: OpenOCD's CRC algorithm failed"
    fi
    "$lode" read 0x08000000 "$size" -o "$tmp/back.bin" --probe stlink:0483:3748:OCDSERIAL >"$tmp/read.out" 2>&1 ||
        fail "$drv: lode read through the shim failed"
    cmp "$bin" "$tmp/back.bin" >/dev/null || fail "$drv: the flash does not read back as $bin"
done
reset=$(od -An -tx4 -j4 -N4 "$bin" | tr -d ' ')
reset=$(printf '0x%08x' $((0x$reset & ~1)))
ocd hla-ctl -f interface/stlink.cfg -f target/stm32f1x.cfg -c init -c "reset halt" -c "reg pc" \
    -c "mww 0x20000100 0xcafef00d" -c "mdw 0x20000100" -c "reg r1 0x55" -c "reg r1" -c step \
    -c "reg pc" -c shutdown || fail "openocd hla control script failed"
grep -q "pc (/32): $reset" "$tmp/hla-ctl.out" || fail "HLA: after reset halt PC is not the reset vector $reset"
grep -q "0x20000100: cafef00d" "$tmp/hla-ctl.out" || fail "HLA: mww/mdw round trip failed"
grep -q "r1 (/32): 0x00000055" "$tmp/hla-ctl.out" || fail "HLA: register write/read failed"
grep -q "halted due to single-step" "$tmp/hla-ctl.out" || fail "HLA: step did not halt"
echo "openocd_stlink_usb: all checks passed"
