#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `lode run` through the STM32 UART bootloader, over the lode serial link on USART1: the
# simulated STM32F103 with BOOT0 high (lode sim-server --boot0, its AN3155 model) on a
# pseudo-terminal; lode flashes args_link through it, Go starts it, and the arguments and the exit
# code travel over USART1 (firmware/src/lode_link_stm32f1.c). The same again with the image
# unchanged, and a firmware that never exits ends at --timeout (124).
# Usage: cli_arm_link.sh <lode-binary> <firmware-dir>
set -u
LODE=$1
FW=$2
tmp=$(mktemp -d)
export LODE_SIM_STATE_DIR=$tmp/state
mkdir -p "$LODE_SIM_STATE_DIR"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; [ -n "$server" ] && wait "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
pass=0
. "$(dirname "$0")/../lib_check.sh"
ELF=$FW/examples/args_link-stm32f103.elf
[ -f "$ELF" ] || { echo "FAIL missing $ELF"; exit 1; }
tty=$tmp/tty
"$LODE" sim-server --boot0 --serial-pty "$tty" --sim-state "$tmp/board.state" --sim-fresh >"$tmp/server.out" 2>&1 &
server=$!
# the link is the server's readiness; 60 s only bounds a server that hangs (it stops at once if the server died)
for _ in $(seq 1 600); do [ -L "$tty" ] && break; kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
[ -L "$tty" ] || { echo "FAIL lode sim-server made no pty"; cat "$tmp/server.out"; exit 1; }
P=stm32-uart:$tty:parity=none
check args 12 "^argv\[2\]=two words$" -- timeout 60 "$LODE" run --probe "$P" --timeout 30 "$ELF" one "two words"
check args-again 1 "^argv\[1\]=x$" -- timeout 60 "$LODE" run --probe "$P" --timeout 30 "$ELF" x
# an image that never exits (hello's semihosting call halts a core nobody serves): the timeout
check timeout 124 "timeout after 2 s" -- timeout 60 "$LODE" run --probe "$P" --timeout 2 "$FW/hello-stm32f103.elf"
echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
