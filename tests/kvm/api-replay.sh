#!/usr/bin/env bash
# The blueprint manager's exact sequence against svmm as cloud-hypervisor,
# with a real guest: spawn with only --api-socket, ping, vm.create with the
# manager's body (raw root, FAT seed read-only, qcow2 data, FAT service disk
# read-only, all direct=on; a TAP with ip and no mask; serial to a file;
# console off; vsock), vm.boot, the TAP up within 5 s, vm.power-button,
# vm.info polled until 404 or the connection closes within 30 s,
# vmm.shutdown. The guest reports its disks in order, its NIC in PCI slot 5,
# and connects to host port 8000 over vsock.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-netdev.sh"

kernel=$(nd_kernel)
d=$(t_tmpdir)
# O_DIRECT needs a real file system: an ext4 on a loop device (not tmpfs).
truncate -s 1G "$d/fs.img" && mkfs.ext4 -q "$d/fs.img" && mkdir "$d/m" &&
	mount -o loop "$d/fs.img" "$d/m" || { t_fail "loop ext4 for direct=on"; t_done; exit 1; }
t_cleanup "umount -l '$d/m'"
m=$d/m
id=7
tap=tap-tngl-$id
sock=$m/api.sock
vsock=$m/svc.sock

truncate -s 64M "$m/ubuntu.img"
mkdir -p "$m/svc/keystore/k1"
echo "#!/bin/sh" >"$m/svc/launch"
echo secret >"$m/svc/keystore/k1/key"
head -c 100000 /dev/urandom >"$m/svc/service"
"$T_SVMM" seed cloud-init --out "$m/cloud-init.img" --instance-id "$id" --hostname svc >/dev/null &&
	"$T_SVMM" seed service --out "$m/bin.img" --binary "$m/svc/service" --launch "$m/svc/launch" \
		--keystore "$m/svc/keystore" >/dev/null ||
	t_fail "seed images" "svmm seed failed"
qemu-img create -q -f qcow2 "$m/data.qcow2" 20G

cat >"$d/check.sh" <<'EOF'
for v in vda vdb vdc vdd; do
	echo "SVMM-FACT size_$v=$(cat /sys/block/$v/size 2>/dev/null) ro_$v=$(cat /sys/block/$v/ro 2>/dev/null)"
	# the FAT volume label, from the boot sector / root directory
	echo "SVMM-FACT label_$v=$(head -c 1048576 /dev/$v | grep -a -o -m1 'CIDATA\|SERVICEDISK' | head -n1)"
done
nic=$(ls /sys/class/net | grep -v lo | head -n1)
# the NIC's device is the virtio device; its parent is the PCI function
echo "SVMM-FACT nic_bdf=$(basename "$(readlink -f /sys/class/net/$nic/device/..)")"
echo "SVMM-FACT slot5=$(cat /sys/bus/pci/slots/5/address 2>/dev/null)"
echo "hello from the guest" | socat -t 5 - VSOCK-CONNECT:2:8000 && echo "SVMM-FACT vsock=sent"
for e in /sys/class/input/event*; do
	grep -q "Power Button" "$e/device/name" 2>/dev/null && ev=/dev/input/${e##*/}
done
echo "SVMM-WAITING-POWER-BUTTON ${ev:-none}"
[ -n "$ev" ] && head -c 24 "$ev" >/dev/null && echo "SVMM-FACT power_button=pressed"
EOF
nd_initramfs "$d/initrd" "$d/check.sh" socat

cat >"$d/create.json" <<EOF
{
  "memory":  {"size": 4294967296, "shared": true},
  "payload": {"kernel": "$kernel",
              "cmdline": "console=ttyS0 reboot=k panic=-1 quiet",
              "initramfs": "$d/initrd"},
  "disks": [
    {"path": "$m/ubuntu.img", "readonly": false, "direct": true},
    {"path": "$m/cloud-init.img", "readonly": true, "direct": true},
    {"path": "$m/data.qcow2", "readonly": false, "direct": true},
    {"path": "$m/bin.img", "readonly": true, "direct": true}
  ],
  "net":    [{"tap": "$tap", "ip": "172.30.200.1"}],
  "serial": {"file": "$d/guest.log", "mode": "File"},
  "console": {"mode": "Off"},
  "vsock":  {"cid": $((id + 3)), "socket": "$vsock"}
}
EOF

api() { # METHOD PATH [BODY-FILE] -> prints the HTTP status
	local args=(-s -o "$d/resp" -w '%{http_code}' --max-time 60 --unix-socket "$sock" -X "$1")
	[[ -n ${3:-} ]] && args+=(-H 'Content-Type: application/json' --data-binary "@$3")
	curl "${args[@]}" "http://localhost/api/v1/$2"
}

socat -u "UNIX-LISTEN:${vsock}_8000,fork" "OPEN:$d/vsock.out,creat,append" &
listener=$!
t_cleanup "kill $listener"
"$T_SVMM" --api-socket "$sock" >"$d/svmm.out" 2>&1 &
pid=$!
t_cleanup "kill -9 $pid"
for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.1; done
t_eq "vmm.ping" 200 "$(api GET vmm.ping)"
t_eq "vm.create with the manager's body" 204 "$(api PUT vm.create "$d/create.json")"
code=$(api PUT vm.boot)
t_eq "vm.boot" 204 "$code"
if [[ $code != 204 ]]; then
	t_fail "vm.boot failed: the rest cannot run" "answer: $(cat "$d/resp")" \
		"svmm: $(tail -n 5 "$d/svmm.out")"
	t_done
	exit 1
fi
up=
for _ in $(seq 50); do
	[[ -e /sys/class/net/$tap ]] && (($(cat /sys/class/net/$tap/flags) & 1)) && { up=1; break; }
	sleep 0.1
done
t_eq "the TAP exists and is up within 5 s of vm.boot" 1 "$up"
t_match "the TAP has 172.30.200.1/24" "inet 172.30.200.1/24" "$(ip -4 addr show "$tap" 2>&1)"
api GET vm.info >/dev/null
info=$(tr -d '\n' <"$d/resp")
t_match "vm.info says Running" '"state": *"Running"' "$info"
t_match "vm.info shows the mask default for net" '"mask": *"255\.255\.255\.0"' "$info"
for _ in $(seq 600); do grep -q SVMM-WAITING-POWER-BUTTON "$d/guest.log" 2>/dev/null && break; sleep 0.5; done
t_ok "the guest came up and waits for the power button" grep -q SVMM-WAITING-POWER-BUTTON "$d/guest.log"
t_eq "vm.power-button" 204 "$(api PUT vm.power-button)"
ended=
for _ in $(seq 60); do
	code=$(api GET vm.info)
	[[ $code == 404 || $code == 000 ]] && { ended=$code; break; }
	sleep 0.5
done
t_match "vm.info gives 404 or the connection closes within 30 s" '^(404|000)$' "$ended"
api PUT vmm.shutdown >/dev/null
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
t_ok "svmm has exited" bash -c "! kill -0 $pid 2>/dev/null"

log=$d/guest.log
t_eq "the guest saw the power button" pressed "$(nd_fact "$log" power_button)"
t_eq "vda: the raw root disk, 64 MiB" "$((64 << 11)) ro_vda=0" "$(nd_fact "$log" size_vda)"
t_eq "vdb: the cloud-init seed, read-only" "CIDATA" "$(nd_fact "$log" label_vdb)"
t_match "vdb is read-only" "ro_vdb=1" "$(grep 'size_vdb=' "$log")"
t_eq "vdc: the qcow2 data disk, 20 GiB" "$((20 << 21)) ro_vdc=0" "$(nd_fact "$log" size_vdc)"
t_eq "vdd: the service disk, read-only" "SERVICEDISK" "$(nd_fact "$log" label_vdd)"
t_match "vdd is read-only" "ro_vdd=1" "$(grep 'size_vdd=' "$log")"
t_eq "the NIC is at 00:05.0" "0000:00:05.0" "$(nd_fact "$log" nic_bdf)"
t_eq "PCI slot 5 is the NIC's" "0000:00:05" "$(nd_fact "$log" slot5)"
t_eq "the guest's vsock connection reached ${vsock##*/}_8000" "hello from the guest" \
	"$(cat "$d/vsock.out" 2>/dev/null)"
t_eq "the TAP is gone after svmm" "" "$(ip -o link show "$tap" 2>/dev/null)"
t_ok "the qcow2 data disk is clean" qemu-img check -q "$m/data.qcow2"
t_done
