#!/bin/sh
# SPDX-License-Identifier: MIT
# `--probe bmp:DEVICE` (a Black Magic Probe: its GDB server on a USB serial port) against a
# simulated one: `lode gdb` on the simulated board answering as a BMP does (`monitor
# swdp_scan` lists target 1, vAttach;1 attaches) behind a pseudo-terminal (pty_bridge). lode
# opens the terminal raw, scans, attaches, and then reads registers, flashes through the
# server's flash programming, verifies and runs a program to its exit code (semihosting
# forwarded to lode as File-I/O). A missing device exits 69 naming it.
# usage: bmp_serial.sh <lode> <firmware-dir> <pty_bridge>
set -u
lode=$1
fw=$2
bridge=$3
tmp=$(mktemp -d) || exit 1
server=""
br=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; [ -n "$br" ] && kill $br 2>/dev/null; rm -rf "$tmp"' EXIT
LODE_SIM_STATE_DIR=$tmp/sim
export LODE_SIM_STATE_DIR
mkdir -p "$LODE_SIM_STATE_DIR"
. "$(dirname "$0")/lib_gdb.sh"
fail() {
    echo "bmp_serial: FAIL: $1"
    for f in "$tmp"/*.out "$tmp"/*.err; do [ -f "$f" ] && { echo "---- $f"; cat "$f"; }; done
    exit 1
}
start_lode_gdb --sim-fresh --semihosting gdb
[ -n "$port" ] || fail "lode gdb did not start"
"$bridge" "$port" >"$tmp/tty.out" &
br=$!
tty=""
for _ in $(seq 1 600); do # 60 s only bounds a bridge that hangs (it stops at once if the bridge died)
    tty=$(head -1 "$tmp/tty.out" 2>/dev/null)
    [ -n "$tty" ] && break
    kill -0 "$br" 2>/dev/null || break
    sleep 0.1
done
[ -c "$tty" ] || fail "no pseudo-terminal from pty_bridge"
# the options before the rest: after a FILE, `lode run` passes everything to the firmware
b() { c=$1; shift; timeout 60 "$lode" "$c" --probe "bmp:$tty" --chip STM32F103C8 "$@"; }
b regs >"$tmp/regs.out" 2>&1 || fail "lode regs through the BMP port failed"
grep -q "^r0 " "$tmp/regs.out" || fail "no registers through the BMP port"
b flash --verify "$fw/examples/args-stm32f103.elf" >"$tmp/flash.out" 2>&1 || fail "flash through the BMP port failed"
b verify "$fw/examples/args-stm32f103.elf" >"$tmp/verify.out" 2>&1 || fail "verify through the BMP port failed"
b run "$fw/examples/args-stm32f103.elf" >"$tmp/run.out" 2>"$tmp/run.err"
rc=$?
grep -q "^argc=" "$tmp/run.out" || fail "the program's output did not come through the BMP port"
timeout 60 "$lode" run --sim-state "$tmp/direct.state" "$fw/examples/args-stm32f103.elf" >/dev/null 2>&1
want=$?
[ "$rc" -eq "$want" ] || fail "lode run through the BMP port exited $rc, the simulated board directly $want"
timeout 20 "$lode" regs --probe bmp:/dev/lode-no-such-tty >"$tmp/none.out" 2>&1
rc=$?
[ "$rc" -eq 69 ] || fail "a missing BMP device exited $rc, not 69"
grep -q "/dev/lode-no-such-tty" "$tmp/none.out" || fail "the error does not name the device"
echo "bmp_serial: all checks passed"
