#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The guest kernel boots: QEMU on KVM (in the sandbox) boots build/kernel's
# bzImage and its PVH vmlinux with build/images' initramfs, on microvm and
# q35, and the console shows /init reached with the CPUs and command asked
# for; then the guest powers itself off. A guest command checks that the
# file systems, namespaces and cgroup controllers the runtime needs are there.
. "$(dirname "$0")/../lib.sh"
. "$T_TOP/tests/boot-qemu.sh"

k=$T_BUILD/kernel
initrd=$T_BUILD/images/initramfs-placeholder.cpio.gz # /init: the shell placeholder
missing=()
for f in "$k/bzImage" "$k/vmlinux" "$initrd"; do [[ -r $f ]] || missing+=("$f"); done
if ((${#missing[@]})); then
	t_fail "kernel and initramfs are built" "missing: ${missing[*]}" "run 'make kernel images' first"
	t_done
	exit 1
fi
t_pass "kernel and initramfs are built"
t_ok "/dev/kvm is usable" test -w /dev/kvm
command -v qemu-system-x86_64 >/dev/null || t_fail "qemu-system-x86_64 is installed" "run 'make deps'"
tmp=$(t_tmpdir)

# boot NAME MACHINE KERNEL SMP [APPEND]: boots, checks marker, CPUs, power off.
boot() {
	local name=$1 machine=$2 kernel=$3 smp=$4 append=${5:-} log rc
	log=$tmp/$name.log
	boot_qemu "$log" "$machine" "$kernel" "$initrd" "$smp" "$append"
	rc=$?
	t_match "$name: /init reached" '^svmm-init: reached /init$' "$(boot_log_marker "$log")"
	t_eq "$name: guest sees $smp CPUs" "$smp" "$(boot_log_get "$log" cpus)"
	t_match "$name: our kernel (-svmm) runs" '^6\.1\.[0-9]+-svmm$' "$(boot_log_get "$log" kernel)"
	t_eq "$name: the guest powered off (QEMU exited 0, no timeout)" 0 "$rc"
	echo "# $name: guest uptime at /init: $(boot_log_get "$log" uptime) s"
	if [[ $(boot_log_marker "$log") == "" || $rc != 0 ]]; then
		echo "# --- console of $name (last 40 lines)"
		tail -n 40 "$log" | sed 's/^/#   /'
	fi
}

boot microvm-bzImage microvm "$k/bzImage" 2
boot microvm-pvh microvm "$k/vmlinux" 1
boot q35-bzImage q35 "$k/bzImage" 2
boot q35-pvh q35 "$k/vmlinux" 2

# What an OCI runtime needs, seen from inside the guest. Words after "--" on
# the kernel command line are /init's arguments; the placeholder runs them.
# The kernel splits its command line at double quotes: the probe has none.
probe='echo fs: $(cut -f2 /proc/filesystems);'
probe+=' mount -t cgroup2 none /sys/fs/cgroup && echo cgroups: $(cat /sys/fs/cgroup/cgroup.controllers);'
probe+=' unshare -m -u -i -n -p -U -f true && echo namespaces: ok;'
probe+=' echo seccomp: $(grep -c ^Seccomp: /proc/self/status);'
probe+=' ls /sys/bus/virtio >/dev/null && echo virtio: ok'
log=$tmp/probe.log
boot_qemu "$log" microvm "$k/bzImage" "$initrd" 1 "-- sh -c \"$probe\""
fs=$(sed -n 's/^fs: //p' "$log" | tr -d '\r')
for f in ext4 vfat erofs overlay tmpfs devtmpfs fuse virtiofs cgroup2 proc sysfs devpts; do
	t_match "guest kernel has file system $f" "(^| )$f( |$)" "$fs"
done
cg=$(sed -n 's/^cgroups: //p' "$log" | tr -d '\r')
for c in cpu memory pids io; do
	t_match "guest cgroup v2 has the $c controller" "(^| )$c( |$)" "$cg"
done
t_eq "guest can make pid, mount, uts, ipc, net and user namespaces" ok \
	"$(sed -n 's/^namespaces: //p' "$log" | tr -d '\r')"
t_eq "guest has seccomp" 1 "$(sed -n 's/^seccomp: //p' "$log" | tr -d '\r')"
t_eq "guest has the virtio bus" ok "$(sed -n 's/^virtio: //p' "$log" | tr -d '\r')"
t_eq "the command ran and exited 0" 0 "$(boot_log_get "$log" 'command exit')"
t_done
