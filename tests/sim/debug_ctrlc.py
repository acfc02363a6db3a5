#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Ctrl-C at the `(lode)` prompt cancels the line (the session and its breakpoints stay);
# Ctrl-D leaves. Runs `lode debug` on a pseudo-terminal, as a person at a terminal.
# Usage: debug_ctrlc.py <lode> <elf>   (exit 0: as described; 1: not)
import os, pty, select, sys, time

lode, elf = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(lode, [lode, "debug", "--timeout", "5", elf])

buf = b""
def expect(what, timeout=60):
    global buf
    end = time.time() + timeout
    while what.encode() not in buf:
        left = end - time.time()
        if left <= 0:
            raise SystemExit(f"FAIL: no {what!r} within {timeout} s; got: {buf[-400:]!r}")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                raise SystemExit(f"FAIL: lode ended before {what!r}; got: {buf[-400:]!r}")
            buf += data
    i = buf.index(what.encode()) + len(what)
    buf = buf[i:]

expect("(lode) ")
os.write(fd, b"break main\r")
expect("(lode) ")
os.write(fd, b"half a line")
time.sleep(0.3)
os.write(fd, b"\x03")          # Ctrl-C: the line is dropped, a new prompt comes
expect("(lode) ")
if os.waitpid(pid, os.WNOHANG) != (0, 0):
    raise SystemExit("FAIL: lode debug ended on Ctrl-C at the prompt")
os.write(fd, b"info\r")        # the breakpoint is still there
expect("main")
expect("(lode) ")
os.write(fd, b"\x04")          # Ctrl-D leaves
end = time.time() + 30
while time.time() < end:
    p, status = os.waitpid(pid, os.WNOHANG)
    if p:
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise SystemExit(f"FAIL: lode debug exited {code} after Ctrl-D")
        print("ok   debug-ctrl-c")
        sys.exit(0)
    try:
        os.read(fd, 4096)
    except OSError:
        pass
    time.sleep(0.05)
raise SystemExit("FAIL: lode debug did not leave on Ctrl-D")
