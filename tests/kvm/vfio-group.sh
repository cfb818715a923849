#!/usr/bin/env bash
# VFIO refusals around a group that is not viable (issue 23): in the
# tools/kvm-sandbox --vfio boot two virtio-rng functions sit behind a
# PCIe-to-PCI bridge (SVMM_SANDBOX_VFIO_GROUP), so they share an IOMMU group.
# With one on vfio-pci and the other still on virtio-pci, `svmm vfio bind
# --strict` refuses and changes nothing, a plain bind goes ahead and says
# the group is not viable, and `svmm run --device` refuses with an error
# that names the group and the device holding it back, leaving both devices
# where they were; unbind gives the first back to virtio-pci.
#
# Where KVM is usable directly it needs SVMM_VFIO_GROUP ("A B": two devices
# of one group, both on a host driver) and skips otherwise.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-guest.sh"

read -r a b _ <<<"${SVMM_SANDBOX_VFIO_GROUP:-${SVMM_VFIO_GROUP:-}}"
if [[ -z $a || -z $b ]]; then
	if [[ -n ${SVMM_IN_SANDBOX:-} ]]; then
		t_fail "the --vfio sandbox has two devices in one group" \
			"SVMM_SANDBOX_VFIO_GROUP='${SVMM_SANDBOX_VFIO_GROUP:-}' (run in tools/kvm-sandbox --vfio)"
	else
		t_skip "VFIO group refusals" "no devices: set SVMM_VFIO_GROUP to two PCI addresses of one group"
	fi
	t_done
	exit
fi
SVMM=$T_SVMM
drv() { [[ -e /sys/bus/pci/devices/$1/driver ]] && basename "$(readlink "/sys/bus/pci/devices/$1/driver")" || echo -; }
grp() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group" 2>/dev/null)"; }
kernel=$(g_kernel) || { t_fail "Debian's kernel" "none under /var/cache/svmm/sandbox"; t_done; exit 1; }
d=$(t_tmpdir)
a_drv=$(drv "$a") b_drv=$(drv "$b")
t_cleanup "'$T_BUILD/svmm' vfio unbind '$a' >/dev/null 2>&1"
t_eq "$a and $b share an IOMMU group" "$(grp "$a")" "$(grp "$b")"
t_match "$b is on a host driver" '^[^-]' "$b_drv"
group=$(grp "$a")

out=$("$SVMM" vfio bind --strict "$a" 2>&1)
t_match "bind --strict: refused" '^[1-9]' "$?"
t_match "bind --strict: names the group and $b" "group $group is not viable.*$b" "$out"
t_eq "bind --strict: $a left on its driver" "$a_drv" "$(drv "$a")"

out=$("$SVMM" vfio bind "$a" 2>&1)
t_eq "bind: goes ahead" 0 "$?"
t_eq "bind: $a on vfio-pci" vfio-pci "$(drv "$a")"
t_match "ls: the group is not viable" "^$a .* $group +no" "$("$SVMM" vfio ls | grep "^$a ")"

cp "$kernel" "$d/vmlinuz"
timeout 120 "$SVMM" run --kernel "$d/vmlinuz" --memory size=128M --cmdline "console=ttyS0 panic=-1" \
	--device "path=/sys/bus/pci/devices/$a" --serial "file=$d/console.log" >"$d/out" 2>&1
rc=$?
sed 's/^/# /' "$d/out"
t_match "svmm run --device: refused" '^[1-9]' "$rc"
t_match "svmm run --device: the error says the group is not viable" "group $group is not viable" "$(cat "$d/out")"
t_match "svmm run --device: it names the device and its driver" "$b is bound to $b_drv" "$(cat "$d/out")"
t_match "svmm run --device: it names the field" "devices\[0\]" "$(cat "$d/out")"
t_ok "svmm run --device: the guest never started" test ! -s "$d/console.log"
t_eq "after the refusal: $a still on vfio-pci" vfio-pci "$(drv "$a")"
t_eq "after the refusal: $b still on $b_drv" "$b_drv" "$(drv "$b")"

out=$("$SVMM" vfio unbind "$a" 2>&1)
t_match "unbind" "^$a unbound from vfio-pci" "$out"
t_eq "unbind: $a back on $a_drv" "$a_drv" "$(drv "$a")"
t_done
