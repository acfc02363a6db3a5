#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `lode run` on a bootloader board, end to end on the simulated Uno (the default board for
# --chip ATmega328P: real optiboot on simavr, in process): flash through optiboot, start the
# application, its serial line as the console over the lode serial link — the arguments in and
# the exit code out (firmware-avr/examples/args), stdin to the board (hello), the timeout
# (124), Ctrl-C (130, the board's state saved and its lock released), line noise with
# near-frames passed through byte for byte with no false exit (noise), lode reset into the
# application, and the flash kept between commands in the state file.
# Usage: cli_avr_run.sh <lode-binary> <firmware-avr-dir> <source-dir>
set -u
LODE=$1
FW=$2
SRC=$3
tmp=$(mktemp -d)
export LODE_SIM_STATE_DIR=$tmp/state
export LSAN_OPTIONS=suppressions=$SRC/tests/lsan_simavr.supp:print_suppressions=0
mkdir -p "$LODE_SIM_STATE_DIR"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
pass=0
. "$SRC/tests/lib_check.sh"
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fails=$((fails + 1)); echo "FAIL $1"; [ -f "$tmp/out" ] && head -c 600 "$tmp/out" | head -12; }
EX=$FW/examples
for f in "$EX/args-uno.elf" "$EX/hello-uno.elf" "$EX/blink-uno.elf" "$FW/noise-uno.elf"; do
    [ -f "$f" ] || { echo "FAIL missing $f (the firmware-avr build: gcc-avr, avr-libc)"; exit 1; }
done

# arguments in, exit code out: the sum of the arguments' lengths (3 + 9)
check args 12 "^argv\[2\]=two words$" -- "$LODE" run --board uno --timeout 20 "$EX/args-uno.elf" one "two words"
"$LODE" run --chip atmega328p --timeout 20 "$EX/args-uno.elf" -- -x "" "three" >"$tmp/out" 2>"$tmp/err"
rc=$?
want=$(printf 'argc=4\nargv[0]=%s\nargv[1]=-x\nargv[2]=\nargv[3]=three\n' "$EX/args-uno.elf")
[ "$rc" -eq 7 ] && [ "$(cat "$tmp/out")" = "$want" ] && ok args-exact || bad "args-exact: exit $rc, stdout: $(head -c 300 "$tmp/out")"
# too many for the firmware's 8 argv entries: lode says so, the firmware gets none (exit 3)
check args-too-many 3 "room for 128 bytes and 8 arguments" -- "$LODE" run --chip ATmega328P --timeout 20 \
    "$EX/args-uno.elf" 1 2 3 4 5 6 7 8 9

# the flash stays between commands (a separate lode verify reads it back through optiboot)
check kept 0 "" -- "$LODE" verify --chip ATmega328P "$EX/args-uno.elf"

# stdin goes to the board; "exit 7" ends it with 7
printf 'hi there\nexit 7\n' | "$LODE" run --chip ATmega328P --timeout 20 "$EX/hello-uno.elf" >"$tmp/out" 2>&1
rc=$?
[ "$rc" -eq 7 ] && grep -q "^echo: hi there$" "$tmp/out" && grep -q "Hello from lode on the ATmega328P" "$tmp/out" \
    && ok stdin || bad "stdin: exit $rc"

# no exit code: the timeout ends it with 124
check timeout 124 "timeout after 2 s" -- "$LODE" run --chip ATmega328P --timeout 2 "$EX/blink-uno.elf"

# Ctrl-C: 130, the board's state saved, the next command gets the board at once
"$LODE" run --chip ATmega328P "$EX/blink-uno.elf" >"$tmp/out" 2>&1 &
pid=$!
# flashing through optiboot comes first: slow on a loaded host (60 s only bounds a hang)
for _ in $(seq 600); do grep -q "blink 2" "$tmp/out" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -INT "$pid"
wait "$pid"
rc=$?
pid=""
[ "$rc" -eq 130 ] && grep -q "interrupted" "$tmp/out" && ok ctrl-c || bad "ctrl-c: exit $rc"
check after-ctrl-c 0 "" -- timeout 120 "$LODE" verify --chip ATmega328P "$EX/blink-uno.elf"

# line noise with near-frames: every byte out as it came, and the real exit code (9)
"$LODE" run --chip ATmega328P --timeout 30 "$FW/noise-uno.elf" >"$tmp/noise.out" 2>"$tmp/noise.err"
rc=$?
python3 - "$tmp/noise.want" <<'PY'
import sys
x = 12345
alphabet = [0x10, ord('L'), ord('D'), ord('X'), ord('A'), 4, 0, 0x10]
out = bytearray()
for _ in range(8192):
    x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    b = alphabet[(x >> 20) & 7] if (x >> 16) & 1 else (x >> 24) & 0xFF
    out.append(ord('+') if b == ord('=') else b)
out += bytes([0x10, 0x4C, 0x44, 0x58, 4, 0, 9, 0, 0, 0, 0x12, 0x34, 0x10, 0x4C, 0x44, 0x58, 4, 0, 9, 0x10, 0x10, 0x0A])
open(sys.argv[1], "wb").write(out)
PY
[ "$rc" -eq 9 ] && cmp -s "$tmp/noise.out" "$tmp/noise.want" && ok noise \
    || bad "noise: exit $rc, $(cmp "$tmp/noise.out" "$tmp/noise.want" 2>&1 | head -1) $(head -3 "$tmp/noise.err")"

# lode reset: into the application (it runs; nothing else to see on a bootloader board)
check reset 0 "the application runs" -- "$LODE" reset --chip ATmega328P
check reset-halt 64 "needs a debug probe" -- "$LODE" reset --halt --chip ATmega328P
check break-refused 64 "need a debug probe" -- "$LODE" run --chip ATmega328P --break main "$EX/args-uno.elf"

echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
