#!/bin/sh
# SPDX-License-Identifier: MIT
# GDB's `load` through `lode gdb` into a simulated STM32F103 whose flash starts erased: GDB
# reads lode's memory map (flash with its 1 KiB blocks, RAM), erases and writes with
# vFlashErase/vFlashWrite/vFlashDone; then `compare-sections` in GDB and `lode verify`
# afterwards must both find the ELF in flash, and the program must run to main. Then
# `monitor flash erase`, a reconnect, and RTT output flowing while GDB runs the target.
#
# usage: gdb_load.sh <lode-binary> <firmware-dir>
# exit:  0 all checks passed; 1 a check failed or something is missing.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 <lode-binary> <firmware-dir>" >&2
    exit 1
fi
lode=$1
elf=$2/systick-stm32f103.elf
for tool in gdb-multiarch timeout; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "gdb_load: $tool not found in PATH (scripts/deps.sh test installs it)" >&2
        exit 1
    fi
done
if [ ! -x "$lode" ] || [ ! -f "$elf" ]; then
    echo "gdb_load: lode binary '$lode' or firmware '$elf' is missing" >&2
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
LODE_SIM_STATE_DIR=$tmp/sim # a fresh board: erased flash
export LODE_SIM_STATE_DIR
mkdir -p "$LODE_SIM_STATE_DIR"

fail() {
    echo "gdb_load: FAIL: $1"
    echo "---- gdb output:"
    cat "$tmp/gdb.out" 2>/dev/null
    echo "---- lode gdb stderr:"
    cat "$tmp/server.err" 2>/dev/null
    exit 1
}

# the flash is erased before the load: lode verify must say so
if timeout 60 "$lode" verify "$elf" >"$tmp/pre.out" 2>&1; then
    fail "lode verify found the image in a fresh board's flash before the load"
fi

start_lode_gdb --once
[ -n "$port" ] || fail "lode gdb did not say 'listening on 127.0.0.1:PORT'"

timeout 60 gdb-multiarch -batch -nx -ex "set architecture arm" \
    -ex "set remotetimeout 30" -ex "target extended-remote 127.0.0.1:$port" -ex "info mem" -ex "load" \
    -ex "compare-sections" -ex "monitor reset halt" -ex "maintenance flush register-cache" -ex "break main" \
    -ex "continue" -ex "info registers pc" -ex "detach" "$elf" >"$tmp/gdb.out" 2>&1
gdb_rc=$?
i=0
while kill -0 "$server" 2>/dev/null && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
done
kill -0 "$server" 2>/dev/null && fail "lode gdb --once did not exit after the client detached"
wait "$server"
server_rc=$?
server=""
[ "$gdb_rc" -eq 0 ] || fail "gdb-multiarch exited with status $gdb_rc"
[ "$server_rc" -eq 0 ] || fail "lode gdb exited with status $server_rc"

grep -Eq '0x08000000 +0x08010000 +flash blocksize 0x400' "$tmp/gdb.out" ||
    fail "GDB did not get the flash region (64 KiB, 1 KiB blocks) from the memory map"
grep -Eq '0x20000000 +0x20005000 +rw' "$tmp/gdb.out" || fail "GDB did not get the 20 KiB RAM region"
grep -q '^Loading section .text' "$tmp/gdb.out" || fail "GDB did not load .text"
grep -q 'Start address' "$tmp/gdb.out" || fail "the load did not complete"
if grep -q 'MIS-MATCHED' "$tmp/gdb.out" || ! grep -q 'Section .text, range .*: matched' "$tmp/gdb.out"; then
    fail "compare-sections after the load does not match"
fi
grep -Eq '^pc +0x[0-9a-f]+ +0x[0-9a-f]+ <main>' "$tmp/gdb.out" || fail "after the load the program did not stop at main"

# and the flash holds the image for lode too, after GDB left
timeout 60 "$lode" verify "$elf" >"$tmp/verify.out" 2>&1 || {
    cat "$tmp/verify.out"
    fail "lode verify after GDB's load failed"
}
# `monitor flash erase` from GDB: afterwards the image is gone. The server keeps serving (no
# --once): a second GDB connects after the first detached (which left the core running) and
# finds it halted.
start_lode_gdb
[ -n "$port" ] || fail "lode gdb did not start a second time"
timeout 60 gdb-multiarch -batch -nx -ex "set architecture arm" \
    -ex "set remotetimeout 30" -ex "target extended-remote 127.0.0.1:$port" -ex "monitor flash erase" -ex "monitor reset" -ex "detach" \
    >"$tmp/gdb.out" 2>&1 || fail "gdb-multiarch failed on monitor flash erase"
grep -q 'lode: the whole flash is erased' "$tmp/gdb.out" || fail "monitor flash erase did not report"
timeout 60 gdb-multiarch -batch -nx -ex "set architecture arm" \
    -ex "set remotetimeout 30" -ex "target extended-remote 127.0.0.1:$port" -ex "info registers pc sp msp" -ex "detach" \
    >"$tmp/gdb.out" 2>&1 || fail "gdb-multiarch could not reconnect"
grep -Eq '^msp +0x' "$tmp/gdb.out" || fail "the reconnected GDB could not read registers"
# a second GDB while one is connected is refused, and told why
timeout 60 gdb-multiarch -batch -nx -ex "set remotetimeout 30" -ex "target extended-remote 127.0.0.1:$port" \
    -ex "shell touch $tmp/first-connected" -ex "shell sleep 4" -ex "detach" >"$tmp/gdb1.out" 2>&1 &
first=$!
for _ in $(seq 1 600); do # 60 s only bounds a GDB that hangs (it stops at once if GDB ended)
    [ -f "$tmp/first-connected" ] && break
    kill -0 "$first" 2>/dev/null || break
    sleep 0.1
done
[ -f "$tmp/first-connected" ] || fail "the first GDB did not connect"
timeout 60 gdb-multiarch -batch -nx -ex "set remotetimeout 30" -ex "target extended-remote 127.0.0.1:$port" \
    >"$tmp/gdb2.out" 2>&1
wait "$first" || fail "the first GDB failed while a second one was refused"
grep -q 'another GDB client is connected' "$tmp/gdb2.out" || {
    cat "$tmp/gdb2.out"
    fail "the second GDB was not told why it was refused"
}
kill -INT "$server"
wait "$server"
server_rc=$?
server=""
[ "$server_rc" -eq 0 ] || fail "lode gdb exited with status $server_rc on SIGINT"
if timeout 60 "$lode" verify "$elf" >"$tmp/verify2.out" 2>&1; then
    fail "the image is still in flash after monitor flash erase"
fi
# RTT keeps flowing while GDB runs the target: the example's "rtt: hello" reaches lode gdb's
# stdout before GDB's breakpoint on rtt_getc; `monitor rtt off` answers
rtt_elf=$2/examples/rtt-stm32f103.elf
[ -f "$rtt_elf" ] || fail "firmware image '$rtt_elf' not found"
timeout 60 "$lode" flash "$rtt_elf" >"$tmp/flash.out" 2>&1 || fail "lode flash of the RTT example failed"
start_lode_gdb --once "$rtt_elf"
[ -n "$port" ] || fail "lode gdb did not start for the RTT example"
timeout 60 gdb-multiarch -batch -nx -ex "set remotetimeout 30" -ex "target extended-remote 127.0.0.1:$port" \
    -ex "monitor reset halt" -ex "break rtt_getc" -ex "continue" -ex "monitor rtt off" \
    -ex "detach" "$rtt_elf" >"$tmp/gdb.out" 2>&1 || fail "gdb-multiarch failed on the RTT example"
wait "$server"
server=""
grep -q 'Breakpoint 1, rtt_getc' "$tmp/gdb.out" || fail "GDB did not stop at rtt_getc"
grep -q 'lode: RTT output paused' "$tmp/gdb.out" || fail "monitor rtt off did not answer"
grep -qx 'rtt: hello' "$tmp/server.out" || {
    cat "$tmp/server.out"
    fail "the RTT output did not reach lode gdb's stdout"
}
echo "gdb_load: ok"
