#!/bin/sh
# SPDX-License-Identifier: MIT
# Host CPU of GDB's `load` through `lode gdb` after firmware that uses SysTick ran: gdb-multiarch
# loads firmware/apps/systick.c, runs it to its WFI loop three times (SysTick on, 1 kHz), then
# loads a 60 KiB image. SysTick becomes pending while lode's flash algorithm runs with PRIMASK
# set (an exception pending but masked: sim/src/board.c run_until). Against the same session
# without running the firmware (SysTick off). Prints lode gdb's user+sys CPU (/usr/bin/time) and
# the second load's wall time for each.
#
# usage: bench/gdb_load_systick.sh <lode-binary> <firmware-dir>
set -u
lode_bin=$1
elf=$2/systick-stm32f103.elf
for tool in gdb-multiarch arm-none-eabi-objcopy /usr/bin/time; do
    command -v $tool >/dev/null || { echo "gdb_load_systick: $tool not found" >&2; exit 1; }
done
[ -f "$elf" ] || { echo "gdb_load_systick: $elf not found" >&2; exit 1; }
tmp=$(mktemp -d) || exit 1
. "$(dirname "$0")/../tests/peer/lib_gdb.sh"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
# the second image: 60 KiB of text at the flash's start
yes "lode gdb load bench" | head -c 61440 >"$tmp/big.bin"
arm-none-eabi-objcopy -I binary -O elf32-littlearm -B arm \
    --rename-section .data=.text,alloc,load,readonly,code,contents "$tmp/big.bin" "$tmp/big0.elf" &&
    arm-none-eabi-objcopy --change-section-address .text=0x08000000 "$tmp/big0.elf" "$tmp/big.elf" ||
    { echo "gdb_load_systick: objcopy failed" >&2; exit 1; }

# lode gdb under /usr/bin/time (its CPU in $tmp/cpu), for start_lode_gdb
printf '#!/bin/sh\nexec /usr/bin/time -f "%%U %%S" -o "%s/cpu" "%s" "$@"\n' "$tmp" "$lode_bin" >"$tmp/lode-timed"
lode=$tmp/lode-timed # what start_lode_gdb runs
chmod +x "$tmp/lode-timed"

one() { # one: MODE (off|systick)
    mode=$1
    LODE_SIM_STATE_DIR=$tmp/sim-$1
    export LODE_SIM_STATE_DIR
    mkdir -p "$LODE_SIM_STATE_DIR"
    rm -f "$tmp/cpu"
    start_lode_gdb --once "$elf"
    [ -n "$port" ] || { echo "gdb_load_systick: lode gdb did not start" >&2; exit 1; }
    if [ "$1" = systick ]; then
        set -- -ex "break systick.c:32" -ex continue -ex continue -ex continue -ex delete
    else
        set --
    fi
    timeout 600 gdb-multiarch -batch -nx -ex "set remotetimeout 60" -ex "target extended-remote 127.0.0.1:$port" \
        -ex load -ex "monitor reset halt" "$@" -ex "shell date +%s.%N >$tmp/t0" -ex "load $tmp/big.elf" \
        -ex "shell date +%s.%N >$tmp/t1" -ex detach "$elf" >"$tmp/gdb.out" 2>&1
    wait "$server"
    server=""
    "$lode_bin" verify --base 0x08000000 "$tmp/big.bin" >"$tmp/verify.out" 2>&1 ||
        { cat "$tmp/gdb.out" "$tmp/verify.out"; echo "gdb_load_systick: the 60 KiB image is not in flash" >&2; exit 1; }
    if [ "$mode" = systick ] && [ "$(grep -c '^Breakpoint 1, ' "$tmp/gdb.out")" -ne 3 ]; then
        cat "$tmp/gdb.out"
        echo "gdb_load_systick: GDB did not stop three times in systick.c's loop" >&2
        exit 1
    fi
    cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$tmp/cpu")
    wall=$(awk -v a="$(cat "$tmp/t0")" -v b="$(cat "$tmp/t1")" 'BEGIN { printf "%.2f", b - a }')
}

echo "lode gdb on the simulated STM32F103 + gdb-multiarch: load systick.elf, then load 60 KiB"
one off
echo "  SysTick off (firmware not run):         lode gdb $cpu s CPU, the 60 KiB load $wall s wall"
one systick
echo "  after systick.c ran (SysTick pending):  lode gdb $cpu s CPU, the 60 KiB load $wall s wall"
