#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# teensy_loader_cli 2.2 (Debian's, built on libusb-0.1) programs simulated Teensys in HalfKay
# mode through the stand-in libusb-0.1.so.4 (tests/shim/usb01_shim.c over the plain stand-in
# libusb-1.0): a Teensy 2.0 image built here with avr-gcc, Teensy 3.2 and 4.1 images; each
# stored flash equals lode's upload of the same file to an identical board. Its soft reboot (-s,
# the 134-baud request) brings a simulated running Teensy into HalfKay as lode's does.
# usage: teensy_loader_cli.sh <lode> <shim-lib-dir> <plain-shim-dir> <teensy_image> <teensy2 source>
set -u
LODE=$1
LIB=$2
PLAIN=$3
IMG=$4
for p in teensy_loader_cli avr-gcc avr-objcopy; do
    command -v "$p" >/dev/null || { echo "FAIL: $p is not installed (scripts/deps.sh test)"; exit 1; }
done
[ -f "$PLAIN/libusb-0.1.so.4" ] || { echo "FAIL: no stand-in libusb-0.1.so.4 in $PLAIN"; exit 1; }
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
fails=0
pass=0
. "$(dirname "$0")/../lib_check.sh"
avr-gcc -mmcu=atmega32u4 -Os -o "$D/t2.elf" "$5" && avr-objcopy -O ihex -R .eeprom "$D/t2.elf" "$D/t2.hex" &&
    "$IMG" teensy32 100000 "$D/t32.hex" && "$IMG" teensy41 200000 "$D/t41.hex" || { echo "FAIL: images"; exit 1; }
mkdir "$D/cli" "$D/lode"
# the same file through both loaders to two identical boards (serial S)
for t in "teensy2 TEENSY2 t2" "teensy32 TEENSY32 t32" "teensy41 TEENSY41 t41"; do
    set -- $t
    check "cli-$1" 0 "Found HalfKay Bootloader.*Booting" -- env LD_LIBRARY_PATH="$PLAIN" LODE_USB_SHIM="halfkay-$1:S$1" \
        LODE_USB_SHIM_STATE_DIR="$D/cli" bash -c "teensy_loader_cli --mcu=$2 -v '$D/$3.hex' 2>&1 | tr '\n' ' '"
    check "lode-$1" 0 "flashed .* through HalfKay" -- env LD_LIBRARY_PATH="$LIB" LODE_USB_SHIM="halfkay-$1:S$1" \
        LODE_USB_SHIM_STATE_DIR="$D/lode" "$LODE" flash --probe teensy "$D/$3.hex"
    check "same-$1" 0 "" -- cmp "$D/cli/S$1.halfkay" "$D/lode/S$1.halfkay"
done
# teensy_loader_cli -s: the 134-baud soft reboot of a running Serial sketch, then the upload
check cli-soft-reboot 0 "Soft reboot performed.*Found HalfKay Bootloader.*Booting" -- env LD_LIBRARY_PATH="$PLAIN" \
    LODE_USB_SHIM=teensy-serial-teensy32:12345670 LODE_USB_SHIM_STATE_DIR="$D/cli" \
    bash -c "teensy_loader_cli --mcu=TEENSY32 -s -v '$D/t32.hex' 2>&1 | tr '\n' ' '"
check same-soft-reboot 0 "" -- cmp "$D/cli/12345670.halfkay" "$D/lode/Steensy32.halfkay"
echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
