#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Tests that need ../shared's probe-rs files, run without them: each must exit 77 (CTest's
# SKIP_RETURN_CODE) naming the missing file, never fail and never pass.
# Usage: shared_missing.sh TEST-BINARY...
set -u
fails=0
for t in "$@"; do
    out=$(LODE_SHARED_DIR=/nonexistent/lode-shared "$t" 2>&1)
    rc=$?
    if [ "$rc" -ne 77 ] || ! grep -q "^SKIP .*/nonexistent/lode-shared/targets/probe-rs/.* is missing" <<<"$out"; then
        echo "FAIL $(basename "$t"): exit $rc without ../shared (wanted 77 and a SKIP line)"
        echo "$out" | tail -5
        fails=$((fails + 1))
    else
        echo "ok   $(basename "$t") skipped: $(grep -m1 '^SKIP' <<<"$out")"
    fi
done
[ "$fails" -eq 0 ] && [ $# -gt 0 ]
