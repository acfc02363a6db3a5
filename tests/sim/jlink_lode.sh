#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lode's J-Link driver end to end against the simulated J-Link (sim_jlink_lode.sh has the
# basics: flash, read back, VTref 0 V, :power, no SWD): through the stand-in libusb
# (LODE_USB_SHIM=jlink:SERIAL, lode's USB code, the bulk pipe) and in process (--probe
# sim-jlink): list (serial, firmware, hardware), info (caps), flash + verify, run with an exit
# code and semihosting, SWO (--itm), a breakpoint, a watchpoint, RTT, a HardFault, the nRF52840,
# a multidrop target selected by TARGETSEL; the bad input (no J-Link, several, one in use, a
# bad spec) with their messages and exit codes; and sigrok-cli's swd decoder on the VCD of the
# bit streams lode sent (:vcd=PATH), which must hold the line reset, JTAG-to-SWD, the DPIDR
# read and the AP's IDR.
# usage: jlink_lode.sh <lode> <firmware-dir> <shim-lib-dir>
set -u
LODE=$1
FW=$2
SHIM=$3
EX=$FW/examples
command -v sigrok-cli >/dev/null 2>&1 || { echo "jlink_lode: sigrok-cli not found (scripts/deps.sh test installs it)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export LODE_SIM_STATE_DIR=$tmp/sim LODE_USB_SHIM_STATE_DIR=$tmp/shim
mkdir -p "$LODE_SIM_STATE_DIR" "$LODE_USB_SHIM_STATE_DIR"
fails=0
pass=0
. "$(dirname "$0")/../lib_check.sh"
# through the shim: later assignments override (env U... LODE_USB_SHIM=other ...)
U="env LD_LIBRARY_PATH=$SHIM LODE_USB_SHIM=jlink:601000001"
usb() { $U "$@"; }

# ---- through the stand-in libusb ---------------------------------------------------------------
check usb-list 0 '^jlink:601000001 +J-Link 1366:0101 serial 601000001, hardware V11.00, firmware "J-Link V11' -- usb "$LODE" list
check usb-info 0 "caps 0x[0-9a-f]{8} \(.*select-if.*swo" -- usb "$LODE" info --probe jlink
check usb-info-serial 0 "DPIDR: +0x1ba01477" -- usb "$LODE" info --probe jlink:601000001
check usb-flash 0 "flashed .* verified" -- usb "$LODE" flash --verify --probe jlink "$EX/hello-stm32f103.elf"
check usb-verify 0 "identical" -- usb "$LODE" verify --probe jlink "$EX/hello-stm32f103.elf"
check usb-run 11 "argv\[2\]=over usb" -- usb "$LODE" run --probe jlink "$EX/args-stm32f103.elf" -- via "over usb"
check usb-itm 0 "itm: hello" -- usb "$LODE" run --itm --probe jlink "$EX/itm-stm32f103.elf"
# bad input
check usb-none 69 "no J-Link found: plug one in" -- $U LODE_USB_SHIM=cmsis-dap "$LODE" info --probe jlink
check usb-none-serial 69 "no J-Link found with serial 42" -- usb "$LODE" info --probe jlink:42
check usb-several 69 "2 J-Links are attached \(serial 601000001, 601000002\): choose one with --probe jlink:SERIAL" -- \
    $U LODE_USB_SHIM=jlink:601000001,jlink:601000002 "$LODE" info --probe jlink
check usb-several-list 0 "jlink:601000002 " -- $U LODE_USB_SHIM=jlink:601000001,jlink:601000002 "$LODE" list
check usb-busy 69 "busy \(another program uses the probe\?\)" -- $U LODE_USB_SHIM_BUSY=601000001 "$LODE" info --probe jlink
check usb-busy-list 0 "jlink:601000001 .*\(in use or no permission\)" -- $U LODE_USB_SHIM_BUSY=601000001 "$LODE" list
check usb-bad-spec 64 "bad probe 'jlink:60x': use --probe jlink\[:SERIAL\]" -- usb "$LODE" info --probe jlink:60x

# ---- sigrok's swd decoder on the bit streams lode sent ---------------------------------------
check usb-vcd 0 "DPIDR: +0x1ba01477" -- usb "$LODE" info --probe "jlink:vcd=$tmp/lode.vcd"
if sigrok-cli -I vcd -i "$tmp/lode.vcd" -P swd:swclk=swclk:swdio=swdio -A swd >"$tmp/sigrok.out" 2>&1; then
    for what in LINERESET "JTAG->SWD" "0x1ba01477" "0x24770011"; do
        if grep -q -- "$what" "$tmp/sigrok.out"; then pass=$((pass + 1)); echo "ok   sigrok-$what"; else
            echo "FAIL sigrok-$what: not decoded from lode's VCD"; head -30 "$tmp/sigrok.out"; fails=$((fails + 1)); fi
    done
else
    echo "FAIL sigrok: sigrok-cli failed on lode's VCD"; head -20 "$tmp/sigrok.out"; fails=$((fails + 1))
fi

# ---- in process: --probe sim-jlink ------------------------------------------------------------
P="--probe sim-jlink"
check sim-flash 0 "flashed .* verified" -- "$LODE" flash --verify $P "$EX/hello-stm32f103.elf"
check sim-run 12 "argv\[2\]=two words" -- "$LODE" run $P "$EX/args-stm32f103.elf" -- one "two words"
check sim-run-fault 134 "HardFault" -- "$LODE" run $P "$EX/fault-stm32f103.elf"
check sim-itm 0 "itm: hello" -- "$LODE" run --itm $P "$EX/itm-stm32f103.elf"
check sim-break 125 "breakpoint main hit" -- "$LODE" run $P --break main --on-hit stop "$FW/systick-stm32f103.elf"
check sim-watch 0 "watchpoint ticks .* 0x1 -> 0x2" -- "$LODE" run $P --watch ticks:w "$FW/systick-stm32f103.elf"
check sim-rtt 0 "echo: hello" -- sh -c "printf 'hello\nquit\n' | '$LODE' run $P '$EX/rtt-stm32f103.elf'"
check sim-nrf 12 "argv\[2\]=two words" -- "$LODE" run $P --chip nRF52840_xxAA "$EX/args-nrf52840.elf" -- one "two words"
check sim-targetsel 0 "DPIDR: +0x1ba01477" -- "$LODE" info --probe sim-jlink:targetsel=01002927
check sim-bad 64 "bad probe 'sim-jlink:zz'" -- "$LODE" info --probe sim-jlink:zz

echo "jlink_lode: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
