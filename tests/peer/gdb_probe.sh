#!/bin/sh
# SPDX-License-Identifier: MIT
# `--probe gdb:HOST:PORT`: lode as a client of a GDB server, here `lode gdb` serving the
# simulated STM32F103 with the systick example flashed. Memory read through the GDB server
# must equal a direct read of the simulated board; regs, write + read back; a port with
# nothing listening exits 69, a bad spec 64, flash without --chip is refused.
#
# usage: gdb_probe.sh <lode-binary> <firmware-dir>
# exit:  0 all checks passed; 1 a check failed or something is missing.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 <lode-binary> <firmware-dir>" >&2
    exit 1
fi
lode=$1
elf=$2/systick-stm32f103.elf
if ! command -v timeout >/dev/null 2>&1; then
    echo "gdb_probe: timeout not found in PATH" >&2
    exit 1
fi
if [ ! -x "$lode" ] || [ ! -f "$elf" ]; then
    echo "gdb_probe: lode binary '$lode' or firmware '$elf' is missing" >&2
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
    echo "gdb_probe: FAIL: $1"
    echo "---- last output:"
    cat "$tmp/out" 2>/dev/null
    echo "---- lode gdb stderr:"
    cat "$tmp/server.err" 2>/dev/null
    exit 1
}

timeout 60 "$lode" flash "$elf" >"$tmp/out" 2>&1 || fail "lode flash failed"
timeout 60 "$lode" read 0x08000000 8 >"$tmp/direct.out" 2>&1 || fail "direct lode read failed"
grep -q '^08000000: ' "$tmp/direct.out" || fail "direct lode read printed no hexdump"

start_lode_gdb
[ -n "$port" ] || fail "lode gdb did not say 'listening on 127.0.0.1:PORT'"
probe=gdb:127.0.0.1:$port

timeout 60 "$lode" read --probe "$probe" 0x08000000 8 >"$tmp/out" 2>&1 || fail "read through the GDB server failed"
cmp -s "$tmp/out" "$tmp/direct.out" || {
    cat "$tmp/direct.out"
    fail "flash read through the GDB server differs from the direct read (above)"
}
timeout 60 "$lode" regs --probe "$probe" >"$tmp/out" 2>&1 || fail "regs through the GDB server failed"
grep -Eq 'pc +0x[0-9a-f]{8}' "$tmp/out" || fail "regs printed no pc"
timeout 60 "$lode" write --probe "$probe" 0x20000100 0x12345678 >"$tmp/out" 2>&1 || fail "write through the GDB server failed"
timeout 60 "$lode" read --probe "$probe" 0x20000100 4 >"$tmp/out" 2>&1 || fail "read back through the GDB server failed"
grep -q '^20000100: 78 56 34 12 ' "$tmp/out" || fail "the written word did not read back"
timeout 60 "$lode" halt --probe "$probe" >"$tmp/out" 2>&1 || fail "halt through the GDB server failed"
timeout 60 "$lode" step --probe "$probe" >"$tmp/out" 2>&1 || fail "step through the GDB server failed"
timeout 60 "$lode" resume --probe "$probe" >"$tmp/out" 2>&1 || fail "resume through the GDB server failed"
timeout 60 "$lode" flash --probe "$probe" "$elf" >"$tmp/out" 2>&1
rc=$?
[ "$rc" -eq 64 ] || fail "flash through --probe gdb without --chip exited $rc, not 64"
grep -q -- '--probe gdb needs --chip for flash' "$tmp/out" || fail "flash without --chip did not say why"

# flashing through a GDB server uses its own flash programming (gdb_probe_flash.sh has more)
timeout 60 "$lode" flash --verify --probe "gdb:127.0.0.1:$port" --chip STM32F103C8 "$elf" >"$tmp/out" 2>&1 ||
    fail "flash through the GDB probe failed"
grep -q 'through the GDB server' "$tmp/out" || fail "flash through the GDB probe did not say how"
kill -INT "$server"
wait "$server"
server_rc=$?
server=""
[ "$server_rc" -eq 0 ] || fail "lode gdb exited with status $server_rc on SIGINT"

timeout 60 "$lode" regs --probe gdb:127.0.0.1:1 >"$tmp/out" 2>&1
rc=$?
[ "$rc" -eq 69 ] || fail "a port with nothing listening exited $rc, not 69"
grep -q '127.0.0.1:1' "$tmp/out" || fail "the connection error does not name host:port"
timeout 60 "$lode" regs --probe gdb:nohost >"$tmp/out" 2>&1
rc=$?
[ "$rc" -eq 64 ] || fail "--probe gdb:nohost exited $rc, not 64"
timeout 60 "$lode" regs --probe gdb:127.0.0.1:70000 >"$tmp/out" 2>&1
rc=$?
[ "$rc" -eq 64 ] || fail "--probe gdb with port 70000 exited $rc, not 64"
# QEMU's own GDB stub (qemu-system-arm, STM32F100 board, halted at reset with -S): lode reads
# the registers QEMU reports: sp = the vector table's first word, pc = Reset_Handler. When lode
# detaches, the firmware runs to its semihosting exit in QEMU.
qelf=$2/crosscheck-stm32f103.elf
command -v qemu-system-arm >/dev/null 2>&1 || fail "qemu-system-arm not found (scripts/deps.sh test installs it)"
[ -f "$qelf" ] || fail "firmware image '$qelf' not found"
qport=$((20000 + $$ % 20000))
timeout 60 qemu-system-arm -M stm32vldiscovery -nographic -serial null -monitor none \
    -semihosting-config enable=on,target=native -S -gdb "tcp:127.0.0.1:$qport" \
    -kernel "$qelf" </dev/null >"$tmp/qemu.out" 2>&1 &
qemu=$!
ok=""
qend=$(($(date +%s) + 60)) # QEMU's GDB stub listens soon; 60 s only bounds a QEMU that hangs
while [ "$(date +%s)" -lt "$qend" ]; do
    if timeout 20 "$lode" regs --probe "gdb:127.0.0.1:$qport" >"$tmp/qregs.out" 2>&1; then
        ok=1
        break
    fi
    grep -q "cannot connect to the GDB server" "$tmp/qregs.out" || break # an answer, but a wrong one
    kill -0 "$qemu" 2>/dev/null || break
    sleep 0.1
done
wait "$qemu"
[ -n "$ok" ] || { cat "$tmp/qregs.out" "$tmp/qemu.out"; fail "lode regs through QEMU's GDB stub failed"; }
want_pc=$(arm-none-eabi-nm "$qelf" | sed -n 's/^\([0-9a-f]*\) T Reset_Handler$/\1/p')
want_sp=$(arm-none-eabi-objcopy -O binary -j .isr_vector "$qelf" "$tmp/vec.bin" &&
          od -An -tx4 -N4 "$tmp/vec.bin" | tr -d ' ')
[ -n "$want_pc" ] && [ -n "$want_sp" ] || fail "could not read Reset_Handler / the vector table from $qelf"
grep -Eq "pc +0x$want_pc" "$tmp/qregs.out" || { cat "$tmp/qregs.out"; fail "pc through QEMU is not Reset_Handler (0x$want_pc)"; }
grep -Eq "sp +0x$want_sp" "$tmp/qregs.out" || { cat "$tmp/qregs.out"; fail "sp through QEMU is not the initial stack pointer (0x$want_sp)"; }
echo "gdb_probe: ok"
