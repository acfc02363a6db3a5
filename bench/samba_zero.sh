#!/bin/sh
# SPDX-License-Identifier: MIT
# 60 KB (61440 bytes) written and verified through the simulated Arduino Zero's SAM-BA
# bootloader (lode's, on the simulated ATSAMD21G18A; its line SERCOM5 standing for the native USB
# port's CDC function: full-speed bulk packets of 64 bytes, 19 a 1 ms frame), RUNS times
# each: lode in process (`lode flash --board zero --base 0x2000 --verify`, which erases from
# 0x2000 with X, writes 4 KiB buffers with S + Y and checks each with Z) and, when
# `lode sim-server --board zero --serial-pty` is there, lode and bossac 1.9.1 (`-e -w -v
# --offset=0x2000`) through its pseudo-terminal. Figures: wall time, and the board's time the
# sim-server reports for each pty session (lode in process times itself on the host's clock), against the line's bound: 61440 bytes of data = 960 packets of 64 bytes at 19
# a frame = 0.051 s, and the flash's own bound at the datasheet maxima the model uses (960 pages of
# 2.5 ms = 2.400 s; the rows under the image, 240 of 6 ms = 1.440 s; X erases all 992 rows
# past the bootloader = 5.952 s).
# usage: bench/samba_zero.sh <lode> [RUNS]
set -u
lode=$1
runs=${2:-3}
tmp=$(mktemp -d) || exit 1
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; [ -n "$server" ] && wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
LODE_SIM_STATE_DIR=$tmp/state; export LODE_SIM_STATE_DIR; mkdir -p "$LODE_SIM_STATE_DIR"
{ printf '\000'; head -c 61439 /dev/urandom; } >"$tmp/app.bin"
now() { date +%s.%N; }
printf '%-22s %8s  %s\n' way wall_s "lode's figure"
for r in $(seq 1 "$runs"); do
    t0=$(now)
    out=$("$lode" flash --board zero --base 0x2000 --verify "$tmp/app.bin" 2>&1) || { echo "lode flash failed: $out"; exit 1; }
    t1=$(now)
    printf '%-22s %8.3f  %s\n' "lode, in process" "$(echo "$t1 - $t0" | bc)" "$(echo "$out" | sed -n 's/.* in \([0-9.]* s[^:]*\).*/\1/p')"
done
tty=$tmp/sim-ttyACM0
if "$lode" sim-server --help 2>&1 | grep -q "zero"; then
    "$lode" sim-server --board zero --serial-pty "$tty" >"$tmp/server.out" 2>"$tmp/server.err" &
    server=$!
    for _ in $(seq 1 600); do [ -L "$tty" ] && break; kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    [ -L "$tty" ] || { echo "lode sim-server made no pty"; cat "$tmp/server.err"; exit 1; }
    sessions=0
    last() { # the newest session line once it is there: bytes in, out, simulated s
        for _ in $(seq 1 600); do
            [ "$(grep -c 'session .* closed' "$tmp/server.err")" -ge "$1" ] && break
            sleep 0.1
        done
        grep 'session .* closed' "$tmp/server.err" | tail -1 | sed 's/.*closed: \([0-9]*\) bytes in, \([0-9]*\) out, \([0-9.]*\) s.*/\1 in, \2 out, \3 s simulated/'
    }
    for r in $(seq 1 "$runs"); do
        t0=$(now)
        "$lode" flash --probe "sam-ba:$tty" --base 0x2000 --verify "$tmp/app.bin" >"$tmp/l.out" 2>&1 || { echo "lode failed"; cat "$tmp/l.out"; exit 1; }
        t1=$(now)
        sessions=$((sessions + 1))
        printf '%-22s %8.3f  %s\n' "lode, pty" "$(echo "$t1 - $t0" | bc)" "$(last $sessions)"
        if command -v bossac >/dev/null; then
            t0=$(now)
            if bossac -p "$tty" --offset=0x2000 -e -w -v "$tmp/app.bin" >"$tmp/b.out" 2>&1; then
                t1=$(now)
                sessions=$((sessions + 1))
                printf '%-22s %8.3f  %s\n' "bossac 1.9.1, pty" "$(echo "$t1 - $t0" | bc)" "$(last $sessions)"
            else
                sessions=$((sessions + 1))
                echo "bossac 1.9.1, pty: failed ($(tail -1 "$tmp/b.out"))"
            fi
        fi
    done
else
    echo "(lode sim-server has no --board zero here: the pty figures and bossac are left out)"
fi
echo "bound: 61440 bytes = 960 USB full-speed bulk packets at 19 a 1 ms frame = 0.051 s on the line; flash: 960 pages x 2.5 ms = 2.400 s + the erase (240 rows x 6 ms = 1.440 s for the image's rows; X to the end: 992 rows = 5.952 s)"
