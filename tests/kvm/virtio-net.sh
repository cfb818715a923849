#!/usr/bin/env bash
# virtio-net with a real guest (runs once svmm boots guests with PCI
# devices): two NICs on TAPs svmm creates, the host side addressed as the
# blueprint manager does it (ip= without mask: a /24), one with mtu=9000;
# ping both ways, a 64 MiB TCP transfer each way with checksums, the MTU and
# a locally administered random MAC seen by the guest, and the TAPs gone
# when svmm exits.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-netdev.sh"

kernel=$(nd_kernel)
d=$(t_tmpdir)
head -c $((64 << 20)) /dev/urandom >"$d/h2g"
sum_h2g=$(sha256sum <"$d/h2g" | cut -d' ' -f1)

cat >"$d/check.sh" <<'GUEST'
ip link set lo up
for n in /sys/class/net/eth*; do ip link set "${n##*/}" up; done
ip addr add 192.168.249.2/24 dev eth0
ip addr add 192.168.250.2/24 dev eth1
echo "SVMM-FACT mac0=$(cat /sys/class/net/eth0/address)"
echo "SVMM-FACT mtu1=$(cat /sys/class/net/eth1/mtu)"
echo "SVMM-FACT driver0=$(basename "$(readlink /sys/class/net/eth0/device/driver)")"
ping -c 3 -W 2 192.168.249.1 >/dev/null && echo "SVMM-FACT ping0=ok"
ping -c 3 -W 2 -s 8000 192.168.250.1 >/dev/null && echo "SVMM-FACT ping1_jumbo=ok"
# guest -> host
head -c $((64 << 20)) /dev/urandom >/tmp/g2h
echo "SVMM-FACT sum_g2h=$(sha256sum </tmp/g2h | cut -d' ' -f1)"
socat -u OPEN:/tmp/g2h TCP:192.168.249.1:5001 && echo "SVMM-FACT sent_g2h=ok"
rm /tmp/g2h
# host -> guest over the jumbo NIC
socat -u TCP-LISTEN:5002,reuseaddr OPEN:/tmp/h2g,creat,trunc &
sleep 0.5
echo "SVMM-FACT listening=1"
wait
echo "SVMM-FACT sum_h2g=$(sha256sum </tmp/h2g | cut -d' ' -f1)"
GUEST
nd_initramfs "$d/initrd" "$d/check.sh" socat

socat -u TCP-LISTEN:5001,reuseaddr OPEN:"$d/g2h",creat,trunc &
sink=$!
t_cleanup "kill $sink"
"$T_SVMM" run --kernel "$kernel" --initramfs "$d/initrd" --cmdline "$ND_CMDLINE" \
	--memory size=512M --serial "file=$d/console.log" \
	--net "tap=svk0,ip=192.168.249.1" "tap=svk1,ip=192.168.250.1,mtu=9000" >"$d/out" 2>&1 &
vmm=$!
t_cleanup "kill -9 $vmm"
if nd_wait_fact "$d/console.log" listening 180 >/dev/null; then
	t_ok "host pings the guest" busybox ping -c 3 -W 2 192.168.249.2
	t_eq "host side of a new TAP: ip with the default /24" "192.168.249.1/24" \
		"$(ip -o -4 addr show svk0 | awk '{print $4}')"
	t_ok "host sends 64 MiB to the guest" socat -u OPEN:"$d/h2g" TCP:192.168.250.2:5002
else
	t_fail "guest reached its listener" "console: $(tail -c 2000 "$d/console.log" 2>/dev/null)"
fi
wait "$vmm"
t_eq "svmm exits 0 at guest power-off" 0 "$?"
log=$d/console.log
t_eq "the NIC is virtio-net" virtio_net "$(nd_fact "$log" driver0)"
mac=$(nd_fact "$log" mac0)
t_match "random MAC, locally administered and unicast" '^[0-9a-f][26ae]:' "$mac"
t_eq "mtu=9000 reaches the guest (VIRTIO_NET_F_MTU)" 9000 "$(nd_fact "$log" mtu1)"
t_eq "guest pings the host" ok "$(nd_fact "$log" ping0)"
t_eq "8000-byte pings over the jumbo NIC" ok "$(nd_fact "$log" ping1_jumbo)"
t_eq "guest sent 64 MiB" ok "$(nd_fact "$log" sent_g2h)"
wait "$sink"
t_eq "guest -> host data intact" "$(nd_fact "$log" sum_g2h)" "$(sha256sum <"$d/g2h" | cut -d' ' -f1)"
t_eq "host -> guest data intact" "$sum_h2g" "$(nd_fact "$log" sum_h2g)"
t_eq "TAPs svmm created are gone" "" "$(ip -o link show svk0 2>/dev/null; ip -o link show svk1 2>/dev/null)"
t_done
