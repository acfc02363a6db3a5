#!/bin/sh
# SPDX-License-Identifier: MIT
# 32 KiB (the Uno's whole application area, 32256 bytes) to the simulated Uno (optiboot 4.4 on
# simavr behind `lode sim-server --board uno --serial-pty --uart-overrun`: bytes take their ten
# bit times both ways, SPM page erases/writes 4.5 ms, bytes the USART cannot buffer are lost, the
# host's time to answer is not the board's) at 115200 baud, written without a read-back by lode
# (`lode flash --probe arduino:PTY`) and by avrdude 7.1 (`-c arduino -D -V`), RUNS times each.
# Per run: wall time, the bytes that crossed the line and the simulated time of the session
# (from the port's open, the reset, to its close), against the serial-line bound as issue 13
# defines it: 10 bits per byte both ways for the bytes STK500v1 must move, 252 x (LOAD_ADDRESS
# 4+2, PROG_PAGE 133+2) = 35532 bytes = 3.0844 s, plus the datasheet's SPM time (4.5 ms) for the
# 252 page writes and the 28 page erases optiboot 4.4 cannot overlap with the line (the NRWW
# pages from 0x7000, erased after their bytes came): 1.260 s; 4.344 s in all. A host that sends
# LOAD_ADDRESS and PROG_PAGE together overlaps LOAD_ADDRESS's answer with PROG_PAGE's bytes and
# can beat that bound; the least any host can take is the bytes it must send (252 x 137) plus
# the same SPM time, 4.257 s ("least"). optiboot's start (it flashes the LED three times,
# 0.375 s, before it reads the line) is in every session and in no bound.
# usage: bench/avr_uno.sh <lode> [RUNS]
set -u
lode=$1
runs=${2:-3}
tmp=$(mktemp -d) || exit 1
LODE_SIM_STATE_DIR=$tmp; export LODE_SIM_STATE_DIR # a fresh board of its own
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; [ -n "$server" ] && wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
command -v avrdude >/dev/null || { echo "avrdude is not installed: scripts/deps.sh test"; exit 1; }
tty=$tmp/uno-tty
LSAN_OPTIONS=detect_leaks=0 "$lode" sim-server --board uno --serial-pty "$tty" --uart-overrun >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
for _ in $(seq 1 50); do [ -L "$tty" ] && break; sleep 0.1; done
head -c 32256 /dev/urandom >"$tmp/app.bin"
bound=4.3444
least=4.2569
last() { # the newest session line, once it is there: bytes in, out, simulated seconds
    n=$1
    for _ in $(seq 1 50); do
        [ "$(grep -c 'session .* closed' "$tmp/server.err")" -ge "$n" ] && break
        sleep 0.1
    done
    grep 'session .* closed' "$tmp/server.err" | tail -1 | sed 's/.*closed: \([0-9]*\) bytes in, \([0-9]*\) out, \([0-9.]*\) s.*/\1 \2 \3/'
}
sessions=0
printf '%-8s %8s %9s %9s %9s %9s %9s\n' tool wall_s bytes_in bytes_out sim_s bound_% least_%
for tool in lode avrdude; do
    for r in $(seq 1 "$runs"); do
        t0=$(date +%s.%N)
        if [ $tool = lode ]; then
            "$lode" flash "$tmp/app.bin" --base 0 --probe "arduino:$tty" >/dev/null 2>&1 || { echo "lode flash failed"; exit 1; }
        else
            avrdude -q -q -c arduino -p m328p -P "$tty" -b 115200 -D -V -U "flash:w:$tmp/app.bin:r" >/dev/null 2>&1 ||
                { echo "avrdude failed"; exit 1; }
        fi
        t1=$(date +%s.%N)
        sessions=$((sessions + 1))
        set -- $(last $sessions)
        awk -v t="$tool" -v w="$(echo "$t1 - $t0" | bc)" -v i="$1" -v o="$2" -v s="$3" -v b="$bound" -v l="$least" \
            'BEGIN { printf "%-8s %8.3f %9d %9d %9.3f %8.1f%% %8.1f%%\n", t, w, i, o, s, 100 * b / s, 100 * l / s }'
    done
done
echo "bound: 35532 bytes at 115200 baud (3.0844 s) + 280 x 4.5 ms SPM = $bound s; least: 34524 bytes + SPM = $least s"
