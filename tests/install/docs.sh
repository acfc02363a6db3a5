#!/bin/bash
# SPDX-License-Identifier: MIT
# What lode installs for people stays true to the program:
#  - docs/lode.1 describes every command `lode --help` lists, and carries lode's version;
#  - the bash completion (dist/bash-completion/lode) offers every command and a command's
#    options;
#  - dist/udev/60-lode.rules covers every ST-Link PID lode knows (include/lode/stlink.h) and
#    the probes and bootloaders of the README's list, each rule MODE 0660 with TAG+="uaccess".
#
# usage: docs.sh <lode-binary> <source-dir>
# exit:  0 all checks passed; 1 a check failed.
set -u
if [ $# -ne 2 ]; then
    echo "usage: $0 <lode-binary> <source-dir>" >&2
    exit 1
fi
lode=$1 src=$2
man=$src/docs/lode.1 comp=$src/dist/bash-completion/lode rules=$src/dist/udev/60-lode.rules
errors=0
bad() { echo "docs: FAIL: $1"; errors=$((errors + 1)); }

# shellcheck source=../../dist/bash-completion/lode
. "$comp"
cmds=$(_lode_commands "$lode")
[ "$(echo "$cmds" | wc -w)" -ge 10 ] || bad "only $(echo "$cmds" | wc -w) commands read from lode --help"

# the man page's tags (the line after each .TP), with roff's \- and quotes undone
tags=$(awk 'tp { print; tp = 0 } /^\.TP/ { tp = 1 }' "$man" | sed 's/\\-/-/g; s/"//g; s/\\f[BIR]//g')
for c in $cmds; do
    echo "$tags" | grep -Eq "^\.[BIR]+ (.*[ ,])?$c([ ,]|$)" || bad "docs/lode.1 does not describe 'lode $c'"
    COMP_WORDS=("$lode" "${c:0:2}") COMP_CWORD=1 COMPREPLY=()
    _lode
    printf '%s\n' "${COMPREPLY[@]}" | grep -qx "$c" || bad "the completion does not offer '$c' for '${c:0:2}'"
done
COMP_WORDS=("$lode" run --time) COMP_CWORD=2 COMPREPLY=()
_lode
printf '%s\n' "${COMPREPLY[@]}" | grep -qx -- --timeout || bad "the completion does not offer 'lode run --timeout'"

version=$("$lode" --version | sed -n 's/^lode //p')
grep -q "^\.TH LODE 1 .*\"lode $version\"" "$man" || bad "docs/lode.1 is not for lode $version"

# udev: lode's ST-Link PIDs, then the list every install needs
ids=$(sed -n 's/^#define LODE_STLINK_.*_PID 0x\([0-9A-Fa-f]*\)u$/0483:\1/p' "$src/include/lode/stlink.h" | tr 'A-F' 'a-f')
[ "$(echo "$ids" | wc -w)" -ge 5 ] || bad "could not read the ST-Link PIDs from stlink.h"
ids="$ids 0483:3744 0483:374f 0483:df11 0d28:0204 2e8a:000c c251:f00a 1d50:6018 16c0:0478 03eb:6124"
for id in $ids; do
    v=${id%:*} p=${id#*:}
    grep -Eq "idVendor\}==\"$v\", ATTRS?\{idProduct\}==\"$p\"" "$rules" || bad "60-lode.rules has no rule for $id"
done
for v in 1366 2341 1b4f 239a; do # every product of these vendors
    grep -Eq "^SUBSYSTEM==\"usb\", ATTR\{idVendor\}==\"$v\", MODE" "$rules" || bad "60-lode.rules has no rule for $v:*"
done
grep -Eq 'ATTRS?\{product\}=="\*CMSIS-DAP\*"' "$rules" || bad "60-lode.rules has no rule for CMSIS-DAP by name"
# every rule gives access the same way
while IFS= read -r line; do
    case $line in
        ''|'#'*|ACTION*|LABEL*) continue ;;
    esac
    case $line in
        *'MODE="0660"'*'TAG+="uaccess"'*) ;;
        *) bad "60-lode.rules: a rule without MODE=\"0660\" and TAG+=\"uaccess\": $line" ;;
    esac
done <"$rules"

[ $errors -eq 0 ] || exit 1
echo "docs: ok ($(echo "$cmds" | wc -w) commands, $(echo "$ids" | wc -w) USB IDs)"
exit 0
