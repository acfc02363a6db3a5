#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The simulated J-Link both ways lode reaches it: in process (--probe sim-jlink: the registry
# row, lode's J-Link driver over the in-process transport) and as a USB device on the stand-in
# libusb (LODE_USB_SHIM=jlink, shim_jlink.c). Flash + verify, read back equal to the image,
# run with the exit code, the listing, and the shim's bad-input
# options: VTref 0 V (and target power on request), firmware without SWD, a bad spec; and
# sigrok-cli's swd decoder on the VCD of lode's bit streams.
# usage: sim_jlink_lode.sh <lode> <firmware-dir> <shim-lib-dir>
set -u
LODE=$1
FW=$2
SHIM=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LODE_SIM_STATE_DIR=$tmp/sim
fails=0
pass=0
. "$(dirname "$0")/../lib_check.sh"
ELF=$FW/examples/hello-stm32f103.elf
arm-none-eabi-objcopy -O binary "$ELF" "$tmp/hello.bin" || { echo "FAIL: objcopy"; exit 1; }
n=$(wc -c <"$tmp/hello.bin")

# ---- in process: the registry row
check row-listed 0 "^sim-jlink +the simulated board behind a simulated SEGGER J-Link" -- "$LODE" list
check row-bad-spec 64 "bad probe 'sim-jlink:bogus:word'" -- "$LODE" info --probe sim-jlink:bogus:word
check row-info 0 "DPIDR: +0x1ba01477" -- "$LODE" info --probe sim-jlink
check row-flash 0 "verified" -- "$LODE" flash "$ELF" --probe sim-jlink --verify
check row-read 0 "read $n bytes" -- "$LODE" read 0x08000000 "$n" -o "$tmp/row.bin" --probe sim-jlink
if cmp -s "$tmp/hello.bin" "$tmp/row.bin"; then pass=$((pass + 1)); else echo "FAIL row-readback"; fails=$((fails + 1)); fi
check row-run 0 "Hello, world!" -- "$LODE" run "$ELF" --probe sim-jlink
# sigrok-cli's swd decoder on the bit streams lode sent (its vcd= option): the DPIDR read and
# the CPUID read through the AHB-AP, as lode meant them (sigrok does not know the dormant
# selection alert lode also sends: it reads those bits as requests, hence no check before)
command -v sigrok-cli >/dev/null 2>&1 || { echo "FAIL: sigrok-cli not found (scripts/deps.sh test installs it)"; exit 1; }
check row-vcd 0 "DPIDR: +0x1ba01477" -- "$LODE" info --probe "sim-jlink:vcd=$tmp/lode.vcd"
sigrok-cli -I vcd -i "$tmp/lode.vcd" -P swd:swclk=swclk:swdio=swdio -A swd >"$tmp/sigrok.out" 2>&1
check sigrok-idcode 0 "IDCODE OK 0x1ba01477" -- sh -c "tr '\n' ' ' <'$tmp/sigrok.out' | sed 's/swd-1: //g'"
check sigrok-cpuid 0 "RDBUFF OK 0x411fc231" -- sh -c "tr '\n' ' ' <'$tmp/sigrok.out' | sed 's/swd-1: //g'"

# ---- through the stand-in libusb
export LD_LIBRARY_PATH=$SHIM
export LODE_USB_SHIM=jlink:600000321,jlink-v9:600000099
export LODE_USB_SHIM_STATE_DIR=$tmp/usb
mkdir -p "$LODE_USB_SHIM_STATE_DIR"
check usb-list-v11 0 "^jlink:600000321 +J-Link 1366:0101 serial 600000321, hardware V11.00" -- "$LODE" list
check usb-list-v9 0 "^jlink:600000099 +J-Link 1366:0101 serial 600000099, hardware V9.00" -- "$LODE" list
check usb-flash 0 "verified" -- "$LODE" flash "$ELF" --probe jlink:600000321 --verify
check usb-read 0 "read $n bytes" -- "$LODE" read 0x08000000 "$n" -o "$tmp/usb.bin" --probe jlink:600000321
if cmp -s "$tmp/hello.bin" "$tmp/usb.bin"; then pass=$((pass + 1)); else echo "FAIL usb-readback"; fails=$((fails + 1)); fi
check usb-fs-info 0 "DPIDR: +0x1ba01477" -- "$LODE" info --probe jlink:600000099
check usb-vtref0 69 "target not powered" -- env LODE_USB_SHIM_JLINK_VTREF=0 "$LODE" info --probe jlink:600000321
check usb-power 0 "VTref 3.30 V" -- env LODE_USB_SHIM_JLINK_VTREF=0 "$LODE" info --probe jlink:600000321:power
check usb-no-swd 69 "cannot select SWD" -- env LODE_USB_SHIM_JLINK_NO_SWD=1 "$LODE" info --probe jlink:600000321
echo "sim_jlink_lode: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
