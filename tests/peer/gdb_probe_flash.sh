#!/bin/sh
# SPDX-License-Identifier: MIT
# Flashing through a GDB server (`--probe gdb:`: the server's memory map, vFlashErase /
# vFlashWrite / vFlashDone, as GDB's `load`):
#   - against `lode gdb` on the simulated board: flash --verify, verify, erase --chip, the
#     range-erase refusal, and lode run (the server takes the image through vFlash);
#   - against OpenOCD's GDB server (OpenOCD 0.12 on `lode sim-server`'s simulated ST-Link): its
#     stm32f1x driver programs what lode sends, and lode (as another client of the simulated
#     ST-Link) reads it back identical.
# usage: gdb_probe_flash.sh <lode> <firmware-dir>
set -u
lode=$1
fw=$2
elf=$fw/systick-stm32f103.elf
for tool in openocd timeout; do
    command -v $tool >/dev/null 2>&1 || { echo "gdb_probe_flash: $tool not found (scripts/deps.sh test installs it)"; exit 1; }
done
tmp=$(mktemp -d) || exit 1
server=""
ocd=""
srv=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; [ -n "$ocd" ] && kill $ocd 2>/dev/null; [ -n "$srv" ] && kill $srv 2>/dev/null; rm -rf "$tmp"' EXIT
LODE_SIM_STATE_DIR=$tmp/sim
export LODE_SIM_STATE_DIR
mkdir -p "$LODE_SIM_STATE_DIR"
. "$(dirname "$0")/lib_gdb.sh"
fail() {
    echo "gdb_probe_flash: FAIL: $1"
    for f in "$tmp"/*.out "$tmp"/*.err; do [ -f "$f" ] && { echo "---- $f"; cat "$f"; }; done
    exit 1
}
# the options before the rest: after a FILE, `lode run` passes everything to the firmware
# each command gets 120 s, all of them together stay inside 540 s (CTest's TIMEOUT is 600), and
# a command stopped by its bound says so in its output
end=$(($(date +%s) + 540))
bounded() { # bounded COMMAND...: run it for at most 120 s (less when the test's time runs out)
    left=$((end - $(date +%s)))
    [ "$left" -gt 120 ] && left=120
    [ "$left" -lt 1 ] && left=1
    timeout "$left" "$@"
    rc=$?
    [ "$rc" -eq 124 ] && echo "gdb_probe_flash: stopped after $left s: $*"
    return "$rc"
}
g() { c=$1; shift; bounded "$lode" "$c" --probe "gdb:127.0.0.1:$port" --chip STM32F103C8 "$@"; }

# 1. lode's own GDB server
start_lode_gdb --sim-fresh
[ -n "$port" ] || fail "lode gdb did not start"
g flash --verify "$elf" >"$tmp/f1.out" 2>&1 || fail "lode flash through lode gdb failed"
grep -q "flashed .* through the GDB server .* verified" "$tmp/f1.out" || fail "no flash summary"
g verify "$elf" >"$tmp/v1.out" 2>&1 || fail "lode verify through lode gdb failed"
# a range erase is the planner's sectors (the server's blocks) through vFlashErase
g erase 0x08000000 1K >"$tmp/e0.out" 2>&1 || fail "a range erase through lode gdb failed"
grep -q "erased 1 sectors of STM32F103C8 through the GDB server" "$tmp/e0.out" || fail "no erase summary"
g read 0x08000000 4 >"$tmp/r0.out" 2>&1 || fail "read after the range erase failed"
grep -q "08000000: ff ff ff ff" "$tmp/r0.out" || fail "the first block is not erased"
g erase --chip >"$tmp/e1.out" 2>&1 || fail "lode erase --chip through lode gdb failed"
g read 0x08000000 4 >"$tmp/r1.out" 2>&1 || fail "read after erase failed"
grep -q "08000000: ff ff ff ff" "$tmp/r1.out" || fail "the flash is not erased"
bounded "$lode" run --probe "gdb:127.0.0.1:$port" --chip STM32F103C8 "$fw/examples/hello-stm32f103.elf" \
    >"$tmp/run.out" 2>"$tmp/run.err"
g verify "$fw/examples/hello-stm32f103.elf" >"$tmp/v2.out" 2>&1 || fail "lode run did not put the image into flash through vFlash"
kill $server 2>/dev/null
wait $server 2>/dev/null # its board lock goes with it: the next server takes the same board
server=""

# 2. OpenOCD's GDB server programs the simulated chip with its own flash driver
"$lode" sim-server --stlink-tcp 0 --sim-fresh --chip STM32F103C8 >"$tmp/srv.out" 2>"$tmp/srv.err" &
srv=$!
sport=""
for _ in $(seq 1 600); do # 60 s only bounds a server that hangs (it stops at once if the server died)
    sport=$(sed -n 's/^lode sim-server: .* on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$tmp/srv.out")
    [ -n "$sport" ] && break
    kill -0 "$srv" 2>/dev/null || break
    sleep 0.1
done
[ -n "$sport" ] || fail "lode sim-server did not start"
port=$((22000 + $$ % 20000))
timeout 120 openocd -f interface/stlink-dap.cfg -c "st-link backend tcp $sport" \
    -c 'transport select dapdirect_swd' -f target/stm32f1x.cfg -c "gdb_port $port" \
    -c 'tcl_port disabled' -c 'telnet_port disabled' -c init -c 'reset halt' >"$tmp/ocd.err" 2>&1 &
ocd=$!
ok=""
oend=$(($(date +%s) + 60)) # OpenOCD listens soon; 60 s only bounds one that never does
while :; do
    if g flash --verify "$elf" >"$tmp/f2.out" 2>&1; then
        ok=1
        break
    fi
    grep -q "cannot connect" "$tmp/f2.out" || break
    { [ "$(date +%s)" -lt "$oend" ] && kill -0 "$ocd" 2>/dev/null; } || break
    sleep 0.2
done
[ -n "$ok" ] || fail "lode flash through OpenOCD's GDB server failed"
kill $ocd 2>/dev/null
wait $ocd 2>/dev/null
ocd=""
bounded "$lode" verify "$elf" --probe "stlink-tcp:127.0.0.1:$sport" >"$tmp/v3.out" 2>&1 ||
    fail "what OpenOCD programmed for lode does not verify through the simulated ST-Link"
echo "gdb_probe_flash: all checks passed"
