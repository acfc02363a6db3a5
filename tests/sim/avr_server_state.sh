#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `lode sim-server --board uno|mega2560 --serial-pty` keeps the board's flash and EEPROM in the
# state file the other commands use (saved after every session, and when it stops): a server
# killed with SIGKILL after a session keeps what was written, a new server and the in-process
# simulated Uno (`lode read --board uno`) see it, --sim-fresh starts erased, and the board is
# locked while the server runs. The Mega's EEPROM (its bootloader writes EEPROM) likewise.
# usage: avr_server_state.sh <lode> <lsan-suppressions>
set -u
LODE=$1
export LSAN_OPTIONS=suppressions=$2:print_suppressions=0
tmp=$(mktemp -d) || exit 1
export LODE_SIM_STATE_DIR=$tmp/state
mkdir -p "$LODE_SIM_STATE_DIR"
server=""
stop_server() { # SIGNAL
    [ -n "$server" ] || return 0
    kill "-$1" "$server" 2>/dev/null
    wait "$server" 2>/dev/null
    server=""
}
trap 'stop_server TERM; rm -rf "$tmp"' EXIT
fails=0
pass=0
. "$(dirname "$0")/../lib_check.sh"

# start BOARD ARGS...: a server on $tmp/tty, its stderr in $tmp/server.err
start() {
    local board=$1
    shift
    rm -f "$tmp/tty"
    # the simulated board stands in for hardware with a CPU of its own: nice -n -10 (as the peer scripts)
    nice -n -10 "$LODE" sim-server --board "$board" --serial-pty "$tmp/tty" "$@" >"$tmp/server.out" 2>"$tmp/server.err" &
    server=$!
    # the link is the server's readiness; 60 s only bounds a server that hangs
    for _ in $(seq 1 600); do [ -L "$tmp/tty" ] && break; kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    [ -L "$tmp/tty" ] || { echo "FAIL lode sim-server made no pty"; cat "$tmp/server.err"; exit 1; }
}
# sessions N: wait until the server reported N closed sessions (saved by then)
sessions() {
    for _ in $(seq 1 600); do
        [ "$(grep -c 'session .* closed' "$tmp/server.err")" -ge "$1" ] && return 0
        sleep 0.1
    done
    echo "FAIL the server reported no session $1:"
    cat "$tmp/server.err"
    fails=$((fails + 1))
}

head -c 3000 /dev/urandom >"$tmp/a.bin"
start uno
check uno-flash 0 "flashed" -- "$LODE" flash "$tmp/a.bin" --base 0 --probe "arduino:$tmp/tty"
sessions 1
check uno-locked 69 "in use by PID $server \(lode sim-server\)" -- "$LODE" info --board uno
stop_server KILL # the state was saved when the session closed
check uno-state-file 0 "" -- test -s "$LODE_SIM_STATE_DIR/sim-ATmega328P.state"
start uno
check uno-read-again 0 "" -- "$LODE" read 0 3000 -o "$tmp/b.bin" --probe "arduino:$tmp/tty"
check uno-kept 0 "" -- cmp "$tmp/a.bin" "$tmp/b.bin"
stop_server TERM
# the in-process simulated Uno reads the same state file
check uno-in-process 0 "" -- "$LODE" read 0 3000 -o "$tmp/c.bin" --board uno
check uno-in-process-same 0 "" -- cmp "$tmp/a.bin" "$tmp/c.bin"
start uno --sim-fresh
check uno-fresh-read 0 "" -- "$LODE" read 0 16 -o "$tmp/d.bin" --probe "arduino:$tmp/tty"
check uno-fresh 0 "^ok$" -- sh -c "od -An -tx1 '$tmp/d.bin' | tr -d ' \n' | grep -qx 'ff*' && echo ok"
stop_server TERM
# a state file named with --sim-state
start uno --sim-state "$tmp/named.state"
check uno-named-flash 0 "flashed" -- "$LODE" flash "$tmp/a.bin" --base 0 --probe "arduino:$tmp/tty"
sessions 1
stop_server TERM
check uno-named-file 0 "" -- test -s "$tmp/named.state"

# the Mega 2560: flash and EEPROM (an Intel HEX with both: the EEPROM at 0x810000)
python3 - "$tmp/m.hex" <<'EOF'
import sys
def rec(addr, typ, data):
    b = [len(data), addr >> 8, addr & 0xFF, typ] + list(data)
    return ":" + "".join("%02X" % x for x in b) + "%02X\n" % (-sum(b) & 0xFF)
with open(sys.argv[1], "w") as f:
    f.write(rec(0, 0, bytes(range(1, 33))))
    f.write(rec(0, 4, b"\x00\x81"))
    f.write(rec(0x10, 0, b"\xde\xad\xbe\xef\x01\x02\x03\x04"))
    f.write(rec(0, 1, b""))
EOF
start mega2560 --sim-state "$tmp/mega.state" --sim-fresh
check mega-flash 0 "flashed" -- "$LODE" flash "$tmp/m.hex" --probe "wiring:$tmp/tty"
sessions 1
stop_server KILL
start mega2560 --sim-state "$tmp/mega.state"
check mega-eeprom-kept 0 "de ad be ef 01 02 03 04" -- "$LODE" read 0x810010 8 --probe "wiring:$tmp/tty"
check mega-flash-kept 0 "01 02 03 04 05 06 07 08" -- "$LODE" read 0 8 --probe "wiring:$tmp/tty"
stop_server TERM

echo "avr_server_state: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
