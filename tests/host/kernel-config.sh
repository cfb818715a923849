#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The guest kernel configuration: check-config.sh catches dropped options,
# and what `make kernel` built has every requested option, no modules, a
# PVH entry note in vmlinux and a bootable bzImage header.
. "$(dirname "$0")/../lib.sh"

frag=$T_TOP/kernel-config/microvm.config
check=$T_TOP/kernel-config/check-config.sh
tmp=$(t_tmpdir)

# --- check-config.sh on made-up configs ------------------------------------------------
printf 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x y"\nCONFIG_N=64\n' >"$tmp/frag"
printf 'CONFIG_A=y\nCONFIG_C="x y"\nCONFIG_N=64\n' >"$tmp/good"
t_ok "check-config: a config with every option passes" "$check" "$tmp/frag" "$tmp/good"
printf 'CONFIG_C="x y"\nCONFIG_N=64\n# CONFIG_A is not set\n' >"$tmp/dropped"
out=$("$check" "$tmp/frag" "$tmp/dropped" 2>&1)
t_eq "check-config: a dropped option fails" 1 "$?"
t_match "check-config: names the dropped option and its line" 'frag:1: CONFIG_A=y requested' "$out"
printf 'CONFIG_A=y\nCONFIG_B=y\nCONFIG_C="x y"\nCONFIG_N=64\n' >"$tmp/selected"
out=$("$check" "$tmp/frag" "$tmp/selected" 2>&1)
t_match "check-config: an option wanted off but on fails" 'CONFIG_B requested off, but the config has CONFIG_B=y' "$out"
printf 'CONFIG_A=y\nCONFIG_C="x y"\nCONFIG_N=32\n' >"$tmp/value"
out=$("$check" "$tmp/frag" "$tmp/value" 2>&1)
t_match "check-config: a changed value fails" 'CONFIG_N=64 requested, but the config has CONFIG_N=32' "$out"
printf 'CONFIG_M=m\n' >"$tmp/mod"
out=$("$check" "$tmp/mod" "$tmp/good" 2>&1)
t_match "check-config: =m is refused" 'no modules' "$out"

# --- the fragment asks for what the issue lists ------------------------------------------
for o in 64BIT SMP PVH ACPI ACPI_BUTTON HOTPLUG_PCI_ACPI PCI_MSI VIRTIO_PCI VIRTIO_MMIO \
	VIRTIO_BLK VIRTIO_NET VIRTIO_CONSOLE HW_RANDOM_VIRTIO VIRTIO_BALLOON VSOCKETS \
	VIRTIO_VSOCKETS FUSE_FS VIRTIO_FS SERIAL_8250_CONSOLE EXT4_FS VFAT_FS NLS_CODEPAGE_437 \
	NLS_ISO8859_1 OVERLAY_FS TMPFS DEVTMPFS EROFS_FS PID_NS UTS_NS IPC_NS NET_NS USER_NS \
	CGROUPS CGROUP_SCHED MEMCG CGROUP_PIDS BLK_CGROUP SECCOMP_FILTER MULTIUSER KVM_GUEST; do
	t_ok "fragment asks for CONFIG_$o" grep -qx "CONFIG_$o=y" "$frag"
done
t_ok "fragment turns modules off" grep -qx '# CONFIG_MODULES is not set' "$frag"

# --- what make kernel built ----------------------------------------------------------------
k=$T_BUILD/kernel
if [[ ! -e $k/vmlinux || ! -e $k/bzImage || ! -e $k/config ]]; then
	t_fail "build/kernel has vmlinux, bzImage and config" "the kernel is not built: run 'make kernel'"
	t_done
	exit 1
fi
t_pass "build/kernel has vmlinux, bzImage and config"
t_ok "the built config has every option of the fragment" "$check" "$frag" "$k/config"
t_ok "the built config has no module support" bash -c "! grep -q '^CONFIG_MODULES=y' '$k/config'"
t_eq "no option is a module" "" "$(grep '=m$' "$k/config")"
hdr=$(readelf -h "$k/vmlinux")
t_match "vmlinux is a 64-bit ELF" 'Class: +ELF64' "$hdr"
t_match "vmlinux is for x86-64" 'Machine: +Advanced Micro Devices X86-64' "$hdr"
t_match "vmlinux has the PVH entry note (Xen, type 0x12)" 'Xen[[:space:]]+0x[0-9a-f]+[[:space:]]+.*(0x00000012|PHYS32_ENTRY)' \
	"$(readelf -n "$k/vmlinux")"
t_eq "bzImage has the boot protocol magic HdrS at 0x202" HdrS "$(dd if="$k/bzImage" bs=1 skip=514 count=4 status=none)"
t_match "build-info records the source and build time" 'source=linux-source-6.1 .*build_seconds=[0-9]+' \
	"$(tr '\n' ' ' <"$k/build-info")"
t_match "kernel release is tagged -svmm" '^release=6\.1\.[0-9]+-svmm$' "$(grep '^release=' "$k/build-info")"
t_done
