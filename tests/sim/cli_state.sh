#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The simulated board's state file (--sim-state): only lode state files are read or replaced,
# never through a symlink or into a device; one board, one user at a time (readers share it and
# never save, writers wait for each other, a server's board is refused with its PID).
# Usage: cli_state.sh <lode-binary> <firmware-dir>
set -u
LODE=$1
FW=$2
tmp=$(mktemp -d)
export LODE_SIM_STATE_DIR=$tmp/state
mkdir -p "$LODE_SIM_STATE_DIR"
gdbpid=""
trap '[ -n "$gdbpid" ] && kill "$gdbpid" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
pass=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fails=$((fails + 1)); echo "FAIL $1"; [ -f "$tmp/out" ] && head -5 "$tmp/out"; }
expect() { # expect NAME WANT_RC PATTERN -- cmd...
    local name=$1 want=$2 pat=$3
    shift 4
    "$@" >"$tmp/out" 2>&1
    local rc=$?
    if [ "$rc" -ne "$want" ]; then bad "$name: exit $rc, wanted $want"; return 1; fi
    if [ -n "$pat" ] && ! grep -qE -- "$pat" "$tmp/out"; then bad "$name: output lacks /$pat/"; return 1; fi
    ok "$name"
}

ELF=$FW/hello-stm32f103.elf

# 1. a file that is not a state file is refused and left as it was
cp "$ELF" "$tmp/some.elf"
expect elf-refused 64 "not a lode state file" -- "$LODE" read 0x08000000 4 --sim-state "$tmp/some.elf"
cmp -s "$ELF" "$tmp/some.elf" && ok elf-untouched || bad "elf-untouched: the ELF was changed"
expect elf-refused-flash 64 "nothing was written" -- "$LODE" flash "$ELF" --sim-state "$tmp/some.elf"
cmp -s "$ELF" "$tmp/some.elf" && ok elf-untouched-flash || bad "elf-untouched-flash"

# a symlink (even to a real state file) is refused and stays a symlink
"$LODE" flash "$ELF" --sim-state "$tmp/real.state" >/dev/null 2>&1
head -c 7 "$tmp/real.state" | grep -q LODESIM && ok real-state || bad "real-state: no state file written"
cp "$tmp/real.state" "$tmp/real.copy"
ln -s "$tmp/real.state" "$tmp/link.state"
expect symlink-refused 64 "not a lode state file" -- "$LODE" write 0x20000000 1 --sim-state "$tmp/link.state"
[ -L "$tmp/link.state" ] && cmp -s "$tmp/real.state" "$tmp/real.copy" && ok symlink-kept || bad "symlink-kept"
ln -s "$tmp/nothing-here" "$tmp/dangling.state"
expect dangling-refused 64 "not a lode state file" -- "$LODE" reset --sim-state "$tmp/dangling.state"
[ ! -e "$tmp/nothing-here" ] && ok dangling-not-created || bad "dangling-not-created: written through the link"

# a FIFO and a directory (as a device would be) are refused, nothing created beside them
mkfifo "$tmp/fifo.state"
expect fifo-refused 64 "not a lode state file" -- timeout 20 "$LODE" reset --sim-state "$tmp/fifo.state"
[ -p "$tmp/fifo.state" ] && ok fifo-kept || bad "fifo-kept"
mkdir "$tmp/dir.state"
expect dir-refused 64 "not a lode state file" -- "$LODE" reset --sim-state "$tmp/dir.state"
[ -z "$(ls "$tmp" | grep -E '^(fifo|dir)\.state\.')" ] && ok no-temp-left || bad "no-temp-left: $(ls "$tmp")"

# an empty file is a fresh board; a state file of an older version is replaced (with a warning)
: >"$tmp/empty.state"
expect empty-accepted 0 "" -- "$LODE" flash "$ELF" --sim-state "$tmp/empty.state"
head -c 8 "$tmp/empty.state" | grep -q LODESIM && ok empty-now-state || bad "empty-now-state"
printf 'LODESIM2 an old layout' >"$tmp/old.state"
expect old-version 0 "another lode version" -- "$LODE" flash "$ELF" --sim-state "$tmp/old.state"
expect old-version-replaced 0 "identical" -- "$LODE" verify "$ELF" --sim-state "$tmp/old.state"

# 2. readers never write: twelve parallel reads leave the state file as it was
expect flash 0 "flashed" -- "$LODE" flash --verify "$ELF"
st=$LODE_SIM_STATE_DIR/sim-STM32F103C8.state
sum=$(md5sum <"$st")
for i in $(seq 1 12); do "$LODE" read 0x08000000 16 >"$tmp/r$i" 2>&1 & done
wait
rfail=0
for i in $(seq 1 12); do grep -q "^08000000" "$tmp/r$i" && ! grep -q "state file" "$tmp/r$i" || rfail=1; done
[ $rfail -eq 0 ] && ok parallel-reads || { bad parallel-reads; cat "$tmp/r1"; }
[ "$(md5sum <"$st")" = "$sum" ] && ok readers-did-not-write || bad readers-did-not-write
expect still-flashed 0 "identical" -- "$LODE" verify "$ELF"

# twenty parallel writes to different addresses: every one that reports success survives
expect halt 0 "" -- "$LODE" reset --halt
for i in $(seq 0 19); do
    "$LODE" write $((0x20002000 + 4 * i)) $((0x1000 + i)) >"$tmp/w$i" 2>&1 &
done
wfail=0
for j in $(jobs -p); do wait "$j" || wfail=1; done
[ $wfail -eq 0 ] && ok parallel-writes-exit-0 || bad parallel-writes-exit-0
"$LODE" read 0x20002000 80 -o "$tmp/ram.bin" >/dev/null 2>&1
lost=0
for i in $(seq 0 19); do
    v=$(od -An -tu4 -j $((4 * i)) -N4 "$tmp/ram.bin" | tr -d ' ')
    [ "$v" = "$((0x1000 + i))" ] || lost=$((lost + 1))
done
[ $lost -eq 0 ] && ok parallel-writes-kept || bad "parallel-writes-kept: $lost of 20 lost"

# a running `lode gdb` holds the board: others are refused at once with its PID
"$LODE" gdb --port 0 >"$tmp/gdb.out" 2>"$tmp/gdb.err" &
gdbpid=$!
for _ in $(seq 1 600); do grep -q listening "$tmp/gdb.err" && break; kill -0 "$gdbpid" 2>/dev/null || break; sleep 0.1; done
grep -q listening "$tmp/gdb.err" && ok gdb-listening || { bad "gdb-listening: no 'listening' in 60 s"; cat "$tmp/gdb.err"; }
expect busy-flash 69 "in use by PID $gdbpid \(lode gdb\)" -- "$LODE" flash --verify "$FW/systick-stm32f103.elf"
expect busy-read 69 "in use by PID $gdbpid" -- "$LODE" read 0x08000000 4
kill "$gdbpid"
wait "$gdbpid" 2>/dev/null
gdbpid=""
expect after-gdb 0 "identical" -- "$LODE" verify "$ELF"

# a writer waiting for a non-server holder gives up (69) when a server takes the board: the
# holder (python, fcntl lock on the lock file) turns into "lode gdb [server]" while it waits
# (it holds the lock until the test is done with it, at most 120 s: a busy host may start the
# writer late)
python3 - "$LODE_SIM_STATE_DIR/sim-STM32F103C8.state.lock" "$tmp/handover" "$tmp/release" <<'PY' &
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.lockf(fd, fcntl.LOCK_EX)
def say(what):
    os.ftruncate(fd, 0)
    os.pwrite(fd, ("%d %s\n" % (os.getpid(), what)).encode(), 0)
say("lode flash")
open(sys.argv[2], "w").close()
time.sleep(1.0)
say("lode gdb [server]")
end = time.time() + 120
while not os.path.exists(sys.argv[3]) and time.time() < end:
    time.sleep(0.05)
PY
holder=$!
for _ in $(seq 1 1200); do [ -e "$tmp/handover" ] && break; kill -0 "$holder" 2>/dev/null || break; sleep 0.05; done
expect writer-sees-server 69 "in use by PID $holder \(lode gdb\)" -- timeout 60 "$LODE" write 0x20000000 1
touch "$tmp/release"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# a state that cannot be saved (files limited to 8 KiB: EFBIG) fails the command, naming why
expect save-fails 66 "cannot save the simulated board" -- bash -c 'trap "" XFSZ; ulimit -f 8; exec "$0" write 0x20000000 1' "$LODE"

echo "$pass passed, $fails failed"
[ $fails -eq 0 ] && [ $pass -gt 0 ]
