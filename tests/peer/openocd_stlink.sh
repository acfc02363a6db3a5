#!/bin/sh
# SPDX-License-Identifier: MIT
# OpenOCD (Debian's 0.12) as the referee of the simulated ST-Link and STM32F103: `lode
# sim-server --stlink-tcp` serves a fresh board (erased flash) behind a simulated ST-Link/V2,
# and OpenOCD's own ST-Link driver (dapdirect_swd over "st-link backend tcp") and its own
# stm32f1x flash driver (a Thumb algorithm OpenOCD runs in the simulated RAM) must:
#   - examine the Cortex-M3 (DPIDR, CPUID), program + verify (OpenOCD's CRC algorithm on the
#     target) + reset an ELF;
#   - after which lode, as another client of the same server, reads the flash back
#     byte-exact (lode read vs the image's .bin) and `lode verify` agrees;
#   - then halt, reset halt (PC = the image's reset vector), read/write memory and core
#     registers, step, resume and halt again.
#
# usage: openocd_stlink.sh <lode-binary> <firmware-dir>
# exit:  0 all checks passed; 1 a check failed or something is missing.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 <lode-binary> <firmware-dir>" >&2
    exit 1
fi
lode=$1
elf=$2/examples/hello-stm32f103.elf
bin=$2/examples/hello-stm32f103.bin
for tool in openocd timeout od cmp; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "openocd_stlink: $tool not found in PATH (scripts/deps.sh test installs it)" >&2
        exit 1
    fi
done
if [ ! -x "$lode" ] || [ ! -f "$elf" ] || [ ! -f "$bin" ]; then
    echo "openocd_stlink: lode binary '$lode' or firmware '$elf' / '$bin' is missing" >&2
    exit 1
fi

tmp=$(mktemp -d) || exit 1
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
LODE_SIM_STATE_DIR=$tmp/sim
export LODE_SIM_STATE_DIR
mkdir -p "$LODE_SIM_STATE_DIR"

fail() {
    echo "openocd_stlink: FAIL: $1"
    for f in "$tmp"/ocd*.out "$tmp/server.err"; do
        [ -f "$f" ] && { echo "---- $f:"; cat "$f"; }
    done
    exit 1
}

"$lode" sim-server --stlink-tcp 0 --sim-fresh --chip STM32F103C8 >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
port=""
for _ in $(seq 1 600); do # 60 s only bounds a server that hangs
    port=$(sed -n 's/^lode sim-server: .* on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$tmp/server.out")
    [ -n "$port" ] && break
    kill -0 "$server" 2>/dev/null || break
    sleep 0.1
done
[ -n "$port" ] || fail "lode sim-server did not say which port it listens on"

ocd() { # ocd NAME COMMANDS...: run OpenOCD against the server, output in $tmp/ocd-NAME.out
    name=$1
    shift
    timeout 120 openocd -f interface/stlink-dap.cfg -c "st-link backend tcp $port" \
        -c 'transport select dapdirect_swd' -f target/stm32f1x.cfg "$@" >"$tmp/ocd-$name.out" 2>&1
}
has() { grep -q -- "$2" "$tmp/ocd-$1.out"; }

# 1. program + verify + reset with OpenOCD's own flash driver
ocd program -c "program $elf verify reset exit" || fail "openocd program exited with an error"
has program "STLINK V2J37S7" || fail "OpenOCD did not see an ST-Link V2J37S7"
has program "SWD DPIDR 0x1ba01477" || fail "OpenOCD did not read DPIDR 0x1ba01477"
has program "Cortex-M3 r1p1 processor detected" || fail "OpenOCD did not examine a Cortex-M3 r1p1"
has program "device id = 0x20036410" || fail "OpenOCD's stm32f1x driver did not read DBGMCU_IDCODE 0x20036410"
has program "flash size = 64 KiB" || fail "OpenOCD's stm32f1x driver did not read the 64 KiB flash size"
has program "Programming Finished" || fail "OpenOCD did not finish programming"
has program "Verified OK" || fail "OpenOCD's verify did not pass"
# the CRC algorithm runs at the address the flash loader used: it must run, not fall back
if has program "error executing cortex_m crc algorithm"; then
    fail "OpenOCD's CRC algorithm failed on the simulated core"
fi

# 2. lode, another client of the same server, reads the flash back byte-exact
size=$(wc -c <"$bin")
timeout 60 "$lode" read 0x08000000 "$size" -o "$tmp/back.bin" --probe "stlink-tcp:127.0.0.1:$port" \
    >"$tmp/lode-read.out" 2>&1 || fail "lode read through stlink-tcp failed: $(cat "$tmp/lode-read.out")"
cmp "$bin" "$tmp/back.bin" >/dev/null || fail "the flash read back by lode differs from $bin"
timeout 60 "$lode" verify "$elf" --probe "stlink-tcp:127.0.0.1:$port" >"$tmp/lode-verify.out" 2>&1 ||
    fail "lode verify through stlink-tcp failed: $(cat "$tmp/lode-verify.out")"

# 3. run control, memory and registers, with OpenOCD's view checked against the image
reset=$(od -An -tx4 -j4 -N4 "$bin" | tr -d ' ')
reset=$(printf '0x%08x' $((0x$reset & ~1)))
ocd control -c init -c halt -c "reset halt" -c "reg pc" \
    -c "mww 0x20000100 0xdeadbeef" -c "mdw 0x20000100" \
    -c "reg r0 0x12345678" -c "reg r0" -c "step" -c "reg pc" \
    -c "resume" -c "sleep 50" -c "halt" -c "reg xPSR" -c shutdown || fail "openocd control script failed"
has control "pc (/32): $reset" || fail "after reset halt OpenOCD's PC is not the reset vector $reset"
has control "0x20000100: deadbeef" || fail "OpenOCD's mww/mdw round trip through RAM failed"
has control "r0 (/32): 0x12345678" || fail "OpenOCD's register write/read of r0 failed"
steps=$(grep -c "halted due to" "$tmp/ocd-control.out")
[ "$steps" -ge 3 ] || fail "OpenOCD did not see the core halt after reset, step and halt ($steps)"
if grep -q "^Error" "$tmp/ocd-control.out"; then
    fail "OpenOCD reported an error during run control"
fi

# 4. lode sees the state OpenOCD left: the memory OpenOCD wrote
timeout 60 "$lode" read 0x20000100 4 --probe "stlink-tcp:127.0.0.1:$port" >"$tmp/lode-ram.out" 2>&1 ||
    fail "lode read of RAM failed"
grep -qi "ef be ad de" "$tmp/lode-ram.out" || fail "lode does not see the word OpenOCD wrote: $(cat "$tmp/lode-ram.out")"

echo "openocd_stlink: all checks passed (port $port)"
exit 0
