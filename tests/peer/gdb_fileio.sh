#!/bin/sh
# SPDX-License-Identifier: MIT
# `lode gdb --semihosting gdb`: the firmware's console and file semihosting calls go to the
# client as GDB File-I/O requests.
#   - gdb-multiarch (the referee: GDB's own File-I/O host) prints the hello example's output,
#     runs the files example (open/write/read/seek/flen/remove in GDB's directory) and sees
#     both programs exit;
#   - lode run --probe gdb: serves the same requests with lode's semihosting host: console
#     lines on stdout, files inside --semihosting-root; and RTT through the GDB probe (lode gdb
#     --no-rtt leaves RTT to the client): output up, stdin down.
# usage: gdb_fileio.sh <lode> <firmware-dir>
set -u
lode=$1
fw=$2
ex=$fw/examples
command -v gdb-multiarch >/dev/null 2>&1 || { echo "gdb_fileio: gdb-multiarch not found (scripts/deps.sh test installs it)"; exit 1; }
tmp=$(mktemp -d) || exit 1
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
LODE_SIM_STATE_DIR=$tmp/sim
export LODE_SIM_STATE_DIR
mkdir -p "$LODE_SIM_STATE_DIR" "$tmp/gdbcwd" "$tmp/root"
. "$(dirname "$0")/lib_gdb.sh"
fail() {
    echo "gdb_fileio: FAIL: $1"
    for f in "$tmp"/*.out "$tmp"/*.err; do [ -f "$f" ] && { echo "---- $f"; cat "$f"; }; done
    exit 1
}
start_lode_gdb --semihosting gdb
[ -n "$port" ] || fail "lode gdb did not start"
gdbrun() { # gdbrun NAME ELF: load, reset halt, continue to the exit, in $tmp/gdbcwd
    (cd "$tmp/gdbcwd" && timeout 60 gdb-multiarch -batch -nx -ex "set architecture arm" \
        -ex "set remotetimeout 30" -ex "target extended-remote 127.0.0.1:$port" -ex load -ex "monitor reset halt" \
        -ex continue "$2") >"$tmp/$1.out" 2>&1
}
gdbrun hello "$ex/hello-stm32f103.elf"
grep -q "Hello" "$tmp/hello.out" || fail "GDB did not print the firmware's console output (File-I/O write)"
grep -q "exited normally" "$tmp/hello.out" || fail "GDB did not see the hello example exit"
gdbrun files "$ex/files-stm32f103.elf"
grep -q "files: ok" "$tmp/files.out" || fail "the files example failed with GDB serving File-I/O"
grep -q "exited normally" "$tmp/files.out" || fail "GDB did not see the files example exit with 0"

timeout 60 "$lode" run --probe "gdb:127.0.0.1:$port" --chip STM32F103C8 "$ex/hello-stm32f103.elf" \
    >"$tmp/lhello.out" 2>"$tmp/lhello.err" || fail "lode run through lode gdb --semihosting gdb failed"
grep -q "Hello" "$tmp/lhello.out" || fail "lode run did not print the console output it served"
timeout 60 "$lode" run --probe "gdb:127.0.0.1:$port" --chip STM32F103C8 --semihosting-root "$tmp/root" \
    "$ex/files-stm32f103.elf" >"$tmp/lfiles.out" 2>"$tmp/lfiles.err" || fail "the files example failed through lode run"
grep -q "files: ok" "$tmp/lfiles.out" || fail "lode run's File-I/O host did not serve the files example"
[ ! -e "$tmp/root/out.txt" ] || fail "the files example's file was not removed"
kill $server 2>/dev/null
wait $server 2>/dev/null
server=""

# RTT through the GDB probe: each poll stops the target briefly (all-stop server); input goes
# to the down channel, the echo comes back on the up channel
start_lode_gdb --semihosting gdb --no-rtt
[ -n "$port" ] || fail "lode gdb --no-rtt did not start"
(sleep 1; printf 'hi there\n'; sleep 1; printf 'quit\n') | timeout 60 "$lode" run --probe "gdb:127.0.0.1:$port" \
    --chip STM32F103C8 --timeout 20 "$ex/rtt-stm32f103.elf" >"$tmp/rtt.out" 2>"$tmp/rtt.err" ||
    fail "the RTT example through the GDB probe failed"
grep -q "rtt: hello" "$tmp/rtt.out" || fail "no RTT output through the GDB probe"
grep -q "echo: hi there" "$tmp/rtt.out" || fail "RTT input did not reach the firmware through the GDB probe"
# a GDB server has no SWO capture: --itm is refused in one line, exit 69
timeout 60 "$lode" run --itm --probe "gdb:127.0.0.1:$port" --chip STM32F103C8 "$ex/itm-stm32f103.elf" \
    >"$tmp/itm.out" 2>"$tmp/itm.err"
rc=$?
[ "$rc" -eq 69 ] || fail "lode run --itm through a GDB probe exited $rc, not 69"
grep -q "a GDB server has none" "$tmp/itm.err" || fail "lode run --itm through a GDB probe did not say why"
kill $server 2>/dev/null
wait $server 2>/dev/null
server=""

# --semihosting off: BKPT 0xAB reaches the client, whose host serves every call - also the
# command line: arguments and the exit code as on the simulated board; and lode debug
start_lode_gdb --semihosting off
[ -n "$port" ] || fail "lode gdb --semihosting off did not start"
timeout 60 "$lode" run --probe "gdb:127.0.0.1:$port" --chip STM32F103C8 "$ex/args-stm32f103.elf" -- one "two words" \
    >"$tmp/args.out" 2>"$tmp/args.err"
rc=$?
grep -q "^argv\[2\]=two words$" "$tmp/args.out" || fail "the arguments did not reach the firmware through the GDB probe"
timeout 60 "$lode" run --sim-state "$tmp/direct.state" "$ex/args-stm32f103.elf" -- one "two words" >/dev/null 2>&1
want=$?
[ "$rc" -eq "$want" ] || fail "args through the GDB probe exited $rc, on the simulated board $want"
timeout 60 "$lode" flash --probe "gdb:127.0.0.1:$port" --chip STM32F103C8 "$fw/systick-stm32f103.elf" >"$tmp/dflash.out" 2>&1 ||
    fail "flash before debug failed"
printf 'break main\ncontinue\nregs\nstep\nquit\n' | timeout 60 "$lode" debug --probe "gdb:127.0.0.1:$port" \
    --chip STM32F103C8 --timeout 5 "$fw/systick-stm32f103.elf" >"$tmp/debug.out" 2>&1 || fail "lode debug through the GDB probe failed"
grep -q "breakpoint main" "$tmp/debug.out" || fail "lode debug through the GDB probe did not stop at main"
grep -q "^xpsr" "$tmp/debug.out" || fail "lode debug's regs through the GDB probe printed no registers"
grep -q "<main+0x" "$tmp/debug.out" || fail "lode debug's step through the GDB probe did not move within main"
echo "gdb_fileio: all checks passed"
