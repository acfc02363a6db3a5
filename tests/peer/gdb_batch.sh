#!/bin/sh
# SPDX-License-Identifier: MIT
# Drives `lode gdb` (on the simulated STM32F103) with GDB itself: gdb-multiarch in batch mode
# reads registers and memory, stops at a breakpoint on main, single-steps, catches a write
# watchpoint on `ticks`, runs a monitor command and detaches. The output is checked against
# the ELF (arm-none-eabi-nm / objcopy).
#
# usage: gdb_batch.sh <lode-binary> <firmware-dir>
# exit:  0 all checks passed; 1 a check failed or something is missing.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 <lode-binary> <firmware-dir>" >&2
    exit 1
fi
lode=$1
elf=$2/systick-stm32f103.elf

for tool in gdb-multiarch arm-none-eabi-nm arm-none-eabi-objcopy od timeout; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "gdb_batch: $tool not found in PATH (scripts/deps.sh test installs it)" >&2
        exit 1
    fi
done
if [ ! -x "$lode" ]; then
    echo "gdb_batch: lode binary '$lode' is missing or not executable" >&2
    exit 1
fi
if [ ! -f "$elf" ]; then
    echo "gdb_batch: firmware image '$elf' not found" >&2
    exit 1
fi

tmp=$(mktemp -d) || exit 1
. "$(dirname "$0")/lib_gdb.sh"
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
    echo "gdb_batch: FAIL: $1"
    echo "---- gdb output:"
    cat "$tmp/gdb.out" 2>/dev/null
    echo "---- lode gdb stderr:"
    cat "$tmp/server.err" 2>/dev/null
    exit 1
}

if ! timeout 60 "$lode" flash "$elf" >"$tmp/flash.out" 2>&1; then
    cat "$tmp/flash.out"
    fail "lode flash failed"
fi

# port 0: the server picks a free port and names it on stderr
start_lode_gdb --once
[ -n "$port" ] || fail "lode gdb did not say 'listening on 127.0.0.1:PORT'"

timeout 60 gdb-multiarch -batch -nx -ex "set architecture arm" \
    -ex "set remotetimeout 30" -ex "target extended-remote 127.0.0.1:$port" \
    -ex "info registers pc" -ex "x/4x 0x08000000" -ex "break main" -ex "continue" \
    -ex "info registers pc" -ex "stepi" -ex "watch ticks" -ex "continue" -ex "print ticks" \
    -ex "monitor reset halt" -ex "detach" "$elf" >"$tmp/gdb.out" 2>&1
gdb_rc=$?
i=0
while kill -0 "$server" 2>/dev/null && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
if kill -0 "$server" 2>/dev/null; then
    fail "lode gdb --once did not exit after the client detached"
fi
wait "$server"
server_rc=$?
server=""
[ "$gdb_rc" -eq 0 ] || fail "gdb-multiarch exited with status $gdb_rc"
[ "$server_rc" -eq 0 ] || fail "lode gdb exited with status $server_rc"

# what the ELF says
sym() { arm-none-eabi-nm -S "$elf" | awk -v n="$1" '$NF == n { print $1, $2; exit }'; }
set -- $(sym main)
[ $# -eq 2 ] || fail "no symbol main in $elf"
main_addr=$((0x$1))
main_end=$((0x$1 + 0x$2))
set -- $(sym Reset_Handler)
[ $# -eq 2 ] || fail "no symbol Reset_Handler in $elf"
reset_addr=$((0x$1))
arm-none-eabi-objcopy -O binary "$elf" "$tmp/fw.bin" || fail "objcopy failed"
vectors=$(od -A n -t x4 -N 16 "$tmp/fw.bin" | awk '{ printf "0x%s 0x%s 0x%s 0x%s", $1, $2, $3, $4 }')

out=$tmp/gdb.out
# 1. registers: halted at the reset vector (lode gdb halts a freshly reset simulated board)
pcs=$(sed -n 's/^pc  *\(0x[0-9a-f]*\) .*/\1/p' "$out")
pc1=$(echo "$pcs" | sed -n 1p)
pc2=$(echo "$pcs" | sed -n 2p)
[ -n "$pc1" ] && [ -n "$pc2" ] || fail "expected two 'pc' register lines"
[ $((pc1)) -eq $((reset_addr & ~1)) ] || fail "first pc $pc1 is not Reset_Handler ($reset_addr)"
# 2. memory: the vector table words
got=$(sed -n 's/^0x8000000 <[^>]*>:[[:space:]]*//p' "$out" | tr -s ' \t' '  ')
[ "$got" = "$vectors" ] || fail "x/4x 0x08000000 gave '$got', the ELF has '$vectors'"
# 3. the breakpoint on main: GDB's address, inside main, and where the core stopped
bp=$(sed -n 's/^Breakpoint 1 at \(0x[0-9a-f]*\):.*/\1/p' "$out")
[ -n "$bp" ] || fail "no 'Breakpoint 1 at ...' line"
[ $((bp)) -ge $main_addr ] && [ $((bp)) -lt $main_end ] || fail "breakpoint $bp is outside main"
grep -q "^Breakpoint 1, main ()" "$out" || fail "the core did not stop at the breakpoint"
[ $((pc2)) -eq $((bp)) ] || fail "pc after the breakpoint hit is $pc2, not $bp"
# 4. stepi moved on
grep -q "^0x[0-9a-f]*[[:space:]]" "$out" || fail "stepi printed no new pc"
# 5. the watchpoint: the SysTick handler's first write to ticks
grep -q "^Hardware watchpoint 2: ticks" "$out" || fail "no hardware watchpoint on ticks"
grep -q "^Old value = 0" "$out" && grep -q "^New value = 1" "$out" || fail "watchpoint hit not reported as 0 -> 1"
grep -q '^\$1 = 1$' "$out" || fail "print ticks did not give 1"
# 6. monitor command and detach
grep -q "reset, the core is halted" "$out" || fail "no output from monitor reset halt"
grep -q "Inferior 1 (Remote target) detached" "$out" || fail "detach was not acknowledged"

echo "gdb_batch: OK (breakpoint $bp in main, watchpoint on ticks 0 -> 1, vectors $vectors)"
exit 0
