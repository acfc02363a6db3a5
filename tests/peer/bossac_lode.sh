#!/bin/sh
# SPDX-License-Identifier: MIT
# bossac 1.9.1 and lode's sam-ba probe across each other on the simulated Arduino Zero
# (`lode sim-server --board zero --serial-pty`: lode's SAM-BA bootloader on the simulated
# SAMD21G18A, the link named *ttyACM* so that bossac takes it for USB CDC): bossac writes, lode
# reads back identical; lode writes, bossac verifies it and reads back identical; an image for
# 0x0000 is refused by lode with nothing written (bossac still verifies the earlier one).
# usage: bossac_lode.sh <lode>
set -u
lode=$1
tmp=$(mktemp -d) || exit 1
LODE_SIM_STATE_DIR=$tmp/state; export LODE_SIM_STATE_DIR; mkdir -p "$LODE_SIM_STATE_DIR" # a board of its own
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; [ -n "$server" ] && wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
fail() {
    echo "bossac_lode: FAIL: $1"
    for f in "$tmp"/*.out "$tmp"/*.err; do [ -f "$f" ] && { echo "---- $f"; cat "$f"; }; done
    exit 1
}
command -v bossac >/dev/null || fail "bossac is not installed: scripts/deps.sh test"
tty=$tmp/sim-ttyACM0
# the simulated board stands in for hardware with a CPU of its own: nice -n -10 (as the other
# peer scripts; bossac waits 100 ms of wall time for some answers)
nice -n -10 "$lode" sim-server --board zero --serial-pty "$tty" >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
# the link is the server's readiness; 60 s only bounds a server that hangs (it stops at once if the server died)
for _ in $(seq 1 600); do [ -L "$tty" ] && break; kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
[ -L "$tty" ] || fail "lode sim-server made no pty"
# bossac gives some answers 100 ms of wall time, which a host starved by other jobs can miss
# (the board needs host time to take 4 KiB, ~4 ms without sanitizers): a failed bossac run is
# tried again, up to 3 times, each try logged, before it counts (as tests/peer/bossac.sh does)
bo() {
    for try in 1 2 3; do
        timeout 120 bossac -p "$tty" "$@" >"$tmp/bossac.out" 2>&1 && return 0
        echo "bossac_lode: bossac $* failed (try $try): $(tail -1 "$tmp/bossac.out")"
    done
    return 1
}
l() { timeout 120 "$lode" "$@" --probe "sam-ba:$tty"; }
# bossac writes, lode reads back
{ printf '\000'; head -c 40959 /dev/urandom; } >"$tmp/a.bin"
bo --offset=0x2000 -e -w -v "$tmp/a.bin" || fail "bossac could not write the simulated Zero"
grep -q "Verify successful" "$tmp/bossac.out" || fail "bossac did not verify its own image"
l read 0x2000 40960 -o "$tmp/a-back.bin" >"$tmp/read.out" 2>&1 || fail "lode read after bossac failed"
cmp "$tmp/a.bin" "$tmp/a-back.bin" || fail "lode reads back other bytes than bossac wrote"
l verify "$tmp/a.bin" --base 0x2000 >"$tmp/verify.out" 2>&1 || fail "lode verify of bossac's image failed"
# lode writes, bossac verifies and reads back
{ printf '\000'; head -c 61439 /dev/urandom; } >"$tmp/b.bin"
l flash "$tmp/b.bin" --base 0x2000 --verify >"$tmp/flash.out" 2>&1 || fail "lode flash failed"
bo --offset=0x2000 -v "$tmp/b.bin" || fail "bossac does not verify lode's image"
grep -q "Verify successful" "$tmp/bossac.out" || fail "bossac did not say Verify successful for lode's image"
bo --offset=0x2000 --read=61440 "$tmp/b-bo.bin" || fail "bossac could not read the simulated Zero"
cmp "$tmp/b.bin" "$tmp/b-bo.bin" || fail "bossac reads back other bytes than lode wrote"
l info >"$tmp/info.out" 2>&1 || fail "lode info failed"
grep -q "ATSAMD21G18A" "$tmp/info.out" || fail "lode info does not name the ATSAMD21G18A"
# bad input: an image for 0 (the bootloader), refused with nothing written
l flash "$tmp/a.bin" --base 0 >"$tmp/boot.out" 2>&1
rc=$?
[ $rc -eq 65 ] || fail "an image reaching the bootloader gave exit status $rc, not 65"
grep -q "inside the bootloader" "$tmp/boot.out" || fail "the bootloader refusal does not say why"
bo --offset=0x2000 -v "$tmp/b.bin" || fail "a refused flash wrote something"
echo "bossac_lode: ok"
