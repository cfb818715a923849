#!/usr/bin/env bash
# svmm run boots Linux: Debian's generic bzImage and a PVH vmlinux, each
# with a busybox initramfs whose /init reports what the guest sees; then
# the lifecycle: power-off, reboot (and --no-reboot), SIGTERM, a panic.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-guest.sh"

tmp=$(t_tmpdir)
kernel=$(g_kernel) || { t_skip "boot tests" "no Debian kernel in /var/cache/svmm/sandbox"; t_done; exit; }
g_initramfs "$tmp/poweroff.gz" poweroff
g_initramfs "$tmp/reboot.gz" reboot
g_initramfs "$tmp/sleep.gz" sleep
g_initramfs "$tmp/panic.gz" panic
echo "# $(g_pvh_vmlinux "$tmp/vmlinux")"

# boot NAME KERNEL INITRAMFS [svmm flags...]: runs to the end (at most 300 s);
# console in $tmp/NAME.log, stderr in $tmp/NAME.err, status in $rc.
boot() {
	local name=$1 k=$2 i=$3
	shift 3
	timeout 300 "$T_SVMM" run -v --kernel "$k" --initramfs "$i" --cmdline "$G_CMDLINE" \
		--serial "file=$tmp/$name.log" "$@" 2>"$tmp/$name.err"
	rc=$?
}

# The facts a guest printed, checked against what was asked for.
check_guest() {
	local name=$1 cpus=$2 mem_mib=$3 log=$tmp/$1.log
	t_match "$name: /init reached" 'SVMM-INIT-REACHED' "$(cat "$log")"
	t_eq "$name: exit status 0 on power-off" 0 "$rc"
	t_eq "$name: hypervisor CPUID bit on every vCPU" "$cpus" "$(g_fact "$log" hypervisor)" ||
		sed -n '/SVMM-INIT-REACHED/,$p' "$log" | head -n 20 | sed "s/^/# $name console: /"
	local mem_kb
	mem_kb=$(g_fact "$log" memtotal_kb)
	# MemTotal is RAM less what the kernel keeps: between 60% and 100%.
	t_ok "$name: MemTotal ${mem_kb:-?} kB fits ${mem_mib} MiB" \
		test "${mem_kb:-0}" -gt $((mem_mib * 1024 * 6 / 10)) -a "${mem_kb:-0}" -le $((mem_mib * 1024))
	t_eq "$name: RTC date is the host's" "$(date -u +%Y-%m-%d)" "$(g_fact "$log" date)"
	local epoch skew
	epoch=$(g_fact "$log" epoch)
	skew=$(($(date -u +%s) - ${epoch:-0}))
	t_ok "$name: RTC time within 120 s of the host's (skew ${skew}s)" test "${skew#-}" -lt 120
	# Several vCPUs come up from the MP table, or from the MADT once the
	# acpi branch is merged (Linux then prefers the MADT).
	t_eq "$name: $cpus vCPU(s) online" "$cpus" "$(g_fact "$log" nproc)"
	local tables
	tables=$(g_fact "$log" acpi_tables)
	if [[ -n $tables ]]; then
		t_match "$name: ACPI tables" 'APIC.*DSDT.*FACP|DSDT.*FACP.*MCFG' "$tables"
	else
		t_skip "$name: ACPI tables" "no ACPI tables yet (acpi branch not merged)"
	fi
}

boot bz-1cpu "$kernel" "$tmp/poweroff.gz" --memory size=256M
check_guest bz-1cpu 1 256

boot pvh-1cpu "$tmp/vmlinux" "$tmp/poweroff.gz" --memory size=384M
check_guest pvh-1cpu 1 384
t_match "pvh-1cpu: PVH entry used" 'kernel: PVH ELF' "$(cat "$tmp/pvh-1cpu.err")"
t_match "bz-1cpu: bzImage entry used" 'kernel: bzImage' "$(cat "$tmp/bz-1cpu.err")"

# --landlock: the VMM can open only what its configuration names; the
# guest boots the same (vmm/confine.c; tests/unit/test_landlock.c checks
# what is refused). Landlock rules hold on inodes, and a 9p share with
# cache=none (the sandbox's cache and project) makes a new inode at each
# lookup: the kernel is copied to $tmp (tmpfs) first.
cp "$kernel" "$tmp/bzImage"
boot bz-landlock "$tmp/bzImage" "$tmp/poweroff.gz" --memory size=256M --landlock
check_guest bz-landlock 1 256
t_eq "bz-landlock: svmm said nothing wrong" "" \
	"$(grep -iE 'landlock|denied|error|cannot' "$tmp/bz-landlock.err" | head -n 5)"

boot bz-2cpu "$kernel" "$tmp/poweroff.gz" --cpus boot=2 --memory size=256M
check_guest bz-2cpu 2 256

boot pvh-2cpu "$tmp/vmlinux" "$tmp/poweroff.gz" --cpus boot=2 --memory size=256M
check_guest pvh-2cpu 2 256

# Guest RAM from a memfd (shared=on, as vhost-user needs) and from
# hugetlbfs (hugepages=on; 2 MiB pages reserved here for it).
boot shared "$tmp/vmlinux" "$tmp/poweroff.gz" --memory size=256M,shared=on
t_match "shared=on: /init reached" 'SVMM-INIT-REACHED' "$(cat "$tmp/shared.log")"
t_eq "shared=on: exit status 0" 0 "$rc"
if echo 160 >/proc/sys/vm/nr_hugepages 2>/dev/null && (($(cat /proc/sys/vm/nr_hugepages) >= 128)); then
	boot huge "$tmp/vmlinux" "$tmp/poweroff.gz" --memory size=256M,hugepages=on
	t_match "hugepages=on: /init reached" 'SVMM-INIT-REACHED' "$(cat "$tmp/huge.log")"
	t_eq "hugepages=on: exit status 0" 0 "$rc"
	echo 0 >/proc/sys/vm/nr_hugepages
else
	t_skip "hugepages=on boot" "cannot reserve 128 hugepages here"
fi
boot nohuge "$tmp/vmlinux" "$tmp/poweroff.gz" --memory size=256M,hugepages=on
t_eq "hugepages=on without reserved pages: status 1" 1 "$rc"
t_match "hugepages=on without reserved pages: says why" 'nr_hugepages' "$(cat "$tmp/nohuge.err")"

# The project's own kernel (branch kernel, built into /var/cache/svmm/kernel)
# when a build is there: its PVH vmlinux on 2 vCPUs, its bzImage on 1.
if pk=$(g_project_kernel); then
	echo "# project kernel: $pk"
	boot proj-pvh-2cpu "$pk/vmlinux" "$tmp/poweroff.gz" --cpus boot=2 --memory size=256M
	check_guest proj-pvh-2cpu 2 256
	boot proj-bz-1cpu "$pk/bzImage" "$tmp/poweroff.gz" --memory size=256M
	check_guest proj-bz-1cpu 1 256
else
	t_skip "project kernel boots" "no build in /var/cache/svmm/kernel (branch kernel)"
fi

# Reboot: --no-reboot exits 0 after the first boot's reset.
boot noreboot "$tmp/vmlinux" "$tmp/reboot.gz" --memory size=256M --no-reboot
t_eq "--no-reboot: exits 0 on a guest reboot" 0 "$rc"
t_eq "--no-reboot: booted once" 1 "$(grep -c SVMM-INIT-REACHED "$tmp/noreboot.log")"

# Without it the VM boots again (CH's behaviour); stop it with SIGTERM
# once the second boot reached /init.
"$T_SVMM" run --kernel "$tmp/vmlinux" --initramfs "$tmp/reboot.gz" --cmdline "$G_CMDLINE" \
	--memory size=256M --serial "file=$tmp/reboot.log" 2>"$tmp/reboot.err" &
pid=$!
for ((i = 0; i < 600; i++)); do
	n=$(grep -c SVMM-INIT-REACHED "$tmp/reboot.log" 2>/dev/null)
	((${n:-0} >= 2)) && break
	sleep 0.5
done
t_ok "reboot: the VM booted again after the guest's reboot" \
	test "$(grep -c SVMM-INIT-REACHED "$tmp/reboot.log")" -ge 2
kill -TERM "$pid"
wait "$pid"
t_eq "SIGTERM during reboots: exit status 0" 0 "$?"

# SIGTERM to a running guest ends the VMM cleanly and at once.
"$T_SVMM" run --kernel "$tmp/vmlinux" --initramfs "$tmp/sleep.gz" --cmdline "$G_CMDLINE" \
	--memory size=256M --cpus boot=2 --serial "file=$tmp/sigterm.log" -v 2>"$tmp/sigterm.err" &
pid=$!
for ((i = 0; i < 600; i++)); do
	grep -q SVMM-FACTS-DONE "$tmp/sigterm.log" 2>/dev/null && break
	sleep 0.5
done
kill -TERM "$pid"
t0=$(date +%s%N)
wait "$pid"
rc=$?
t_eq "SIGTERM: exit status 0" 0 "$rc"
echo "# SIGTERM to exit: $((($(date +%s%N) - t0) / 1000000)) ms"
t_match "SIGTERM: said so with -v" 'Terminated: shutting down' "$(cat "$tmp/sigterm.err")"

# A guest kernel panic is reported on stderr; the reset that follows
# (panic=-1) ends the VMM with status 1 instead of a reboot loop.
boot panic "$tmp/vmlinux" "$tmp/panic.gz" --memory size=256M
t_eq "panic: exit status 1" 1 "$rc"
t_match "panic: reported on stderr" 'svmm: guest kernel panic: .*Kernel panic - not syncing' \
	"$(cat "$tmp/panic.err")"

t_done
