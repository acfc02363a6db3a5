#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lode's USB code paths against simulated probes on a stand-in libusb (tests/shim): an
# ST-Link/V2 (endpoints 0x02/0x81/0x83), V2-1 (0x01/0x81/0x82), an STLINK-V3 and a CMSIS-DAP
# v2 (bulk interface found by its "CMSIS-DAP" string), each in front of its own simulated
# STM32F103: enumeration, selection by VID:PID:SERIAL, info, flash + verify, run with an exit
# code, SWO through the ST-Link's trace endpoint, and the errors for ambiguous or missing probes.
# usage: usb_shim_lode.sh <lode> <firmware-dir> <shim-lib-dir>
set -u
LODE=$1
FW=$2
export LD_LIBRARY_PATH=$3
export LODE_USB_SHIM="stlink-v2:ST2SERIAL,stlink-v21:ST21SERIAL,stlink-v3:ST3SERIAL,cmsis-dap:DAPSERIAL"
export LODE_USB_SHIM_STATE_DIR=$(mktemp -d)
export LODE_SIM_STATE_DIR=$LODE_USB_SHIM_STATE_DIR
trap 'rm -rf "$LODE_USB_SHIM_STATE_DIR"' EXIT
# the shim must be what lode loads
if ! ldd "$LODE" | grep -q "$3/libusb-1.0.so.0"; then
    echo "FAIL: $LODE does not load the shim from $3"; ldd "$LODE"; exit 1
fi
fails=0
pass=0
. "$(dirname "$0")/../lib_check.sh"
check list-v2 0 "^stlink:0483:3748:ST2SERIAL +ST-Link/V2$" -- "$LODE" list
check list-v21 0 "^stlink:0483:3752:ST21SERIAL +ST-Link/V2-1" -- "$LODE" list
check list-v3 0 "^stlink:0483:374e:ST3SERIAL +ST-Link/V3" -- "$LODE" list
check list-dap 0 "^cmsis-dap:c251:f00a:DAPSERIAL +CMSIS-DAP v2" -- "$LODE" list
check list-json 0 '"probe":"stlink:0483:374e:ST3SERIAL"' -- "$LODE" list --json
check ambiguous 69 "3 ST-Links match" -- "$LODE" info --probe stlink
check no-match 69 "no ST-Link found matching" -- "$LODE" info --probe stlink:0483:3748:NOPE
for p in stlink:0483:3748:ST2SERIAL stlink:0483:3752 stlink:0483:374e:ST3SERIAL cmsis-dap:c251:f00a; do
    check "info-$p" 0 "DPIDR: +0x1ba01477" -- "$LODE" info --probe "$p"
    check "flash-$p" 0 "flashed .* verified" -- "$LODE" flash --verify --probe "$p" "$FW/examples/hello-stm32f103.elf"
    check "verify-$p" 0 "identical" -- "$LODE" verify --probe "$p" "$FW/examples/hello-stm32f103.elf"
    check "run-$p" 11 "argv\[2\]=over usb" -- "$LODE" run --probe "$p" "$FW/examples/args-stm32f103.elf" -- via "over usb"
done
check v3-version 0 "ST-Link/V3, firmware V3J7" -- "$LODE" info --probe stlink:0483:374e
check v2-version 0 "ST-Link/V2, firmware V2J37S7" -- "$LODE" info --probe stlink:0483:3748
check swo-v2 0 "itm: hello" -- "$LODE" run --itm --probe stlink:0483:3748 "$FW/examples/itm-stm32f103.elf"
check swo-v3 0 "itm: hello" -- "$LODE" run --itm --probe stlink:0483:374e "$FW/examples/itm-stm32f103.elf"
check swo-dap 0 "itm: hello" -- "$LODE" run --itm --probe cmsis-dap:c251:f00a "$FW/examples/itm-stm32f103.elf"
# Real time (the default): the board runs for the host's time between transfers, not for the
# time the shim itself spent simulating. Counted as a gap, that time made a board simulated
# slower than real time (this sanitizer build, a busy host) run 100 ms at every probe command,
# chasing its own simulation: `lode run --timeout 2` of an endless firmware ran 8.4 s of
# simulated time on 171 commands (16 s of CPU). Now a command gets about lode's poll interval.
check rt-flash-bench 0 "flashed" -- "$LODE" flash --probe stlink:0483:3748:ST2SERIAL "$FW/bench-stm32f103.elf"
rt=$(LODE_USB_SHIM_REPORT=1 timeout 120 "$LODE" run --timeout 1 --probe stlink:0483:3748:ST2SERIAL \
    "$FW/bench-stm32f103.elf" 2>&1)
rt_rc=$?
per=$(sed -n 's/^usb shim: ST2SERIAL closed at \([0-9.]*\) s of simulated time, \([1-9][0-9]*\) probe commands$/\1 \2/p' <<<"$rt" |
    awk '{ printf "%.6f", $1 / $2 }')
if [ "$rt_rc" -ne 124 ] || [ -z "$per" ] || ! awk -v p="$per" 'BEGIN { exit !(p < 0.020) }'; then
    echo "FAIL real-time-gap: exit $rt_rc (wanted 124), simulated time per probe command '${per}' s (wanted < 0.020)"
    echo "$rt"
    fails=$((fails + 1))
else
    pass=$((pass + 1))
    echo "ok   real-time-gap ($per s of simulated time per probe command)"
fi
# The board stands still between transfers (LODE_USB_SHIM_NO_IDLE): lode's waits for the
# target run on the board's clock (the shim's clock_gettime/nanosleep), so it completes, and
# the same session from the same state gives the same figures, bit for bit.
noidle() {
    local dir
    dir=$(mktemp -d)
    LODE_USB_SHIM_STATE_DIR=$dir LODE_SIM_STATE_DIR=$dir LODE_USB_SHIM_NO_IDLE=1 LODE_USB_SHIM_REPORT=1 \
        timeout 120 "$@" 2>&1
    local rc=$?
    rm -rf "$dir"
    return $rc
}
for p in stlink:0483:3748:ST2SERIAL cmsis-dap:c251:f00a; do
    a=$(noidle "$LODE" flash --verify --probe "$p" "$FW/examples/hello-stm32f103.elf")
    ra=$?
    b=$(noidle "$LODE" flash --verify --probe "$p" "$FW/examples/hello-stm32f103.elf")
    rb=$?
    if [ "$ra" -ne 0 ] || [ "$rb" -ne 0 ] || [ "$a" != "$b" ] || ! grep -qE "flashed .* verified" <<<"$a" ||
        ! grep -qE "closed at [0-9.]+ s of simulated time" <<<"$a"; then
        echo "FAIL no-idle-flash-$p: exit $ra/$rb, runs differ or no summary"
        echo "$a"; echo "--"; echo "$b"
        fails=$((fails + 1))
    else
        pass=$((pass + 1))
        echo "ok   no-idle-flash-$p"
    fi
    check "no-idle-run-$p" 11 "argv\[2\]=over usb" -- noidle "$LODE" run --probe "$p" "$FW/examples/args-stm32f103.elf" -- via "over usb"
done
echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
