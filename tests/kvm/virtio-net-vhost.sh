#!/usr/bin/env bash
# virtio-net with vhost=on in a real guest: a NIC with two queue pairs, each
# handed to the kernel's vhost-net (its own vhost worker), the control queue
# (the guest turns both pairs on) still served by svmm; every interrupt
# through an irqfd. Ping both ways and a 64 MiB TCP transfer each way with
# checksums; while it runs, svmm holds one /dev/vhost-net per pair and a
# vhost worker thread exists for it. A host without /dev/vhost-net gets a
# clear error naming the flag.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-netdev.sh"

kernel=$(nd_kernel)
d=$(t_tmpdir)
modprobe vhost_net 2>/dev/null
if [[ ! -c /dev/vhost-net ]]; then
	t_fail "/dev/vhost-net" "this KVM host has no vhost-net (modprobe vhost_net)"
	t_done
fi
head -c $((64 << 20)) /dev/urandom >"$d/h2g"
sum_h2g=$(sha256sum <"$d/h2g" | cut -d' ' -f1)

cat >"$d/check.sh" <<'GUEST'
ip link set lo up
ip link set eth0 up
ip addr add 192.168.248.2/24 dev eth0
echo "SVMM-FACT queues=$(ls -d /sys/class/net/eth0/queues/rx-* | wc -l)"
ping -c 3 -W 2 192.168.248.1 >/dev/null && echo "SVMM-FACT ping=ok"
head -c $((64 << 20)) /dev/urandom >/tmp/g2h
echo "SVMM-FACT sum_g2h=$(sha256sum </tmp/g2h | cut -d' ' -f1)"
socat -u OPEN:/tmp/g2h TCP:192.168.248.1:5011 && echo "SVMM-FACT sent_g2h=ok"
rm /tmp/g2h
socat -u TCP-LISTEN:5012,reuseaddr OPEN:/tmp/h2g,creat,trunc &
sleep 0.5
echo "SVMM-FACT listening=1"
wait
echo "SVMM-FACT sum_h2g=$(sha256sum </tmp/h2g | cut -d' ' -f1)"
GUEST
nd_initramfs "$d/initrd" "$d/check.sh" socat

socat -u TCP-LISTEN:5011,reuseaddr OPEN:"$d/g2h",creat,trunc &
sink=$!
t_cleanup "kill $sink"
"$T_SVMM" run --kernel "$kernel" --initramfs "$d/initrd" --cmdline "$ND_CMDLINE" \
	--memory size=512M --cpus boot=2 --serial "file=$d/console.log" \
	--net "tap=svv0,ip=192.168.248.1,num_queues=4,vhost=on" >"$d/out" 2>&1 &
vmm=$!
t_cleanup "kill -9 $vmm"
if nd_wait_fact "$d/console.log" listening 240 >/dev/null; then
	t_ok "host pings the guest" busybox ping -c 3 -W 2 192.168.248.2
	t_eq "one /dev/vhost-net per queue pair" 2 \
		"$(ls -l /proc/$vmm/fd 2>/dev/null | grep -c /dev/vhost-net)"
	# named after the svmm thread that took ownership: a kernel thread before
	# Linux 6.4 (and its backports), a thread of svmm after
	tids=$(ls /proc/$vmm/task 2>/dev/null | paste -sd'|')
	t_match "a vhost worker runs for svmm" "^vhost-($tids)\$" \
		"$( (ps -e -o comm=; cat /proc/$vmm/task/*/comm) 2>/dev/null | grep -E "^vhost-($tids)\$" | head -n1)"
	t_ok "host sends 64 MiB to the guest" socat -u OPEN:"$d/h2g" TCP:192.168.248.2:5012
else
	t_fail "guest reached its listener" "console: $(tail -c 2000 "$d/console.log" 2>/dev/null); svmm: $(tail -c 1000 "$d/out")"
fi
wait "$vmm"
t_eq "svmm exits 0 at guest power-off" 0 "$?"
log=$d/console.log
t_eq "the guest sees two queue pairs" 2 "$(nd_fact "$log" queues)"
t_eq "guest pings the host" ok "$(nd_fact "$log" ping)"
t_eq "guest sent 64 MiB" ok "$(nd_fact "$log" sent_g2h)"
wait "$sink"
t_eq "guest -> host data intact" "$(nd_fact "$log" sum_g2h)" "$(sha256sum <"$d/g2h" | cut -d' ' -f1)"
t_eq "host -> guest data intact" "$sum_h2g" "$(nd_fact "$log" sum_h2g)"

# not a vhost-net (/dev/null in its place): a clear error naming the option
out=$(unshare --mount bash -c "mount --bind /dev/null /dev/vhost-net && '$T_SVMM' run \
	--kernel '$kernel' --initramfs '$d/initrd' --memory size=128M --net 'tap=svv1,vhost=on'" 2>&1)
rc=$?
t_eq "vhost=on on a host without vhost-net fails" 1 "$((rc != 0))"
t_match "the error names vhost=on and the device" "vhost=on: /dev/vhost-net" "$out"
t_eq "its TAP is gone" "" "$(ip -o link show svv1 2>/dev/null)"
t_done
