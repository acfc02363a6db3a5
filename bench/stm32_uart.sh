#!/bin/sh
# SPDX-License-Identifier: MIT
# 64 KiB (the STM32F103C8's whole flash) through the simulated system bootloader (AN3155 behind
# `lode sim-server --boot0 --serial-pty`, 8N1 on the pty) at 115200 baud, written without a
# read-back by lode (`lode flash --probe stm32-uart:PTY --parity none --no-reset`) and by
# stm32flash 0.7 (`-m 8n1 -w`), RUNS times each. Per run: wall time, the bytes that crossed the
# line and the simulated time the board saw (the server's session line, which includes each
# tool's sync and identification), against the serial-line bound: 11-bit 8E1 frames for the
# bytes AN3155 must move for the write (256 x (2 + 5 + 1 + 256 + 1 in, 3 ACKs out) + a global
# erase's 4 in, 2 out = 68614 bytes = 6.552 s) plus the FPEC's work (32768 half-words x 52.5 us
# + one 20 ms mass erase = 1.740 s): 8.292 s.
# usage: bench/stm32_uart.sh <lode> [RUNS]
set -u
lode=$1
runs=${2:-3}
tmp=$(mktemp -d) || exit 1
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; [ -n "$server" ] && wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
command -v stm32flash >/dev/null || { echo "stm32flash is not installed: scripts/deps.sh test"; exit 1; }
tty=$tmp/stm32-tty
LSAN_OPTIONS=detect_leaks=0 "$lode" sim-server --boot0 --serial-pty "$tty" --sim-state "$tmp/board.state" --sim-fresh \
    >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
for _ in $(seq 1 50); do [ -L "$tty" ] && break; sleep 0.1; done
{ printf '\000'; head -c 65535 /dev/urandom; } >"$tmp/app.bin"
bound=8.292
last() { # the newest session line, once it is there: bytes in, out, simulated seconds
    n=$1
    for _ in $(seq 1 50); do
        [ "$(grep -c 'session .* closed' "$tmp/server.err")" -ge "$n" ] && break
        sleep 0.1
    done
    grep 'session .* closed' "$tmp/server.err" | tail -1 | sed 's/.*closed: \([0-9]*\) bytes in, \([0-9]*\) out, \([0-9.]*\) s.*/\1 \2 \3/'
}
sessions=0
printf '%-10s %8s %9s %9s %9s %9s\n' tool wall_s bytes_in bytes_out sim_s bound_%
for tool in lode stm32flash; do
    for r in $(seq 1 "$runs"); do
        t0=$(date +%s.%N)
        if [ $tool = lode ]; then
            "$lode" flash "$tmp/app.bin" --base 0x08000000 --no-reset --probe "stm32-uart:$tty" --parity none \
                >/dev/null 2>&1 || { echo "lode flash failed"; exit 1; }
        else
            stm32flash -m 8n1 -b 115200 -w "$tmp/app.bin" "$tty" >/dev/null 2>&1 || { echo "stm32flash failed"; exit 1; }
        fi
        t1=$(date +%s.%N)
        sessions=$((sessions + 1))
        set -- $(last $sessions)
        awk -v t="$tool" -v w="$(echo "$t1 - $t0" | bc)" -v i="$1" -v o="$2" -v s="$3" -v b="$bound" \
            'BEGIN { printf "%-10s %8.3f %9d %9d %9.3f %8.1f%%\n", t, w, i, o, s, 100 * b / s }'
    done
done
echo "bound: 68614 bytes of 11 bits at 115200 baud = 6.552 s + 1.740 s of FPEC time = $bound s"
