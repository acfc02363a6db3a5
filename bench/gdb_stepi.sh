#!/bin/sh
# SPDX-License-Identifier: MIT
# Host wall time of one `stepi` round trip gdb-multiarch -> lode gdb -> simulated STM32F103
# (CMSIS-DAP v2 model), as the median (and p90) over N steps, timed inside GDB with Python.
#
# usage: bench/gdb_stepi.sh <lode-binary> <firmware-dir> [N (default 1000)]
set -u
lode=$1
elf=$2/systick-stm32f103.elf
n=${3:-1000}
command -v gdb-multiarch >/dev/null || { echo "gdb_stepi: gdb-multiarch not found" >&2; exit 1; }
tmp=$(mktemp -d) || exit 1
. "$(dirname "$0")/../tests/peer/lib_gdb.sh"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
LODE_SIM_STATE_DIR=$tmp/sim
export LODE_SIM_STATE_DIR
mkdir -p "$LODE_SIM_STATE_DIR"
"$lode" flash "$elf" >/dev/null 2>&1 || { echo "gdb_stepi: lode flash failed" >&2; exit 1; }
start_lode_gdb --once
[ -n "$port" ] || { echo "gdb_stepi: lode gdb did not start" >&2; exit 1; }
cat >"$tmp/steps.py" <<PY
import gdb, time
t = []
for i in range($n):
    a = time.perf_counter()
    gdb.execute("stepi", to_string=True)
    t.append(time.perf_counter() - a)
t.sort()
print("stepi round trip (gdb-multiarch -> lode gdb -> sim, %d steps, host wall): median %.1f us, p90 %.1f us"
      % (len(t), 1e6 * t[len(t) // 2], 1e6 * t[int(len(t) * 0.9)]))
PY
gdb-multiarch -batch -nx -ex "target extended-remote 127.0.0.1:$port" -ex "break main" \
    -ex "continue" -ex "source $tmp/steps.py" -ex "detach" "$elf" 2>&1 | grep '^stepi round trip'
wait "$server"
server=""
