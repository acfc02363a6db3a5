#!/bin/sh
# SPDX-License-Identifier: MIT
# The referee for the arduino probe: avrdude 7.1 (-c arduino) and lode against the simulated
# Uno (`lode sim-server --board uno --serial-pty`: the real optiboot 4.4 on simavr). avrdude
# writes an image, lode reads back identical; lode writes one, avrdude reads back identical and
# verifies it; lode verify/info; EEPROM data and an image reaching the bootloader are refused
# with nothing written: avrdude still reads lode's image); an avr-gcc ELF: its .eeprom refused,
# without it written by lode and verified by avrdude from the same ELF.
# usage: avrdude_uno.sh <lode> <lsan-suppressions>
set -u
lode=$1
LSAN_OPTIONS=suppressions=$2
export LSAN_OPTIONS
tmp=$(mktemp -d) || exit 1
LODE_SIM_STATE_DIR=$tmp/state; export LODE_SIM_STATE_DIR; mkdir -p "$LODE_SIM_STATE_DIR" # a board of its own
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; [ -n "$server" ] && wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
fail() {
    echo "avrdude_uno: FAIL: $1"
    for f in "$tmp"/*.out "$tmp"/*.err; do [ -f "$f" ] && { echo "---- $f"; cat "$f"; }; done
    exit 1
}
command -v avrdude >/dev/null || fail "avrdude is not installed: scripts/deps.sh test"
tty=$tmp/uno-tty
# the simulated board stands in for hardware with a CPU of its own: it runs at a higher priority than
# the host tools (as root; elsewhere nice warns and runs it as it is), so a busy host does not make it
# answer later than a real board would (the outside tool's fixed timeouts then saw late answers)
nice -n -10 "$lode" sim-server --board uno --serial-pty "$tty" >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
# the link is the server's readiness; 60 s only bounds a server that hangs (it stops at once if the server died)
for _ in $(seq 1 600); do [ -L "$tty" ] && break; kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
[ -L "$tty" ] || fail "lode sim-server made no pty"
av() { timeout 60 avrdude -q -q -c arduino -p m328p -P "$tty" -b 115200 "$@" >"$tmp/avrdude.out" 2>&1; }
l() { timeout 60 "$lode" "$@" --probe "arduino:$tty"; }
head -c 20000 /dev/urandom >"$tmp/a.bin"
av -U "flash:w:$tmp/a.bin:r" || fail "avrdude could not write the simulated Uno"
l read 0 20000 -o "$tmp/a-back.bin" >"$tmp/read.out" 2>&1 || fail "lode read after avrdude failed"
cmp "$tmp/a.bin" "$tmp/a-back.bin" || fail "lode reads back other bytes than avrdude wrote"
# random images for lode start with a NUL: one starting with ':' is Intel HEX to lode's reader
{ printf '\000'; head -c 32255 /dev/urandom; } >"$tmp/b.bin"
l flash "$tmp/b.bin" --base 0 --verify >"$tmp/flash.out" 2>&1 || fail "lode flash failed"
grep -q "252 pages, verified" "$tmp/flash.out" || fail "lode flash did not say it wrote 252 pages and verified"
av -U "flash:v:$tmp/b.bin:r" || fail "avrdude does not verify lode's image"
av -U "flash:r:$tmp/b-av.bin:r" || fail "avrdude could not read the simulated Uno"
head -c 32256 "$tmp/b-av.bin" | cmp - "$tmp/b.bin" || fail "avrdude reads back other bytes than lode wrote"
l verify "$tmp/b.bin" --base 0 >"$tmp/verify.out" 2>&1 || fail "lode verify failed"
l info >"$tmp/info.out" 2>&1 || fail "lode info failed"
grep -q "optiboot 4.4" "$tmp/info.out" && grep -q "1E 95 0F" "$tmp/info.out" || fail "lode info names no optiboot 4.4 / signature"
# bad input: EEPROM data (optiboot 4.4 would put it into flash page 0), the bootloader's area
printf ':02000004008179\n:0300000011223397\n:00000001FF\n' >"$tmp/ee.hex"
l flash "$tmp/ee.hex" >"$tmp/ee.out" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "EEPROM data through optiboot 4.4 was not refused"
grep -q "flash page 0" "$tmp/ee.out" || fail "the EEPROM refusal does not give the reason"
{ printf '\000'; head -c 399 /dev/urandom; } >"$tmp/c.bin"
l flash "$tmp/c.bin" --base 0x7d00 >"$tmp/boot.out" 2>&1 && fail "an image reaching the bootloader was not refused"
grep -q "into the bootloader" "$tmp/boot.out" || fail "the bootloader refusal does not say why"
av -U "flash:v:$tmp/b.bin:r" || fail "a refused flash wrote something"
# an AVR ELF from avr-gcc: its .eeprom refused through optiboot 4.4; without it, flashed and
# verified by avrdude from the same ELF
command -v avr-gcc >/dev/null || fail "avr-gcc is not installed: scripts/deps.sh test"
cat >"$tmp/blink.c" <<'C'
#include <avr/eeprom.h>
#include <avr/io.h>
#include <util/delay.h>
uint8_t EEMEM calib[3] = {1, 2, 3};
int main(void) { DDRB |= 1 << 5; for (;;) { PORTB ^= 1 << 5; _delay_ms(500); } }
C
avr-gcc -mmcu=atmega328p -DF_CPU=16000000UL -Os -o "$tmp/blink.elf" "$tmp/blink.c" 2>"$tmp/gcc.err" || fail "avr-gcc failed"
l flash "$tmp/blink.elf" >"$tmp/elf-ee.out" 2>&1 && fail "an AVR ELF with .eeprom was not refused"
grep -q "EEPROM" "$tmp/elf-ee.out" || fail "the .eeprom refusal does not say EEPROM"
avr-objcopy -R .eeprom "$tmp/blink.elf" "$tmp/blink-flash.elf"
l flash "$tmp/blink-flash.elf" --verify >"$tmp/elf.out" 2>&1 || fail "lode flash of an AVR ELF failed"
av -U "flash:v:$tmp/blink-flash.elf:e" || fail "avrdude does not verify the AVR ELF lode wrote"
n=$(grep -c "session .* closed" "$tmp/server.err")
[ "$n" -ge 9 ] || fail "the simulated Uno saw $n sessions, not one per command (each open is a reset)"
echo "avrdude_uno: ok ($n sessions)"
