#!/usr/bin/env bash
# svmm vfio without an IOMMU: the error paths name what is wrong (malformed
# and missing addresses, no IOMMU, no vfio-pci, usage); ls lists this
# machine's real PCI devices in its format; and, on a fake sysfs tree
# (SVMM_VFIO_SYSFS), the group's viability, --strict's refusal, and the
# writes of unbind (driver_override cleared, vfio-pci unbound, the
# remembered driver bound). Binding for real needs an IOMMU: the KVM tier's
# tests/kvm/vfio-nvme.sh does it in the --vfio sandbox.
. "$(dirname "$0")/../lib.sh"
d=$(t_tmpdir)
export SVMM_VFIO_STATE=$d/state

run() { # run EXPECTED_STATUS ARGS...: stdout and stderr, checks the status
	local want=$1 out rc
	shift
	out=$("$T_SVMM" "$@" 2>&1)
	rc=$?
	((rc == want)) || echo "status $rc, wanted $want"
	echo "$out"
}

# --- usage and malformed addresses
t_match "no subcommand: usage" '^usage: svmm vfio bind' "$(run 2 vfio)"
t_match "help" '^usage: svmm vfio bind' "$(run 0 vfio --help)"
t_match "unknown subcommand" "unknown subcommand 'frob' \(bind, unbind, ls\)" "$(run 2 vfio frob)"
t_match "bind without an address" 'bind: a PCI address \(BDF\) is required' "$(run 2 vfio bind)"
t_match "unbind without an address" 'unbind: a PCI address \(BDF\) is required' "$(run 2 vfio unbind)"
t_match "two addresses" "unexpected argument '00:02.0'" "$(run 2 vfio bind 00:01.0 00:02.0)"
t_match "ls with an argument" "ls: unexpected argument 'x'" "$(run 2 vfio ls x)"
t_match "--strict is bind's" '--strict is not an option of ls' "$(run 2 vfio ls --strict)"
t_match "--all is ls's" '--all is not an option of bind' "$(run 2 vfio bind --all 00:01.0)"
t_match "unknown option" 'usage: svmm vfio' "$(run 2 vfio bind --frob 00:01.0)"
# (00:01.0000, 00:01.00: the short form with more after it was taken as
# 0000:00:01.0; found by tests/fuzz/fuzz_vfio_host.c)
for bad in zz 0000:00:1f 0000:00:20.0 00:1f.8 0000:100:00.0 '00:01.0 ' 0000-00:01.0 ../00:01.0 \
	00:01.0000 00:01.00; do
	t_match "malformed address '$bad'" "'$bad' is not a PCI address: expected DDDD:BB:DD.F or BB:DD.F" \
		"$(run 2 vfio bind "$bad")"
done
t_match "missing device (bind)" 'no PCI device 0000:ff:1f.7 \(no /sys/bus/pci/devices/0000:ff:1f.7\)' \
	"$(run 1 vfio bind 0000:ff:1f.7)"
t_match "short form is domain 0, lower case" 'no PCI device 0000:fe:1f.7 ' "$(run 1 vfio bind FE:1F.7)"
t_match "missing device (unbind)" 'no PCI device 0000:ff:1f.7 ' "$(run 1 vfio unbind 0000:ff:1f.7)"

# --- this machine's real devices
out=$(run 0 vfio ls --all)
t_match "ls --all: header" '^BDF +ID +CLASS +DRIVER +GROUP +VIABLE' "$out"
n_sys=$(find /sys/bus/pci/devices -mindepth 1 -maxdepth 1 | wc -l)
t_eq "ls --all: one line per device in /sys/bus/pci/devices" "$n_sys" "$(($(wc -l <<<"$out") - 1))"
row='^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] +[0-9a-f]{4}:[0-9a-f]{4} +0x[0-9a-f]{6} +[^ ]+ +([0-9]+|-) +(yes|no|-)$'
bad=$(tail -n +2 <<<"$out" | grep -vE "$row")
t_eq "ls --all: every line is BDF vendor:device class driver group viable" "" "$bad"
first=$(find /sys/bus/pci/devices -mindepth 1 -maxdepth 1 -printf '%f\n' | LC_ALL=C sort | head -n1)
if [[ -n $first ]]; then
	f=/sys/bus/pci/devices/$first
	drv=-
	[[ -e $f/driver ]] && drv=$(basename "$(readlink "$f/driver")")
	grp=-
	[[ -e $f/iommu_group ]] && grp=$(basename "$(readlink "$f/iommu_group")")
	want="$first $(sed 's/^0x//' "$f/vendor"):$(sed 's/^0x//' "$f/device") $(cat "$f/class") $drv $grp"
	got=$(sed -n 2p <<<"$out" | awk '{print $1, $2, $3, $4, $5}')
	t_eq "ls --all: the first device as sysfs has it" "$want" "$got"
else
	t_skip "ls --all: the first device as sysfs has it" "this machine has no PCI devices"
fi
n_vfio=0
for f in /sys/bus/pci/devices/*/driver; do
	[[ -e $f && $(basename "$(readlink "$f")") == vfio-pci ]] && n_vfio=$((n_vfio + 1))
done
t_eq "ls: only the devices bound to vfio-pci ($n_vfio here)" "$n_vfio" "$(($(run 0 vfio ls | wc -l) - 1))"
if [[ -z $(ls -A /sys/kernel/iommu_groups 2>/dev/null) && -n $first ]]; then
	t_match "no IOMMU: the clear message" \
		'no IOMMU \(/sys/kernel/iommu_groups is empty\): boot with intel_iommu=on or amd_iommu=on' \
		"$(run 1 vfio bind "$first")"
	t_eq "no IOMMU: nothing remembered" "" "$(ls -A "$SVMM_VFIO_STATE" 2>/dev/null)"
else
	t_skip "no IOMMU: the clear message" "this machine has an IOMMU (or no PCI device)"
	t_skip "no IOMMU: nothing remembered" "this machine has an IOMMU (or no PCI device)"
fi
t_match "svmm help lists vfio" 'vfio +PCI devices to vfio-pci' "$("$T_SVMM" help)"

# --- a fake sysfs: group 1 holds an NVMe (nvme) and a NIC (e1000e), group 2
# a device already on vfio-pci, group 3 a device with a pcieport bridge
s=$d/sys
dev() { # dev BDF VENDOR DEVICE CLASS DRIVER|- GROUP|-
	local p=$s/bus/pci/devices/$1
	mkdir -p "$p" "$s/bus/pci/drivers"
	echo "0x$2" >"$p/vendor"; echo "0x$3" >"$p/device"; echo "0x$4" >"$p/class"
	: >"$p/driver_override"
	if [[ $5 != - ]]; then
		mkdir -p "$s/bus/pci/drivers/$5"
		: >"$s/bus/pci/drivers/$5/bind"; : >"$s/bus/pci/drivers/$5/unbind"
		ln -s "../../drivers/$5" "$p/driver"
	fi
	if [[ $6 != - ]]; then
		mkdir -p "$s/kernel/iommu_groups/$6/devices"
		ln -s "../../../kernel/iommu_groups/$6" "$p/iommu_group"
		ln -s "../../../../bus/pci/devices/$1" "$s/kernel/iommu_groups/$6/devices/$1"
	fi
}
dev 0000:00:03.0 1b36 0010 010802 nvme 1
dev 0000:00:04.0 8086 10d3 020000 e1000e 1
dev 0000:00:05.0 1b36 0010 010802 vfio-pci 2
dev 0000:00:06.0 8086 1234 060400 pcieport 3
dev 0000:00:07.0 8086 5678 030000 - 3
dev 0000:00:08.0 8086 9abc 060100 - -
: >"$s/bus/pci/drivers_probe"
export SVMM_VFIO_SYSFS=$s
want='BDF          ID        CLASS    DRIVER       GROUP VIABLE
0000:00:03.0 1b36:0010 0x010802 nvme         1     no
0000:00:04.0 8086:10d3 0x020000 e1000e       1     no
0000:00:05.0 1b36:0010 0x010802 vfio-pci     2     yes
0000:00:06.0 8086:1234 0x060400 pcieport     3     yes
0000:00:07.0 8086:5678 0x030000 -            3     yes
0000:00:08.0 8086:9abc 0x060100 -            -     -'
t_eq "fake sysfs: ls --all, viability per group" "$want" "$(run 0 vfio ls --all)"
t_eq "fake sysfs: ls" "$(sed -n '1p;4p' <<<"$want")" "$(run 0 vfio ls)"
t_match "no IOMMU group" 'bind: 0000:00:08.0 is in no IOMMU group' "$(run 1 vfio bind 00:08.0)"
mv "$s/bus/pci/drivers/vfio-pci" "$d/vfio-pci.away"
t_match "vfio-pci not loaded" "vfio-pci is not there \(no $s/bus/pci/drivers/vfio-pci\): load the vfio-pci module" \
	"$(run 1 vfio bind 00:03.0)"
mv "$d/vfio-pci.away" "$s/bus/pci/drivers/vfio-pci"
t_match "--strict refuses a group that is not viable" \
	'IOMMU group 1 is not viable: 0000:00:04.0 \(e1000e\) is held by a driver VFIO does not allow' \
	"$(run 1 vfio bind --strict 0000:00:03.0)"
t_eq "--strict: nothing written" "" "$(cat "$s/bus/pci/devices/0000:00:03.0/driver_override" \
	"$s/bus/pci/drivers/nvme/unbind" "$s/bus/pci/drivers_probe"; ls -A "$SVMM_VFIO_STATE" 2>/dev/null)"
t_match "bind of a device already on vfio-pci" \
	'^0000:00:05.0 bound to vfio-pci \(already\): iommu group 2, /dev/vfio/2$' "$(run 0 vfio bind 00:05.0)"
t_match "unbind of a device on another driver" \
	'unbind: 0000:00:03.0 is not bound to vfio-pci \(its driver is nvme\)' "$(run 1 vfio unbind 00:03.0)"
t_match "unbind of a device with no driver and no override" \
	'unbind: 0000:00:07.0 is not bound to vfio-pci \(it has no driver\)' "$(run 1 vfio unbind 00:07.0)"
# unbind's writes (the fake kernel does not move the driver link)
mkdir -p "$SVMM_VFIO_STATE"
echo nvme >"$SVMM_VFIO_STATE/0000:00:05.0.driver"
echo vfio-pci >"$s/bus/pci/devices/0000:00:05.0/driver_override"
: >"$s/bus/pci/drivers/nvme/bind"
run 0 vfio unbind 00:05.0 >/dev/null
t_eq "unbind: driver_override cleared" "" "$(tr -d 'a-z-' <"$s/bus/pci/devices/0000:00:05.0/driver_override")"
t_eq "unbind: unbound from vfio-pci" 0000:00:05.0 "$(cat "$s/bus/pci/drivers/vfio-pci/unbind")"
t_eq "unbind: bound to the remembered driver" 0000:00:05.0 "$(cat "$s/bus/pci/drivers/nvme/bind")"
t_eq "unbind: the remembered driver forgotten" "" "$(ls -A "$SVMM_VFIO_STATE")"
# no driver remembered: the kernel chooses (drivers_probe)
: >"$s/bus/pci/drivers/vfio-pci/unbind"
run 0 vfio unbind 00:05.0 >/dev/null
t_eq "unbind without a remembered driver: reprobed" 0000:00:05.0 "$(cat "$s/bus/pci/drivers_probe")"
# a broken tree (found by tests/fuzz/fuzz_vfio_host.c): IDs wider than
# theirs read as 0, and an iommu_group link whose name is no number is no
# group (atoi made 4294967298 group 2, whose devices then decided viability)
dev 0000:00:09.0 ffffffff 1234 12345678 - -
ln -s ../../../kernel/iommu_groups/4294967298 "$s/bus/pci/devices/0000:00:09.0/iommu_group"
t_eq "broken tree: wide IDs read as 0, a group that is no number is none" \
	'0000:00:09.0 0000:1234 0x000000 -            -     -' "$(run 0 vfio ls --all | grep '^0000:00:09.0')"
t_done
