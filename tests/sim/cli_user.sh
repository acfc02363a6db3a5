#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What a new user trips over (issue 11): exit codes that do not fit an exit status, SYS_EXIT
# reasons, ... each as a person types it.
# Usage: cli_user.sh <lode-binary> <firmware-dir>
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
nocheck() { # nocheck NAME PATTERN -- command...: the output must NOT match
    local name=$1 pattern=$2
    shift 3
    if "$@" 2>&1 | grep -qE -- "$pattern"; then
        echo "FAIL $name: output has /$pattern/"
        fails=$((fails + 1))
        return
    fi
    pass=$((pass + 1))
    echo "ok   $name"
}

# 4. exit codes: nothing outside 0-255 is truncated silently, every SYS_EXIT reason is named
X=$FW/exitcode-stm32f103.elf
check exit-5 5 "" -- "$LODE" run "$X" -- ext 20026 5
nocheck exit-5-quiet "lode run:" -- "$LODE" run "$X" -- ext 20026 5
check exit-256 1 "exited with 256 \(0x100\).*lode exits 1" -- "$LODE" run "$X" -- ext 20026 100
check exit-2to31 1 "exited with 2147483648 \(0x80000000\)" -- "$LODE" run "$X" -- ext 20026 80000000
check exit-1000 232 "exited with 1000 \(0x3e8\).*lode exits 232" -- "$LODE" run "$X" -- ext 20026 3e8
check exit-reason 1 "reason RunTimeErrorUnknown \(0x20023\)" -- "$LODE" run "$X" -- exit 20023
check exit-reason-ext 7 "reason DivisionByZero \(0x20028\), subcode 7" -- "$LODE" run "$X" -- ext 20028 7
check exit-reason-odd 1 "reason unknown to the semihosting specification \(0x12345\)" -- "$LODE" run "$X" -- exit 12345
check exit-app-plain 0 "" -- "$LODE" run "$X" -- exit 20026

# 5. arguments reach main() as typed, through the C library's own splitting of the command line
argv_check() { # argv_check NAME ELF EXPECTED-STDOUT -- args...: stdout exactly as expected
    local name=$1 elf=$2 want=$3
    shift 4
    local out
    out=$("$LODE" run "$elf" -- "$@" 2>"$LODE_SIM_STATE_DIR/err")
    if [ "$out" != "$want" ]; then
        echo "FAIL $name: got"
        echo "$out"
        echo "---- wanted"
        echo "$want"
        cat "$LODE_SIM_STATE_DIR/err"
        fails=$((fails + 1))
        return
    fi
    pass=$((pass + 1))
    echo "ok   $name"
}
TAB=$(printf 'a\tb')
NL=$FW/argv-newlib-stm32f103.elf
argv_check argv-newlib "$NL" "argc=8
argv[0]=<$NL>
argv[1]=<a\"b>
argv[2]=<>
argv[3]=<c\\d>
argv[4]=<$TAB>
argv[5]=<two words>
argv[6]=<x\"y z>
argv[7]=<'q>" -- 'a"b' '' 'c\d' "$TAB" "two words" 'x"y z' "'q"
check argv-newlib-impossible 64 "cannot pass argument 1 .*both quote characters" -- "$LODE" run "$NL" -- "it's \"x\""
PL=$FW/argv-picolibc-stm32f103.elf
argv_check argv-picolibc "$PL" "argc=4
argv[0]=<program-name>
argv[1]=<a\"b>
argv[2]=<c\\d>
argv[3]=<$TAB>" -- 'a"b' 'c\d' "$TAB"
check argv-picolibc-empty 64 "cannot pass argument 2 .*empty.*picolibc" -- "$LODE" run "$PL" -- a ''
check argv-picolibc-space 64 "cannot pass argument 1 .*space.*picolibc" -- "$LODE" run "$PL" -- "two words"
# lode's own example splits as newlib does
check argv-example 18 "argv\[1\]=a\"b" -- "$LODE" run "$FW/examples/args-stm32f103.elf" -- 'a"b' '' 'c\d' "$TAB" "two words"

# 6. the runner form: arguments after FILE without --; defaults from lode.yaml and LODE_*
check runner-form 2 "argv\[2\]=b" -- "$LODE" run "$FW/examples/args-stm32f103.elf" a b
check runner-form-dash 4 "argv\[2\]=-v" -- "$LODE" run "$FW/examples/args-stm32f103.elf" -x -v
check runner-form-sep 2 "argv\[1\]=a" -- "$LODE" run "$FW/examples/args-stm32f103.elf" -- a b
proj=$(mktemp -d)
mkdir -p "$proj/sub/dir"
printf 'probe: sim\nchip: nRF52840_xxAA\n' >"$proj/lode.yaml"
check yaml-chip 0 "chip: +nRF52840_xxAA" -- sh -c "cd '$proj/sub/dir' && '$LODE' info"
check env-beats-yaml 0 "chip: +STM32F103C8" -- sh -c "cd '$proj/sub/dir' && LODE_CHIP=STM32F103C8 '$LODE' info"
check flag-beats-env 0 "chip: +nRF52840_xxAA" -- sh -c "cd '$proj' && LODE_CHIP=STM32F103C8 '$LODE' info --chip nRF52840_xxAA"
check env-probe 64 "unknown probe 'nope'" -- sh -c "cd '$proj' && LODE_PROBE=nope '$LODE' info"
check env-speed-bad 64 "LODE_SPEED wants a clock" -- sh -c "cd '$proj' && LODE_SPEED=fast '$LODE' info"
printf 'chip: nRF52840_xxAA\nspeeed: 4M\n' >"$proj/lode.yaml"
check yaml-bad-key 65 "lode.yaml:2: unknown key 'speeed'" -- sh -c "cd '$proj/sub' && '$LODE' info"
printf 'chip: [a, b]\n' >"$proj/lode.yaml"
check yaml-bad-value 65 "lode.yaml:1: chip: expected a text value" -- sh -c "cd '$proj' && '$LODE' reset"
rm -rf "$proj"

# 7. no option is accepted and ignored: --json is supported or refused, foreign options refused
E=$FW/hello-stm32f103.elf
for c in "verify $E" "erase --all" "read 0x08000000 4" "reset" "halt" "resume" "step" "write 0x20000000 1"; do
    check "json-refused-${c%% *}" 64 "has no --json" -- "$LODE" $c --json
done
check json-refused-run 64 "unknown option '--json'" -- "$LODE" run --json "$E"
check json-refused-chips 64 "" -- "$LODE" chips --json
check json-info 0 '"dpidr"' -- "$LODE" info --json
check erase-verify-refused 64 "--verify is not an option of erase" -- "$LODE" erase --all --verify
check read-width-refused 64 "--width is not an option of read" -- "$LODE" read 0x20000000 4 --width 8
check verify-no-reset-refused 64 "--no-reset is not an option of verify" -- "$LODE" verify --no-reset "$E"
check base-needs-value 64 "--base needs a value" -- "$LODE" flash "$E" --base
# the other commands read their options through the same table (cli/args.c)
check gdb-port-needs-value 64 "--port needs a value" -- "$LODE" gdb --port
check gdb-port-inline 64 "--port wants a TCP port 0-65535, got '70000'" -- "$LODE" gdb --port=70000
check run-rtt-scan-two 64 "--rtt-scan needs two values" -- "$LODE" run --rtt-scan 0x20000000
check debug-two-files 64 "more than one FILE" -- "$LODE" debug "$E" "$E"
check chip-description-twice 64 "--chip-description given twice" -- "$LODE" chips --chip-description a.yaml --chip-description b.yaml
check flash-desc-twice 64 "--chip-description given twice" -- "$LODE" flash --chip-description a.yaml --chip-description b.yaml "$E"
# regs --halt leaves the core stopped
check regs-resume 0 "" -- "$LODE" resume
check regs-halt 0 "pc +0x" -- "$LODE" regs --halt
check regs-halt-stays 0 "halted" -- "$LODE" halt

# 8. the true reason and the documented exit code
check break-outside-fpb 64 "could not start as asked" -- "$LODE" run --break 0xFFFFFFFF "$FW/systick-stm32f103.elf"
check break-outside-fpb-why 64 "cannot set a breakpoint at 0xFFFFFFFF" -- "$LODE" run --break 0xFFFFFFFF "$FW/systick-stm32f103.elf"
check sh-root-missing 66 "semihosting file root \"/nonexistent-lode\" cannot be used" -- "$LODE" run --semihosting-root /nonexistent-lode "$FW/examples/hello-stm32f103.elf"
check read-bus-fault 1 "failed: target answered FAULT" -- "$LODE" read 0x30000000 4
check write-flash 64 "0x08000000 is in the flash of STM32F103C8.*lode flash" -- "$LODE" write 0x08000000 0x12345678
check rtt-scan-outside 64 "--rtt-scan 0x40000000 64 is not inside the RAM" -- "$LODE" run --rtt-scan 0x40000000 64 "$FW/examples/rtt-stm32f103.elf"
check run-then-exit 1 "" -- "$LODE" run "$FW/examples/args-stm32f103.elf" a
check attach-after-exit 125 "the firmware already exited" -- "$LODE" attach --timeout 1 "$FW/examples/args-stm32f103.elf"
check erase-for-debug 0 "" -- "$LODE" erase --all
check debug-erased 0 "no program: the reset vector at 0x00000004 reads 0xffffffff" -- sh -c "printf 'continue\nquit\n' | '$LODE' debug --timeout 1 '$FW/hello-stm32f103.elf'"
nocheck debug-erased-no-mpu "MPU" -- sh -c "printf 'continue\nquit\n' | '$LODE' debug --timeout 1 '$FW/hello-stm32f103.elf'"

# 9. Ctrl-C at the (lode) prompt cancels the line; the session and its breakpoints stay
if timeout 200 python3 "$(dirname "$0")/debug_ctrlc.py" "$LODE" "$FW/systick-stm32f103.elf"; then
    pass=$((pass + 1))
else
    echo "FAIL debug-ctrl-c"
    fails=$((fails + 1))
fi

echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ] && [ "$pass" -gt 0 ]
