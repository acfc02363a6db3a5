#!/usr/bin/env bash
# Set up a fresh Debian 12 machine, build everything with AddressSanitizer + UBSan and warnings
# as errors, and run every test (labels unit, sim, peer, fuzz) with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLODE_WERROR=ON -DLODE_SANITIZE=ON >/dev/null
cmake --build build-test -j2
cd build-test
ctest -j2 --output-on-failure "$@"
