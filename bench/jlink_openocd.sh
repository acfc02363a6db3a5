#!/bin/sh
# SPDX-License-Identifier: MIT
# OpenOCD's half of the J-Link flash benchmark: 64 KiB to the simulated STM32F103C8 behind
# the simulated J-Link V11 (high-speed USB model, SWD 4 MHz) on the stand-in libusb, with
# OpenOCD 0.12's jlink driver over libjaylink (`program ... verify reset exit`: its stm32f1x
# driver and its CRC verify). The board stands still between transfers
# (LODE_USB_SHIM_NO_IDLE), so the virtual time counts USB, SWD, flash and core time but not
# OpenOCD's own sleeps (in its favour) and is the same in every run. (OpenOCD polls flash BSY
# at most 100 times per page erase; at ~290 us of virtual time per poll that outlasts the
# 20 ms erase.) Prints the virtual time, the J-Link commands and
# HW_JTAG3 commands, and the time against the flash-physics bound (mass erase + 32768
# half-words at DS5319's typical times). Also as machine-readable lines OCD_JLINK_*=.
# usage: bench/jlink_openocd.sh <build-dir>     (needs openocd: scripts/deps.sh test)
set -u
b=${1:-build}
shim=$b/tests/shim/plain
[ -f "$shim/libusb-1.0.so.0" ] || shim=$b/tests/shim/lib
[ -f "$shim/libusb-1.0.so.0" ] || { echo "jlink_openocd: no stand-in libusb in $b/tests/shim: build first" >&2; exit 1; }
command -v openocd >/dev/null 2>&1 || { echo "jlink_openocd: openocd not found (scripts/deps.sh test)" >&2; exit 1; }
fw=$b/firmware/examples
ls "$fw"/*-stm32f103.bin >/dev/null 2>&1 || { echo "jlink_openocd: no firmware in $fw: build first" >&2; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/cat.bin"
while [ "$(wc -c <"$tmp/cat.bin")" -lt 65536 ]; do cat "$fw"/*-stm32f103.bin >>"$tmp/cat.bin"; done
head -c 65536 "$tmp/cat.bin" >"$tmp/img.bin"
w0=$(date +%s.%N)
LD_LIBRARY_PATH=$shim LODE_USB_SHIM=jlink:600000777 LODE_USB_SHIM_STATE_DIR=$tmp LODE_USB_SHIM_NO_IDLE=1 \
    LODE_USB_SHIM_REPORT=1 timeout 900 openocd -c 'gdb_port disabled' -c 'tcl_port disabled' \
    -c 'telnet_port disabled' -f interface/jlink.cfg -c 'transport select swd' -f target/stm32f1x.cfg \
    -c 'adapter speed 4000' -c "program $tmp/img.bin 0x08000000 verify reset exit" >"$tmp/ocd.out" 2>&1
w1=$(date +%s.%N)
grep -q "Verified OK" "$tmp/ocd.out" || { echo "jlink_openocd: OpenOCD did not verify:"; tail -30 "$tmp/ocd.out"; exit 1; }
[ -x "$b/lode" ] && { "$b/lode" read 0x08000000 65536 -o "$tmp/back.bin" --probe sim --chip STM32F103C8 \
    --sim-state "$tmp/600000777.state" >/dev/null 2>&1 && cmp -s "$tmp/img.bin" "$tmp/back.bin" ||
    { echo "jlink_openocd: the flash does not read back as the image"; exit 1; }; }
# the last session's lines (libjaylink opens the device once to enumerate it)
t=$(sed -n 's/^usb shim: 600000777 closed at \([0-9.]*\) s of simulated time, \([0-9]*\) probe commands$/\1 \2/p' "$tmp/ocd.out" | tail -1)
j=$(sed -n 's/^usb shim: 600000777: J-Link \([0-9]*\) HW_JTAG3 commands, \([0-9]*\) SWD cycles at \([0-9]*\) Hz.*/\1 \2 \3/p' "$tmp/ocd.out" | tail -1)
[ -n "$t" ] && [ -n "$j" ] || { echo "jlink_openocd: no figures from the shim"; tail -30 "$tmp/ocd.out"; exit 1; }
echo "$t $j" | awk -v w0="$w0" -v w1="$w1" '{
    bound = 0.020 + 32768 * 52.5e-6
    printf "64 KiB to the simulated STM32F103C8 behind the simulated J-Link V11 (HS USB, SWD %.0f kHz)\n", $5 / 1000
    printf "  OpenOCD 0.12 jlink program ... verify reset exit: %.4f s virtual, %d J-Link commands (%d HW_JTAG3, %d SWD cycles) = %.1f %% of the flash-physics bound; wall %.2f s\n", $1, $2, $3, $4, 100 * bound / $1, w1 - w0
    printf "OCD_JLINK_TOTAL_S=%s\nOCD_JLINK_COMMANDS=%s\nOCD_JLINK_JTAG3=%s\nOCD_JLINK_SWD_CYCLES=%s\n", $1, $2, $3, $4
}'
