#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# UF2 drives: `lode sim-server --uf2-dir DIR` makes DIR the simulated board's UF2 bootloader
# drive (INFO_UF2.TXT, CURRENT.UF2); lode flashes it as --probe uf2:DIR (or finds it with
# --probe uf2 under the mount points, here LODE_UF2_MOUNTS), info prints INFO_UF2.TXT, a file
# copied in with its blocks shuffled, repeated and mixed with junk sectors is flashed, blocks of
# another family are ignored by the drive and refused by lode, and file(1) identifies lode's
# UF2 output (family, start address, block count).
# usage: uf2_drive.sh <lode>
set -u
LODE=$1
D=$(mktemp -d)
SRV=
cleanup() {
    [ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
    rm -rf "$D"
}
trap cleanup EXIT
fails=0
pass=0
. "$(dirname "$0")/../lib_check.sh"
mkdir -p "$D/mnt/drive" "$D/mnt/other" "$D/none"
"$LODE" sim-server --uf2-dir "$D/mnt/drive" --sim-state "$D/board.state" --sim-fresh >"$D/srv.out" 2>&1 &
SRV=$!
for _ in $(seq 100); do [ -f "$D/mnt/drive/INFO_UF2.TXT" ] && break; sleep 0.1; done
# the drive is back (INFO_UF2.TXT) after the reset that follows a flash
back() { for _ in $(seq 100); do [ -f "$D/mnt/drive/CURRENT.UF2" ] && return 0; sleep 0.05; done; return 1; }
flashed() { # wait until the server has flashed N files in all
    for _ in $(seq 100); do [ "$(grep -c 'blocks flashed' "$D/srv.out")" -ge "$1" ] && back && return 0; sleep 0.05; done
    return 1
}
head -c 40000 /dev/urandom >"$D/img.bin"
head -c 9000 /dev/urandom >"$D/b.bin"
check server 0 "simulated STM32F103C8 as a UF2 drive in .* \(family STM32F1 0x5ee21072\)" -- cat "$D/srv.out"
check info 0 "UF2 Bootloader lode-sim 1.0; Model: lode simulated STM32F103C8; Board-ID: STM32F103C8-lode-sim" -- \
    "$LODE" info --probe "uf2:$D/mnt/drive"
check list 0 "^uf2:$D/mnt/drive +UF2 drive  STM32F103C8-lode-sim" -- env LODE_UF2_MOUNTS="$D/mnt/*" "$LODE" list
check convert 0 "157 blocks for family STM32F1" -- \
    "$LODE" convert "$D/img.bin" --format bin --base 0x08000000 --family stm32f1 -o "$D/img.uf2"
check convert-rp 0 "157 blocks for family RP2040" -- \
    "$LODE" convert "$D/img.bin" --format bin --base 0x08000000 --family RP2040 -o "$D/rp.uf2"
check file-uf2 0 "UF2 firmware image, family ST STM32F103, address 0x8000000, 157 total blocks" -- file "$D/img.uf2"
check file-uf2-rp 0 "UF2 firmware image, family Raspberry Pi RP2040, address 0x8000000, 157 total blocks" -- file "$D/rp.uf2"
# --probe uf2 finds the one drive under the mount points
check flash 0 "flashed .* through the UF2 drive" -- env LODE_UF2_MOUNTS="$D/none/*:$D/mnt/*" \
    "$LODE" flash --probe uf2 "$D/img.uf2"
back
check verify 0 "identical" -- "$LODE" verify --probe "uf2:$D/mnt/drive" --format bin --base 0x08000000 "$D/img.bin"
# a raw binary: blocks with the family of the drive's Board-ID
check flash-bin 0 "flashed .* through the UF2 drive" -- \
    "$LODE" flash --probe "uf2:$D/mnt/drive" --format bin --base 0x08004000 "$D/b.bin"
back
check verify-bin 0 "identical" -- "$LODE" verify --probe "uf2:$D/mnt/drive" --format bin --base 0x08004000 "$D/b.bin"
check wrong-family 65 "UF2 image is for family RP2040 \(0xe48bff56\), the drive's board is STM32F103C8-lode-sim" -- \
    "$LODE" flash --probe "uf2:$D/mnt/drive" "$D/rp.uf2"
# the chip of a debug probe's session: the same refusal
check wrong-family-chip 65 "UF2 image is for family RP2040 \(0xe48bff56\), the chip is STM32F103C8" -- \
    "$LODE" flash --probe sim --sim-state "$D/dbg.state" "$D/rp.uf2"
check right-family-chip 0 "flashed" -- "$LODE" flash --probe sim --sim-state "$D/dbg.state" "$D/img.uf2"
check no-erase 64 "has no erase" -- "$LODE" erase --all --probe "uf2:$D/mnt/drive"
# as an operating system copies: blocks shuffled, some twice, junk sectors between them
n=$(grep -c 'blocks flashed' "$D/srv.out")
mkdir "$D/blk"
split -b 512 -d -a 4 "$D/img.uf2" "$D/blk/b"
head -c 512 /dev/urandom >"$D/blk/junk1"
head -c 512 /dev/zero >"$D/blk/junk2"
{ ls "$D/blk"/b*; ls "$D/blk"/b00[0-4]*; echo "$D/blk/junk1"; echo "$D/blk/junk2"; } | shuf | xargs cat >"$D/mixed.uf2"
"$LODE" convert "$D/b.bin" --format bin --base 0x08000000 --family stm32f1 -o "$D/b.uf2" >/dev/null
"$LODE" flash --probe "uf2:$D/mnt/drive" "$D/b.uf2" >/dev/null 2>&1 # something else there first
flashed $((n + 1))
cp "$D/mixed.uf2" "$D/mnt/drive/NEW.UF2"
check copy-mixed 0 "" -- flashed $((n + 2))
check verify-mixed 0 "identical" -- "$LODE" verify --probe "uf2:$D/mnt/drive" --format bin --base 0x08000000 "$D/img.bin"
# another family's file: the drive ignores it (it stays, the flash is unchanged)
cp "$D/rp.uf2" "$D/mnt/drive/RP.UF2"
sleep 0.5
check ignored 0 "" -- test -f "$D/mnt/drive/RP.UF2"
rm -f "$D/mnt/drive/RP.UF2"
check verify-kept 0 "identical" -- "$LODE" verify --probe "uf2:$D/mnt/drive" --format bin --base 0x08000000 "$D/img.bin"
cp "$D/mnt/drive/INFO_UF2.TXT" "$D/mnt/other/"
check several 69 "2 UF2 drives are mounted \(.*drive, .*other\): choose one with uf2:DIR" -- \
    env LODE_UF2_MOUNTS="$D/mnt/*" "$LODE" info --probe uf2
check none 69 "no UF2 drive found" -- env LODE_UF2_MOUNTS="$D/none/*" "$LODE" info --probe uf2
check not-a-drive 69 "no UF2 drive \(no INFO_UF2.TXT\)" -- "$LODE" info --probe "uf2:$D/none"
echo "$pass passed, $fails failed"
[ "$fails" -eq 0 ]
