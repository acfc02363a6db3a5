#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lode against a simulated STM32 in DfuSe mode (0483:DF11) on the stand-in libusb (tests/shim,
# shim_dfuse.c): list with the layout string, info with alternate settings and memories, flash
# (page erases, downloads, leave), read back and verify identical, erase, every GETSTATUS poll
# after bwPollTimeout, recovery from dfuERROR, a reset after leave is success, and the errors: image too large, a malformed layout string, several
# devices, no device, a device unplugged mid-download.
# usage: dfu_shim_lode.sh <lode> <shim-lib-dir>
set -u
LODE=$1
export LD_LIBRARY_PATH=$2
export LODE_USB_SHIM="dfuse:DFUSER1"
export LODE_USB_SHIM_STATE_DIR=$(mktemp -d)
trap 'rm -rf "$LODE_USB_SHIM_STATE_DIR"' EXIT
D=$LODE_USB_SHIM_STATE_DIR
if ! ldd "$LODE" | grep -q "$2/libusb-1.0.so.0"; then
    echo "FAIL: $LODE does not load the shim from $2"; exit 1
fi
fails=0
pass=0
quiet() { # quiet NAME -- command...: exit 0 and no line mentions an error
    local name=$1 out rc
    shift 2
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" -ne 0 ] || grep -qi "error" <<<"$out"; then
        echo "FAIL $name: exit $rc or an error printed"; echo "$out" | head -20
        fails=$((fails + 1))
        return
    fi
    pass=$((pass + 1))
    echo "ok   $name"
}
. "$(dirname "$0")/../lib_check.sh"
head -c 40000 /dev/urandom >"$D/img.bin"
head -c 70000 /dev/urandom >"$D/big.bin"
check list 0 "^dfu:0483:df11:DFUSER1 +DFU .*@Internal Flash  /0x08000000/064\*001Kg" -- "$LODE" list
check info-alts 0 'alt 1 "@Option Bytes  /0x1FFFF800/01\*016 a"' -- "$LODE" info --probe dfu
check info-mem 0 "Internal Flash +0x08000000-0x0800ffff  64 sectors of 1024 bytes" -- "$LODE" info --probe dfu
# the shim reports GETSTATUS polls that came before the bwPollTimeout it gave had passed
check flash 0 "0 DFU status polls before bwPollTimeout" -- env LODE_USB_SHIM_REPORT=1 \
    "$LODE" flash --probe dfu:0483:df11:DFUSER1 --format bin --base 0x08000000 "$D/img.bin"
check flash-says 0 "flashed .* through DFU .* 40 sectors erased, 40 pages" -- \
    "$LODE" flash --probe dfu --format bin --base 0x08000000 "$D/img.bin"
check verify 0 "identical" -- "$LODE" verify --probe dfu --format bin --base 0x08000000 "$D/img.bin"
check read 0 "read 40000 bytes" -- "$LODE" read 0x08000000 40000 -o "$D/back.bin" --probe dfu
check read-same 0 "" -- cmp "$D/img.bin" "$D/back.bin"
check too-large 65 "0x08010000" -- "$LODE" flash --probe dfu --format bin --base 0x08000000 "$D/big.bin"
# the whole flash: one mass erase (20 ms) instead of 64 page erases (the board's clock: 1.28 s
# less), and blocks of wTransferSize (2 KiB) spanning two 1 KiB pages; the board's clock also
# counts each control transfer's full-speed bus time (56 ms of the 1.796 s)
head -c 65536 /dev/urandom >"$D/full.bin"
check mass-erase 0 "closed at 1\.796[0-9]* s of simulated time, 107 probe commands" -- env LODE_USB_SHIM_REPORT=1 \
    "$LODE" flash --no-reset --probe dfu --format bin --base 0x08000000 "$D/full.bin"
check verify-full 0 "identical" -- "$LODE" verify --probe dfu --format bin --base 0x08000000 "$D/full.bin"
# lode convert: the image as UF2 (file(1) identifies it), flashed as such, identical
check convert 0 "wrote .*img.uf2: 157 blocks for family STM32F1 \(0x5ee21072\), 0x08000000-0x08009c3f" -- \
    "$LODE" convert "$D/img.bin" --format bin --base 0x08000000 --family stm32f1 -o "$D/img.uf2"
check file-uf2 0 "UF2 firmware image, family ST STM32F103, address 0x8000000, 157 total blocks" -- file "$D/img.uf2"
check flash-uf2 0 "flashed" -- "$LODE" flash --probe dfu "$D/img.uf2"
check verify-uf2 0 "identical" -- "$LODE" verify --probe dfu --format bin --base 0x08000000 "$D/img.bin"
check convert-family 64 "unknown UF2 family 'STM32X9'" -- \
    "$LODE" convert "$D/img.bin" --format bin --base 0x08000000 --family STM32X9 -o "$D/x.uf2"
# DFU files: a raw binary with a DFU suffix (dfu-suffix adds it) is checked and flashed without
# it; a suffix for another device or with a wrong CRC is refused; a DfuSe file (UM0391) written
# by lode convert is flashed and verified; a UF2 image for a non-STM32 family is refused
cp "$D/img.bin" "$D/sfx.bin"
check dfu-suffix 0 "" -- dfu-suffix -v 0483 -p df11 -a "$D/sfx.bin"
check suffix-flash 0 "DFU suffix for 0483:df11 checked and left out" -- \
    "$LODE" -v flash --probe dfu --base 0x08000000 "$D/sfx.bin"
check suffix-verify 0 "verified 40000 bytes" -- "$LODE" verify --probe dfu --base 0x08000000 "$D/sfx.bin"
cp "$D/img.bin" "$D/other.bin"
dfu-suffix -v 1234 -p 5678 -a "$D/other.bin" >/dev/null
check suffix-other 65 "DFU suffix is for 1234:5678, this device is 0483:df11: use the file made for this device" -- \
    "$LODE" flash --probe dfu --base 0x08000000 "$D/other.bin"
cp "$D/sfx.bin" "$D/bad.bin"
printf 'x' | dd of="$D/bad.bin" bs=1 seek=100 conv=notrunc 2>/dev/null
check suffix-crc 65 "bad.bin: its DFU suffix's CRC is 0x[0-9a-f]{8} but the file's is 0x[0-9a-f]{8}: the file is damaged" -- \
    "$LODE" flash --probe dfu --base 0x08000000 "$D/bad.bin"
check convert-dfu 0 "wrote .*img.dfu: DfuSe file for 0483:df11, 1 element, 0x08000000-0x08009c3f" -- \
    "$LODE" convert "$D/img.bin" --format bin --base 0x08000000 -o "$D/img.dfu"
check dfu-suffix-reads 0 "Vendor ID:.0x0483" -- dfu-suffix -c "$D/img.dfu"
check flash-dfu 0 "flashed 40.0 KiB \(40000 bytes of image\)" -- "$LODE" flash --probe dfu "$D/img.dfu"
check verify-dfu 0 "identical" -- "$LODE" verify --probe dfu --format bin --base 0x08000000 "$D/img.bin"
head -c 300 "$D/img.dfu" >"$D/short.dfu"
check dfu-truncated 65 "short.dfu: (not a valid DfuSe file|its DFU suffix)" -- "$LODE" flash --probe dfu "$D/short.dfu"
check convert-dfu-device 0 "for 1209:0df1" -- \
    "$LODE" convert "$D/img.bin" --format bin --base 0x08000000 --device 1209:0df1 -o "$D/o.dfu"
check dfu-other-device 65 "DFU suffix is for 1209:0df1" -- "$LODE" flash --probe dfu "$D/o.dfu"
"$LODE" convert "$D/img.bin" --format bin --base 0x08000000 --family rp2040 -o "$D/rp.uf2" >/dev/null
check uf2-family 65 "UF2 image is for family RP2040, but 0483:df11 is an STM32 bootloader" -- \
    "$LODE" flash --probe dfu "$D/rp.uf2"
check erase 0 "erased 64 sectors" -- "$LODE" erase --all --probe dfu
check verify-erased 1 "mismatch at 0x08000000: target 0xff" -- "$LODE" verify --probe dfu --format bin --base 0x08000000 "$D/img.bin"
check no-core 69 "only loads memory .*use flash, erase, verify, read or info" -- "$LODE" reset --halt --probe dfu
LODE_USB_SHIM="dfuse:DFUA,dfuse:DFUB" check several 69 "2 DFU devices match .*DFUA.*DFUB" -- "$LODE" info --probe dfu
LODE_USB_SHIM="dfuse:DFUA,dfuse:DFUB" check pick-one 0 "DFUB" -- "$LODE" info --probe dfu:0483:df11:DFUB
LODE_USB_SHIM_DFUSE_LAYOUT="@Internal Flash  /0x08000000/064*001K" check bad-layout 65 \
    'malformed DfuSe memory layout .*no type letter' -- "$LODE" flash --probe dfu --format bin --base 0x08000000 "$D/img.bin"
# a device left in dfuERROR is cleared (CLRSTATUS) and then written
LODE_USB_SHIM_DFUSE_QUIRKS=start-error check recover 0 "flashed .* 40 pages" -- \
    "$LODE" flash --probe dfu --format bin --base 0x08000000 "$D/img.bin"
# leave: the device resetting before it answers the last GETSTATUS is success, not an error
LODE_USB_SHIM_DFUSE_QUIRKS=reset-early quiet leave-reset -- "$LODE" flash --probe dfu --format bin --base 0x08000000 "$D/img.bin"
check after-leave 0 "identical" -- "$LODE" verify --probe dfu --format bin --base 0x08000000 "$D/img.bin"
# unplugged halfway: what may be half written is named
LODE_USB_SHIM_DFUSE_QUIRKS=vanish-after=60 check vanish 69 \
    "vanished during the download: 0x08000000-0x08009fff may now be erased or half written; put it back" -- \
    "$LODE" flash --probe dfu --format bin --base 0x08000000 "$D/img.bin"
# read protection (AN3156): writes and reads refused with the way out named; erase --unprotect
# asks first (no terminal: --yes), then the device mass-erases and resets
"$LODE" flash --probe dfu --format bin --base 0x08000000 "$D/img.bin" >/dev/null 2>&1
export LODE_USB_SHIM_DFUSE_QUIRKS=protected
check protected-flash 69 "is read-protected: .lode erase --unprotect --probe dfu. removes the protection by mass-erasing" -- \
    "$LODE" flash --probe dfu --format bin --base 0x08000000 "$D/img.bin"
check protected-read 69 "is read-protected" -- "$LODE" read 0x08000000 64 -o "$D/p.bin" --probe dfu
check unprotect-asks 64 "mass-erases the device's whole flash: confirm with --yes" -- \
    "$LODE" erase --unprotect --probe dfu </dev/null
check unprotect-no 64 "Go on\? \[y/N\].*nothing done" -- script -qec "'$LODE' erase --unprotect --probe dfu" /dev/null <<<"n"
check unprotect 0 "read protection removed: the device mass-erased its flash" -- \
    "$LODE" -v erase --unprotect --yes --probe dfu
unset LODE_USB_SHIM_DFUSE_QUIRKS
check unprotected-blank 1 "mismatch at 0x08000000: target 0xff" -- "$LODE" verify --probe dfu --format bin --base 0x08000000 "$D/img.bin"
check unprotect-other 64 "the flash algorithm loader cannot remove read protection" -- \
    "$LODE" erase --unprotect --yes --probe sim --sim-state "$D/sim.state"
# several devices and a person at a terminal: listed, and the one chosen is used
LODE_USB_SHIM="dfuse:DFUA,dfuse:DFUB" check ask 0 "2 probes fit --probe dfu:.*1  dfu:0483:df11:DFUA.*2  dfu:0483:df11:DFUB.*which one \(1-2\)\? .*DfuSe 0483:df11 DFUB" -- \
    bash -c "script -qec '$LODE info --probe dfu' /dev/null <<<2 | tr -d '\r' | tr '\n' ' '"
LODE_USB_SHIM="cmsis-dap" check none 69 "no DFU device found" -- "$LODE" info --probe dfu
echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
