#!/usr/bin/env bash
# Set up a fresh Debian 12 machine, build lode and its example firmware, and run lode's main
# job on the simulated board: the example firmware runs like a host program, prints its output
# and exits with its own exit code (3 for the hello example).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2
echo
echo "\$ ./build/lode run --chip STM32F103C8 build/firmware/hello-stm32f103.elf"
set +e
./build/lode run --stats --chip STM32F103C8 build/firmware/hello-stm32f103.elf
code=$?
set -e
echo "(firmware exit code: $code)"
[ "$code" -eq 3 ]
