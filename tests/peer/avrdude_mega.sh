#!/bin/sh
# SPDX-License-Identifier: MIT
# The referee for the wiring probe: avrdude 7.1 (-c wiring) and lode against the simulated Mega
# 2560 (`lode sim-server --board mega2560 --serial-pty`: the real stk500boot_v2_mega2560.hex on
# simavr). Images of 70000 bytes cross 64 KiB (LOAD_ADDRESS bit 31, RAMPZ). avrdude writes, lode
# reads back identical; lode writes, avrdude verifies and lode verifies; an image above page 0
# keeps the pages below it (the bootloader erases pages in order from 0); EEPROM both ways;
# an image reaching the bootloader and an erase are refused with nothing written.
# usage: avrdude_mega.sh <lode> <lsan-suppressions>
set -u
lode=$1
LSAN_OPTIONS=suppressions=$2
export LSAN_OPTIONS
tmp=$(mktemp -d) || exit 1
LODE_SIM_STATE_DIR=$tmp/state; export LODE_SIM_STATE_DIR; mkdir -p "$LODE_SIM_STATE_DIR" # a board of its own
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; [ -n "$server" ] && wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
fail() {
    echo "avrdude_mega: FAIL: $1"
    for f in "$tmp"/*.out "$tmp"/*.err; do [ -f "$f" ] && { echo "---- $f"; cat "$f"; }; done
    exit 1
}
command -v avrdude >/dev/null || fail "avrdude is not installed: scripts/deps.sh test"
tty=$tmp/mega-tty
# the simulated board stands in for hardware with a CPU of its own: it runs at a higher priority than
# the host tools (as root; elsewhere nice warns and runs it as it is), so a busy host does not make it
# answer later than a real board would (the outside tool's fixed timeouts then saw late answers)
nice -n -10 "$lode" sim-server --board mega2560 --serial-pty "$tty" >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
# the link is the server's readiness; 60 s only bounds a server that hangs (it stops at once if the server died)
for _ in $(seq 1 600); do [ -L "$tty" ] && break; kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
[ -L "$tty" ] || fail "lode sim-server made no pty"
av() { timeout 120 avrdude -q -q -c wiring -p m2560 -P "$tty" -b 115200 -D "$@" >"$tmp/avrdude.out" 2>&1; }
l() { timeout 120 "$lode" "$@" --probe "wiring:$tty"; }
# every image starts with rjmp . (FF CF): the application the board runs after each session (until
# the next open resets it) is an endless loop, not random code, which may write the EEPROM
{ printf '\377\317'; head -c 69998 /dev/urandom; } >"$tmp/a.bin"
av -V -U "flash:w:$tmp/a.bin:r" || fail "avrdude could not write the simulated Mega 2560"
l read 0 70000 -o "$tmp/a-back.bin" >"$tmp/read.out" 2>&1 || fail "lode read after avrdude failed"
cmp "$tmp/a.bin" "$tmp/a-back.bin" || fail "lode reads back other bytes than avrdude wrote"
{ printf '\377\317'; head -c 69998 /dev/urandom; } >"$tmp/b.bin"
l flash "$tmp/b.bin" --base 0 >"$tmp/flash.out" 2>&1 || fail "lode flash failed"
grep -q "274 pages" "$tmp/flash.out" || fail "lode flash did not say it wrote 274 pages"
av -U "flash:v:$tmp/b.bin:r" || fail "avrdude does not verify lode's image"
l verify "$tmp/b.bin" --base 0 >"$tmp/verify.out" 2>&1 || fail "lode verify failed"
l info >"$tmp/info.out" 2>&1 || fail "lode info failed"
grep -q "AVRISP_2" "$tmp/info.out" && grep -q "1E 98 01" "$tmp/info.out" || fail "lode info names no AVRISP_2 / signature"
# an image at 0x1000: the 16 pages below it are kept
{ printf '\001'; head -c 255 /dev/urandom; } >"$tmp/p.bin"
l flash "$tmp/p.bin" --base 0x1000 >"$tmp/page.out" 2>&1 || fail "lode flash at 0x1000 failed"
l read 0 0x1100 -o "$tmp/p-back.bin" >"$tmp/read2.out" 2>&1 || fail "lode read of the pages below failed"
head -c 4096 "$tmp/b.bin" >"$tmp/b-head.bin"
head -c 4096 "$tmp/p-back.bin" | cmp - "$tmp/b-head.bin" || fail "the pages below an image at 0x1000 changed"
tail -c 256 "$tmp/p-back.bin" | cmp - "$tmp/p.bin" || fail "the page at 0x1000 is not the image's"
# EEPROM both ways: lode writes bytes 5..7, avrdude reads them; avrdude writes 0..1, lode reads
printf ':02000004008179\n:0300050011223392\n:00000001FF\n' >"$tmp/ee.hex"
l flash "$tmp/ee.hex" >"$tmp/ee.out" 2>&1 || fail "lode could not write EEPROM"
av -U "eeprom:r:$tmp/ee-av.bin:r" || fail "avrdude could not read the EEPROM"
[ "$(od -An -tx1 -N8 "$tmp/ee-av.bin" | tr -d ' ')" = ffffffffff112233 ] ||
    fail "avrdude reads other EEPROM bytes than lode wrote: $(od -An -tx1 -N8 "$tmp/ee-av.bin")"
av -U "eeprom:w:0x99,0x88:m" || fail "avrdude could not write the EEPROM"
l read 0x810000 8 >"$tmp/ee-read.out" 2>&1 || fail "lode could not read the EEPROM"
grep -q "00810000: 99 88 ff ff ff 11 22 33" "$tmp/ee-read.out" ||
    fail "lode reads other EEPROM bytes than avrdude and lode wrote (avrdude read before its write: $(od -An -tx1 -N8 "$tmp/ee-av.bin"))"
# refusals: into the bootloader, erase
{ printf '\000'; head -c 511 /dev/urandom; } >"$tmp/c.bin"
l flash "$tmp/c.bin" --base 0x3df00 >"$tmp/boot.out" 2>&1 && fail "an image reaching the bootloader was not refused"
grep -q "into the bootloader" "$tmp/boot.out" || fail "the bootloader refusal does not say why"
l erase --chip >"$tmp/erase.out" 2>&1 && fail "an erase through the wiring bootloader was not refused"
grep -q "no erase" "$tmp/erase.out" || fail "the erase refusal does not say why"
av -U "flash:v:$tmp/b-head.bin:r" || fail "a refused command wrote something"
# --board: the probe kind and baud from the board database
timeout 120 "$lode" info --board Mega2560 --probe "$tty" >"$tmp/board.out" 2>&1 || fail "lode info --board mega2560 failed"
grep -q "wiring (STK500v2 bootloader AVRISP_2 .* at 115200 baud: ATmega2560" "$tmp/board.out" || fail "--board mega2560 did not make a wiring probe"
n=$(grep -c "session .* closed" "$tmp/server.err")
[ "$n" -ge 14 ] || fail "the simulated Mega saw $n sessions, not one per command (each open is a reset)"
echo "avrdude_mega: ok ($n sessions)"
