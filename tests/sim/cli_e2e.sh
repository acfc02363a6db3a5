#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End to end: every `lode` subcommand against the simulated board, as a person types them.
# Usage: cli_e2e.sh <lode-binary> <firmware-dir>
set -u
LODE=$1
FW=$2
export LODE_SIM_STATE_DIR=$(mktemp -d)
trap 'rm -rf "$LODE_SIM_STATE_DIR"' EXIT
fails=0
pass=0

check() { # check NAME EXPECTED_EXIT PATTERN -- command...
    local name=$1 want=$2 pattern=$3
    shift 4
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        echo "FAIL $name: exit $rc, wanted $want"
        echo "$out" | head -20
        fails=$((fails + 1))
        return
    fi
    if [ -n "$pattern" ] && ! grep -qE -- "$pattern" <<<"$out"; then
        echo "FAIL $name: output lacks /$pattern/"
        echo "$out" | head -20
        fails=$((fails + 1))
        return
    fi
    pass=$((pass + 1))
    echo "ok   $name"
}

# help and usage
check help 0 "flash FILE" -- "$LODE" --help
check unknown-command 64 "unknown command" -- "$LODE" frobnicate
for c in info flash erase verify reset halt resume step regs read write list chips run; do
    check "help-$c" 0 "usage: lode $c" -- "$LODE" $c --help
done

# probes and chips
check list 0 "^sim .*STM32F103C8" -- "$LODE" list
check list-json 0 '"probe":"sim"' -- "$LODE" list --json
check chips 0 "STM32F103C8 .*lode_stm32f1_64k" -- "$LODE" chips
check chips-yaml 0 "STM32F103RB" -- "$LODE" chips --chip-description "$LODE_SHARED/targets/probe-rs/STM32F1_Series.yaml"

# STM32F103C8 (default simulated chip)
check info 0 "DPIDR: +0x1ba01477" -- "$LODE" info --sim-fresh
check info-chip 0 "chip: +STM32F103C8 \(detected\)" -- "$LODE" info
check info-json 0 '"dpidr":"0x1ba01477"' -- "$LODE" info --json
check flash-elf 0 "flashed .* to STM32F103C8 .*verified" -- "$LODE" flash --verify "$FW/hello-stm32f103.elf"
check verify-elf 0 "identical" -- "$LODE" verify "$FW/hello-stm32f103.elf"
check verify-other 1 "mismatch" -- "$LODE" verify "$FW/systick-stm32f103.elf"
check flash-hex 0 "flashed" -- "$LODE" flash --chip-erase "$FW/systick-stm32f103.hex"
check verify-hex 0 "identical" -- "$LODE" verify "$FW/systick-stm32f103.hex"
check flash-bin 0 "flashed" -- "$LODE" flash --base 0x08000000 "$FW/hello-stm32f103.bin"
check verify-bin 0 "identical" -- "$LODE" verify --base 0x08000000 "$FW/hello-stm32f103.bin"
check flash-json 0 '"bytes_programmed":[0-9]+' -- "$LODE" flash --json --skip-unchanged "$FW/hello-stm32f103.elf"
check flash-skip 0 "0 sectors erased" -- "$LODE" flash --skip-unchanged "$FW/hello-stm32f103.elf"
check read 0 "^08000000: 00 50 00 20" -- "$LODE" read 0x08000000 16
out=$(mktemp)
check read-file 0 "read 1024 bytes" -- "$LODE" read 0x08000000 1K -o "$out"
check read-file-size 0 "" -- test "$(stat -c %s "$out")" -eq 1024
rm -f "$out"
check reset-halt 0 "halted at pc 0x080000" -- "$LODE" reset --halt
check regs 0 "pc +0x080000" -- "$LODE" regs
check regs-json 0 '"pc":"0x080000' -- "$LODE" regs --json
check step 0 "halted at pc" -- "$LODE" step
check halt 0 "halted at pc" -- "$LODE" halt
check resume 0 "running" -- "$LODE" resume
check reset 0 "reset" -- "$LODE" reset
check write 0 "" -- "$LODE" write 0x20000100 0x11223344 0xdeadbeef
check write-read 0 "20000100: 44 33 22 11 ef be ad de" -- "$LODE" read 0x20000100 8
check write8 0 "" -- "$LODE" write --width 8 0x20000103 0x7f
check write8-read 0 "20000100: 44 33 22 7f" -- "$LODE" read 0x20000100 4
check erase-range 0 "erased 1 sectors" -- "$LODE" erase 0x08000000 1
check erase-read 0 "08000000: ff ff ff ff" -- "$LODE" read 0x08000000 4
check erase-all 0 "erased 64 sectors" -- "$LODE" erase --all
check erase-chip 0 "erased 64 sectors" -- "$LODE" erase --chip
check erase-chip-named 0 "erased 64 sectors" -- "$LODE" erase --chip STM32F103C8 --all
check erase-nothing 64 "--chip" -- "$LODE" erase

# nRF52840
check nrf-info 0 "chip: +nRF52840_xxAA \(given\)" -- "$LODE" info --chip nRF52840_xxAA --sim-fresh
check nrf-flash 0 "flashed .* to nRF52840_xxAA" -- "$LODE" flash --chip nRF52840_xxAA --verify "$FW/hello-nrf52840.hex"
check nrf-regs-fp 0 "s31 " -- "$LODE" regs --chip nRF52840_xxAA
check nrf-v1 0 "CMSIS-DAP v1" -- "$LODE" -v info --chip nRF52840_xxAA --dap-version 1

# vendor algorithm from the probe-rs file
check vendor-flash 0 "flashed" -- "$LODE" flash --verify --sim-fresh --chip-description "$LODE_SHARED/targets/probe-rs/STM32F1_Series.yaml" --chip STM32F103C8 "$FW/hello-stm32f103.elf"

# bad input: one line that names the problem, documented exit codes, nothing erased
check missing-file 66 "" -- "$LODE" flash /nonexistent.elf
bad=$(mktemp)
head -c 100 "$FW/hello-stm32f103.elf" >"$bad"
check truncated-elf 65 "" -- "$LODE" flash --format elf "$bad"
# flip the checksum byte of the second record
awk 'NR == 2 { sub(/\r$/, ""); c = substr($0, length($0) - 1); $0 = substr($0, 1, length($0) - 2) (c == "00" ? "01" : "00") } { print }' \
    "$FW/hello-stm32f103.hex" >"$bad"
check hex-checksum 65 "checksum" -- "$LODE" flash --format hex "$bad"
check bin-no-base 64 "--base" -- "$LODE" flash --format bin "$FW/hello-stm32f103.bin"
check wrong-chip-image 65 "outside" -- "$LODE" flash --sim-fresh "$FW/hello-nrf52840.elf"
check untouched 0 "08000000: ff ff ff ff" -- "$LODE" read 0x08000000 4
head -c 70000 /dev/urandom >"$bad"
check too-big 65 "outside" -- "$LODE" flash --base 0x08000000 --format bin "$bad"
rm -f "$bad"
check unknown-chip 69 "unknown chip|no chip" -- "$LODE" info --chip STM32F999
check unknown-probe 64 "unknown probe" -- "$LODE" info --probe jtagkey
check no-usb-probe 69 "no CMSIS-DAP probe found" -- "$LODE" info --probe cmsis-dap:1234:5678
check bad-speed 64 "--speed" -- "$LODE" info --speed fast
check bad-read 64 "" -- "$LODE" read zzz 4
check read-fault 69 "failed" -- "$LODE" read 0x30000000 4

echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
