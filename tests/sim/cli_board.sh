#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boards as data from the command line: `lode boards [--json]`, the AVR parts in `lode chips`,
# --board (chip, probe kind, baud) from a flag, LODE_BOARD and lode.yaml, names without regard
# to case -- against the simulated Uno (`lode sim-server --board uno --serial-pty`) and the
# simulated ARM boards.
# usage: cli_board.sh <lode> <lsan-suppressions>
set -u
LODE=$1
export LSAN_OPTIONS=suppressions=$2
tmp=$(mktemp -d) || exit 1
export LODE_SIM_STATE_DIR=$tmp/state
mkdir -p "$LODE_SIM_STATE_DIR"
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; [ -n "$server" ] && wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
pass=0
. "$(dirname "$0")/../lib_check.sh"

# the database
check boards 0 "^uno +ATmega328P +arduino +115200 baud, dtr-pulse" -- "$LODE" boards
for b in uno nano nano-old-bootloader pro-mini mega2560 leonardo micro bluepill nrf52840dk zero mkrzero feather-m0 due; do
    check "boards-$b" 0 "^$b " -- "$LODE" boards
done
check boards-leonardo-touch 0 "^leonardo +ATmega32U4 +avr109 +57600 baud, 1200-baud-touch" -- "$LODE" boards
check boards-json 0 "^ok 24 nano-old-bootloader 57600 2341:0036 8192$" -- sh -c "'$LODE' boards --json | python3 -c '
import json, sys
b = {x[\"name\"]: x for x in json.load(sys.stdin)}
print(\"ok\", len(b), b[\"nano-old-bootloader\"][\"name\"], b[\"nano-old-bootloader\"][\"baud\"], b[\"leonardo\"][\"bootloader_usb\"][0], b[\"zero\"][\"app_offset\"])'"
check boards-extra-arg 64 "unknown option 'x'" -- "$LODE" boards x
check chips-avr 0 "ATmega328P +AVR +flash +32 KiB +page 128, EEPROM 1024, boot 512..4096, signature 1E 95 0F" -- "$LODE" chips
check chips-avr-2560 0 "ATmega2560 +AVR +flash +256 KiB +page 256, EEPROM 4096" -- "$LODE" chips
check chips-avr-32u4 0 "ATmega32U4 +AVR .*signature 1E 95 87" -- "$LODE" chips
check chips-avr-168 0 "ATmega168 +AVR +flash +16 KiB" -- "$LODE" chips

# unknown boards
check board-unknown 64 "unknown board 'unoo': .lode boards. lists" -- "$LODE" info --board unoo
check board-unknown-env 64 "unknown board 'foo' \(LODE_BOARD\)" -- env LODE_BOARD=foo "$LODE" info
# the Micro's chip is the simulated Leonardo (lode's AVR109 test bootloader on simavr)
check board-micro-sim 0 "avr109 \(LODE109 1.0 on the simulated leonardo: ATmega32U4" -- env LSAN_OPTIONS=suppressions=$(dirname "$0")/../lsan_simavr.supp:print_suppressions=0 "$LODE" info --board micro
check board-mega-sim 0 "wiring \(STK500v2 bootloader AVRISP_2 .* on the simulated mega2560 .*ATmega2560" -- "$LODE" info --board Mega
# the Uno's chip is the simulated Uno (optiboot on simavr) when no port is given
check board-uno-sim 0 "optiboot 4.4" -- env LSAN_OPTIONS=suppressions=$(dirname "$0")/../lsan_simavr.supp:print_suppressions=0 "$LODE" info --board UNO

# ARM boards on the simulated board (no --probe: the simulator, the board's chip)
check board-bluepill 0 "STM32F103C8" -- "$LODE" info --board BluePill
check board-nrf52840dk 0 "nRF52840" -- "$LODE" info --board pca10056
check board-chip-wins 0 "nRF52840" -- "$LODE" info --board bluepill --chip nrf52840_xxaa

# the simulated Uno behind a pty: --board sets the probe kind and the baud
tty=$tmp/uno-tty
# the simulated board stands in for hardware with a CPU of its own: nice -n -10 (as the peer scripts)
nice -n -10 "$LODE" sim-server --board uno --serial-pty "$tty" >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
# the link is the server's readiness; 60 s only bounds a server that hangs (it stops at once if the server died)
for _ in $(seq 1 600); do [ -L "$tty" ] && break; kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
[ -L "$tty" ] || { echo "FAIL lode sim-server made no pty"; cat "$tmp/server.err"; exit 1; }
check board-uno-port 0 "arduino \(optiboot 4.4 on $tty at 115200 baud: ATmega328P" -- "$LODE" info --board Uno --probe "$tty"
check board-old-nano 0 "at 57600 baud: ATmega328P" -- "$LODE" info --board nano-old-bootloader --probe "$tty"
check board-kind-baud 0 "at 57600 baud" -- "$LODE" info --board nano-old --probe "arduino:$tty"
check board-baud-given 0 "at 115200 baud" -- "$LODE" info --board nano-old --probe "arduino:$tty:115200"
check chip-lowercase 0 "ATmega328P" -- "$LODE" info --chip atmega328p --probe "arduino:$tty"
check board-wrong-chip 69 "not ATmega2560's" -- "$LODE" info --board mega2560 --probe "arduino:$tty"
check board-env 0 "at 57600 baud" -- env LODE_BOARD=nano-old-bootloader "$LODE" info --probe "$tty"
proj=$tmp/proj
mkdir -p "$proj/sub"
printf 'board: nano-old-bootloader\nprobe: %s\n' "$tty" >"$proj/lode.yaml"
check board-yaml 0 "at 57600 baud: ATmega328P" -- sh -c "cd '$proj/sub' && '$LODE' info"
check board-flag-beats-yaml 0 "at 115200 baud" -- sh -c "cd '$proj/sub' && '$LODE' info --board uno"
printf 'board: nano\nchip: ATmega2560\nprobe: %s\n' "$tty" >"$proj/lode.yaml"
check board-yaml-chip-wins 69 "not ATmega2560's" -- sh -c "cd '$proj' && '$LODE' info"
printf 'board: [uno]\n' >"$proj/lode.yaml"
check board-yaml-bad 65 "lode.yaml:1: board: expected a text value" -- sh -c "cd '$proj' && '$LODE' info"
head -c 1000 /dev/urandom >"$tmp/a.bin"
check board-flash 0 "verified" -- "$LODE" flash "$tmp/a.bin" --base 0 --verify --board uno --probe "$tty"

echo "cli_board: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
