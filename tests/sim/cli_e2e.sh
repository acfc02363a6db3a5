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

# --probe's help is the registry's rows: every one, the bootloaders' too
for row in 'cmsis-dap\[:VID' 'stlink-tcp:HOST' 'gdb:HOST:PORT' 'bmp:' 'dfu\[:VID' 'arduino:PORT' 'sim:' 'sim-stlink\['; do
    check "probe-help-$row" 0 "^ +$row" -- "$LODE" flash --help
done
check probe-help-gdb-cmd 0 "^ +arduino:PORT" -- "$LODE" gdb --help
# the README and --help agree on --timeout: no limit by default, as for a host program
check timeout-help 0 "default: no limit" -- "$LODE" run --help
check timeout-readme 0 "has no time limit by default" -- cat "$LODE_SOURCE/README.md"
check timeout-readme-old 1 "" -- grep -q "default 60 s" "$LODE_SOURCE/README.md"

# probes and chips
check list 0 "^sim .*STM32F103C8" -- "$LODE" list
check list-json 0 '"probe":"sim"' -- "$LODE" list --json
check list-stlink 0 "^sim-stlink " -- "$LODE" list
check chips 0 "STM32F103C8 .*lode_stm32f1_64k" -- "$LODE" chips
F1YAML=$LODE_SHARED/targets/probe-rs/STM32F1_Series.yaml
skips=0
shared() { # shared NAME: true when ../shared's STM32F1 file is there, else a skip with the reason
    [ -f "$F1YAML" ] && return 0
    echo "SKIP $1: $F1YAML is missing (../shared holds the probe-rs target files)"
    skips=$((skips + 1))
    return 1
}
shared chips-yaml && check chips-yaml 0 "STM32F103RB" -- "$LODE" chips --chip-description "$F1YAML"

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
# the reset handler's address, from the image (it moves with the firmware's build flags)
reset_pc=$(printf '0x%08x' $(( 0x$(od -An -tx4 -j4 -N4 "$FW/hello-stm32f103.bin" | tr -d ' \n') & ~1 )))
check reset-halt 0 "halted at pc $reset_pc" -- "$LODE" reset --halt
check regs 0 "pc +$reset_pc" -- "$LODE" regs
check regs-json 0 "\"pc\":\"$reset_pc\"" -- "$LODE" regs --json
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

# the simulated board behind the simulated ST-Link/V2, in process and over stlink-server TCP
check st-info 0 "ST-Link/V2, firmware V2J37S7, target voltage 3.30 V" -- "$LODE" info --probe sim-stlink --sim-fresh
check st-info-json 0 '"target_voltage":3.3' -- "$LODE" info --probe sim-stlink --json
check st-flash 0 "flashed .* to STM32F103C8 .*verified" -- "$LODE" flash --verify --probe sim-stlink "$FW/hello-stm32f103.elf"
check st-verify 0 "identical" -- "$LODE" verify --probe sim-stlink "$FW/hello-stm32f103.elf"
check st-flash-nostream 0 "verified" -- "$LODE" flash --verify-readback --no-stream --probe sim-stlink "$FW/systick-stm32f103.elf"
check st-verify-readback 0 "identical" -- "$LODE" verify --probe sim-stlink "$FW/systick-stm32f103.elf"
check st-write 0 "" -- "$LODE" write --probe sim-stlink --width 8 0x20000101 0xab
check st-read 0 "20000100: .. ab" -- "$LODE" read --probe sim-stlink 0x20000100 2
check st-regs 0 "pc +0x0800" -- "$LODE" regs --probe sim-stlink
check st-run 2 "argv\[1\]=st" -- "$LODE" run --probe sim-stlink "$FW/examples/args-stm32f103.elf" -- st
check st-run-exit 3 "" -- "$LODE" run --probe sim-stlink "$FW/examples/args-stm32f103.elf" -- a b c
check st-nrf 0 "flashed .* to nRF52840_xxAA" -- "$LODE" flash --probe sim-stlink --chip nRF52840_xxAA --verify "$FW/hello-nrf52840.hex"
check st-v3-info 0 "ST-Link/V3, firmware V3J7" -- "$LODE" info --probe sim-stlink:V3J7
check st-v3-flash 0 "flashed .* verified" -- "$LODE" flash --verify --probe sim-stlink:V3J7 "$FW/hello-stm32f103.elf"
check st-old-fw 0 "verified" -- "$LODE" flash --verify --probe sim-stlink:V2J21 "$FW/systick-stm32f103.elf"
check st-old-fw-warn 0 "no direct DAP access" -- "$LODE" regs --probe sim-stlink:V2J21
check st-old-fw-run 3 "argv\[1\]=old" -- "$LODE" run --probe sim-stlink:V2J21 "$FW/examples/args-stm32f103.elf" -- old
check st-bad-version 64 "sim-stlink\[:V2Jnn" -- "$LODE" info --probe sim-stlink:V9
check st-bad-tcp 64 "stlink-tcp:HOST:PORT" -- "$LODE" info --probe stlink-tcp:localhost
check st-no-server 69 "no stlink-server at 127.0.0.1:1" -- "$LODE" info --probe stlink-tcp:127.0.0.1:1
check st-no-usb 69 "no ST-Link found" -- "$LODE" info --probe stlink:0483:3748:NOSUCH
check sim-server-usage 64 "--stlink-tcp" -- "$LODE" sim-server
srv_out=$(mktemp)
"$LODE" sim-server --stlink-tcp 0 --chip STM32F103C8 >"$srv_out" 2>&1 &
srv=$!
port=""
for _ in $(seq 1 600); do # 60 s only bounds a server that hangs (it stops at once if the server died)
    port=$(sed -n 's/^lode sim-server: .* on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$srv_out")
    [ -n "$port" ] && break
    kill -0 "$srv" 2>/dev/null || break
    sleep 0.1
done
check tcp-info 0 "DPIDR: +0x1ba01477" -- "$LODE" info --probe "stlink-tcp:127.0.0.1:$port"
check tcp-flash 0 "flashed .* verified" -- "$LODE" flash --verify --probe "stlink-tcp:127.0.0.1:$port" "$FW/hello-stm32f103.elf"
check tcp-run 11 "argv\\[2\\]=over tcp" -- "$LODE" run --probe "stlink-tcp:127.0.0.1:$port" --timeout 10 "$FW/examples/args-stm32f103.elf" -- via "over tcp"
check tcp-serial 69 "no matching ST-Link" -- "$LODE" info --probe "stlink-tcp:127.0.0.1:$port:WRONGSERIAL"
kill $srv 2>/dev/null
wait $srv 2>/dev/null
check tcp-sessions 0 "session .* closed: [0-9]+ ST-Link commands" -- cat "$srv_out"
rm -f "$srv_out"

# vendor algorithm from the probe-rs file
shared vendor-flash && check vendor-flash 0 "flashed" -- "$LODE" flash --verify --sim-fresh --chip-description "$F1YAML" --chip STM32F103C8 "$FW/hello-stm32f103.elf"

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
check read-fault 1 "failed: .*(fault|FAULT)" -- "$LODE" read 0x30000000 4

# ---- lode run / attach / debug / itm -------------------------------------------------------
EX=$FW/examples
check run-hello 0 "Hello, world!" -- "$LODE" run --sim-fresh "$EX/hello-stm32f103.elf"
check run-hello-nrf 0 "Hello, world!" -- "$LODE" run --chip nRF52840_xxAA "$EX/hello-nrf52840.elf"
# args: exit code = sum of argument lengths % 256 ("one" + "two words" = 12)
check run-args 12 "argv\[2\]=two words" -- "$LODE" run "$EX/args-stm32f103.elf" -- one "two words"
check run-args-none 0 "argc=1" -- "$LODE" run "$EX/args-stm32f103.elf"
long=$(printf 'x%.0s' $(seq 400))
check run-args-too-long 3 "too long" -- "$LODE" run "$EX/args-stm32f103.elf" -- "$long"
check run-fault 134 "HardFault: .*bus error.*0x30000000" -- "$LODE" run "$EX/fault-stm32f103.elf"
check run-fault-frame 134 "faulting context: pc 0x0800[0-9a-f]* <main\+0x[0-9a-f]*>" -- "$LODE" run "$EX/fault-stm32f103.elf"
check run-timeout 124 "timeout after" -- "$LODE" run --timeout 0.05 "$FW/bench-stm32f103.elf"
root=$(mktemp -d)
check run-files 0 "files: ok" -- "$LODE" run --semihosting-root "$root" "$EX/files-stm32f103.elf"
rm -rf "$root"
check run-rtt-echo 0 "echo: hello" -- sh -c "printf 'hello\nquit\n' | '$LODE' run '$EX/rtt-stm32f103.elf'"
check run-rtt-channels 0 "\[Data\]" -- sh -c "printf 'ping\n' | '$LODE' run --rtt-channels '$FW/rtt_test-stm32f103.elf'"
check rtt-flash 0 "flashed" -- "$LODE" flash "$EX/rtt-stm32f103.elf"
check rtt-terminal 0 "echo: hi" -- sh -c "printf 'hi\nquit\n' | '$LODE' rtt --timeout 2 '$EX/rtt-stm32f103.elf'"
check run-itm 0 "itm: hello" -- "$LODE" run --itm "$EX/itm-stm32f103.elf"
check run-itm-port1 0 "port 1: 4 bytes" -- "$LODE" run --itm "$EX/itm-stm32f103.elf"
check st-run-itm 0 "itm: hello" -- "$LODE" run --itm --probe sim-stlink "$EX/itm-stm32f103.elf"
check run-break-stop 125 "breakpoint main hit" -- "$LODE" run --break main --on-hit stop "$FW/systick-stm32f103.elf"
check run-watch 0 "watchpoint ticks .* 0x1 -> 0x2" -- "$LODE" run --watch ticks:w "$FW/systick-stm32f103.elf"
# a breakpoint inside an IT block (hello-stm32f103: `it hi` at 0x08000108, `movhi` at 0x0800010a):
# it halts on the conditional instruction with the IT state in xPSR, and execution resumes from it
itaddr=$(arm-none-eabi-objdump -d "$FW/hello-stm32f103.elf" | awk '/\tit\t/ { sub(":", "", $1); print $1; exit }')
itnext=$(printf '0x%08x' $((0x$itaddr + 2)))
check run-break-in-it 125 "xpsr [0-9a-f]{4}[1-9a-f]" -- "$LODE" run --break "$itnext" --on-hit stop "$FW/hello-stm32f103.elf"
check run-break-in-it-continue 3 "breakpoint $itnext hit" -- "$LODE" run --break "$itnext" --on-hit continue "$FW/hello-stm32f103.elf"
check run-bad-symbol 64 "no symbol" -- "$LODE" run --break no_such_function "$FW/systick-stm32f103.elf"
# the same on the other simulated chip (nRF52840: RAM at 0x20000000, flash at 0, NVMC)
N="--chip nRF52840_xxAA"
check nrf-run-args 12 "argv\[2\]=two words" -- "$LODE" run $N "$EX/args-nrf52840.elf" -- one "two words"
check nrf-run-args-too-long 3 "too long" -- "$LODE" run $N "$EX/args-nrf52840.elf" -- "$long"
check nrf-run-fault 134 "HardFault: .*bus error" -- "$LODE" run $N "$EX/fault-nrf52840.elf"
check nrf-run-timeout 124 "timeout after" -- "$LODE" run $N --timeout 0.05 "$FW/bench-nrf52840.elf"
root=$(mktemp -d)
check nrf-run-files 0 "files: ok" -- "$LODE" run $N --semihosting-root "$root" "$EX/files-nrf52840.elf"
rm -rf "$root"
check nrf-run-rtt-echo 0 "echo: hello" -- sh -c "printf 'hello\nquit\n' | '$LODE' run $N '$EX/rtt-nrf52840.elf'"
check nrf-run-rtt-channels 0 "\[Data\]" -- sh -c "printf 'ping\n' | '$LODE' run $N --rtt-channels '$FW/rtt_test-nrf52840.elf'"
check nrf-run-itm 0 "itm: hello" -- "$LODE" run $N --itm "$EX/itm-nrf52840.elf"
check nrf-run-break-stop 125 "breakpoint main hit" -- "$LODE" run $N --break main --on-hit stop "$FW/systick-nrf52840.elf"
check nrf-run-watch 0 "watchpoint ticks .* 0x1 -> 0x2" -- "$LODE" run $N --watch ticks:w "$FW/systick-nrf52840.elf"
check attach-flash 0 "flashed" -- "$LODE" flash "$FW/bench-stm32f103.elf"
check attach-timeout 124 "timeout" -- "$LODE" attach --timeout 0.02 "$FW/bench-stm32f103.elf"
# Ctrl-C: SIGINT to a running `lode run`
out=$(mktemp)
"$LODE" run "$FW/bench-stm32f103.elf" >"$out" 2>&1 &
pid=$!
# ready when lode catches SIGINT (SigCgt bit 1 in /proc): 60 s only bounds a hang; not a fixed sleep
for _ in $(seq 1 600); do
    cgt=$(sed -n 's/^SigCgt:[[:space:]]*//p' /proc/$pid/status 2>/dev/null)
    [ -n "$cgt" ] && [ $((0x$cgt & 2)) -ne 0 ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
done
kill -INT $pid
wait $pid
rc=$?
if [ $rc -eq 130 ] && grep -q "interrupted" "$out"; then pass=$((pass + 1)); echo "ok   run-ctrl-c"; else
    echo "FAIL run-ctrl-c: exit $rc"; cat "$out"; fails=$((fails + 1)); fi
rm -f "$out"
script="break main
continue
print ticks
step
where
regs
quit"
check debug-flash 0 "flashed" -- "$LODE" flash "$FW/systick-stm32f103.elf"
check debug-script 0 "breakpoint main at" -- sh -c "printf '%s\n' \"$script\" | '$LODE' debug --timeout 5 '$FW/systick-stm32f103.elf'"
check debug-where 0 "pc 0x0800.*<main" -- sh -c "printf '%s\n' \"$script\" | '$LODE' debug --timeout 5 '$FW/systick-stm32f103.elf'"
# an SWO capture as the simulated board emits it: "ITM hi\n" as 1-byte port-0 packets, then
# a 4-byte write of 0x12345678 to port 1 (ARMv7-M D4.2.8: header = port << 3 | size)
cap=$(mktemp)
printf '\001I\001T\001M\001 \001h\001i\001\n\013\170\126\064\022' >"$cap"
check itm-decode 0 "ITM hi" -- "$LODE" itm "$cap"
check itm-port1 0 "port1\] 0x12345678" -- "$LODE" itm "$cap"
check itm-raw 0 "instrumentation port 1: 4 bytes 0x12345678" -- "$LODE" itm --raw "$cap"
rm -f "$cap"

# ---- images with nothing for the flash: RAM-linked, and an ELF without program headers ------
# lode flash refuses them (65, naming where the image lives) and leaves the flash alone;
# lode run loads a RAM image into RAM and starts it from its vector table (no reset)
check ram-flash-before 0 "flashed" -- "$LODE" flash "$FW/hello-stm32f103.elf"
check ram-flash 65 "nothing for the flash: it lives at 0x20000000" -- "$LODE" flash "$EX/ram-stm32f103.elf"
check ram-flash-kept 0 "identical" -- "$LODE" verify "$FW/hello-stm32f103.elf"
check ram-run 0 "running from RAM: main at 0x2000.*vector table at 0x20000000" -- "$LODE" run "$EX/ram-stm32f103.elf"
check ram-run-args 12 "argv\[2\]=two words" -- "$LODE" run "$EX/args-ram-stm32f103.elf" -- one "two words"
check ram-run-verify 0 "identical" -- "$LODE" verify "$EX/args-ram-stm32f103.elf"
check ram-run-flash-kept 0 "identical" -- "$LODE" verify "$FW/hello-stm32f103.elf"
check ram-run-st 0 "running from RAM" -- "$LODE" run --probe sim-stlink "$EX/ram-stm32f103.elf"
check ram-run-nrf 0 "running from RAM: main at 0x2000" -- "$LODE" run $N "$EX/ram-nrf52840.elf"
check ram-flash-nrf 65 "nothing for the flash" -- "$LODE" flash $N "$EX/ram-nrf52840.elf"
nophdr=$(mktemp)
cp "$FW/hello-stm32f103.elf" "$nophdr"
printf '\0\0' | dd of="$nophdr" bs=1 seek=44 conv=notrunc 2>/dev/null # e_phnum = 0
check nophdr-flash 65 "empty" -- "$LODE" flash "$nophdr"
check nophdr-run 65 "nothing to run" -- "$LODE" run "$nophdr" -- a b
check nophdr-verify 65 "nothing to verify" -- "$LODE" verify "$nophdr"
check nophdr-flash-kept 0 "identical" -- "$LODE" verify "$FW/hello-stm32f103.elf"
rm -f "$nophdr"

echo "$pass passed, $fails failed, $skips skipped"
[ "$fails" -eq 0 ] || exit 1
[ "$skips" -eq 0 ] || exit 77 # CTest: skipped (the reasons are above)
