#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The avr109 probe against the simulated Leonardo (lode's AVR109 test bootloader on simavr):
# in process (--board leonardo, no --probe) flash/verify/read/EEPROM/erase/refusals; then behind
# a pty with a sysfs tree (`lode sim-server --board leonardo --sysfs DIR`): lode's own 1200-baud
# touch of the sketch's port and the bootloader's port found by USB ID (LODE_SYSFS_ROOT); and
# the bad cases: no bootloader answering, a touch nobody answers, a busy port, a missing port.
# usage: cli_leonardo.sh <lode> <lsan-suppressions>
set -u
LODE=$1
export LSAN_OPTIONS=suppressions=$2:print_suppressions=0
tmp=$(mktemp -d) || exit 1
export LODE_SIM_STATE_DIR=$tmp/state
mkdir -p "$LODE_SIM_STATE_DIR"
server=""
holder=""
cleanup() {
    for p in $holder $server; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
pass=0
. "$(dirname "$0")/../lib_check.sh"

# images for lode start with a NUL: one starting with ':' is Intel HEX to lode's reader
{ printf '\000'; head -c 28671 /dev/urandom; } >"$tmp/a.bin"
{ printf '\000'; head -c 28671 /dev/urandom; } >"$tmp/b.bin"
printf ':02000004008179\n:0300050011223392\n:00000001FF\n' >"$tmp/ee.hex"
{ printf '\000'; head -c 255 /dev/urandom; } >"$tmp/c.bin"

# ---- in process: the default for --board leonardo (and micro, the same chip) ----
check info 0 "avr109 \(LODE109 1.0 on the simulated leonardo: ATmega32U4, signature 1E 95 87\)" -- \
    "$LODE" info --board leonardo
check info-regions 0 "application 0x0000..0x6fff \(28672 bytes\), bootloader 4096 bytes" -- "$LODE" info --board Leonardo
check micro-sim 0 "avr109 \(LODE109 .* ATmega32U4" -- "$LODE" info --board micro
check flash 0 "28.0 KiB .* 224 pages, verified" -- "$LODE" flash "$tmp/a.bin" --base 0 --verify --board leonardo
check read 0 "read 28672 bytes" -- "$LODE" read 0 28672 -o "$tmp/a-back.bin" --board leonardo
check read-same 0 "" -- cmp "$tmp/a.bin" "$tmp/a-back.bin"
check verify 0 "" -- "$LODE" verify "$tmp/a.bin" --base 0 --board leonardo
check into-boot 65 "reaches 0x7000, into the bootloader \(0x7000..0x7fff\).*link it smaller" -- \
    "$LODE" flash "$tmp/c.bin" --base 0x6f80 --board leonardo
check into-boot-nothing-written 0 "" -- "$LODE" verify "$tmp/a.bin" --base 0 --board leonardo
check eeprom-write 0 "verified" -- "$LODE" flash "$tmp/ee.hex" --verify --board leonardo
check eeprom-read 0 "00810004: ff 11 22 33 ff" -- "$LODE" read 0x810004 5 --board leonardo
check wrong-chip 69 "signature 1E 95 87 \(ATmega32U4\), not ATmega328P's" -- \
    "$LODE" info --probe sim-avr:leonardo --chip atmega328p
check wrong-chip-force 0 "ATmega328P, signature 1E 95 87" -- \
    "$LODE" info --probe sim-avr:leonardo --chip atmega328p --force
check erase-range 0 "erased 1 sectors" -- "$LODE" erase 0x80 0x80 --board leonardo
check erase-range-read 0 "00000080: ff ff ff ff" -- "$LODE" read 0x80 4 --board leonardo
check erase-range-kept 0 "" -- sh -c "'$LODE' read 0 128 -o '$tmp/p0.bin' --board leonardo && head -c 128 '$tmp/a.bin' | cmp - '$tmp/p0.bin'"
check erase-all 0 "erased 224 sectors" -- "$LODE" erase --chip --board leonardo
check erase-all-read 0 "00006ff0: ff ff ff ff" -- "$LODE" read 0x6ff0 4 --board leonardo
check reset 0 "reset; the application runs" -- "$LODE" reset --board leonardo
check erase-keeps-eeprom 0 "00810005: 11 22 33" -- "$LODE" read 0x810005 3 --board leonardo

# ---- behind a pty, with a sysfs tree: the 1200-baud touch and the port found by USB ID ----
tty=$tmp/leo-tty
sys=$tmp/sys
mkdir -p "$sys" "$tmp/nosys"
# the simulated board stands in for hardware with a CPU of its own: nice -n -10 (as the peer scripts)
nice -n -10 "$LODE" -v sim-server --board leonardo --serial-pty "$tty" --sysfs "$sys" --sim-fresh >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
prod=$sys/devices/lode-sim/usb1/1-1/idProduct
# wait for a condition (the server's pty, its USB ID): 60 s only bounds a server that hangs
wait_for() {
    for _ in $(seq 1 600); do eval "$1" && return 0; kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
    echo "FAIL waiting for: $1"; cat "$tmp/server.err"; exit 1
}
wait_for '[ -L "$tty" ] && [ -f "$prod" ]'
# a fresh board has no sketch: its port is the bootloader's already (no touch)
check pty-boot-id 0 "^0036$" -- cat "$prod"
export LODE_SYSFS_ROOT=$sys
check pty-flash 0 "224 pages" -- "$LODE" flash "$tmp/b.bin" --base 0 --probe "avr109:$tty"
# the sketch runs now: its port is another pty with the sketch's USB ID
wait_for '[ "$(cat "$prod")" = 8036 ]'
sketch=$(readlink "$tty")
check pty-touch 0 "bootloader on /dev/pts/" -- \
    bash -c "set -o pipefail; '$LODE' -v verify '$tmp/b.bin' --base 0 --probe 'avr109:$tty' 2>&1 | tee '$tmp/touch.out'"
found=$(grep -o "bootloader on /dev/pts/[0-9]*" "$tmp/touch.out" | sed 's/bootloader on //')
# found by its USB ID, not by the name given: the bootloader's port is another one
check pty-touch-new-port 0 "" -- test -n "$found" -a "$found" != "$sketch"
wait_for '[ "$(cat "$prod")" = 8036 ]'
check pty-read-after-touch 0 "" -- sh -c "'$LODE' read 0 28672 -o '$tmp/b-back.bin' --probe 'avr109:$tty' && cmp '$tmp/b.bin' '$tmp/b-back.bin'"
wait_for '[ "$(cat "$prod")" = 8036 ]'
# reset = the bootloader leaves; run = the sketch's own port (found by its USB ID) is the console
check pty-reset 0 "reset; the application runs" -- "$LODE" reset --probe "avr109:$tty"
wait_for '[ "$(cat "$prod")" = 8036 ]'
avr-objcopy -I binary -O ihex "$tmp/b.bin" "$tmp/b.hex"
check pty-run-console 124 "timeout after 1 s: the firmware sent no exit code" -- \
    bash -c "set -o pipefail; '$LODE' -v run --timeout 1 --probe 'avr109:$tty' '$tmp/b.hex' 2>&1 | tee '$tmp/run.out'"
check pty-run-console-port 0 "" -- grep -q "the sketch's port: /dev/pts/" "$tmp/run.out"
wait_for '[ "$(cat "$prod")" = 8036 ]'
# the sketch's port without sysfs to find the bootloader by: no touch, no bootloader answers
check no-bootloader 69 "no answer at all from an AVR109 bootloader on .*press the board's reset button twice" -- \
    env LODE_SYSFS_ROOT="$tmp/nosys" "$LODE" info --probe "avr109:$tty"
# the port held by another program
python3 -c '
import fcntl, os, sys, termios, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)
fcntl.flock(fd, fcntl.LOCK_EX)
fcntl.ioctl(fd, termios.TIOCEXCL)
open(sys.argv[2], "w").close()
time.sleep(120)' "$tty" "$tmp/held" &
holder=$!
for _ in $(seq 1 600); do [ -f "$tmp/held" ] && break; sleep 0.1; done
check busy 69 "is busy: another program holds it open exclusively \(held by python3" -- "$LODE" info --probe "avr109:$tty"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; holder=""
check missing 69 "is not there: check the cable" -- "$LODE" info --probe "avr109:$tmp/no-such-tty"
# a touch nobody answers: a sketch port (by its sysfs entry) on a pty whose board never resets
fake=$tmp/fakesys
python3 -c '
import os, pty, sys, time
m, s = pty.openpty()
name = os.ttyname(s)
os.close(s)
root = sys.argv[1]
dev = root + "/devices/usb1/1-1"
os.makedirs(dev + "/1-1:1.0")
open(dev + "/idVendor", "w").write("2341\n")
open(dev + "/idProduct", "w").write("8036\n")
ent = root + "/class/tty/" + name[5:].replace("/", "!")
os.makedirs(ent)
open(ent + "/uevent", "w").write("DEVNAME=" + name[5:] + "\n")
os.symlink(dev + "/1-1:1.0", ent + "/device")
os.symlink(name, sys.argv[2])
time.sleep(120)' "$fake" "$tmp/fake-tty" &
holder=$!
for _ in $(seq 1 600); do [ -L "$tmp/fake-tty" ] && break; sleep 0.1; done
check touch-unanswered 69 "no bootloader port \(USB 2341:0036.*appeared within 8.0 s of the 1200-baud touch on .*press the board's reset button twice" -- \
    env LODE_SYSFS_ROOT="$fake" "$LODE" info --probe "avr109:$tmp/fake-tty"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; holder=""
unset LODE_SYSFS_ROOT

if [ "$fails" -ne 0 ]; then echo "---- sim-server"; cat "$tmp/server.out" "$tmp/server.err"; fi
echo "cli_leonardo: $pass passed, $fails failed"
[ "$fails" -eq 0 ]
