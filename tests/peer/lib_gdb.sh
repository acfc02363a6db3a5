# SPDX-License-Identifier: MIT
# Sourced by the peer tests and benches that drive `lode gdb`. Needs $lode and $tmp.
# start_lode_gdb [ARGS...]: start `lode gdb --port 0 ARGS` in the background (stdout and stderr
# in $tmp/server.out / $tmp/server.err), set $server to its pid and $port to the port it names
# on stderr ("" if it did not start within 60 s or exited).
start_lode_gdb() {
    # a previous server's port line must not be read before the new server's redirection
    # truncates the file (the shell opens it in the child, after the fork)
    rm -f "$tmp/server.out" "$tmp/server.err"
    "$lode" gdb --port 0 "$@" >"$tmp/server.out" 2>"$tmp/server.err" &
    server=$!
    port=""
    for _ in $(seq 1 600); do
        port=$(sed -n 's/^lode gdb: listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$tmp/server.err" 2>/dev/null)
        [ -n "$port" ] && break
        kill -0 "$server" 2>/dev/null || break
        sleep 0.1
    done
}
