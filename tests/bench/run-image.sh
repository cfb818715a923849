#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `svmm run --image sample -- true` from command start to exit, with its
# phases (SVMM_TIMING), against QEMU microvm booting the same kernel and the
# placeholder initramfs (`-- true`), and Debian's crun running the same root
# with no VM as the floor. svmm runs its own VMM; SVMM_LAUNCHER, when set,
# names another launcher for the svmm column (tests/launchers/qemu.sh: the
# same agent and protocol in QEMU microvm). Runs inside the KVM sandbox.
# Prints figures (medians of $N runs); asserts nothing.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# (the sandbox runs it directly where /dev/kvm is usable, KVM-PVM is not)
if [[ ${SVMM_IN_SANDBOX:-0} != 1 ]]; then
	exec "$top/tools/kvm-sandbox" -- "$0" "$@"
fi
. "$top/tests/boot-qemu.sh"
N=${N:-5}
build=$top/build
img=$build/images/oci/sample
tmp=$(mktemp -d "${TMPDIR:-/tmp}/svmm-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export SVMM_IMAGE_CACHE=$tmp/cache SVMM_TIMING=1

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
now_ms() { date +%s%3N; }

vmm=${SVMM_LAUNCHER:-svmm\'s own VMM}
echo "svmm run --image sample -- true on $vmm ($N runs, median; the first run unpacks, the rest hit the cache)"
"$build/svmm" run --rm --image "$img" -- true 2>"$tmp/first.err" >/dev/null
sed -n 's/^svmm-timing: /  first run (unpack + mkfs.erofs): /p' "$tmp/first.err"
for i in $(seq "$N"); do
	t0=$(now_ms)
	"$build/svmm" run --rm --image "$img" -- true 2>>"$tmp/timing" >/dev/null
	echo $(($(now_ms) - t0)) >>"$tmp/svmm.ms"
done
for ph in image+disk boot+agent workload shutdown total; do
	printf '  %-12s %8.1f ms\n' "$ph" "$(sed -n "s/.* $ph=\([0-9.]*\)ms.*/\1/p" "$tmp/timing" | median)"
done
printf '  %-12s %8d ms (wall, command start to exit)\n' "svmm" "$(median <"$tmp/svmm.ms")"

echo "QEMU microvm, same kernel, placeholder initramfs running 'true', no agent"
for i in $(seq "$N"); do
	t0=$(now_ms)
	boot_qemu "$tmp/q.log" microvm "$build/kernel/bzImage" "$build/images/initramfs-placeholder.cpio.gz" 1 "quiet -- true"
	echo $(($(now_ms) - t0)) >>"$tmp/qemu.ms"
done
printf '  %-12s %8d ms\n' "qemu" "$(median <"$tmp/qemu.ms")"

echo "crun (Debian), the same unpacked root, no VM: the floor"
if command -v crun >/dev/null; then
	b=$tmp/bundle
	mkdir -p "$b"
	root=$(ls -d "$SVMM_IMAGE_CACHE"/*/rootfs | head -n1)
	(cd "$b" && crun spec && jq --arg r "$root" '.root.path = $r | .root.readonly = true | .process.terminal = false | .process.args = ["true"]' config.json >c && mv c config.json)
	for i in $(seq "$N"); do
		t0=$(now_ms)
		crun run --bundle "$b" "svmm-bench-$$-$i" >/dev/null 2>&1
		echo $(($(now_ms) - t0)) >>"$tmp/crun.ms"
	done
	printf '  %-12s %8d ms\n' "crun" "$(median <"$tmp/crun.ms")"
else
	echo "  crun is not installed (make deps)"
fi
