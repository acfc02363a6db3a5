#!/bin/sh
# SPDX-License-Identifier: MIT
# The referee for the simulated STM32F103's system bootloader (AN3155, `lode sim-server --boot0
# --serial-pty`) and for lode's stm32-uart probe: stm32flash 0.7 (-m 8n1: a pseudo-terminal has no
# parity) identifies the chip, writes and verifies an image, reads it back identical; lode reads
# what stm32flash wrote, and stm32flash reads back what lode wrote.
# usage: stm32flash.sh <lode>
set -u
lode=$1
tmp=$(mktemp -d) || exit 1
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; [ -n "$server" ] && wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
fail() {
    echo "stm32flash: FAIL: $1"
    for f in "$tmp"/*.out "$tmp"/*.err; do [ -f "$f" ] && { echo "---- $f"; tail -c 3000 "$f"; }; done
    exit 1
}
command -v stm32flash >/dev/null || fail "stm32flash is not installed: scripts/deps.sh test"
tty=$tmp/stm32-tty
"$lode" sim-server --boot0 --serial-pty "$tty" --sim-state "$tmp/board.state" --sim-fresh \
    >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
for _ in $(seq 1 50); do [ -L "$tty" ] && break; sleep 0.1; done
[ -L "$tty" ] || fail "lode sim-server made no pty"
sf() { timeout 120 stm32flash -m 8n1 -b 115200 "$@" "$tty" >"$tmp/stm32flash.out" 2>&1; }
sf || fail "stm32flash does not identify the simulated bootloader"
grep -q "Version      : 0x22" "$tmp/stm32flash.out" || fail "stm32flash sees no bootloader version 2.2"
grep -q "Device ID    : 0x0410" "$tmp/stm32flash.out" || fail "stm32flash sees no device ID 0x0410"
head -c 50000 /dev/urandom >"$tmp/a.bin"
sf -w "$tmp/a.bin" -v || fail "stm32flash could not write and verify an image"
sf -r "$tmp/a-sf.bin" -S 0x08000000:50000 || fail "stm32flash could not read the image back"
cmp "$tmp/a.bin" "$tmp/a-sf.bin" || fail "stm32flash reads back other bytes than it wrote"
echo "stm32flash: ok"
