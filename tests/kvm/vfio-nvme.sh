#!/usr/bin/env bash
# VFIO passthrough of an NVMe (issue 23): in the tools/kvm-sandbox --vfio boot
# (an emulated IOMMU and NVMe in level 1, SVMM_SANDBOX_VFIO_BDF and
# SVMM_SANDBOX_VFIO_DISK), `svmm vfio bind` hands the NVMe to vfio-pci; a
# level-2 guest on Debian's kernel (the project's may lack NVMe), with
# Debian's nvme.ko and its dependencies in its initramfs, writes 1 MiB with
# O_DIRECT and reads it back, its NVMe interrupts (MSI-X) counting; the bytes
# are in the level-1 NVMe's backing file afterwards; then the guest rebinds
# its nvme driver with MSI off for the device (msi_bus 0) and does the same
# over INTx (the _PRT's GSI, a resample irqfd). First the same guest
# under QEMU (-device vfio-pci) proves the set-up without svmm. Then `svmm
# vfio unbind` gives the device back, and svmm run refuses a missing device
# and one not bound to vfio-pci.
#
# Where KVM is usable directly it runs only when SVMM_VFIO_BDF names an NVMe
# to give it -- whose contents at 4 MiB and 8 MiB it OVERWRITES -- and skips
# otherwise.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-guest.sh"
. "$(dirname "$0")/lib-netdev.sh"
. "$(dirname "$0")/lib-vfio.sh"

bdf=${SVMM_SANDBOX_VFIO_BDF:-${SVMM_VFIO_BDF:-}}
disk=${SVMM_SANDBOX_VFIO_DISK:-}
vf_need "an NVMe" "$bdf" SVMM_SANDBOX_VFIO_BDF "set SVMM_VFIO_BDF to an NVMe's PCI address (its data is overwritten)" || { t_done; exit; }
SVMM=$T_SVMM
sys=/sys/bus/pci/devices/$bdf
vf_kernel || { t_fail "Debian's kernel" "none under /var/cache/svmm/sandbox"; t_done; exit 1; }
d=$(t_tmpdir)
drv_before=$(vf_driver "$bdf")
t_cleanup "'$T_BUILD/svmm' vfio unbind '$bdf'"

# --- bind
out=$("$SVMM" vfio bind "$bdf" 2>&1)
t_match "svmm vfio bind" "^$bdf bound to vfio-pci" "$out"
group=$(basename "$(readlink "$sys/iommu_group" 2>/dev/null)")
t_eq "bound to vfio-pci" vfio-pci "$(basename "$(readlink "$sys/driver" 2>/dev/null)")"
t_ok "/dev/vfio/$group exists" test -c "/dev/vfio/$group"
t_match "ls shows it, group viable" "^$bdf +[0-9a-f:]+ +0x010802 +vfio-pci +$group +yes" "$("$SVMM" vfio ls | grep "^$bdf ")"

# --- the level-2 initramfs: Debian's nvme.ko and its dependencies (and the
# crypto providers crc-t10dif and crc64-rocksoft look up), in load order
cat >"$d/check.sh" <<'EOF2'
for m in $(cat /modules/order); do insmod /modules/$m || echo "insmod $m failed"; done
off=$(sed -n 's/.*svmm_off=\([0-9]*\).*/\1/p' /proc/cmdline)
i=0
while [ ! -b /dev/nvme0n1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/nvme0n1 ] && echo "SVMM-FACT nvme=yes" || echo "SVMM-FACT nvme=no"
echo "SVMM-FACT serial=$(tr -d ' ' </sys/class/nvme/nvme0/serial 2>/dev/null)"
head -c 1048576 /dev/urandom >/tmp/pat
dd if=/tmp/pat of=/dev/nvme0n1 bs=1M seek=$off count=1 oflag=direct 2>/dev/null && echo "SVMM-FACT write=ok"
dd if=/dev/nvme0n1 of=/tmp/back bs=1M skip=$off count=1 iflag=direct 2>/dev/null && echo "SVMM-FACT read=ok"
echo "SVMM-FACT sum_w=$(sha256sum </tmp/pat | cut -d' ' -f1)"
echo "SVMM-FACT sum_r=$(sha256sum </tmp/back | cut -d' ' -f1)"
grep nvme /proc/interrupts | sed 's/^/SVMM-IRQ /'
echo "SVMM-FACT msi=$(grep nvme /proc/interrupts | grep -c MSI)"
echo "SVMM-FACT irqs=$(awk -v n=$(nproc) '/nvme/ {for (i = 2; i <= n + 1; i++) s += $i} END {print s + 0}' /proc/interrupts)"
# INTx: the driver again with MSI and MSI-X off for this device (msi_bus 0),
# so it takes the pin the DSDT's _PRT routes; 1 MiB at off + 2 MiB
pdev=$(basename "$(readlink -f /sys/class/nvme/nvme0/device)")
echo "$pdev" >/sys/bus/pci/drivers/nvme/unbind
i=0
while [ -b /dev/nvme0n1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo 0 >"/sys/bus/pci/devices/$pdev/msi_bus" && echo "SVMM-FACT nomsi=ok"
echo "$pdev" >/sys/bus/pci/drivers/nvme/bind
i=0
while [ ! -b /dev/nvme0n1 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/nvme0n1 ] && echo "SVMM-FACT intx_nvme=yes" || echo "SVMM-FACT intx_nvme=no"
head -c 1048576 /dev/urandom >/tmp/pat2
dd if=/tmp/pat2 of=/dev/nvme0n1 bs=1M seek=$((off + 2)) count=1 oflag=direct 2>/dev/null && echo "SVMM-FACT intx_write=ok"
dd if=/dev/nvme0n1 of=/tmp/back2 bs=1M skip=$((off + 2)) count=1 iflag=direct 2>/dev/null && echo "SVMM-FACT intx_read=ok"
echo "SVMM-FACT intx_sum_w=$(sha256sum </tmp/pat2 | cut -d' ' -f1)"
echo "SVMM-FACT intx_sum_r=$(sha256sum </tmp/back2 | cut -d' ' -f1)"
grep nvme /proc/interrupts | sed 's/^/SVMM-IRQ intx: /'
echo "SVMM-FACT intx_pin=$(grep nvme /proc/interrupts | sed -n 's/.*IO-APIC *\([0-9]*\)-.*/\1/p' | head -n1)"
echo "SVMM-FACT intx_ioapic=$(grep nvme /proc/interrupts | grep -c IO-APIC)"
echo "SVMM-FACT intx_msi=$(grep nvme /proc/interrupts | grep -c MSI)"
echo "SVMM-FACT intx_irqs=$(awk -v n=$(nproc) '/IO-APIC.*nvme/ {for (i = 2; i <= n + 1; i++) s += $i} END {print s + 0}' /proc/interrupts)"
EOF2
mods=$(vf_initramfs "$d/initrd" "$d/check.sh" "$moddir" crct10dif_generic crc64_rocksoft_generic nvme)
t_match "nvme.ko and its dependencies found" 'nvme\.ko' "$mods"

guest_checks() { # guest_checks WHO LOG OFFSET_MIB
	local who=$1 log=$2 off=$3
	t_eq "$who: /dev/nvme0n1 appears" yes "$(nd_fact "$log" nvme)" ||
		tail -n 40 "$log" 2>/dev/null | tr -d '\r' | sed "s/^/#   $who console: /"
	[[ -n ${SVMM_SANDBOX_VFIO_BDF:-} ]] && t_eq "$who: it is the sandbox's NVMe" svmm-vfio "$(nd_fact "$log" serial)"
	t_eq "$who: O_DIRECT write" ok "$(nd_fact "$log" write)"
	t_eq "$who: O_DIRECT read" ok "$(nd_fact "$log" read)"
	t_eq "$who: read back what was written" "$(nd_fact "$log" sum_w)" "$(nd_fact "$log" sum_r)"
	t_match "$who: NVMe interrupts are MSI(-X)" '^[1-9]' "$(nd_fact "$log" msi)"
	t_match "$who: NVMe interrupts counted" '^[1-9]' "$(nd_fact "$log" irqs)"
	grep '^SVMM-IRQ' "$log" | sed "s/^/# $who: /"
	if [[ -n $disk ]]; then
		t_eq "$who: the bytes are in the level-1 NVMe's backing file" "$(nd_fact "$log" sum_w)" \
			"$(dd if="$disk" bs=1M skip="$off" count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
	fi
	# INTx
	t_eq "$who: INTx: MSI off for the NVMe (msi_bus 0)" ok "$(nd_fact "$log" nomsi)"
	t_eq "$who: INTx: /dev/nvme0n1 appears again" yes "$(nd_fact "$log" intx_nvme)" ||
		tail -n 40 "$log" 2>/dev/null | tr -d '\r' | sed "s/^/#   $who console: /"
	t_eq "$who: INTx: O_DIRECT write" ok "$(nd_fact "$log" intx_write)"
	t_eq "$who: INTx: O_DIRECT read" ok "$(nd_fact "$log" intx_read)"
	t_eq "$who: INTx: read back what was written" "$(nd_fact "$log" intx_sum_w)" "$(nd_fact "$log" intx_sum_r)"
	t_eq "$who: INTx: no MSI(-X) for the NVMe" 0 "$(nd_fact "$log" intx_msi)"
	t_match "$who: INTx: an IO-APIC line for the NVMe" '^[1-9]' "$(nd_fact "$log" intx_ioapic)"
	t_match "$who: INTx: its interrupts counted" '^[1-9]' "$(nd_fact "$log" intx_irqs)"
	if [[ -n $disk ]]; then
		t_eq "$who: INTx: the bytes are in the backing file" "$(nd_fact "$log" intx_sum_w)" \
			"$(dd if="$disk" bs=1M skip=$((off + 2)) count=1 2>/dev/null | sha256sum | cut -d' ' -f1)"
	fi
}
cmdline="console=ttyS0 reboot=k panic=-1"

# --- the peer check: QEMU as the level-2 VMM
vf_qemu_peer "$d" "$bdf" "$cmdline svmm_off=4" && guest_checks "QEMU peer" "$d/qemu.log" 4

# --- svmm
timeout 300 "$SVMM" run -v --kernel "$kernel" --initramfs "$d/initrd" --cmdline "$cmdline svmm_off=8" \
	--memory size=256M --device "path=$sys" --serial "file=$d/console.log" >"$d/out" 2>&1
rc=$?
t_eq "svmm exits 0 at guest power-off" 0 "$rc"
((rc == 0)) || sed 's/^/#   /' "$d/out" | tail -n 20
guest_checks svmm "$d/console.log" 8
sed 's/^/# svmm: /' "$d/out" | grep vfio
gsi=$(sed -n 's/.*INTx on GSI \([0-9]*\).*/\1/p' "$d/out" | head -n1)
t_match "svmm: INTx through a resample irqfd on a GSI of 16..23" '^(1[6-9]|2[0-3])$' "$gsi"
t_eq "svmm: the guest's NVMe interrupt is on that IOAPIC pin (the _PRT route)" "$gsi" \
	"$(nd_fact "$d/console.log" intx_pin)"
t_match "svmm: the NVMe's registers are mapped into the guest, the MSI-X table trapped" \
	'BAR 0: [1-9][0-9]* piece\(s\) mapped into the guest' "$(cat "$d/out")"
t_eq "still on vfio-pci after the VM" vfio-pci "$(basename "$(readlink "$sys/driver" 2>/dev/null)")"

# --- unbind, then the refusals
out=$("$SVMM" vfio unbind "$bdf" 2>&1)
t_match "svmm vfio unbind" "^$bdf unbound from vfio-pci" "$out"
drv_after=-
[[ -e $sys/driver ]] && drv_after=$(basename "$(readlink "$sys/driver")")
t_match "back on its host driver or none (was $drv_before)" "^($drv_before|nvme|-)$" "$drv_after"
t_match "driver_override cleared" '^(\(null\))?$' "$(cat "$sys/driver_override")"

timeout 60 "$SVMM" run --kernel "$kernel" --initramfs "$d/initrd" --memory size=256M \
	--device path=/sys/bus/pci/devices/0000:ff:1f.7 --serial "file=$d/c2.log" >"$d/out2" 2>&1
rc=$?
t_match "a missing device: svmm run fails" '^[1-9]' "$rc"
t_match "a missing device: the error names it" '0000:ff:1f\.7' "$(cat "$d/out2")"
sed 's/^/# /' "$d/out2"
timeout 60 "$SVMM" run --kernel "$kernel" --initramfs "$d/initrd" --memory size=256M \
	--device "path=$sys" --serial "file=$d/c3.log" >"$d/out3" 2>&1
rc=$?
t_match "a device not on vfio-pci: svmm run fails" '^[1-9]' "$rc"
t_match "a device not on vfio-pci: the error says so" "$bdf|vfio" "$(cat "$d/out3")"
sed 's/^/# /' "$d/out3"
t_eq "a device not on vfio-pci: left on its driver" "$drv_after" \
	"$([[ -e $sys/driver ]] && basename "$(readlink "$sys/driver")" || echo -)"
t_done
