#!/usr/bin/env bash
# Benchmark: virtio-blk inside a guest, svmm against QEMU's virtio-blk-pci
# (aio=io_uring) on the same image with the same kernel, and the host's own
# figure on that file. fio runs in the guest from a read-only ext4 tools
# disk. Each of the three runs BENCH_REPS times (default 3): the median IOPS
# and MiB/s are printed with the IOPS spread (min-max); the ratio is of
# medians. Asserts nothing.
#
# Runs inside tools/kvm-sandbox (it calls it itself). Under the nested
# sandbox the absolute figures say little; the ratios are the point.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

if [[ -z ${SVMM_IN_SANDBOX:-} && ${1:-} != --inside ]]; then
	exec tools/kvm-sandbox -- "$0" --inside
fi

kernel=build/kernel/bzImage
[[ -r $kernel ]] || { echo "bench: $kernel missing (make kernel)" >&2; exit 1; }
command -v fio >/dev/null || { echo "bench: fio missing (make deps)" >&2; exit 1; }
runtime=${BENCH_RUNTIME:-5}
d=$(mktemp -d /tmp/svmm-bench-blk.XXXXXX)
trap 'rm -rf "$d"' EXIT

# The tools disk: fio, its libraries and the dynamic loader, as a chroot.
mkdir -p "$d/root/usr/bin" "$d/root/dev" "$d/root/proc"
cp /usr/bin/fio "$d/root/usr/bin/"
for lib in $(ldd /usr/bin/fio | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
	mkdir -p "$d/root$(dirname "$lib")"
	cp -L "$lib" "$d/root$lib"
done
[[ -e $d/root/lib64 ]] || ln -s usr/lib64 "$d/root/lib64" 2>/dev/null || true
mkfs.ext4 -q -d "$d/root" "$d/tools.ext4" 200M
truncate -s 1G "$d/disk.raw"
dd if=/dev/urandom of="$d/disk.raw" bs=1M count=64 conv=notrunc status=none

# The guest: run each job on /dev/vda and print its terse line.
jobs=(randread:randread:4k randwrite:randwrite:4k seqread:read:1M seqwrite:write:1M)
mkdir -p "$d/initrd"/{bin,proc,sys,dev,mnt}
cp "$(command -v busybox)" "$d/initrd/bin/busybox"
for a in sh mount chroot poweroff echo; do ln -s busybox "$d/initrd/bin/$a"; done
{
	echo '#!/bin/sh'
	echo 'mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev'
	echo 'mount -o ro -t ext4 /dev/vdb /mnt && mount --bind /dev /mnt/dev'
	for j in "${jobs[@]}"; do
		IFS=: read -r name rw bs <<<"$j"
		echo "echo \"BENCH $name \$(chroot /mnt /usr/bin/fio --name=$name --filename=/dev/vda" \
			"--rw=$rw --bs=$bs --iodepth=32 --ioengine=libaio --direct=1 --size=512M" \
			"--runtime=$runtime --time_based --minimal 2>&1 | tail -n1)\""
	done
	echo 'poweroff -f'
} >"$d/initrd/init"
chmod +x "$d/initrd/init"
(cd "$d/initrd" && find . | cpio -o -H newc --quiet | gzip -1) >"$d/initrd.gz"
cmdline="console=ttyS0 quiet panic=-1 reboot=k"

# Terse v3: field 8 read IOPS, 7 read KiB/s; 49 write IOPS, 48 write KiB/s.
figure() { # log name -> "IOPS MiB/s"
	awk -v n="$2" -F';' '$1 ~ "BENCH " n " " {
		r = ($8 > 0 || $7 > 0); iops = r ? $8 : $49; bw = r ? $7 : $48;
		printf "%d %.1f", iops, bw / 1024 }' "$1" 2>/dev/null
}

reps=${BENCH_REPS:-3}
for ((r = 1; r <= reps; r++)); do
	echo "svmm: running fio in the guest (${runtime}s per job), run $r"
	timeout 600 build/svmm run --kernel "$kernel" --initramfs "$d/initrd.gz" --cmdline "$cmdline" \
		--memory size=512M --disk "path=$d/disk.raw" "path=$d/tools.ext4,readonly=on" \
		--serial "file=$d/svmm.$r.log" >/dev/null 2>&1 || echo "bench: svmm run failed" >&2
	echo "qemu: running fio in the guest, run $r"
	timeout 600 qemu-system-x86_64 -accel kvm -M q35 -cpu host -smp 1 -m 512 -nographic \
		-nodefaults -no-reboot -kernel "$kernel" -initrd "$d/initrd.gz" -append "$cmdline" \
		-drive "file=$d/disk.raw,if=none,id=d0,format=raw,aio=io_uring" \
		-device virtio-blk-pci,drive=d0 \
		-drive "file=$d/tools.ext4,if=none,id=d1,format=raw,readonly=on" \
		-device virtio-blk-pci,drive=d1 -serial "file:$d/qemu.$r.log" >/dev/null 2>&1 ||
		echo "bench: qemu failed" >&2
	echo "host: running fio on the image file, run $r"
	for j in "${jobs[@]}"; do
		IFS=: read -r name rw bs <<<"$j"
		echo "BENCH $name $(fio --name="$name" --filename="$d/disk.raw" --rw="$rw" --bs="$bs" \
			--iodepth=32 --ioengine=io_uring --size=512M --runtime="$runtime" --time_based \
			--minimal 2>&1 | tail -n1)"
	done >"$d/host.$r.log"
done

# median of the numbers on stdin ("" for none), and min-max with -s
median() {
	sort -n | awk -v spread="${1:-}" '{ v[NR] = $1 } END { if (!NR) exit
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		if (spread) printf "%g-%g\n", v[1], v[NR]; else printf "%g\n", m }'
}
# "IOPS MiB/s min-max" of a job over the runs of who: medians, the IOPS spread
stat() { # who job
	local f all
	all=$(for f in "$d/$1".*.log; do figure "$f" "$2"; echo; done | awk 'NF == 2')
	[[ -n $all ]] || return 0
	echo "$(cut -d' ' -f1 <<<"$all" | median) $(cut -d' ' -f2 <<<"$all" | median)" \
		"$(cut -d' ' -f1 <<<"$all" | median -s)"
}

printf '\n%-10s %-24s %-24s %-24s %9s\n' "job" "svmm IOPS (min-max) MiB/s" \
	"qemu IOPS (min-max) MiB/s" "host IOPS (min-max) MiB/s" "svmm/qemu"
for j in "${jobs[@]}"; do
	name=${j%%:*}
	si= sb= ss= qi= qb= qs= hi= hb= hs=
	read -r si sb ss <<<"$(stat svmm "$name")" || true
	read -r qi qb qs <<<"$(stat qemu "$name")" || true
	read -r hi hb hs <<<"$(stat host "$name")" || true
	ratio=$(awk -v a="${si:-}" -v b="${qi:-}" 'BEGIN { if (a != "" && b > 0) printf "%.2f", a / b; else print "n/a" }')
	printf '%-10s %-24s %-24s %-24s %9s\n' "$name" "${si:--} (${ss:--}) ${sb:--}" \
		"${qi:--} (${qs:--}) ${qb:--}" "${hi:--} (${hs:--}) ${hb:--}" "$ratio"
done
echo "(median of $reps runs each; nested sandbox figures vary by +-50 %: compare the ratios)"
