#!/bin/sh
# SPDX-License-Identifier: MIT
# 64 KiB to the simulated STM32F103C8 behind the simulated J-Link V11 (high-speed USB model,
# SWD 4 MHz): `lode flash --verify` through lode's J-Link driver and software SWD engine
# against OpenOCD 0.12's jlink driver (bench/jlink_openocd.sh: `program ... verify reset exit`
# through the stand-in libusb, the board still between transfers), both in virtual time, with
# their J-Link commands, the ratio, and each against the flash-physics bound (mass erase
# 20 ms + 32768 half-words x 52.5 us, DS5319 typical).
# lode runs in process (--probe sim-jlink), where its own waits are charged to the virtual
# clock (OpenOCD's sleeps are not: in its favour). lode's flash is read back and compared.
# usage: bench/jlink_vs_openocd.sh <build-dir>     (needs openocd: scripts/deps.sh test)
set -u
b=${1:-build}
lode=$b/lode
[ -x "$lode" ] || { echo "jlink_vs_openocd: $lode is missing: build first" >&2; exit 1; }
fw=$b/firmware/examples
ls "$fw"/*-stm32f103.bin >/dev/null 2>&1 || { echo "jlink_vs_openocd: no firmware in $fw: build first" >&2; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# the image bench/jlink_openocd.sh flashes: the examples' binaries end to end
: >"$tmp/cat.bin"
while [ "$(wc -c <"$tmp/cat.bin")" -lt 65536 ]; do cat "$fw"/*-stm32f103.bin >>"$tmp/cat.bin"; done
head -c 65536 "$tmp/cat.bin" >"$tmp/img.bin"
export LODE_SIM_STATE_DIR=$tmp
"$lode" -v flash --verify --probe sim-jlink --chip STM32F103C8 --speed 4M --sim-fresh --base 0x08000000 \
    "$tmp/img.bin" >"$tmp/lode.out" 2>&1 || { echo "jlink_vs_openocd: lode flash failed:"; cat "$tmp/lode.out"; exit 1; }
"$lode" read 0x08000000 65536 -o "$tmp/back.bin" --probe sim --chip STM32F103C8 >/dev/null 2>&1 &&
    cmp -s "$tmp/img.bin" "$tmp/back.bin" || { echo "jlink_vs_openocd: lode's flash does not read back as the image"; exit 1; }
lt=$(sed -n 's/^flashed .* in \([0-9.]*\) s of simulated time.*/\1/p' "$tmp/lode.out")
lc=$(sed -n 's/.*J-Link: \([0-9]*\) commands (\([0-9]*\) HW_JTAG3: \([0-9]*\) SWD transactions, \([0-9]*\) cycles).*/\1 \2 \3 \4/p' "$tmp/lode.out" | tail -1)
[ -n "$lt" ] && [ -n "$lc" ] || { echo "jlink_vs_openocd: no figures from lode:"; cat "$tmp/lode.out"; exit 1; }
"$(dirname "$0")/jlink_openocd.sh" "$b" >"$tmp/ocd.out" || { cat "$tmp/ocd.out"; exit 1; }
ot=$(sed -n 's/^OCD_JLINK_TOTAL_S=//p' "$tmp/ocd.out")
oc=$(sed -n 's/^OCD_JLINK_COMMANDS=//p' "$tmp/ocd.out")
oj=$(sed -n 's/^OCD_JLINK_JTAG3=//p' "$tmp/ocd.out")
echo "64 KiB to the simulated STM32F103C8 behind the simulated J-Link V11 (HS USB), SWD 4 MHz, virtual time"
echo "$lt $lc $ot $oc $oj" | awk '{
    bound = 0.020 + 32768 * 52.5e-6
    printf "  %-46s %9s %9s %9s %9s\n", "tool", "seconds", "commands", "HW_JTAG3", "% bound"
    printf "  %-46s %9.4f %9d %9d %8.1f%%\n", "lode flash --verify (sim-jlink, in process)", $1, $2, $3, 100 * bound / $1
    printf "  %-46s %9.4f %9d %9d %8.1f%%\n", "OpenOCD 0.12 jlink program verify (stand-in)", $6, $7, $8, 100 * bound / $6
    printf "  lode: %d SWD transactions in %d cycles; OpenOCD / lode time %.2fx; flash-physics bound %.4f s\n", $4, $5, $6 / $1, bound
}'
