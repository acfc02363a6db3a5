#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lode against plain USB DFU 1.1 devices (bcdDFU 0x0110, no DfuSe layout) on the stand-in libusb
# (tests/shim, shim_dfu11.c): the functional descriptor, the firmware downloaded as one stream
# and manifested (tolerant: back to dfuIDLE; not tolerant: a USB reset starts it), uploads read
# back, every GETSTATUS poll after bwPollTimeout, CLRSTATUS/ABORT recovery, DETACH from a
# run-time interface (with and without bitWillDetach) and re-enumeration in DFU mode, and the
# errors: image too large, no erase command, --verify on a device that resets, unplugged
# mid-download, no permission.
# usage: dfu11_shim_lode.sh <lode> <shim-lib-dir>
set -u
LODE=$1
export LD_LIBRARY_PATH=$2
export LODE_USB_SHIM="dfu11:PLAIN1"
export LODE_USB_SHIM_STATE_DIR=$(mktemp -d)
trap 'rm -rf "$LODE_USB_SHIM_STATE_DIR"' EXIT
D=$LODE_USB_SHIM_STATE_DIR
fails=0
pass=0
. "$(dirname "$0")/../lib_check.sh"
head -c 40000 /dev/urandom >"$D/img.bin"
head -c 30001 /dev/urandom >"$D/two.bin"
head -c 70000 /dev/urandom >"$D/big.bin"
F=(--format bin --base 0x08000000)
check list 0 "^dfu:1209:0df1:PLAIN1 +DFU .*lode DFU 1.1 application area" -- "$LODE" list
check info 0 "DFU 1.10, transfer size 1024, upload, manifestation tolerant" -- "$LODE" info --probe dfu
check flash 0 "0 DFU status polls before bwPollTimeout" -- env LODE_USB_SHIM_REPORT=1 "$LODE" flash --probe dfu "${F[@]}" "$D/img.bin"
check flash-says 0 "flashed .* through DFU .* 40 pages" -- "$LODE" flash --probe dfu:1209:0df1:PLAIN1 "${F[@]}" "$D/img.bin"
check verify 0 "identical" -- "$LODE" verify --probe dfu "${F[@]}" "$D/img.bin"
check read 0 "read 40000 bytes" -- "$LODE" read 0x08000000 40000 -o "$D/back.bin" --probe dfu
check read-same 0 "" -- cmp "$D/img.bin" "$D/back.bin"
check flash-verify 0 "flashed .*verified" -- "$LODE" flash --verify --probe dfu "${F[@]}" "$D/two.bin"
check verify-two 0 "identical" -- "$LODE" verify --probe dfu "${F[@]}" "$D/two.bin"
check read-past 65 "firmware ends at 0x08010000 .* lies beyond it" -- "$LODE" read 0x08000000 70000 -o "$D/x.bin" --probe dfu
check too-large 65 "download at 0x08010000 failed: errADDRESS" -- "$LODE" flash --probe dfu "${F[@]}" "$D/big.bin"
check no-erase 64 "has no erase command: a download replaces its firmware" -- "$LODE" erase --all --probe dfu
# --skip-unchanged: nothing is sent when the firmware already is the image
check skip-first 0 "flashed .* 30 pages" -- "$LODE" flash --skip-unchanged --probe dfu "${F[@]}" "$D/two.bin"
check skip-same 0 "flashed .* 0 pages" -- "$LODE" flash --skip-unchanged --probe dfu "${F[@]}" "$D/two.bin"
{ head -c 20000 "$D/two.bin"; head -c 1000 /dev/urandom; tail -c +21001 "$D/two.bin"; } >"$D/two-b.bin"
check no-skip 64 "whole firmware in one download: flash without --skip-unchanged" -- \
    "$LODE" flash --skip-unchanged --probe dfu "${F[@]}" "$D/two-b.bin"
# dfuERROR left by an earlier host: CLRSTATUS; a download left half done: ABORT
LODE_USB_SHIM_DFU11_QUIRKS=start-error check clrstatus 0 "in dfuERROR .*clearing it" -- \
    "$LODE" -v flash --probe dfu "${F[@]}" "$D/img.bin"
LODE_USB_SHIM_DFU11_QUIRKS=start-dnload check abort 0 "flashed .*verified" -- \
    "$LODE" flash --verify --probe dfu "${F[@]}" "$D/img.bin"
# not manifestation tolerant: it waits for a USB reset, then runs the firmware
LODE_USB_SHIM=dfu11-nt:PLAIN1 check not-tolerant 0 "reset: it starts its firmware" -- \
    "$LODE" -v flash --probe dfu "${F[@]}" "$D/two.bin"
check after-nt 0 "identical" -- "$LODE" verify --probe dfu "${F[@]}" "$D/two.bin"
LODE_USB_SHIM=dfu11-nt:PLAIN1 check nt-verify 64 "not manifestation tolerant: it resets after the download .* without --verify" -- \
    "$LODE" flash --verify --probe dfu "${F[@]}" "$D/img.bin"
# run-time interface: DETACH + USB reset (or the device detaching by itself), found again in DFU mode
LODE_USB_SHIM=dfu11-rt:PLAIN1 check list-rt 0 "^dfu:1209:0af1:PLAIN1 +DFU \(run-time\)" -- "$LODE" list
LODE_USB_SHIM=dfu11-rt:PLAIN1 check detach 0 "detaching it into DFU mode" -- \
    "$LODE" -v flash --probe dfu:1209:0af1 "${F[@]}" "$D/img.bin"
check after-detach 0 "identical" -- "$LODE" verify --probe dfu "${F[@]}" "$D/img.bin"
LODE_USB_SHIM=dfu11-rtw:PLAIN1 check will-detach 0 "flashed .*verified" -- \
    "$LODE" flash --verify --probe dfu "${F[@]}" "$D/two.bin"
LODE_USB_SHIM_DFU11_QUIRKS=vanish-after=20 check vanish 69 \
    "vanished during the download: the device's firmware \(from 0x08000000\) may now be half written" -- \
    "$LODE" flash --probe dfu "${F[@]}" "$D/img.bin"
LODE_USB_SHIM_DENY=PLAIN1 check no-permission 69 "LIBUSB_ERROR_ACCESS \(no permission: install lode's udev rules, 60-lode.rules" -- \
    "$LODE" flash --probe dfu "${F[@]}" "$D/img.bin"
echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
