#!/usr/bin/env bash
# VFIO hotplug (issues 20 and 23): in the tools/kvm-sandbox --vfio boot, svmm
# as cloud-hypervisor boots a Debian-kernel guest with no device; vm.add-device
# hands it the sandbox's NVMe (bound to vfio-pci) while it runs, the guest's
# acpiphp finds it and its nvme driver does I/O (1 MiB with O_DIRECT read
# back); vm.remove-device ejects it: the guest lets it go, the VMM releases
# it, and the device is still on vfio-pci for the next VM.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-guest.sh"
. "$(dirname "$0")/lib-netdev.sh"
. "$(dirname "$0")/lib-vfio.sh"

bdf=${SVMM_SANDBOX_VFIO_BDF:-${SVMM_VFIO_BDF:-}}
vf_need "an NVMe" "$bdf" SVMM_SANDBOX_VFIO_BDF "set SVMM_VFIO_BDF to an NVMe's PCI address (its data is overwritten)" || { t_done; exit; }
vf_kernel || { t_fail "Debian's kernel" "none under /var/cache/svmm/sandbox"; t_done; exit 1; }
d=$(t_tmpdir)
sock=$d/api.sock
log=$d/guest.log
t_cleanup "'$T_BUILD/svmm' vfio unbind '$bdf' >/dev/null 2>&1"
out=$("$T_SVMM" vfio bind "$bdf" 2>&1)
t_match "svmm vfio bind" "^$bdf bound to vfio-pci" "$out"

cat >"$d/check.sh" <<'GUEST'
for m in $(cat /modules/order); do insmod /modules/$m || echo "insmod $m failed"; done
echo "GUEST-READY"
i=0
while [ ! -b /dev/nvme0n1 ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/nvme0n1 ] && echo "SVMM-FACT nvme=yes" || echo "SVMM-FACT nvme=no"
head -c 1048576 /dev/urandom >/tmp/pat
dd if=/tmp/pat of=/dev/nvme0n1 bs=1M seek=12 count=1 oflag=direct 2>/dev/null && echo "SVMM-FACT write=ok"
dd if=/dev/nvme0n1 of=/tmp/back bs=1M skip=12 count=1 iflag=direct 2>/dev/null && echo "SVMM-FACT read=ok"
echo "SVMM-FACT sum_w=$(sha256sum </tmp/pat | cut -d' ' -f1)"
echo "SVMM-FACT sum_r=$(sha256sum </tmp/back | cut -d' ' -f1)"
echo "SVMM-FACT irqs=$(awk '/nvme/ {s += $2} END {print s + 0}' /proc/interrupts)"
i=0
while [ -b /dev/nvme0n1 ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/nvme0n1 ] && echo "SVMM-FACT gone=no" || echo "SVMM-FACT gone=yes"
while :; do sleep 1; done
GUEST
mods=$(vf_initramfs "$d/initrd" "$d/check.sh" "$moddir" crct10dif_generic crc64_rocksoft_generic nvme)
t_match "nvme.ko and its dependencies found" 'nvme\.ko' "$mods"

cat >"$d/create.json" <<EOF
{
  "cpus":    {"boot_vcpus": 1, "max_vcpus": 1},
  "memory":  {"size": 268435456},
  "payload": {"kernel": "$kernel", "cmdline": "console=ttyS0 reboot=k panic=-1", "initramfs": "$d/initrd"},
  "serial":  {"file": "$log", "mode": "File"},
  "console": {"mode": "Off"}
}
EOF
api() { # METHOD PATH [BODY-FILE] -> prints the HTTP status; the body in $d/resp
	local args=(-s -o "$d/resp" -w '%{http_code}' --max-time 60 --unix-socket "$sock" -X "$1")
	[[ -n ${3:-} ]] && args+=(-H 'Content-Type: application/json' --data-binary "@$3")
	curl "${args[@]}" "http://localhost/api/v1/$2"
}
"$T_SVMM" --api-socket "$sock" -v >"$d/svmm.out" 2>&1 &
pid=$!
t_cleanup "kill -9 $pid 2>/dev/null"
for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.1; done
t_eq "vm.create (no device)" 204 "$(api PUT vm.create "$d/create.json")"
t_eq "vm.boot" 204 "$(api PUT vm.boot)"
for _ in $(seq 1800); do grep -q GUEST-READY "$log" 2>/dev/null && break; sleep 0.1; done
t_ok "the guest runs" grep -q GUEST-READY "$log"
printf '{"path": "/sys/bus/pci/devices/%s", "id": "nvme-hot"}' "$bdf" >"$d/dev.json"
t_eq "vm.add-device on the running VM: 200" 200 "$(api PUT vm.add-device "$d/dev.json")" ||
	sed 's/^/#   /' "$d/resp"
t_eq "its id" nvme-hot "$(jq -r .id <"$d/resp" 2>/dev/null)"
t_eq "the guest's nvme driver finds the hot-added NVMe" yes "$(nd_wait_fact "$log" nvme 150)" ||
	tail -n 30 "$log" | tr -d '\r' | sed 's/^/#   console: /'
t_eq "O_DIRECT write" ok "$(nd_wait_fact "$log" write 60)"
t_eq "O_DIRECT read" ok "$(nd_wait_fact "$log" read 60)"
t_eq "read back what was written" "$(nd_fact "$log" sum_w)" "$(nd_wait_fact "$log" sum_r 30)"
t_match "its interrupts counted" '^[1-9]' "$(nd_wait_fact "$log" irqs 30)"
printf '{"id": "nvme-hot"}' >"$d/rm.json"
t_eq "vm.remove-device: 204" 204 "$(api PUT vm.remove-device "$d/rm.json")"
t_eq "the guest lets it go" yes "$(nd_wait_fact "$log" gone 150)"
for _ in $(seq 100); do grep -q '(nvme-hot) ejected by the guest' "$d/svmm.out" && break; sleep 0.1; done
t_match "the VMM released it at the guest's eject" '\(nvme-hot\) ejected by the guest' "$(cat "$d/svmm.out")"
t_eq "no /dev/vfio group held by svmm" 0 "$(ls -l /proc/$pid/fd 2>/dev/null | grep -c '/dev/vfio/[0-9]')"
t_eq "vm.shutdown" 204 "$(api PUT vm.shutdown)"
t_eq "vmm.shutdown" 200 "$(api PUT vmm.shutdown)"
wait "$pid"
t_eq "svmm's exit status" 0 "$?"
t_eq "still on vfio-pci" vfio-pci "$(vf_driver "$bdf")"
t_eq "no thread was refused a call (seccomp)" "" "$(grep 'seccomp: thread' "$d/svmm.out")"
t_done
