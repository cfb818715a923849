#!/usr/bin/env bash
# The svmm binary's command-line front door.
. "$(dirname "$0")/../lib.sh"

t_match "svmm --version" '^svmm v[0-9]+\.[0-9]+\.[0-9]+$' "$("$T_SVMM" --version)"
t_match "svmm help lists commands" 'usage: svmm COMMAND' "$("$T_SVMM" help)"
out=$("$T_SVMM" frobnicate 2>&1)
rc=$?
t_eq "unknown command exits 2" 2 "$rc"
t_match "unknown command is named" "unknown command 'frobnicate'" "$out"
t_done
