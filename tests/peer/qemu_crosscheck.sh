#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs firmware/crosscheck-stm32f103.elf on QEMU's stm32vldiscovery and on lode's simulated
# STM32F103C8 and requires identical, non-empty semihosting output and equal exit status.
#
# usage: qemu_crosscheck.sh <lode-binary> <firmware-dir>
# exit:  0 outputs identical; 1 different, a run failed, or something is missing.
#
# QEMU writes semihosting console output (SYS_WRITE0/WRITEC) to stderr unless it is given a
# chardev, so the semihosting console goes to a stdio chardev and the serial port and the
# monitor are switched off: QEMU's stdout then holds exactly what the firmware printed.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 <lode-binary> <firmware-dir>" >&2
    exit 1
fi
lode=$1
elf=$2/crosscheck-stm32f103.elf

if ! command -v qemu-system-arm >/dev/null 2>&1; then
    echo "qemu_crosscheck: qemu-system-arm not found in PATH (install qemu-system-arm)" >&2
    exit 1
fi
if [ ! -x "$lode" ]; then
    echo "qemu_crosscheck: lode binary '$lode' is missing or not executable" >&2
    exit 1
fi
if [ ! -f "$elf" ]; then
    echo "qemu_crosscheck: firmware image '$elf' not found" >&2
    exit 1
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

timeout 20 qemu-system-arm -M stm32vldiscovery -nographic -serial null -monitor none \
    -chardev stdio,id=semihost -semihosting-config enable=on,target=native,chardev=semihost \
    -kernel "$elf" </dev/null >"$tmp/qemu.out" 2>"$tmp/qemu.err"
qemu_rc=$?

timeout 60 "$lode" run --chip STM32F103C8 "$elf" </dev/null >"$tmp/lode.out" 2>"$tmp/lode.err"
lode_rc=$?

show() {
    echo "---- $1 (exit status $2) stdout:"
    cat "$tmp/$1.out"
    echo "---- $1 stderr:"
    cat "$tmp/$1.err"
}

fail=""
if [ ! -s "$tmp/qemu.out" ]; then
    fail="QEMU printed nothing"
elif [ "$qemu_rc" -ne 0 ]; then
    fail="QEMU exited with status $qemu_rc (124 = timeout)"
elif [ "$lode_rc" -ne "$qemu_rc" ]; then
    fail="lode exited with status $lode_rc, QEMU with $qemu_rc (124 = timeout)"
elif ! cmp -s "$tmp/qemu.out" "$tmp/lode.out"; then
    fail="outputs differ"
fi

if [ -n "$fail" ]; then
    echo "qemu_crosscheck: FAIL: $fail"
    show qemu "$qemu_rc"
    show lode "$lode_rc"
    echo "---- diff qemu lode:"
    diff "$tmp/qemu.out" "$tmp/lode.out"
    exit 1
fi
echo "qemu_crosscheck: OK ($(wc -l <"$tmp/qemu.out") identical lines)"
exit 0
