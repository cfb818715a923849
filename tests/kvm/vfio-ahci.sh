#!/usr/bin/env bash
# VFIO passthrough with MSI (issue 23): in the tools/kvm-sandbox --vfio boot
# an ICH9 AHCI with one disk (SVMM_SANDBOX_VFIO_AHCI, its backing file
# SVMM_SANDBOX_VFIO_SATA) has an MSI capability and no MSI-X. `svmm vfio
# bind` hands it to vfio-pci; a level-2 guest on Debian's kernel, with
# Debian's ahci.ko, libata and sd_mod in its initramfs, writes 1 MiB with
# O_DIRECT and reads it back over interrupts that must be PCI-MSI; the bytes
# are in the backing file afterwards. QEMU as the level-2 VMM first, as the
# peer; then svmm; then `svmm vfio unbind` gives the controller back.
#
# Where KVM is usable directly it runs only when SVMM_VFIO_AHCI names an
# AHCI to give it -- whose disk at 4 MiB and 8 MiB it OVERWRITES.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-guest.sh"
. "$(dirname "$0")/lib-netdev.sh"
. "$(dirname "$0")/lib-vfio.sh"

bdf=${SVMM_SANDBOX_VFIO_AHCI:-${SVMM_VFIO_AHCI:-}}
disk=${SVMM_SANDBOX_VFIO_SATA:-}
vf_need "an AHCI" "$bdf" SVMM_SANDBOX_VFIO_AHCI "set SVMM_VFIO_AHCI to an AHCI's PCI address (its disk is overwritten)" || { t_done; exit; }
SVMM=$T_SVMM
sys=/sys/bus/pci/devices/$bdf
vf_kernel || { t_fail "Debian's kernel" "none under /var/cache/svmm/sandbox"; t_done; exit 1; }
d=$(t_tmpdir)
drv_before=$(vf_driver "$bdf")
t_cleanup "'$T_BUILD/svmm' vfio unbind '$bdf' >/dev/null 2>&1"

out=$("$SVMM" vfio bind "$bdf" 2>&1)
t_match "svmm vfio bind" "^$bdf bound to vfio-pci" "$out"
t_eq "bound to vfio-pci" vfio-pci "$(basename "$(readlink "$sys/driver" 2>/dev/null)")"

cat >"$d/check.sh" <<'EOF2'
for m in $(cat /modules/order); do insmod /modules/$m || echo "insmod $m failed"; done
off=$(sed -n 's/.*svmm_off=\([0-9]*\).*/\1/p' /proc/cmdline)
i=0
while [ ! -b /dev/sda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/sda ] && echo "SVMM-FACT sda=yes" || echo "SVMM-FACT sda=no"
head -c 1048576 /dev/urandom >/tmp/pat
dd if=/tmp/pat of=/dev/sda bs=1M seek=$off count=1 oflag=direct 2>/dev/null && echo "SVMM-FACT write=ok"
dd if=/dev/sda of=/tmp/back bs=1M skip=$off count=1 iflag=direct 2>/dev/null && echo "SVMM-FACT read=ok"
echo "SVMM-FACT sum_w=$(sha256sum </tmp/pat | cut -d' ' -f1)"
echo "SVMM-FACT sum_r=$(sha256sum </tmp/back | cut -d' ' -f1)"
grep ahci /proc/interrupts | sed 's/^/SVMM-IRQ /'
# QEMU's q35 has its own AHCI (00:1f.2, idle): the lines that counted
echo "SVMM-FACT msi=$(awk -v n=$(nproc) '/PCI-MSI.*ahci/ {s = 0; for (i = 2; i <= n + 1; i++) s += $i; if (s) c++} END {print c + 0}' /proc/interrupts)"
echo "SVMM-FACT ioapic=$(grep ahci /proc/interrupts | grep -c 'IO-APIC')"
echo "SVMM-FACT irqs=$(awk -v n=$(nproc) '/ahci/ {for (i = 2; i <= n + 1; i++) s += $i} END {print s + 0}' /proc/interrupts)"
EOF2
mods=$(vf_initramfs "$d/initrd" "$d/check.sh" "$moddir" ahci sd_mod)
t_match "ahci.ko, libata and sd_mod found" 'ahci\.ko.*' "$(tr '\n' ' ' <<<"$mods")"

guest_checks() { # guest_checks WHO LOG OFFSET_MIB
	local who=$1 log=$2 off=$3
	t_eq "$who: /dev/sda appears" yes "$(nd_fact "$log" sda)" ||
		tail -n 40 "$log" 2>/dev/null | tr -d '\r' | sed "s/^/#   $who console: /"
	t_eq "$who: O_DIRECT write" ok "$(nd_fact "$log" write)"
	t_eq "$who: O_DIRECT read" ok "$(nd_fact "$log" read)"
	t_eq "$who: read back what was written" "$(nd_fact "$log" sum_w)" "$(nd_fact "$log" sum_r)"
	t_eq "$who: the AHCI's interrupts are PCI-MSI (one vector)" 1 "$(nd_fact "$log" msi)"
	t_eq "$who: no IO-APIC line for it" 0 "$(nd_fact "$log" ioapic)"
	t_match "$who: its interrupts counted" '^[1-9]' "$(nd_fact "$log" irqs)"
	grep '^SVMM-IRQ' "$log" | sed "s/^/# $who: /"
	if [[ -n $disk ]]; then
		t_eq "$who: the bytes are in the disk's backing file" "$(nd_fact "$log" sum_w)" \
			"$(dd if="$disk" bs=1M skip="$off" count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
	fi
}
cmdline="console=ttyS0 reboot=k panic=-1"

vf_qemu_peer "$d" "$bdf" "$cmdline svmm_off=4" && guest_checks "QEMU peer" "$d/qemu.log" 4

timeout 300 "$SVMM" run -v --kernel "$kernel" --initramfs "$d/initrd" --cmdline "$cmdline svmm_off=8" \
	--memory size=256M --device "path=$sys" --serial "file=$d/console.log" >"$d/out" 2>&1
rc=$?
t_eq "svmm exits 0 at guest power-off" 0 "$rc"
((rc == 0)) || sed 's/^/#   /' "$d/out" | tail -n 20
sed 's/^/# svmm: /' "$d/out" | grep vfio
t_match "svmm: the AHCI offers MSI, no MSI-X" '0 MSI-X vectors.*MSI yes' "$(cat "$d/out")"
guest_checks svmm "$d/console.log" 8

out=$("$SVMM" vfio unbind "$bdf" 2>&1)
t_match "svmm vfio unbind" "^$bdf unbound from vfio-pci" "$out"
t_match "back on its host driver (was $drv_before)" "^($drv_before|ahci)$" \
	"$([[ -e $sys/driver ]] && basename "$(readlink "$sys/driver")" || echo -)"
t_done
