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
# less), and blocks of wTransferSize (2 KiB) spanning two 1 KiB pages
head -c 65536 /dev/urandom >"$D/full.bin"
check mass-erase 0 "closed at 1\.740[0-9]* s of simulated time, 107 probe commands" -- env LODE_USB_SHIM_REPORT=1 \
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
LODE_USB_SHIM="cmsis-dap" check none 69 "no DFU device found" -- "$LODE" info --probe dfu
echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
