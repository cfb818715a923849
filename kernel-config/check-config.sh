#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# check-config.sh: fail loudly when a kernel .config lost an option the
# fragment asks for. Kconfig silently drops an option whose dependencies are
# not met; this is where we notice.
#
#   kernel-config/check-config.sh FRAGMENT DOTCONFIG
#
# Every "CONFIG_X=value" line of FRAGMENT must appear as is in DOTCONFIG;
# every "# CONFIG_X is not set" must be unset there. "=m" in the fragment
# is an error (the guest kernel has no modules). Prints each mismatch and
# exits 1 if there is any.
set -euo pipefail

me=check-config
(($# == 2)) || { echo "usage: $0 FRAGMENT DOTCONFIG" >&2; exit 2; }
frag=$1
dotconfig=$2
[[ -r $frag ]] || { echo "$me: cannot read fragment $frag" >&2; exit 2; }
[[ -r $dotconfig ]] || { echo "$me: cannot read config $dotconfig" >&2; exit 2; }

declare -A have
while IFS= read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		have[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
	fi
done <"$dotconfig"

bad=0 n=0 lineno=0
while IFS= read -r line; do
	lineno=$((lineno + 1))
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		sym=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
		if [[ $want == m ]]; then
			echo "$me: $frag:$lineno: $sym=m: no modules in this kernel, use =y" >&2
			bad=$((bad + 1))
			continue
		fi
		got=${have[$sym]-}
		if [[ $got != "$want" ]]; then
			if [[ -n $got ]]; then got="$sym=$got"; else got="it unset"; fi
			echo "$me: $frag:$lineno: $sym=$want requested, but the config has $got (missing dependency?)" >&2
			bad=$((bad + 1))
		fi
		n=$((n + 1))
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		sym=${BASH_REMATCH[1]}
		if [[ -n ${have[$sym]-} && ${have[$sym]} != n ]]; then
			echo "$me: $frag:$lineno: $sym requested off, but the config has $sym=${have[$sym]} (selected by another option?)" >&2
			bad=$((bad + 1))
		fi
		n=$((n + 1))
	elif [[ $line =~ ^[[:space:]]*CONFIG_ ]]; then
		echo "$me: $frag:$lineno: cannot parse '$line'" >&2
		bad=$((bad + 1))
	fi
done <"$frag"

if ((bad)); then
	echo "$me: $bad of $n options in $frag did not make it into $dotconfig" >&2
	exit 1
fi
echo "$me: all $n options of $(basename "$frag") are in the config"
