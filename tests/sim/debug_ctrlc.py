#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Ctrl-C at the `(lode)` prompt cancels the line (the session and its breakpoints stay);
# Ctrl-D leaves. Runs `lode debug` on a pseudo-terminal, as a person at a terminal.
# A Ctrl-C is typed once after a pause and once while lode is still echoing the keys (a
# Ctrl-C that came between two reads of the line editor was lost).
# Every wait is bounded; all of them together stay under BUDGET s (the caller's timeout is
# longer), and a failure prints what the terminal showed.
# Usage: debug_ctrlc.py <lode> <elf>   (exit 0: as described; 1: not)
import os, pty, select, signal, sys, termios, time

BUDGET = 150
lode, elf = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(lode, [lode, "debug", "--timeout", "5", elf])

start = time.time()
seen = b""   # everything the terminal showed, for the failure message
buf = b""    # what is not matched yet


def fail(why):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    sys.stderr.write(f"FAIL: {why} ({time.time() - start:.1f} s in)\n"
                     f"the terminal showed (last 1200 bytes): {seen[-1200:]!r}\n")
    sys.exit(1)


def expect(what, timeout=60):
    global buf, seen
    end = min(time.time() + timeout, start + BUDGET)
    while what.encode() not in buf:
        left = end - time.time()
        if left <= 0:
            fail(f"no {what!r} within {timeout} s")
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                fail(f"lode ended before {what!r}")
            buf += data
            seen += data
    i = buf.index(what.encode()) + len(what)
    buf = buf[i:]


def editing():
    # The prompt is printed before the line editor takes the terminal out of line mode; a
    # Ctrl-D typed in line mode is kept by the terminal as an end-of-line mark that reads as
    # a NUL byte once the editor reads raw, so keys wait until lode reads raw (the pty's
    # master shows the terminal's modes).
    end = min(time.time() + 60, start + BUDGET)
    while termios.tcgetattr(fd)[3] & termios.ICANON:
        if time.time() > end:
            fail("the line editor did not take the terminal within 60 s")
        time.sleep(0.01)


def alive(after):
    if os.waitpid(pid, os.WNOHANG) != (0, 0):
        fail(f"lode debug ended on {after}")


expect("(lode) ")
os.write(fd, b"break main\r")
expect("(lode) ")
editing()
os.write(fd, b"half a line")
time.sleep(0.3)
os.write(fd, b"\x03")          # Ctrl-C: the line is dropped, a new prompt comes
expect("(lode) ")
alive("Ctrl-C at the prompt")
os.write(fd, b"info\r")        # the breakpoint is still there
expect("main")
expect("(lode) ")
editing()
os.write(fd, b"another half line" + b" and more" * 40)
expect("another")              # lode is echoing the keys one by one
os.write(fd, b"\x03")          # Ctrl-C while it does
expect("(lode) ")
alive("Ctrl-C right after typing")
os.write(fd, b"info\r")
expect("main")
expect("(lode) ")
editing()
os.write(fd, b"\x04")          # Ctrl-D leaves
end = min(time.time() + 60, start + BUDGET)
while time.time() < end:
    p, status = os.waitpid(pid, os.WNOHANG)
    if p:
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            fail(f"lode debug exited {code} after Ctrl-D")
        print("ok   debug-ctrl-c")
        sys.exit(0)
    r, _, _ = select.select([fd], [], [], 0.05)
    if r:
        try:
            seen += os.read(fd, 4096)
        except OSError:
            pass
fail("lode debug did not leave on Ctrl-D")
