#!/usr/bin/env bash
# virtio-blk with a real guest: the project's kernel boots under svmm with
# four disks (raw, raw read-only, qcow2, sparse 8 GiB qcow2); the guest
# checks order and serials, reads and writes patterns with checksums on
# both sides, a read-only disk refusing writes, DISCARD; then flushed data
# survives kill -9 of the VMM; then a two-queue disk with two vCPUs, each
# vCPU writing its half through its own queue (both queues' interrupts
# counted in the guest).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-netdev.sh"

kernel=$T_TOP/build/kernel/bzImage
if [[ ! -r $kernel ]]; then
	t_fail "project kernel" "expected $kernel (run make kernel)"
	t_done
	exit 1
fi
d=$(t_tmpdir)
# raw disk A: a known random pattern; raw B read-only; qcow2 C; qcow2 D sparse 8 GiB
head -c $((8 << 20)) /dev/urandom >"$d/a.raw"
truncate -s 16M "$d/b.raw"
head -c 4096 /dev/urandom >"$d/b.head" && dd if="$d/b.head" of="$d/b.raw" conv=notrunc status=none
qemu-img create -q -f qcow2 "$d/c.qcow2" 64M
qemu-img create -q -f qcow2 "$d/d.qcow2" 8G
sum_a=$(sha256sum <"$d/a.raw" | cut -d' ' -f1)

cat >"$d/check.sh" <<'EOF'
for v in vda vdb vdc vdd; do echo "SVMM-FACT serial_$v=$(cat /sys/block/$v/serial 2>/dev/null)"; done
echo "SVMM-FACT ro_vdb=$(cat /sys/block/vdb/ro)"
echo "SVMM-FACT size_vdd=$(cat /sys/block/vdd/size)"
echo "SVMM-FACT sum_vda=$(sha256sum </dev/vda | cut -d' ' -f1)"
# a pattern written to the qcow2 disk, read back
dd if=/dev/vda of=/dev/vdc bs=1M count=8 conv=fsync 2>/dev/null
echo "SVMM-FACT sum_vdc=$(head -c $((8 << 20)) /dev/vdc | sha256sum | cut -d' ' -f1)"
# the read-only disk refuses a write
if dd if=/dev/zero of=/dev/vdb bs=4096 count=1 conv=fsync 2>/dev/null; then
	echo "SVMM-FACT ro_write=accepted"
else
	echo "SVMM-FACT ro_write=refused"
fi
echo "SVMM-FACT sum_vdb_head=$(head -c 4096 /dev/vdb | sha256sum | cut -d' ' -f1)"
# beyond 4 GiB on the sparse disk
dd if=/dev/vda of=/dev/vdd bs=1M count=2 seek=5120 conv=fsync 2>/dev/null
echo "SVMM-FACT sum_vdd_5g=$(dd if=/dev/vdd bs=1M count=2 skip=5120 2>/dev/null | sha256sum | cut -d' ' -f1)"
echo "SVMM-FACT sum_vda_2m=$(head -c $((2 << 20)) /dev/vda | sha256sum | cut -d' ' -f1)"
# DISCARD on the qcow2 disk: the first MiB reads as zeros afterwards
blkdiscard -o 0 -l 1048576 /dev/vdc && echo "SVMM-FACT discard=ok"
echo "SVMM-FACT zero_1m=$(head -c 1048576 /dev/vdc | tr -d '\0' | wc -c)"
EOF
nd_initramfs "$d/initrd" "$d/check.sh"

disks=(--disk "path=$d/a.raw,serial=disk-a" "path=$d/b.raw,readonly=on,serial=disk-b"
	"path=$d/c.qcow2,serial=disk-c" "path=$d/d.qcow2,image_type=qcow2,serial=disk-d")
timeout 300 "$T_SVMM" run --kernel "$kernel" --initramfs "$d/initrd" --cmdline "$ND_CMDLINE" \
	--memory size=256M "${disks[@]}" --serial "file=$d/console.log" >"$d/out" 2>&1
rc=$?
t_eq "svmm exits 0 at guest power-off" 0 "$rc"
log=$d/console.log
for x in a b c d; do
	v=vd$x
	t_eq "disk $x is $v with its serial" "disk-$x" "$(nd_fact "$log" "serial_$v")"
done
t_eq "read-only disk is ro in the guest" 1 "$(nd_fact "$log" ro_vdb)"
t_eq "read-only disk refuses writes" refused "$(nd_fact "$log" ro_write)"
t_eq "read-only disk unchanged" "$(sha256sum <"$d/b.head" | cut -d' ' -f1)" "$(nd_fact "$log" sum_vdb_head)"
t_eq "guest reads the raw disk's exact bytes" "$sum_a" "$(nd_fact "$log" sum_vda)"
t_eq "guest reads back what it wrote to qcow2" "$sum_a" "$(nd_fact "$log" sum_vdc)"
t_eq "sparse disk is 8 GiB" $((8 << 30 >> 9)) "$(nd_fact "$log" size_vdd)"
t_eq "data written beyond 4 GiB reads back" "$(nd_fact "$log" sum_vda_2m)" "$(nd_fact "$log" sum_vdd_5g)"
t_eq "DISCARD accepted" ok "$(nd_fact "$log" discard)"
t_eq "discarded range reads as zeros" 0 "$(nd_fact "$log" zero_1m)"
t_ok "qcow2 image is clean after the guest's writes" qemu-img check -q "$d/c.qcow2"
t_ok "sparse qcow2 image is clean" qemu-img check -q "$d/d.qcow2"
qemu-img convert -O raw "$d/c.qcow2" "$d/c.raw"
t_eq "qcow2 holds the guest's data" "$(head -c $((7 << 20)) "$d/a.raw" | tail -c $((6 << 20)) | sha256sum)" \
	"$(head -c $((7 << 20)) "$d/c.raw" | tail -c $((6 << 20)) | sha256sum)"

# Flush durability: the guest writes and fsyncs, says so, and svmm is killed.
cat >"$d/flush.sh" <<'EOF'
dd if=/dev/vda of=/dev/vdb bs=1M count=4 conv=fsync 2>/dev/null && echo "SVMM-FLUSHED"
while :; do dd if=/dev/urandom of=/dev/vdb bs=64k count=1 seek=100 2>/dev/null; done
EOF
nd_initramfs "$d/initrd2" "$d/flush.sh"
qemu-img create -q -f qcow2 "$d/e.qcow2" 64M
"$T_SVMM" run --kernel "$kernel" --initramfs "$d/initrd2" --cmdline "$ND_CMDLINE" --memory size=256M \
	--disk "path=$d/a.raw,readonly=on" "path=$d/e.qcow2" --serial "file=$d/flush.log" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do grep -q SVMM-FLUSHED "$d/flush.log" 2>/dev/null && break; sleep 0.2; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
t_ok "the guest flushed before the kill" grep -q SVMM-FLUSHED "$d/flush.log"
qemu-img check -q -r leaks "$d/e.qcow2" >/dev/null 2>&1
t_ok "after kill -9, a leak repair leaves qcow2 clean" qemu-img check -q "$d/e.qcow2"
qemu-img convert -O raw "$d/e.qcow2" "$d/e.raw"
t_eq "flushed data survived kill -9" "$(head -c $((4 << 20)) "$d/a.raw" | sha256sum)" \
	"$(head -c $((4 << 20)) "$d/e.raw" | sha256sum)"
# Multi-queue: num_queues=2 on 2 vCPUs, one writer per vCPU.
cat >"$d/mq.sh" <<'EOF'
echo "SVMM-FACT hw_queues=$(ls -d /sys/block/vda/mq/[0-9]* | wc -l)"
for c in 0 1; do
	taskset -c $c dd if=/dev/vdb of=/dev/vda bs=64k count=64 skip=$((c * 64)) seek=$((c * 64)) \
		oflag=direct 2>/dev/null &
done
wait
sync
echo "SVMM-FACT sum=$(head -c $((8 << 20)) /dev/vda | sha256sum | cut -d' ' -f1)"
# interrupts per request queue, summed over the CPUs
dev=$(basename "$(readlink /sys/block/vda/device)")
echo "SVMM-FACT irqs=$(awk -v d="$dev" '$NF == d "-req.0" || $NF == d "-req.1" { n = 0; for (i = 2; $i ~ /^[0-9]+$/; i++) n += $i; printf "%s%d", sep, n; sep = "," }' /proc/interrupts)"
EOF
nd_initramfs "$d/initrd3" "$d/mq.sh"
truncate -s 8M "$d/mq.raw"
timeout 300 "$T_SVMM" run --kernel "$kernel" --initramfs "$d/initrd3" --cmdline "$ND_CMDLINE" \
	--cpus boot=2 --memory size=256M --disk "path=$d/mq.raw,num_queues=2" \
	"path=$d/a.raw,readonly=on" --serial "file=$d/mq.log" >"$d/mq.out" 2>&1
t_eq "two-queue disk: svmm exits 0" 0 "$?"
t_eq "the guest sees two hardware queues" 2 "$(nd_fact "$d/mq.log" hw_queues)"
t_eq "both writers' data on the disk" "$sum_a" "$(sha256sum <"$d/mq.raw" | cut -d' ' -f1)"
t_eq "... and read back by the guest" "$sum_a" "$(nd_fact "$d/mq.log" sum)"
t_match "each queue interrupted the guest" '^[1-9][0-9]*,[1-9][0-9]*$' "$(nd_fact "$d/mq.log" irqs)"
t_done
