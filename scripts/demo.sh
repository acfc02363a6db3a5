#!/usr/bin/env bash
# Set up a fresh Debian 12 machine, build lode and its example firmware, and run lode's main
# job on the simulated board: the `args` example is flashed through the simulated CMSIS-DAP probe
# and run like a host program — it prints its arguments and exits with a code computed from them
# (the sum of their lengths, 5 + 10 = 15), which becomes lode's exit code.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2
echo
export LODE_SIM_STATE_DIR=${LODE_SIM_STATE_DIR:-$PWD/build/sim-state}
mkdir -p "$LODE_SIM_STATE_DIR"
echo "\$ ./build/lode run build/firmware/examples/args-stm32f103.elf -- hello \"lode world\""
set +e
./build/lode run --stats build/firmware/examples/args-stm32f103.elf -- hello "lode world"
code=$?
set -e
echo "(lode exited with the firmware's exit code: $code)"
[ "$code" -eq 15 ]
