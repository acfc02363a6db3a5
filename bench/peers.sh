#!/bin/sh
# SPDX-License-Identifier: MIT
# The same 64 KiB image to the same simulated STM32F103C8 behind the same simulated probe at
# the same SWD clock (4 MHz), in virtual time: lode against OpenOCD 0.12 (stlink-dap and hla on
# the simulated ST-Link/V2, cmsis-dap on the simulated CMSIS-DAP v2) and pyOCD (ST-Link/V2).
# Prints each tool's time, its probe commands (ST-Link commands or CMSIS-DAP packets), the
# ratio to lode on the same probe model, and the share of the flash-physics bound.
#
# The peers reach the probes through the stand-in libusb (tests/shim, the build without
# sanitizers) with LODE_USB_SHIM_NO_IDLE: the board's clock moves only with probe traffic,
# so every figure is the same in each run (the peers' host-side sleeps are not counted, in
# their favour). lode runs the identical probe models in process (bench_stlink_flash), where
# its waits are charged to the clock, and through the stand-in in the same mode (there the
# process's clock is the board's, so its sleeps are charged too). Every flash is read back
# and compared.
# pyOCD 0.13 has no STM32F103C8 target: stm32f103rc (2 KiB pages) with a chip erase.
#
# usage: bench/peers.sh <build-dir>   (needs openocd and pyocd: scripts/deps.sh test)
set -u
b=${1:-build}
bench=$b/bench/bench_stlink_flash
lode=$b/lode
shim=$b/tests/shim/plain
[ -f "$shim/libusb-1.0.so.0" ] || shim=$b/tests/shim/lib
for f in "$bench" "$lode" "$shim/libusb-1.0.so.0"; do
    [ -e "$f" ] || { echo "peers: $f is missing: build first" >&2; exit 1; }
done
for p in openocd pyocd-flashtool; do
    command -v $p >/dev/null 2>&1 || { echo "peers: $p not found (scripts/deps.sh test)" >&2; exit 1; }
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
"$bench" --write-image "$tmp/img.bin" || exit 1
"$bench" >"$tmp/lode.out" || { cat "$tmp/lode.out"; exit 1; }
val() { sed -n "s/^$1=//p" "$tmp/lode.out"; }
lode_st=$(val LODE_STLINK_TOTAL_S)
lode_st_n=$(val LODE_STLINK_COMMANDS)
lode_dap=$(val LODE_DAP_TOTAL_S)
lode_dap_n=$(val LODE_DAP_COMMANDS)

# peer NAME DEVICE COMMAND... : run it on a fresh board, print "seconds commands"
peer() {
    name=$1 dev=$2
    shift 2
    rm -f "$tmp"/*.state
    LD_LIBRARY_PATH=$shim LODE_USB_SHIM=$dev:PEER LODE_USB_SHIM_STATE_DIR=$tmp LODE_USB_SHIM_NO_IDLE=1 \
        LODE_USB_SHIM_REPORT=1 timeout 600 "$@" >"$tmp/$name.out" 2>&1 ||
        { echo "peers: $name failed:" >&2; tail -20 "$tmp/$name.out" >&2; return 1; }
    probe=stlink:0483:3748:PEER
    [ "$dev" = cmsis-dap ] && probe=cmsis-dap:c251:f00a:PEER
    LD_LIBRARY_PATH=$shim LODE_USB_SHIM=$dev:PEER LODE_USB_SHIM_STATE_DIR=$tmp \
        "$lode" read 0x08000000 65536 -o "$tmp/back.bin" --probe "$probe" >"$tmp/$name.read" 2>&1 &&
        cmp -s "$tmp/img.bin" "$tmp/back.bin" ||
        { echo "peers: $name: the flash does not read back as the image" >&2; return 1; }
    sed -n 's/^usb shim: PEER closed at \([0-9.]*\) s of simulated time, \([0-9]*\) probe commands$/\1 \2/p' \
        "$tmp/$name.out" | tail -1
}
img=$tmp/img.bin
r_dap=$(peer ocd-stlink-dap stlink-v2 openocd -c 'gdb_port disabled' -c 'tcl_port disabled' -c 'telnet_port disabled' \
    -f interface/stlink-dap.cfg -c 'transport select dapdirect_swd' -f target/stm32f1x.cfg -c 'adapter speed 4000' \
    -c "program $img 0x08000000 verify reset exit") || exit 1
r_hla=$(peer ocd-hla stlink-v2 openocd -c 'gdb_port disabled' -c 'tcl_port disabled' -c 'telnet_port disabled' \
    -f interface/stlink.cfg -f target/stm32f1x.cfg -c 'adapter speed 4000' \
    -c "program $img 0x08000000 verify reset exit") || exit 1
r_cmsis=$(peer ocd-cmsis-dap cmsis-dap openocd -c 'gdb_port disabled' -c 'tcl_port disabled' -c 'telnet_port disabled' \
    -f interface/cmsis-dap.cfg -c 'cmsis_dap_backend usb_bulk' -f target/stm32f1x.cfg -c 'adapter speed 4000' \
    -c "program $img 0x08000000 verify reset exit") || exit 1
r_py=$(peer pyocd stlink-v2 pyocd-flashtool -t stm32f103rc -ce -f 4000000 "$img") || exit 1
r_lst=$(peer lode-stlink stlink-v2 "$lode" flash --verify --probe stlink:0483:3748:PEER --base 0x08000000 "$img") || exit 1
r_lcm=$(peer lode-cmsis-dap cmsis-dap "$lode" flash --verify --probe cmsis-dap:c251:f00a:PEER --base 0x08000000 "$img") || exit 1

echo "64 KiB to the simulated STM32F103C8, SWD 4 MHz, virtual time (same image, same probe models)"
awk -v ls="$lode_st" -v lsn="$lode_st_n" -v ld="$lode_dap" -v ldn="$lode_dap_n" \
    -v dap="$r_dap" -v hla="$r_hla" -v cm="$r_cmsis" -v py="$r_py" -v lst="$r_lst" -v lcm="$r_lcm" 'BEGIN {
    bound = 0.020 + 32768 * 52.5e-6
    printf "  %-44s %10s %10s %12s %9s\n", "tool (probe)", "seconds", "commands", "x lode", "% bound"
    row("lode flash --verify (ST-Link/V2)", ls " " lsn, ls)
    row("lode, stand-in libusb (ST-Link/V2)", lst, ls)
    row("OpenOCD 0.12 stlink-dap (ST-Link/V2)", dap, ls)
    row("OpenOCD 0.12 hla (ST-Link/V2)", hla, ls)
    row("pyOCD 0.13 flashtool -ce (ST-Link/V2)", py, ls)
    row("lode flash --verify (CMSIS-DAP v2)", ld " " ldn, ld)
    row("lode, stand-in libusb (CMSIS-DAP v2)", lcm, ld)
    row("OpenOCD 0.12 cmsis-dap (CMSIS-DAP v2)", cm, ld)
    printf "  flash-physics bound: %.4f s (mass erase 20 ms + 32768 x 52.5 us); x lode = the tool'"'"'s time / lode'"'"'s on the same probe\n", bound
}
function row(name, r, l,    a) {
    split(r, a, " ")
    printf "  %-44s %10.4f %10d %11.2fx %8.1f%%\n", name, a[1], a[2], a[1] / l, 100 * bound / a[1]
}'
