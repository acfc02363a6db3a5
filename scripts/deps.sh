#!/usr/bin/env bash
# Install what lode needs from Debian 12's packages. Usage: scripts/deps.sh [build|test]
#   build: compilers, libraries (simavr for the simulated Arduino, with arduino-core-avr for its
#          bootloader) and the ARM and AVR toolchains for the firmware
#   test:  build + the outside programs the peer tests run (qemu-system-arm, gdb-multiarch,
#          openocd, pyOCD, dfu-util, avrdude + avr-gcc, stm32flash, clang for fuzzing and the clang -Werror build test,
#          sigrok-cli's swd decoder, bossac)
# Packages already installed are not fetched again; apt-get runs only when something is missing.
set -euo pipefail
what=${1:-build}
pkgs=(cmake ninja-build pkg-config gcc make libc6-dev
      libunicorn-dev libusb-1.0-0-dev libusb-dev libhidapi-dev libyaml-dev libedit-dev libsimavr-dev libelf-dev
      arduino-core-avr
      gcc-arm-none-eabi libnewlib-arm-none-eabi picolibc-arm-none-eabi binutils-arm-none-eabi
      gcc-avr avr-libc)
if [ "$what" = test ]; then
  pkgs+=(qemu-system-arm gdb-multiarch openocd python3-pyocd time clang libclang-rt-14-dev dfu-util avrdude gcc-avr avr-libc file stm32flash sigrok-cli)
  pkgs+=(teensy-loader-cli)  # the HalfKay referee (peer_teensy_loader_cli)
  pkgs+=(bossa-cli)          # bossac 1.9.1, the SAM-BA referee (peer_bossac)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
