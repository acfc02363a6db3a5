#!/bin/sh
# SPDX-License-Identifier: MIT
# bossac 1.9.1 (Debian bossa-cli) against the simulated Arduino Zero: lode's SAM-BA bootloader on
# the simulated ATSAMD21G18A behind `lode sim-server --board zero --serial-pty` (the link's name
# holds "ttyACM", so bossac takes it for the board's USB CDC port). -i identifies the SAMD21;
# bossac's default offset 0 is refused (the bootloader keeps its 8 KiB, bossac fails, the
# bootloader still answers); --offset=0x2000 -e -w -v writes and verifies 60 KB (the figures:
# wall time here, simulated time from the server's session line); -R starts the application
# (the zero example: the bootloader stops answering), the 1200-baud touch brings it back, and the
# flash stays in the board's state file across servers.
# usage: bossac.sh <lode> <firmware dir>
set -u
lode=$1
fw=$2
tmp=$(mktemp -d) || exit 1
LODE_SIM_STATE_DIR=$tmp/state; export LODE_SIM_STATE_DIR; mkdir -p "$LODE_SIM_STATE_DIR"
server=""
stop_server() {
    [ -n "$server" ] && { kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; }
    server=""
}
trap 'stop_server; rm -rf "$tmp"' EXIT
fail() {
    echo "peer_bossac: FAIL: $1"
    for f in "$tmp"/*.out "$tmp"/*.err; do [ -f "$f" ] && { echo "---- $f"; cat "$f"; }; done
    exit 1
}
command -v bossac >/dev/null || fail "bossac is not installed: scripts/deps.sh test"
[ -f "$fw/examples/zero-samd21g18a.bin" ] || fail "no $fw/examples/zero-samd21g18a.bin (firmware not built)"
tty=$tmp/sim-ttyACM0
start_server() {
    # the simulated board stands in for hardware with a CPU of its own: nice -n -10 (as the other
    # peer scripts; bossac waits 100 ms of wall time for some answers)
    nice -n -10 "$lode" sim-server --board zero --serial-pty "$tty" >>"$tmp/server.out" 2>>"$tmp/server.err" &
    server=$!
    # the link is the server's readiness; 60 s only bounds a server that hangs
    for _ in $(seq 1 600); do [ -L "$tty" ] && return 0; kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    fail "lode sim-server made no pty"
}
# bossac gives some answers 100 ms of wall time; the simulated board (its line at USB full
# speed, the server built without sanitizers) needs ~4 ms of host time per 4 KiB, but a host
# starved by other jobs can still miss that: a failed run is tried again (up to 3 times, each
# logged) before it counts. bo1 runs once (for what must fail); tries counts bo's runs.
bo1() { timeout 120 bossac -p "$tty" "$@" >"$tmp/bossac.out" 2>&1; }
bo() {
    for try in 1 2 3; do
        tries=$try
        bo1 "$@" && return 0
        echo "peer_bossac: bossac $* failed (try $try):"; tr '\r' '\n' <"$tmp/bossac.out" | grep -v '^\[' | tail -3
    done
    return 1
}
start_server

bo -i || fail "bossac -i failed"
grep -q "SAMD21" "$tmp/bossac.out" || fail "bossac -i does not name a SAMD21"
grep -q "Page Size *: *64" "$tmp/bossac.out" || fail "bossac -i does not see 64-byte pages"
cp "$tmp/bossac.out" "$tmp/info.out"

# bossac's default offset is 0: the bootloader's own 8 KiB. Refused; the bootloader lives on.
{ printf '\000'; head -c 61439 /dev/urandom; } >"$tmp/app.bin"
bo1 -e -w -v "$tmp/app.bin" && fail "bossac wrote over the bootloader (offset 0) without an error"
grep -q "SAM-BA operation failed" "$tmp/bossac.out" || fail "bossac's offset-0 write failed for another reason"
cp "$tmp/bossac.out" "$tmp/offset0.out"
bo -i || fail "the bootloader does not answer after the offset-0 attempt"

# 60 KB at the application's offset: erase, write, verify
closed() { grep -c "session .* closed" "$tmp/server.err"; }
n0=$(closed)
t0=$(date +%s.%N)
bo --offset=0x2000 -e -w -v "$tmp/app.bin" || fail "bossac --offset=0x2000 -e -w -v failed"
t1=$(date +%s.%N)
grep -q "Verify successful" "$tmp/bossac.out" || fail "bossac did not verify"
cp "$tmp/bossac.out" "$tmp/write.out"
wall=$(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }")
# the server prints the session line once it has seen bossac close the port
for _ in $(seq 1 600); do [ "$(closed)" -ge $((n0 + tries)) ] && break; sleep 0.1; done
[ "$(closed)" -ge $((n0 + tries)) ] || fail "the server printed no line for bossac's session"
sim=$(grep "session .* closed" "$tmp/server.err" | tail -1 | sed -n 's/.*out, \([0-9.]*\) s of simulated.*/\1/p')
echo "peer_bossac: 60 KB erase+write+verify: $wall s wall, $sim s simulated"
bo --offset=0x2000 -r0xF000 "$tmp/back.bin" || fail "bossac could not read back"
cmp "$tmp/app.bin" "$tmp/back.bin" || fail "bossac reads back other bytes than it wrote"

# the zero example, then -R: the application runs (the bootloader no longer answers)
bo --offset=0x2000 -e -w -v -R "$fw/examples/zero-samd21g18a.bin" || fail "bossac -R failed"
grep -q "Verify successful" "$tmp/bossac.out" || fail "bossac did not verify the zero example"
timeout 30 bossac -p "$tty" -i >"$tmp/after-reset.out" 2>&1 && fail "the bootloader still answers after -R"
# the 1200-baud touch (open at 1200 baud, close): back in the bootloader, the sketch kept
touch1200() {
    n=$(grep -c "touch" "$tmp/server.err")
    stty -F "$tty" 1200 || fail "stty could not set 1200 baud"
    for _ in $(seq 1 600); do [ "$(grep -c "touch" "$tmp/server.err")" -gt "$n" ] && return 0; sleep 0.1; done
    fail "the server did not see the 1200-baud touch"
}
touch1200
bo --offset=0x2000 -v "$fw/examples/zero-samd21g18a.bin" || fail "no bootloader after the 1200-baud touch"
grep -q "Verify successful" "$tmp/bossac.out" || fail "the sketch did not survive the touch"

# the flash is kept in the state file: a new server (a power-on: the sketch runs), the touch, the
# same sketch
stop_server
start_server
touch1200
bo --offset=0x2000 -v "$fw/examples/zero-samd21g18a.bin" || fail "the flash was not kept across servers"
echo "peer_bossac: ok"
