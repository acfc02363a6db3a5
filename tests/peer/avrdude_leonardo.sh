#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The referee for the avr109 probe: avrdude 7.1 (-c avr109) and lode against the simulated
# Leonardo (`lode sim-server --board leonardo --serial-pty --sysfs`: lode's AVR109 test bootloader
# on simavr, the port replaced when the 1200-baud touch resets the board into its bootloader).
# avrdude 7.1 has no touch of its own: the test gives it with stty, as the Arduino IDE does, and
# waits for the bootloader's USB ID in the sysfs tree. avrdude writes 28 KiB, lode (which
# touches the sketch's port itself) reads back identical; lode writes, avrdude verifies; EEPROM
# both ways. Prints the wall-clock time of both for the same 28 KiB write (bootloader already
# running, no verify) and their ratio.
# usage: avrdude_leonardo.sh <lode> <lsan-suppressions>
set -u
lode=$1
export LSAN_OPTIONS=suppressions=$2:print_suppressions=0
tmp=$(mktemp -d) || exit 1
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; [ -n "$server" ] && wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
fail() {
    echo "avrdude_leonardo: FAIL: $1"
    for f in "$tmp"/*.out "$tmp"/*.err; do [ -f "$f" ] && { echo "---- $f"; cat "$f"; }; done
    exit 1
}
command -v avrdude >/dev/null || fail "avrdude is not installed: scripts/deps.sh test"
tty=$tmp/leo-tty
sys=$tmp/sys
mkdir -p "$sys"
# the simulated board stands in for hardware with a CPU of its own: nice -n -10 (as the peer scripts)
nice -n -10 "$lode" -v sim-server --board leonardo --serial-pty "$tty" --sysfs "$sys" --sim-state "$tmp/leo.state" --sim-fresh \
    >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
prod=$sys/devices/lode-sim/usb1/1-1/idProduct
# wait for a condition; 60 s only bounds a server that hangs (it stops at once if the server died)
wait_for() {
    for _ in $(seq 1 600); do eval "$1" && return 0; kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    fail "waited in vain for: $1 (USB product $(cat "$prod" 2>/dev/null))"
}
wait_for '[ -L "$tty" ] && [ -f "$prod" ]'
export LODE_SYSFS_ROOT=$sys
sketch() { wait_for '[ "$(cat "$prod")" = 8036 ]'; }
# the touch avrdude 7.1 cannot give: the port at 1200 baud, then the bootloader's port (PATH follows it)
touch_for_avrdude() {
    sketch
    stty -F "$tty" 1200 || fail "stty could not set 1200 baud"
    wait_for '[ "$(cat "$prod")" = 0036 ]'
}
now() { date +%s.%N; }
av() { timeout 120 avrdude -q -q -c avr109 -p m32u4 -P "$tty" -b 57600 -D "$@" >"$tmp/avrdude.out" 2>&1; }
l() { timeout 120 "$lode" "$@" --probe "avr109:$tty"; }
{ printf '\000'; head -c 28671 /dev/urandom; } >"$tmp/a.bin"
{ printf '\000'; head -c 28671 /dev/urandom; } >"$tmp/b.bin"
{ printf '\000'; head -c 28671 /dev/urandom; } >"$tmp/c.bin"

# a fresh board has no sketch: the bootloader answers at once. avrdude writes, lode reads back
[ "$(cat "$prod")" = 0036 ] || fail "a fresh board is not in its bootloader"
t0=$(now)
av -V -U "flash:w:$tmp/a.bin:r" || fail "avrdude could not write the simulated Leonardo"
t1=$(now)
sketch
l -v read 0 28672 -o "$tmp/a-back.bin" >"$tmp/read.out" 2>&1 || fail "lode read after avrdude failed"
grep -q "1200-baud touch" "$tmp/read.out" || fail "lode did not touch the sketch's port"
cmp "$tmp/a.bin" "$tmp/a-back.bin" || fail "lode reads back other bytes than avrdude wrote"
# lode writes (its own touch), avrdude verifies
sketch
l flash "$tmp/b.bin" --base 0 >"$tmp/flash.out" 2>&1 || fail "lode flash failed"
grep -q "224 pages" "$tmp/flash.out" || fail "lode flash did not say it wrote 224 pages"
touch_for_avrdude
av -U "flash:v:$tmp/b.bin:r" || fail "avrdude does not verify lode's image"
# EEPROM both ways: lode writes bytes 5..7, avrdude reads them; avrdude writes 0..1, lode reads
printf ':02000004008179\n:0300050011223392\n:00000001FF\n' >"$tmp/ee.hex"
sketch
l flash "$tmp/ee.hex" >"$tmp/ee.out" 2>&1 || fail "lode could not write EEPROM"
touch_for_avrdude
av -U "eeprom:r:$tmp/ee-av.bin:r" || fail "avrdude could not read the EEPROM"
[ "$(od -An -tx1 -j5 -N3 "$tmp/ee-av.bin" | tr -d ' ')" = 112233 ] || fail "avrdude reads other EEPROM bytes than lode wrote"
touch_for_avrdude
av -U "eeprom:w:0x99,0x88:m" || fail "avrdude could not write the EEPROM"
sketch
l read 0x810000 8 >"$tmp/ee-read.out" 2>&1 || fail "lode could not read the EEPROM"
grep -q "00810000: 99 88 ff ff ff 11 22 33" "$tmp/ee-read.out" || fail "lode reads other EEPROM bytes than avrdude and lode wrote"
# the same 28 KiB write by lode, the bootloader already running (as for avrdude above)
touch_for_avrdude
t2=$(now)
l flash "$tmp/c.bin" --base 0 >"$tmp/flash2.out" 2>&1 || fail "lode flash (bootloader running) failed"
t3=$(now)
touch_for_avrdude
av -U "flash:v:$tmp/c.bin:r" || fail "avrdude does not verify lode's second image"
awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {
    printf "avrdude_leonardo: ok; 28 KiB write, bootloader running: avrdude -c avr109 %.3f s, lode %.3f s (%.1fx)\n",
        b - a, d - c, (b - a) / (d - c) }'
