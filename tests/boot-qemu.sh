# SPDX-License-Identifier: Apache-2.0
# boot-qemu.sh: sourced by the kernel boot test and benchmark. Boots a kernel
# and initramfs with QEMU on KVM until the guest powers off, the serial
# console going to a file. Until svmm boots guests itself, QEMU is the
# reference VMM here.
#
#   boot_qemu LOG MACHINE KERNEL INITRD SMP APPEND
#     MACHINE: microvm or q35. Returns QEMU's status (124: timed out after
#     $BOOT_TIMEOUT seconds, default 120). LOG gets the console; with LOG
#     "-" it goes to stdout (the sandbox has no /dev/stdout).
#   boot_log_marker LOG   prints the "svmm-init: reached /init" line, if any
#   boot_log_get LOG KEY  prints the value of a "svmm-init: KEY=value" line

BOOT_TIMEOUT=${BOOT_TIMEOUT:-120}

boot_qemu() {
	local log=$1 machine=$2 kernel=$3 initrd=$4 smp=$5 append=$6 m
	case $machine in
	microvm) m=microvm ;;
	q35) m=q35 ;;
	*)
		echo "boot_qemu: unknown machine '$machine'" >&2
		return 2
		;;
	esac
	local cmd=(timeout -k 5 "$BOOT_TIMEOUT" qemu-system-x86_64
		-accel kvm -M "$m" -cpu host -smp "$smp" -m 512
		-nodefaults -display none -monitor none -no-reboot
		-serial stdio -kernel "$kernel" -initrd "$initrd"
		-append "console=ttyS0 panic=-1 $append")
	if [[ $log == - ]]; then
		"${cmd[@]}" </dev/null 2>&1
	else
		"${cmd[@]}" </dev/null >"$log" 2>&1
	fi
}

boot_log_marker() {
	grep -a -m1 '^svmm-init: reached /init' "$1" | tr -d '\r'
}

boot_log_get() {
	sed -n "s/^svmm-init: $2=\\(.*\\)/\\1/p" "$1" | tr -d '\r' | head -n1
}
