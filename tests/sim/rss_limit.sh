#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every lode command stays under 100 MiB resident (peak RSS from /usr/bin/time -f %M) against
# the simulated board, on both chips: flash, regs, step, run with --break and --watch (the
# commands that switch the CPU backend's hooks and drop translations), read, reset. Unicorn
# 2.0.1's full translation flush clears its whole 1 GiB code buffer, which would put every
# one of those pages in memory. In a sanitizer build ASan's own memory counts too (about
# 16 MiB more here); its quarantine is kept small so the figure stays the program's.
# Usage: rss_limit.sh <lode-binary> <firmware-dir>
set -u
LODE=$1
FW=$2
LIMIT_KIB=$((100 * 1024))
[ -x /usr/bin/time ] || { echo "rss_limit: /usr/bin/time not found (scripts/deps.sh test installs 'time')"; exit 1; }
export LODE_SIM_STATE_DIR=$(mktemp -d)
trap 'rm -rf "$LODE_SIM_STATE_DIR"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8
fails=0
measure() { # measure NAME command...
    local name=$1
    shift
    /usr/bin/time -f '%M' -o "$LODE_SIM_STATE_DIR/rss" "$@" >"$LODE_SIM_STATE_DIR/out" 2>&1
    local rc=$? kib
    kib=$(tail -1 "$LODE_SIM_STATE_DIR/rss")
    case $kib in '' | *[!0-9]*) echo "FAIL $name: no RSS figure (exit $rc)"; cat "$LODE_SIM_STATE_DIR/out"; fails=$((fails + 1)); return ;; esac
    if [ "$rc" -ne 0 ]; then
        echo "FAIL $name: exit $rc"
        cat "$LODE_SIM_STATE_DIR/out"
        fails=$((fails + 1))
    elif [ "$kib" -gt "$LIMIT_KIB" ]; then
        echo "FAIL $name: $kib KiB resident, more than $LIMIT_KIB KiB"
        fails=$((fails + 1))
    else
        echo "ok   $name: $kib KiB"
    fi
}
for chip in STM32F103C8:stm32f103 nRF52840_xxAA:nrf52840; do
    c=${chip%%:*}
    f=${chip##*:}
    measure "$c flash" "$LODE" flash --chip "$c" "$FW/examples/hello-$f.elf"
    measure "$c regs" "$LODE" regs --chip "$c"
    measure "$c step" "$LODE" step --chip "$c"
    measure "$c run --break" "$LODE" run --chip "$c" --break main "$FW/examples/hello-$f.elf"
    measure "$c run --watch" "$LODE" run --chip "$c" --watch 0x20000000:rw "$FW/examples/hello-$f.elf"
    measure "$c read" "$LODE" read --chip "$c" 0x20000000 16384 -o "$LODE_SIM_STATE_DIR/r.bin"
    measure "$c reset" "$LODE" reset --chip "$c"
done
[ "$fails" -eq 0 ] || { echo "rss_limit: $fails over the limit"; exit 1; }
echo "rss_limit: all commands under $LIMIT_KIB KiB"
