#!/bin/sh
# SPDX-License-Identifier: MIT
# `cmake --install` into a temporary prefix, then: the files are where the README says, the
# shared liblode exports lode_* and nothing else (no lodei_), the installed `lode` runs, and
# a small program (app.c; the public headers warning-free under -Wpedantic) builds and runs
# against the installed tree twice: with pkg-config (liblode.so) and with find_package(lode)
# (lode::lode and lode::lode_static).
#
# usage: install.sh <build-dir> <source-dir> <cmake-generator> [compiler flags, e.g. sanitizers]
# exit:  0 all checks passed; 1 a check failed.
set -u
if [ $# -lt 3 ]; then
    echo "usage: $0 <build-dir> <source-dir> <cmake-generator> [cflags]" >&2
    exit 1
fi
build=$1 src=$2 gen=$3 xflags=${4:-}
for tool in cmake pkg-config nm cc; do
    command -v $tool >/dev/null 2>&1 || { echo "install: $tool not found in PATH" >&2; exit 1; }
done
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "install: FAIL: $1"
    [ -n "${2:-}" ] && [ -f "$2" ] && cat "$2"
    exit 1
}
p=$tmp/prefix

cmake --install "$build" --prefix "$p" >"$tmp/install.log" 2>&1 || fail "cmake --install failed" "$tmp/install.log"

so=$(find "$p" -name 'liblode.so' | head -n 1)
[ -n "$so" ] || fail "no liblode.so installed"
libdir=$(dirname "$so")
for f in bin/lode include/lode/lode.h include/lode/version.h include/lode/error.h \
         share/man/man1/lode.1 share/bash-completion/completions/lode lib/udev/rules.d/60-lode.rules; do
    [ -f "$p/$f" ] || fail "$f is not installed"
done
[ -f "$libdir/liblode.a" ] || fail "liblode.a is not installed beside liblode.so"
[ -f "$libdir/pkgconfig/lode.pc" ] || fail "lode.pc is not installed"
[ -f "$libdir/cmake/lode/lodeConfig.cmake" ] || fail "lodeConfig.cmake is not installed"
[ -f "$libdir/cmake/lode/lodeConfigVersion.cmake" ] || fail "lodeConfigVersion.cmake is not installed"
[ -e "$p/include/lode/sim.h" ] && fail "the simulator's header (liblode-sim, GPL) is installed"

# the shared library's dynamic symbols: lode_* only
nm -D --defined-only "$so" | awk '$2 != "A" {print $3}' | sed 's/@.*//' >"$tmp/syms"
grep -v '^lode_' "$tmp/syms" >"$tmp/bad"
[ -s "$tmp/bad" ] && fail "liblode.so exports symbols outside lode_*:" "$tmp/bad"
[ "$(wc -l <"$tmp/syms")" -gt 100 ] || fail "liblode.so exports only $(wc -l <"$tmp/syms") symbols"
grep -q '^lode_error_name$' "$tmp/syms" || fail "liblode.so does not export lode_error_name"
# ... while the static library keeps the lodei_ symbols the tests link
nm --defined-only "$libdir/liblode.a" 2>/dev/null | grep -q ' T lodei_' ||
    fail "liblode.a has no lodei_ symbols"

version=$(sed -n 's/^#define LODE_VERSION_STRING "\(.*\)"$/\1/p' "$src/include/lode/version.h")
"$p/bin/lode" --version >"$tmp/v.out" 2>&1 || fail "the installed lode does not run" "$tmp/v.out"
grep -qx "lode $version" "$tmp/v.out" || fail "lode --version does not say lode $version" "$tmp/v.out"

want="lode $version LODE_E_TIMEOUT"

# 1. pkg-config, against liblode.so
PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --modversion lode >"$tmp/pc.out" 2>&1 ||
    fail "pkg-config does not find lode" "$tmp/pc.out"
grep -qx "$version" "$tmp/pc.out" || fail "pkg-config says version $(cat "$tmp/pc.out"), not $version"
# shellcheck disable=SC2046,SC2086
cc -std=c11 -Wall -Wextra -Wpedantic -Werror $xflags -o "$tmp/app_pc" "$src/tests/install/app.c" \
    $(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs lode) >"$tmp/cc.log" 2>&1 ||
    fail "cc with pkg-config's flags failed" "$tmp/cc.log"
LD_LIBRARY_PATH=$libdir "$tmp/app_pc" >"$tmp/app.out" 2>&1 || fail "the pkg-config program failed" "$tmp/app.out"
grep -q "^$want" "$tmp/app.out" || fail "the pkg-config program printed something else" "$tmp/app.out"
LD_LIBRARY_PATH=$libdir ldd "$tmp/app_pc" | grep -q "$libdir/liblode.so" || fail "the pkg-config program does not use the installed liblode.so"

# 2. find_package(lode): lode::lode and lode::lode_static
cmake -S "$src/tests/install/consumer" -B "$tmp/consumer" -G "$gen" -DCMAKE_PREFIX_PATH="$p" \
    -DAPP_SRC="$src/tests/install/app.c" -DCMAKE_C_FLAGS="$xflags" \
    -DCMAKE_EXE_LINKER_FLAGS="$xflags" >"$tmp/cfg.log" 2>&1 || fail "find_package(lode) failed" "$tmp/cfg.log"
cmake --build "$tmp/consumer" >"$tmp/build.log" 2>&1 || fail "building against lode::lode failed" "$tmp/build.log"
for app in app_shared app_static; do
    "$tmp/consumer/$app" >"$tmp/app.out" 2>&1 || fail "$app failed" "$tmp/app.out"
    grep -q "^$want" "$tmp/app.out" || fail "$app printed something else" "$tmp/app.out"
done
ldd "$tmp/consumer/app_shared" | grep -q "$libdir/liblode.so" || fail "app_shared does not use liblode.so"
ldd "$tmp/consumer/app_static" | grep -q "liblode.so" && fail "app_static uses liblode.so"
echo "install: ok ($(wc -l <"$tmp/syms") symbols exported, lode $version)"
exit 0
