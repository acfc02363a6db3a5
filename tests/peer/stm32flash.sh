#!/bin/sh
# SPDX-License-Identifier: MIT
# The referee for the simulated STM32F103's system bootloader (AN3155, `lode sim-server --boot0
# --serial-pty`) and for lode's stm32-uart probe: stm32flash 0.7 (-m 8n1: a pseudo-terminal has no
# parity) identifies the chip, writes and verifies an image, reads it back identical; lode reads
# what stm32flash wrote, and stm32flash reads back what lode wrote; lode info/verify/erase; bad
# input: 8E1 on the pty (refused, names --parity none), an image larger than the flash (nothing
# written), the port held by another program, a missing port: one line each, exit codes 69/65.
# usage: stm32flash.sh <lode>
set -u
lode=$1
tmp=$(mktemp -d) || exit 1
server=""
trap '[ -n "$server" ] && kill $server 2>/dev/null; [ -n "$server" ] && wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
fail() {
    echo "stm32flash: FAIL: $1"
    for f in "$tmp"/*.out "$tmp"/*.err; do [ -f "$f" ] && { echo "---- $f"; tail -c 3000 "$f"; }; done
    exit 1
}
command -v stm32flash >/dev/null || fail "stm32flash is not installed: scripts/deps.sh test"
tty=$tmp/stm32-tty
# the simulated board stands in for hardware with a CPU of its own: it runs at a higher priority than
# the host tools (as root; elsewhere nice warns and runs it as it is), so a busy host does not make it
# answer later than a real board would (the outside tool's fixed timeouts then saw late answers)
nice -n -10 "$lode" sim-server --boot0 --serial-pty "$tty" --sim-state "$tmp/board.state" --sim-fresh \
    >"$tmp/server.out" 2>"$tmp/server.err" &
server=$!
# the link is the server's readiness; 60 s only bounds a server that hangs (it stops at once if the server died)
for _ in $(seq 1 600); do [ -L "$tty" ] && break; kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
[ -L "$tty" ] || fail "lode sim-server made no pty"
sf() { timeout 120 stm32flash -m 8n1 -b 115200 "$@" "$tty" >"$tmp/stm32flash.out" 2>&1; }
sf || fail "stm32flash does not identify the simulated bootloader"
grep -q "Version      : 0x22" "$tmp/stm32flash.out" || fail "stm32flash sees no bootloader version 2.2"
grep -q "Device ID    : 0x0410" "$tmp/stm32flash.out" || fail "stm32flash sees no device ID 0x0410"
head -c 50000 /dev/urandom >"$tmp/a.bin"
sf -w "$tmp/a.bin" -v || fail "stm32flash could not write and verify an image"
sf -r "$tmp/a-sf.bin" -S 0x08000000:50000 || fail "stm32flash could not read the image back"
cmp "$tmp/a.bin" "$tmp/a-sf.bin" || fail "stm32flash reads back other bytes than it wrote"
l() { timeout 120 "$lode" "$@" --probe "stm32-uart:$tty" --parity none >"$tmp/lode.out" 2>&1; }
l read 0x08000000 50000 -o "$tmp/a-lode.bin" || fail "lode read after stm32flash failed"
cmp "$tmp/a.bin" "$tmp/a-lode.bin" || fail "lode reads back other bytes than stm32flash wrote"
# random images for lode start with a NUL: one starting with ':' is Intel HEX to lode's reader
{ printf '\000'; head -c 65535 /dev/urandom; } >"$tmp/b.bin"
l flash "$tmp/b.bin" --base 0x08000000 --verify || fail "lode flash failed"
grep -q "64 sectors erased, 256 pages, verified" "$tmp/lode.out" || fail "lode flash did not say 64 sectors, 256 pages, verified"
sf -r "$tmp/b-sf.bin" -S 0x08000000:65536 || fail "stm32flash could not read lode's image"
cmp "$tmp/b.bin" "$tmp/b-sf.bin" || fail "stm32flash reads back other bytes than lode wrote"
l verify "$tmp/b.bin" --base 0x08000000 || fail "lode verify failed"
# the board names the probe kind and baud: --probe is just the port
timeout 60 "$lode" verify "$tmp/b.bin" --base 0x08000000 --board bluepill --probe "$tty" --parity none \
    >"$tmp/board.out" 2>&1 || fail "lode verify --board bluepill --probe PORT failed"
l info || fail "lode info failed"
grep -q "bootloader 2.2" "$tmp/lode.out" && grep -q "STM32F103C8" "$tmp/lode.out" || fail "lode info names no bootloader 2.2 / STM32F103C8"
l erase 0x08000400 0x400 || fail "lode erase of one page failed"
sf -r "$tmp/c-sf.bin" -S 0x08000000:4096 || fail "stm32flash could not read after lode's erase"
head -c 1024 "$tmp/b.bin" | cmp - "$tmp/c-sf.bin" -n 1024 || fail "lode's page erase touched page 0"
head -c 1024 /dev/zero | tr '\000' '\377' >"$tmp/ff.bin"
dd if="$tmp/c-sf.bin" bs=1024 skip=1 count=1 2>/dev/null | cmp - "$tmp/ff.bin" >/dev/null ||
    fail "page 1 is not erased after lode erase 0x08000400 0x400"
# BOOT0/NRST wiring asked for on a port without modem lines: said once, then on as without
timeout 60 "$lode" info --probe "stm32-uart:$tty:boot0=rts:reset=-dtr" --parity none >"$tmp/lines.out" 2>&1 ||
    fail "lode info with boot0=rts:reset=-dtr on a pty failed"
grep -q "no modem-control lines" "$tmp/lines.out" || fail "lode does not say the pty has no modem lines"
# bad input
bad() { # expected-exit words... -- lode args
    want=$1; shift
    words=$1; shift
    timeout 60 "$lode" "$@" >"$tmp/bad.out" 2>&1
    rc=$?
    [ $rc -eq "$want" ] || fail "lode $* exited $rc, not $want"
    [ "$(wc -l <"$tmp/bad.out")" -eq 1 ] || fail "lode $* said more than one line"
    grep -q -- "$words" "$tmp/bad.out" || fail "lode $* does not say '$words'"
}
bad 69 "use --parity none" info --probe "stm32-uart:$tty"
head -c 70000 /dev/zero >"$tmp/big.bin"
bad 65 "outside the chip's flash" flash "$tmp/big.bin" --base 0x08000000 --probe "stm32-uart:$tty" --parity none
l verify "$tmp/b.bin" --base 0x08000000 && fail "the erased page verifies" # (page 1 was erased above)
python3 - "$lode" "$tty" "$tmp/busy.out" <<'PY' || fail "lode on a busy port: $(cat "$tmp/busy.out")"
import fcntl, os, subprocess, sys, termios
fd = os.open(sys.argv[2], os.O_RDWR | os.O_NOCTTY)
fcntl.ioctl(fd, termios.TIOCEXCL)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
r = subprocess.run([sys.argv[1], "info", "--probe", "stm32-uart:" + sys.argv[2], "--parity", "none"],
                   capture_output=True, text=True, timeout=60)
open(sys.argv[3], "w").write(r.stderr)
sys.exit(0 if r.returncode == 69 and "busy" in r.stderr and r.stderr.count("\n") == 1 else 1)
PY
bad 69 "cannot open" info --probe "stm32-uart:$tmp/no-such-port" --parity none
sf -r "$tmp/d-sf.bin" -S 0x08002000:4096 || fail "stm32flash could not read after the refusals"
dd if="$tmp/b.bin" bs=1024 skip=8 count=4 2>/dev/null | cmp - "$tmp/d-sf.bin" || fail "a refused command changed the flash"
# read-out protection set by stm32flash (-j): lode refuses with the way out (exit 1); lifted
# with :unprotect (a mass erase), after which lode's image goes in and stm32flash reads it
sf -j || fail "stm32flash could not set read-out protection"
bad 1 ":unprotect" flash "$tmp/b.bin" --base 0x08000000 --probe "stm32-uart:$tty" --parity none
timeout 60 "$lode" info --probe "stm32-uart:$tty" --parity none >"$tmp/rdp.out" 2>&1 || fail "lode info under RDP failed"
grep -q "read-out protection ACTIVE" "$tmp/rdp.out" || fail "lode info does not say read-out protection is active"
timeout 120 "$lode" flash "$tmp/a.bin" --base 0x08000000 --probe "stm32-uart:$tty:unprotect" --parity none \
    >"$tmp/unprotect.out" 2>&1 || fail "lode flash with :unprotect failed"
grep -q "mass-erases" "$tmp/unprotect.out" || fail "lode does not warn that unprotecting mass-erases"
sf -r "$tmp/e-sf.bin" -S 0x08000000:50000 || fail "stm32flash could not read after the unprotect"
cmp "$tmp/a.bin" "$tmp/e-sf.bin" || fail "stm32flash reads back other bytes than lode wrote after the unprotect"
n=$(grep -c "session .* closed" "$tmp/server.err")
# a bootloader with Extended Erase (0x44) instead of Erase: stm32flash and lode both use it
kill $server 2>/dev/null
wait $server 2>/dev/null
tty=$tmp/stm32-ext-tty
nice -n -10 "$lode" sim-server --boot0 --extended-erase --serial-pty "$tty" --sim-state "$tmp/ext.state" --sim-fresh \
    >"$tmp/server-ext.out" 2>"$tmp/server-ext.err" &
server=$!
for _ in $(seq 1 600); do [ -L "$tty" ] && break; kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
[ -L "$tty" ] || fail "lode sim-server --extended-erase made no pty"
sf -w "$tmp/a.bin" -v || fail "stm32flash could not write through Extended Erase"
l info || fail "lode info (Extended Erase) failed"
grep -q "Extended Erase" "$tmp/lode.out" || fail "lode info does not name Extended Erase"
head -c 3000 /dev/urandom >"$tmp/f.bin"
l flash "$tmp/f.bin" --base 0x08002000 || fail "lode flash through Extended Erase failed"
grep -q "3 sectors erased" "$tmp/lode.out" || fail "lode did not erase just the 3 pages it wrote"
sf -r "$tmp/f-sf.bin" -S 0x08000000:50000 || fail "stm32flash could not read after lode (Extended Erase)"
{ head -c 8192 "$tmp/a.bin"; cat "$tmp/f.bin"; head -c 72 /dev/zero | tr '\000' '\377'; tail -c +11265 "$tmp/a.bin"; } >"$tmp/f-want.bin"
cmp "$tmp/f-want.bin" "$tmp/f-sf.bin" || fail "after lode's page erase and write stm32flash reads other bytes"
echo "stm32flash: ok ($n sessions)"
