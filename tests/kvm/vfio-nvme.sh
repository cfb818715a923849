#!/usr/bin/env bash
# VFIO passthrough of an NVMe (issue 23): in the tools/kvm-sandbox --vfio boot
# (an emulated IOMMU and NVMe in level 1, SVMM_SANDBOX_VFIO_BDF and
# SVMM_SANDBOX_VFIO_DISK), `svmm vfio bind` hands the NVMe to vfio-pci; a
# level-2 guest on Debian's kernel (the project's may lack NVMe), with
# Debian's nvme.ko and its dependencies in its initramfs, writes 1 MiB with
# O_DIRECT and reads it back, its NVMe interrupts (MSI-X) counting; the bytes
# are in the level-1 NVMe's backing file afterwards. First the same guest
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

bdf=${SVMM_SANDBOX_VFIO_BDF:-${SVMM_VFIO_BDF:-}}
disk=${SVMM_SANDBOX_VFIO_DISK:-}
if [[ -z $bdf ]]; then
	if [[ -n ${SVMM_IN_SANDBOX:-} ]]; then
		t_fail "the --vfio sandbox has an NVMe" "SVMM_SANDBOX_VFIO_BDF is empty (run in tools/kvm-sandbox --vfio)"
	else
		t_skip "VFIO NVMe passthrough" "no device: set SVMM_VFIO_BDF to an NVMe's PCI address (its data is overwritten)"
	fi
	t_done
	exit
fi
SVMM=$T_SVMM
sys=/sys/bus/pci/devices/$bdf
kernel=$(g_kernel) || { t_fail "Debian's kernel" "none under /var/cache/svmm/sandbox"; t_done; exit 1; }
kver=$(basename "$kernel"); kver=${kver#vmlinuz-}
moddir=$(dirname "$(dirname "$kernel")")/lib/modules/$kver
d=$(t_tmpdir)
drv_before=-
[[ -e $sys/driver ]] && drv_before=$(basename "$(readlink "$sys/driver")")
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
closure() { # closure MODULE: its file and its dependencies', deepest first
	local m=$1 line deps i
	line=$(grep -E "(^|/)$m\.ko(\.xz|\.zst|\.gz)?:" "$moddir/modules.dep" | head -n1)
	[[ -n $line ]] || return 0
	read -ra deps <<<"${line#*:}"
	for ((i = ${#deps[@]} - 1; i >= 0; i--)); do echo "${deps[i]}"; done
	echo "${line%%:*}"
}
mods=$( { closure crct10dif_generic; closure crc64_rocksoft_generic; closure nvme; } | awk '!seen[$0]++')
t_match "nvme.ko and its dependencies found" 'nvme\.ko' "$mods"
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
EOF2
nd_initramfs "$d/initrd" "$d/check.sh"
mkdir -p "$d/m/modules"
for m in $mods; do
	f=${m##*/}
	cp "$moddir/$m" "$d/m/modules/$f"
	case $f in
	*.xz) xz -d "$d/m/modules/$f"; f=${f%.xz} ;;
	*.zst) zstd -q -d --rm "$d/m/modules/$f"; f=${f%.zst} ;;
	*.gz) gzip -d "$d/m/modules/$f"; f=${f%.gz} ;;
	esac
	echo "$f" >>"$d/m/modules/order"
done
# an uncompressed archive first, then the compressed one (the layout of early
# microcode): the kernel unpacks both
(cd "$d/m" && find . | cpio -o -H newc --quiet) >"$d/initrd.m"
cat "$d/initrd.m" "$d/initrd" >"$d/initrd.all" && mv "$d/initrd.all" "$d/initrd"

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
}
cmdline="console=ttyS0 reboot=k panic=-1"

# --- the peer check: QEMU as the level-2 VMM
if command -v qemu-system-x86_64 >/dev/null; then
	timeout 300 qemu-system-x86_64 -accel kvm -M q35 -cpu host -m 256 -smp 1 -nographic -nodefaults \
		-no-reboot -serial "file:$d/qemu.log" -kernel "$kernel" -initrd "$d/initrd" \
		-append "$cmdline svmm_off=4" -device "vfio-pci,host=$bdf" >"$d/qemu.out" 2>&1
	rc=$?
	t_eq "QEMU peer: exits 0 at guest power-off" 0 "$rc"
	((rc == 0)) || sed 's/^/#   /' "$d/qemu.out" | tail -n 20
	guest_checks "QEMU peer" "$d/qemu.log" 4
else
	t_skip "QEMU peer" "no qemu-system-x86_64"
fi

# --- svmm
timeout 300 "$SVMM" run -v --kernel "$kernel" --initramfs "$d/initrd" --cmdline "$cmdline svmm_off=8" \
	--memory size=256M --device "path=$sys" --serial "file=$d/console.log" >"$d/out" 2>&1
rc=$?
t_eq "svmm exits 0 at guest power-off" 0 "$rc"
((rc == 0)) || sed 's/^/#   /' "$d/out" | tail -n 20
guest_checks svmm "$d/console.log" 8
sed 's/^/# svmm: /' "$d/out" | grep vfio
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
