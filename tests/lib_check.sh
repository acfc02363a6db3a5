# SPDX-License-Identifier: MIT
# Shared by the bash test scripts: check NAME EXPECTED_EXIT PATTERN -- command...
# runs the command, counts it in $pass or $fails (the caller sets both to 0 and reports them) and, on a failure,
# prints the exit code, the pattern and the first 20 lines of the output.
check() {
    local name=$1 want=$2 pattern=$3
    shift 4
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" -ne "$want" ] || { [ -n "$pattern" ] && ! grep -qE -- "$pattern" <<<"$out"; }; then
        echo "FAIL $name: exit $rc (wanted $want), pattern /$pattern/"
        echo "$out" | head -20
        fails=$((fails + 1))
        return
    fi
    pass=$((pass + 1))
    echo "ok   $name"
}
