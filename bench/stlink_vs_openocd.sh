#!/bin/sh
# SPDX-License-Identifier: MIT
# Flash the same 64 KiB image to the simulated STM32F103C8 behind the same simulated
# ST-Link/V2 (full-speed USB model, SWD 4 MHz), once with OpenOCD 0.12 (`program ... verify
# reset exit`: its stm32f1x driver and its CRC verify) and once with `lode flash --verify`;
# report both in virtual time, their ratio, and lode against the flash-physics bound.
#
# OpenOCD talks to `lode sim-server --stlink-tcp --no-idle`: the board's clock moves only with
# probe traffic, so its figure counts USB, SWD, flash and core time but not OpenOCD's own
# sleeps (in its favour). lode runs the identical probe model in process
# (bench_stlink_flash), where its waits are charged to the clock.
#
# usage: bench/stlink_vs_openocd.sh <build-dir>      (needs openocd: scripts/deps.sh test)
set -u
b=${1:-build}
lode=$b/lode
bench=$b/bench/bench_stlink_flash
for f in "$lode" "$bench"; do
    [ -x "$f" ] || { echo "stlink_vs_openocd: $f is missing: build first" >&2; exit 1; }
done
command -v openocd >/dev/null 2>&1 || { echo "stlink_vs_openocd: openocd not found (scripts/deps.sh test)" >&2; exit 1; }

tmp=$(mktemp -d) || exit 1
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$tmp"' EXIT
"$bench" --write-image "$tmp/img.bin" || exit 1

LODE_SIM_STATE_DIR=$tmp "$lode" sim-server --stlink-tcp 0 --no-idle --sim-fresh --chip STM32F103C8 \
    --speed 4M >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's/^lode sim-server: .* on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$tmp/server.out")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "stlink_vs_openocd: lode sim-server did not start" >&2; cat "$tmp/server.err"; exit 1; }

w0=$(date +%s.%N)
timeout 600 openocd -f interface/stlink-dap.cfg -c "st-link backend tcp $port" \
    -c 'transport select dapdirect_swd' -f target/stm32f1x.cfg -c 'adapter speed 4000' \
    -c "program $tmp/img.bin 0x08000000 verify reset exit" >"$tmp/ocd.out" 2>&1
w1=$(date +%s.%N)
grep -q "Verified OK" "$tmp/ocd.out" || { echo "stlink_vs_openocd: OpenOCD did not verify:"; cat "$tmp/ocd.out"; exit 1; }
# the server names the session's simulated time when OpenOCD closes the ST-Link
ocd_s=""
for _ in $(seq 1 50); do
    ocd_s=$(sed -n 's/.*session 1 closed: \([0-9]*\) ST-Link commands, \([0-9.]*\) s of simulated time/\2 \1/p' "$tmp/server.err")
    [ -n "$ocd_s" ] && break
    sleep 0.1
done
[ -n "$ocd_s" ] || { echo "stlink_vs_openocd: no session figure from the server"; cat "$tmp/server.err"; exit 1; }
ocd_t=${ocd_s% *}
ocd_cmds=${ocd_s#* }
# lode's flash through the server too: the flash must read back equal to the image
"$lode" read 0x08000000 65536 -o "$tmp/back.bin" --probe "stlink-tcp:127.0.0.1:$port" >/dev/null 2>&1 &&
    cmp -s "$tmp/img.bin" "$tmp/back.bin" || { echo "stlink_vs_openocd: OpenOCD's flash does not read back as the image"; exit 1; }

w2=$(date +%s.%N)
"$bench" >"$tmp/lode.out" || { cat "$tmp/lode.out"; exit 1; }
w3=$(date +%s.%N)
lode_t=$(sed -n 's/^LODE_STLINK_TOTAL_S=//p' "$tmp/lode.out")

echo "64 KiB to the simulated STM32F103C8 behind the simulated ST-Link/V2 (FS USB, SWD 4 MHz)"
grep -v '^LODE_[A-Z_]*=' "$tmp/lode.out" | sed 's/^/  lode: /'
awk -v o="$ocd_t" -v c="$ocd_cmds" -v l="$lode_t" -v w0="$w0" -v w1="$w1" -v w2="$w2" -v w3="$w3" 'BEGIN {
    ow = w1 - w0
    lw = w3 - w2
    bound = 0.020 + 32768 * 52.5e-6
    printf "  OpenOCD 0.12 program ... verify reset exit:  %.4f s virtual (%d ST-Link commands) = %.1f %% of the flash-physics bound\n", o, c, 100 * bound / o
    printf "  lode flash --verify:                          %.4f s virtual = %.1f %% of the flash-physics bound\n", l, 100 * bound / l
    printf "  lode is %.2fx faster than OpenOCD (virtual time); wall clock for this run: OpenOCD %.2f s, lode (3 runs) %.2f s\n", o / l, ow, lw
}'
