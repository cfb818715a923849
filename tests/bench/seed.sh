#!/usr/bin/env bash
# Benchmark: build a service disk holding a 100 MiB service binary (plus a
# launch script and a small keystore) with `svmm seed service`, and the same
# files with mkfs.fat + mcopy (dosfstools, mtools) at the same image size.
# Prints time (median and best of RUNS) and bytes (image size, allocated),
# and the ratios. Figures only: nothing is asserted.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
svmm=${T_SVMM:-$top/build/svmm}
runs=${RUNS:-5}
export MTOOLS_SKIP_CHECK=1 LC_ALL=C.UTF-8

tmp=$(mktemp -d "${TMPDIR:-/tmp}/svmm-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src
mkdir -p "$src/keystore/sr25519"
head -c $((100 << 20)) /dev/urandom >"$src/service"
printf '#!/bin/sh\nexport RPC_URL="http://172.30.0.1:9944"\nexec /srv/service run\n' >"$src/launch"
for i in 1 2 3 4; do head -c 64 /dev/urandom >"$src/keystore/sr25519/key$i"; done
cat "$src/service" >/dev/null # both sides read from the page cache

# timed CMD...: seconds, to stdout
timed() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc
}
# stats: "median best" of the numbers on stdin
stats() { sort -g | awk '{a[NR] = $1} END {printf "%.4f %.4f\n", a[int((NR + 1) / 2)], a[1]}'; }

# The blueprint manager's size for this disk: the next power of two of the
# data + 64 KiB, FAT32. The peer (and svmm, for a like-for-like figure) use it.
data=$(du -bc "$src/service" "$src/launch" "$src/keystore" | tail -n1 | cut -f1)
bp_size=$(python3 -c "import sys; n = int(sys.argv[1]) + 65536; print(1 << (n - 1).bit_length())" "$data")

# build NAME: one image; NAME is svmm (smallest size), svmm32 (the peer's
# size and type) or peer (mkfs.fat + mcopy).
build() {
	local img=$tmp/$1.img
	rm -f "$img"
	case $1 in
	svmm | svmm32)
		"$svmm" seed service --out "$img" --binary "$src/service" --launch "$src/launch" \
			--keystore "$src/keystore" $([[ $1 == svmm32 ]] && echo --fat 32 --size "$bp_size")
		;;
	peer)
		mkfs.fat -F 32 -C -n SERVICEDISK "$img" $((bp_size / 1024)) &&
			mcopy -i "$img" "$src/service" "$src/launch" :: &&
			mcopy -s -i "$img" "$src/keystore" ::
		;;
	esac
}

declare -A med best
for k in svmm svmm32 peer; do
	build "$k" >/dev/null 2>&1 # warm up, and fail early if it does not work
	fsck.fat -n "$tmp/$k.img" >/dev/null
	read -r "med[$k]" "best[$k]" < <(for ((i = 0; i < runs; i++)); do timed build "$k"; done | stats)
done

printf 'seed: a service disk with a 100 MiB binary, launch script and keystore; %d runs\n' "$runs"
printf '  %-36s %9s %9s %12s %14s\n' "" "median s" "best s" "image bytes" "allocated KiB"
for k in svmm svmm32 peer; do
	case $k in
	svmm) label="svmm seed service (smallest)" ;;
	svmm32) label="svmm seed service --fat 32 --size" ;;
	peer) label="mkfs.fat -F 32 + mcopy" ;;
	esac
	printf '  %-36s %9.4f %9.4f %12d %14d\n' "$label" "${med[$k]}" "${best[$k]}" \
		"$(stat -c %s "$tmp/$k.img")" "$(du -k "$tmp/$k.img" | cut -f1)"
done
printf '  ratio, same size and type (mkfs.fat + mcopy / svmm): %.1fx median, %.1fx best\n' \
	"$(echo "${med[peer]} / ${med[svmm32]}" | bc -l)" "$(echo "${best[peer]} / ${best[svmm32]}" | bc -l)"
printf '  image size, svmm smallest / blueprint manager size: %d / %d bytes\n' \
	"$(stat -c %s "$tmp/svmm.img")" "$bp_size"
