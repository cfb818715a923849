#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Benchmark: the guest kernel's size and how fast it reaches /init, against
# Debian's generic kernel with the same initramfs. Prints figures, asserts
# nothing. QEMU on KVM is the VMM until svmm boots guests itself; without a
# usable /dev/kvm this runs inside tools/kvm-sandbox (nested KVM under TCG:
# absolute times there are slower than on real hardware, ratios still tell).
#
#   tests/bench/kernel-boot.sh      BENCH_RUNS=N boots per row (default 5)
#
# Columns: "to /init" is wall time from starting QEMU to the marker line on
# the serial console; "uptime" is the guest's own /proc/uptime at /init
# (kernel only, no VMM or firmware); "to exit" is until QEMU exits after the
# guest powers off. Medians of BENCH_RUNS boots, kernel command line "quiet".
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
[[ $build == /* ]] || build=$top/$build
k=$build/kernel
img=$build/images
runs=${BENCH_RUNS:-5}
debian=$(ls /var/cache/svmm/sandbox/*/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n1 || true)

die() {
	echo "kernel-boot: $*" >&2
	exit 1
}

for f in "$k/bzImage" "$k/vmlinux" "$img/initramfs-placeholder.cpio.gz"; do
	[[ -r $f ]] || die "$f is missing: run 'make kernel images'"
done

if [[ ${1:-} != --inside ]]; then
	printf 'kernel-boot: sizes\n'
	printf '  %-28s %10d bytes\n' "svmm vmlinux (PVH ELF)" "$(stat -L -c %s "$k/vmlinux")"
	printf '  %-28s %10d bytes\n' "svmm bzImage" "$(stat -L -c %s "$k/bzImage")"
	[[ -n $debian ]] && printf '  %-28s %10d bytes\n' "debian $(basename "$debian")" "$(stat -L -c %s "$debian")"
	printf '  %-28s %10d bytes\n' "initramfs-placeholder.cpio.gz" "$(stat -c %s "$img/initramfs-placeholder.cpio.gz")"
	printf '  %-28s %10d bytes\n' "initramfs (uncompressed)" "$(zcat "$img/initramfs-placeholder.cpio.gz" | wc -c)"
	[[ -n $debian ]] || die "no Debian kernel in /var/cache/svmm/sandbox (run tools/kvm-sandbox once)"
	exec "$top/tools/kvm-sandbox" -- "$0" --inside
fi

. "$top/tests/boot-qemu.sh"
tmp=$(mktemp -d /tmp/kernel-boot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
zcat "$img/initramfs-placeholder.cpio.gz" >"$tmp/initramfs.cpio"

# stamp T0 FILE: copies stdin to stdout and writes to FILE the seconds from
# T0 (an $EPOCHREALTIME) to the /init marker line, or "-" if none came.
stamp() {
	local t0=$1 file=$2 line seen=0
	echo - >"$file"
	while IFS= read -r line; do
		if ((!seen)) && [[ $line == *"svmm-init: reached /init"* ]]; then
			echo "$EPOCHREALTIME - $t0" | bc >"$file"
			seen=1
		fi
		printf '%s\n' "$line"
	done
}

# one_boot MACHINE KERNEL INITRD: prints "to_init uptime to_exit" in seconds.
one_boot() {
	local machine=$1 kernel=$2 initrd=$3 t0 t_exit up
	t0=$EPOCHREALTIME
	boot_qemu - "$machine" "$kernel" "$initrd" 1 quiet | stamp "$t0" "$tmp/t_init" >"$tmp/log" || true
	t_exit=$(echo "$EPOCHREALTIME - $t0" | bc)
	up=$(boot_log_get "$tmp/log" uptime)
	echo "$(cat "$tmp/t_init") ${up:--} $t_exit"
}

median() {
	sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "-"; else print v[int((NR + 1) / 2)]}'
}

declare -A med
row() {
	local name=$1 machine=$2 kernel=$3 initrd=$4 i
	: >"$tmp/runs"
	for ((i = 0; i < runs; i++)); do one_boot "$machine" "$kernel" "$initrd" >>"$tmp/runs"; done
	local a b c
	a=$(awk '$1 != "-" {print $1}' "$tmp/runs" | median)
	b=$(awk '$2 != "-" {print $2}' "$tmp/runs" | median)
	c=$(awk '{print $3}' "$tmp/runs" | median)
	med[$name]=$a
	printf '  %-34s %8s s %8s s %8s s  (%d/%d reached /init)\n' "$name" "$a" "$b" "$c" \
		"$(awk '$1 != "-"' "$tmp/runs" | wc -l)" "$runs"
}

echo "kernel-boot: time to /init, QEMU -accel kvm, 1 vCPU, 512 MiB, median of $runs"
[[ -n ${SVMM_IN_SANDBOX:-} ]] && echo "  (in tools/kvm-sandbox: nested KVM under TCG, slower than hardware)"
printf '  %-34s %10s %10s %10s\n' "" "to /init" "uptime" "to exit"
row "microvm svmm bzImage" microvm "$k/bzImage" "$img/initramfs-placeholder.cpio.gz"
row "microvm svmm vmlinux (PVH)" microvm "$k/vmlinux" "$img/initramfs-placeholder.cpio.gz"
row "microvm svmm bzImage, cpio (no gz)" microvm "$k/bzImage" "$tmp/initramfs.cpio"
row "microvm debian vmlinuz" microvm "$debian" "$img/initramfs-placeholder.cpio.gz"
row "q35 svmm bzImage" q35 "$k/bzImage" "$img/initramfs-placeholder.cpio.gz"
row "q35 debian vmlinuz" q35 "$debian" "$img/initramfs-placeholder.cpio.gz"

ratio() {
	local a=${med[$1]} b=${med[$2]}
	if [[ $a == - || $b == - ]]; then
		echo "-"
	else
		echo "scale=2; $b / $a" | bc
	fi
}
echo "kernel-boot: debian/svmm time to /init: microvm $(ratio "microvm svmm bzImage" "microvm debian vmlinuz")x," \
	"q35 $(ratio "q35 svmm bzImage" "q35 debian vmlinuz")x"
