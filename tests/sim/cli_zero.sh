#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The simulated Arduino Zero from the command line, both ways in: `--board zero` alone is the
# board through its SAM-BA bootloader in process (lode's sam-ba probe; flash, verify, read, a
# refused image, the application run with the serial console, its arguments and exit code
# through the lode serial link), `--board zero --probe sim` its debug port (a simulated
# CMSIS-DAP: lode's SAMD21 flash algorithm, semihosting, arguments, exit codes). The board's
# flash is kept between commands (the state file).
# usage: cli_zero.sh <lode> <firmware dir>
set -u
LODE=$1
FW=$2
tmp=$(mktemp -d) || exit 1
export LODE_SIM_STATE_DIR=$tmp/state
mkdir -p "$LODE_SIM_STATE_DIR"
trap 'rm -rf "$tmp"' EXIT
fails=0
pass=0
. "$(dirname "$0")/../lib_check.sh"
Z=$FW/examples/zero-samd21g18a.elf

# through the bootloader
check info 0 "sam-ba \(SAM-BA monitor on sim-ttyACM0, USB CDC: ATSAMD21G18A" -- "$LODE" info --board zero
check info-memory 0 "bootloader +0x00000000-0x00001fff" -- "$LODE" info --board zero
check run-app 2 "hello from the zero" -- "$LODE" run --board zero "$Z" -- a b
check run-argc 2 "argc=3" -- "$LODE" run --board zero "$Z" -- a b
check verify-kept 0 "identical" -- "$LODE" verify --board zero "$Z"
check read-app 0 "^00002000: " -- "$LODE" read --board zero 0x2000 32
{ printf '\000'; head -c 20479 /dev/urandom; } >"$tmp/a.bin"
check flash-bin 0 "flashed .* through the SAM-BA bootloader in [0-9.]+ s \(" -- "$LODE" flash --board zero --base 0x2000 --verify "$tmp/a.bin"
check verify-bin 0 "identical" -- "$LODE" verify --board zero --base 0x2000 "$tmp/a.bin"
check refuse-boot 65 "inside the bootloader \(0x00000000..0x00001fff, protected by BOOTPROT\): link the application at 0x2000" \
    -- "$LODE" flash --board zero --base 0 "$tmp/a.bin"
check still-there 0 "identical" -- "$LODE" verify --board zero --base 0x2000 "$tmp/a.bin"
check too-large 65 "0x0004" -- "$LODE" flash --board zero --base 0x3c000 "$tmp/a.bin"

# through the debug port
check dbg-hello 3 "Hello from lode on ATSAMD21G18A" -- "$LODE" run --board zero --probe sim "$FW/hello-samd21g18a.elf"
check dbg-exit 7 "" -- "$LODE" run --board zero --probe sim "$FW/exitcode-samd21g18a.elf" -- ext 20026 7
check dbg-info 0 "ATSAMD21G18A" -- "$LODE" info --board zero --probe sim

echo "cli_zero: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
