#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lode against simulated Teensys on the stand-in libusb (tests/shim, shim_halfkay.c): listing,
# the model from HalfKay's HID usage, flashing Teensy 3.2, 4.1 (linked at 0x60000000) and 2.0
# images (the stored flash equals the image, blank blocks skipped), the first write erasing the
# chip (also when it takes seconds), erase, a running Teensy rebooted at 134 baud, and the
# errors: image too large, built for another model, --chip naming another model, --verify,
# several Teensys, none, a sketch without a serial port or serial emulation, the board
# unplugged mid-write; a MIDI sketch rebooted through its serial emulation.
# usage: teensy_shim_lode.sh <lode> <shim-lib-dir> <teensy_image>
set -u
LODE=$1
IMG=$3
export LD_LIBRARY_PATH=$2
export LODE_USB_SHIM_STATE_DIR=$(mktemp -d)
trap 'rm -rf "$LODE_USB_SHIM_STATE_DIR"' EXIT
D=$LODE_USB_SHIM_STATE_DIR
if ! ldd "$LODE" | grep -q "$2/libusb-1.0.so.0"; then
    echo "FAIL: $LODE does not load the shim from $2"; exit 1
fi
fails=0
pass=0
. "$(dirname "$0")/../lib_check.sh"
# same NAME STATE HEX CODE_SIZE: the stored flash is the image's bytes, then erased (0xFF) to the end
same() {
    local name=$1 state=$2 hex=$3 size=$4
    arm-none-eabi-objcopy -I ihex -O binary "$hex" "$D/ref.bin"
    local n; n=$(stat -c %s "$D/ref.bin")
    if [ -f "$state" ] && [ "$(stat -c %s "$state")" -eq "$size" ] && cmp -s -n "$n" "$state" "$D/ref.bin" &&
        [ "$(tail -c +$((n + 1)) "$state" | tr -d '\377' | wc -c)" -eq 0 ]; then
        pass=$((pass + 1)); echo "ok   $name"
    else
        fails=$((fails + 1)); echo "FAIL $name: $state is not $hex padded with 0xFF to $size bytes"
    fi
}
"$IMG" teensy32 100000 "$D/t32.hex" 1 && "$IMG" teensy32 20000 "$D/t32s.hex" 2 && "$IMG" teensy41 150000 "$D/t41.hex" &&
    "$IMG" teensy40 30000 "$D/t40.hex" && "$IMG" teensy2 20000 "$D/t2.hex" && "$IMG" teensy30 30000 "$D/t30.hex" &&
    "$IMG" teensy32 300000 "$D/big.hex" || { echo "FAIL: teensy_image"; exit 1; }

export LODE_USB_SHIM=halfkay-teensy32:0012D687
check list 0 "^teensy:0012D687 +Teensy in HalfKay mode 16c0:0478" -- "$LODE" list
check info 0 "Teensy 3.2 in HalfKay mode 16c0:0478 0012D687 \(HalfKay's HID usage 0x21\)" -- "$LODE" info --probe teensy
check info-mem 0 "flash +0x00000000-0x0003ffff  256 sectors of 1024 bytes" -- "$LODE" info --probe teensy:0012D687
# 98 blocks, three of them blank: 95 written
check flash-t32 0 "flashed .* to Teensy 3.2 .* through HalfKay .*: 256 sectors erased, 95 pages" -- \
    "$LODE" flash --probe teensy "$D/t32.hex"
same stored-t32 "$D/0012D687.halfkay" "$D/t32.hex" 262144
# the first write erases the whole chip: nothing of the larger image stays
check flash-small 0 "flashed" -- "$LODE" flash --probe teensy "$D/t32s.hex"
same erased-first "$D/0012D687.halfkay" "$D/t32s.hex" 262144
# an erase that takes 4 s (lode allows the first write 45 s; the shim stalls until done)
check slow-erase 0 "flashed" -- env LODE_USB_SHIM_HALFKAY_ERASE_MS=4000 "$LODE" flash --probe teensy "$D/t32.hex"
same stored-slow "$D/0012D687.halfkay" "$D/t32.hex" 262144
check erase-part 64 "HalfKay erases only the whole chip .*: use lode erase --all" -- \
    "$LODE" erase --probe teensy 0 1024
check erase-all 0 "erased 256 sectors of Teensy 3.2" -- "$LODE" erase --probe teensy --all
check erased-all 0 "^0$" -- bash -c "tr -d '\\377' <'$D/0012D687.halfkay' | wc -c"
check too-large 65 "image data at 0x00040000 .* is outside the chip's flash" -- "$LODE" flash --probe teensy "$D/big.hex"
check wrong-image 65 "the image is built for a Teensy 3.0, the board is a Teensy 3.2 \(HalfKay's HID usage 0x21\)" -- \
    "$LODE" flash --probe teensy "$D/t30.hex"
check force-image 0 "flashed" -- "$LODE" flash --probe teensy --force "$D/t30.hex"
check wrong-chip 69 "the board is a Teensy 3.2 \(HalfKay's HID usage 0x21\), not a Teensy 4.1: check --chip" -- \
    "$LODE" flash --probe teensy --chip teensy41 "$D/t32.hex"
check chip-given 0 "Teensy 3.2 .*\(named teensy31, device: HalfKay's HID usage 0x21\)" -- \
    "$LODE" flash --probe teensy --chip TEENSY31 "$D/t32.hex"
check bad-chip 69 "unknown chip 'teensy99'" -- "$LODE" flash --probe teensy --chip teensy99 "$D/t32.hex"
check verify 64 "HalfKay cannot read the flash back" -- "$LODE" flash --probe teensy --verify "$D/t32.hex"
check vanish 69 "the Teensy vanished during programming at 0x00002800: the chip is erased and written only below that; press" -- \
    env LODE_USB_SHIM_HALFKAY_QUIRKS=vanish-after=10 "$LODE" flash --probe teensy "$D/t32.hex"

# Teensy 4.1: linked at 0x60000000, HalfKay addresses from 0
export LODE_USB_SHIM=halfkay-teensy41:T41
check board 0 "Teensy 4.1 in HalfKay mode 16c0:0478 T41 \(named teensy41, device: HalfKay's HID usage 0x25\)" -- \
    "$LODE" info --board teensy41 --probe teensy
check board-wrong 69 "the board is a Teensy 4.1 \(HalfKay's HID usage 0x25\), not a Teensy 4.0" -- \
    "$LODE" flash --board teensy40 --probe teensy "$D/t41.hex"
check flash-t41 0 "flashed .* to Teensy 4.1 .*: 7936 sectors erased, 144 pages" -- "$LODE" flash --probe teensy "$D/t41.hex"
same stored-t41 "$D/T41.halfkay" "$D/t41.hex" 8126464
# a port named while the Teensy is in HalfKay already (its button pressed): HalfKay is used
check port-but-halfkay 0 "flashed .* to Teensy 4.1 in HalfKay mode 16c0:0478 T41 \(named teensy41" -- \
    "$LODE" flash --board teensy41 --probe /dev/ttyACM99 "$D/t41.hex"
check t40-on-t41 65 "the image is built for a Teensy 4.0, the board is a Teensy 4.1" -- \
    "$LODE" flash --probe teensy "$D/t40.hex"
# Teensy 2.0: 128-byte blocks, 2-byte addresses, no serial number
export LODE_USB_SHIM=halfkay-teensy2:T2
check flash-t2 0 "flashed .* to Teensy 2.0 in HalfKay mode 16c0:0478 \(HalfKay's HID usage 0x1b\)" -- \
    "$LODE" flash --probe teensy "$D/t2.hex"
same stored-t2 "$D/T2.halfkay" "$D/t2.hex" 32256

# a Teensy running a Serial sketch: rebooted into HalfKay at 134 baud, no button
export LODE_USB_SHIM=teensy-serial-teensy32:12345670
check list-running 0 "^teensy:12345670 +Teensy running a sketch \(USB type Serial\): lode reboots it into HalfKay" -- \
    "$LODE" list
check reboot 0 "flashed .* Teensy 3.2 in HalfKay mode 16c0:0478 0012D687 .*rebooted from its serial port at 134 baud" -- \
    "$LODE" flash --probe teensy:12345670 "$D/t32.hex"
same stored-reboot "$D/12345670.halfkay" "$D/t32.hex" 262144
# MIDI: no serial port, but serial emulation (SEREMU), whose feature report reboots it
check list-midi 0 "^teensy:5550 +Teensy running a sketch \(USB type MIDI\): lode reboots it into HalfKay" -- \
    env LODE_USB_SHIM=teensy-midi-teensy32:5550 "$LODE" list
check seremu 0 "flashed .* Teensy 3.2 .*rebooted through its serial emulation \(sketch USB type MIDI\)" -- \
    env LODE_USB_SHIM=teensy-midi-teensy32:5550 "$LODE" flash --probe teensy "$D/t32.hex"
same stored-seremu "$D/5550.halfkay" "$D/t32.hex" 262144
check keyboard 69 "runs a sketch whose USB type \(Keyboard\) has no serial port, not even Teensyduino's serial emulation, so lode cannot reboot it into HalfKay: press its button" -- \
    env LODE_USB_SHIM=teensy-keyboard-teensy32:556 "$LODE" flash --probe teensy "$D/t32.hex"
# teensy:PORT: the serial port itself set to 134 baud (a pseudo-terminal here: nobody reboots),
# seen on the master while lode holds it, and its settings put back after (9600 here)
check tty-reboot 0 "rebooted by setting /dev/pts/[0-9]+ to 134 baud\) did not come back in HalfKay mode within 10 s: press its button.*exit 69 saw-134 yes speed B9600" -- \
    env LODE_USB_SHIM= python3 -c '
import os, pty, subprocess, sys, termios, threading, time
m, s = pty.openpty()
a = termios.tcgetattr(s); a[4] = a[5] = termios.B9600; termios.tcsetattr(s, termios.TCSANOW, a)
seen, done = [False], [False]
def watch():
    while not done[0]:
        if termios.tcgetattr(m)[5] in (termios.B134, 0o10000): seen[0] = True
        time.sleep(0.0005)
threading.Thread(target=watch, daemon=True).start()
r = subprocess.run([sys.argv[1], "flash", "--probe", "teensy:" + os.ttyname(s), sys.argv[2]], capture_output=True, text=True)
done[0] = True
print((r.stderr + r.stdout).replace("\n", " "), "exit", r.returncode, "saw-134", "yes" if seen[0] else "no", "speed", "B9600" if termios.tcgetattr(s)[5] == termios.B9600 else "other")
' "$LODE" "$D/t32.hex"
check none 69 "no Teensy found: press the button on the Teensy to start HalfKay .*134 baud" -- \
    env LODE_USB_SHIM= "$LODE" flash --probe teensy "$D/t32.hex"
check several 64 "2 Teensys in HalfKay mode are attached \(A, B\): choose one with --probe teensy:SERIAL" -- \
    env LODE_USB_SHIM=halfkay-teensy40:A,halfkay-teensy41:B "$LODE" flash --probe teensy "$D/t41.hex"
check several-pick 0 "flashed .* Teensy 4.1 .* B " -- \
    env LODE_USB_SHIM=halfkay-teensy40:A,halfkay-teensy41:B "$LODE" flash --probe teensy:B "$D/t41.hex"
echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
