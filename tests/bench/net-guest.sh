#!/usr/bin/env bash
# Benchmark: guest networking and vsock, svmm (its own data path, then
# vhost=on) against QEMU q35 with virtio-net-pci on the same TAP (vhost off,
# then on) and vhost-vsock-pci; same kernel, same guest. iperf3 in the guest
# against iperf3 on the host, both directions; vsock: 256 MiB from the guest
# to a host listener, timed in the guest. Each configuration runs
# BENCH_REPS times (default 3): the median is printed with the spread
# (min-max), and the ratios are of medians. Asserts nothing.
#
# Runs inside tools/kvm-sandbox (it calls it itself). Under the nested
# sandbox the absolute figures say little; the ratios are the point.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

if [[ -z ${SVMM_IN_SANDBOX:-} && ${1:-} != --inside ]]; then
	exec tools/kvm-sandbox --timeout 1500 -- "$0" --inside
fi
. tests/lib.sh
. tests/kvm/lib-netdev.sh
for p in iperf3 socat; do
	command -v "$p" >/dev/null || { echo "bench: $p missing (make deps)" >&2; exit 1; }
done
kernel=$(nd_kernel)
secs=${BENCH_RUNTIME:-5}
tap=svbn0
d=$(mktemp -d "${TMPDIR:-/tmp}/svmm-bench-net.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null; ip link del "$tap" 2>/dev/null; rm -rf "$d"' EXIT

cat >"$d/check.sh" <<GUEST
ip link set lo up
ip link set eth0 up
ip addr add 192.168.251.2/24 dev eth0
sleep 1
echo "SVMM-FACT tx=\$(iperf3 -c 192.168.251.1 -t $secs -f m 2>&1 | awk '/receiver/ {print \$7}')"
echo "SVMM-FACT rx=\$(iperf3 -c 192.168.251.1 -t $secs -f m -R 2>&1 | awk '/receiver/ {print \$7}')"
t0=\$(cut -d' ' -f1 /proc/uptime)
if dd if=/dev/zero bs=1M count=256 2>/dev/null | socat -u - VSOCK-CONNECT:2:5000; then
	t1=\$(cut -d' ' -f1 /proc/uptime)
	echo "SVMM-FACT vsock=\$(awk -v a=\$t0 -v b=\$t1 'BEGIN { if (b > a) printf "%d", 256 * 8 / (b - a) }')"
else
	echo "SVMM-FACT vsock_error=socat failed"
fi
GUEST
nd_initramfs "$d/initrd" "$d/check.sh" iperf3 socat

# One TAP for every run, addressed here: svmm opens it as it is.
ip tuntap add "$tap" mode tap
ip addr add 192.168.251.1/24 dev "$tap"
ip link set "$tap" up
iperf3 -s -B 192.168.251.1 >/dev/null 2>&1 &

reps=${BENCH_REPS:-3}
modprobe vhost_net 2>/dev/null

run_svmm() { # vhost=off|on, rep
	socat -u UNIX-LISTEN:"$d/v.sock_5000" OPEN:/dev/null &
	local sink=$!
	timeout 600 build/svmm run --kernel "$kernel" --initramfs "$d/initrd" \
		--cmdline "$ND_CMDLINE" --memory size=512M --net "tap=$tap,vhost=$1" \
		--vsock "cid=3,socket=$d/v.sock" --serial "file=$d/svmm-$1.$2.log" \
		>"$d/svmm-$1.$2.out" 2>&1 ||
		echo "bench: svmm run (vhost=$1) failed: $(tail -n3 "$d/svmm-$1.$2.out")" >&2
	kill "$sink" 2>/dev/null
	wait "$sink" 2>/dev/null
	rm -f "$d/v.sock" "$d/v.sock_5000"
}

run_qemu() { # vhost=off|on, rep
	socat -u VSOCK-LISTEN:5000 OPEN:/dev/null &
	local sink=$!
	timeout 600 qemu-system-x86_64 -accel kvm -M q35 -cpu host -smp 1 -m 512 -nographic \
		-nodefaults -no-reboot -kernel "$kernel" -initrd "$d/initrd" -append "$ND_CMDLINE" \
		-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=$1" \
		-device virtio-net-pci,netdev=n0 -device vhost-vsock-pci,guest-cid=3 \
		-serial "file:$d/qemu-$1.$2.log" >"$d/qemu-$1.$2.out" 2>&1 ||
		echo "bench: qemu (vhost=$1) failed: $(tail -n3 "$d/qemu-$1.$2.out")" >&2
	kill "$sink" 2>/dev/null
	wait "$sink" 2>/dev/null
}

echo "# guest: 1 vCPU, 512 MiB, iperf3 ${secs}s each way, 256 MiB over vsock; $reps runs each"
for ((r = 1; r <= reps; r++)); do
	for v in off on; do
		echo "svmm vhost=$v: run $r"
		run_svmm $v $r
		echo "qemu vhost=$v: run $r"
		run_qemu $v $r
	done
done

# median and spread of a figure over the runs of one configuration
stat() { # prefix fact
	for f in "$d/$1".*.log; do nd_fact "$f" "$2"; done | awk '$1 > 0' | sort -n |
		awk '{ v[NR] = $1 } END { if (!NR) { print "- -"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%g %g-%g\n", m, v[1], v[NR] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
printf '\n%-26s %-18s %-18s %-18s %-18s %7s %7s\n' "figure (median, min-max)" "svmm" "svmm vhost=on" \
	"qemu vhost=off" "qemu vhost=on" "s/q-off" "sv/q-on"
for f in tx:"guest -> host TCP Mbit/s" rx:"host -> guest TCP Mbit/s" vsock:"guest -> host vsock Mbit/s"; do
	k=${f%%:*}
	read -r s s_ <<<"$(stat svmm-off "$k")"
	read -r sv sv_ <<<"$(stat svmm-on "$k")"
	read -r a a_ <<<"$(stat qemu-off "$k")"
	read -r b b_ <<<"$(stat qemu-on "$k")"
	printf '%-26s %-18s %-18s %-18s %-18s %7s %7s\n' "${f#*:}" "$s ($s_)" "$sv ($sv_)" \
		"$a ($a_)" "$b ($b_)" "$(ratio "$s" "$a")" "$(ratio "$sv" "$b")"
done
echo "(s/q-off: svmm's own data path against QEMU's user-space virtio-net; sv/q-on: svmm vhost=on against QEMU vhost=on."
echo " The QEMU vsock figures go through vhost-vsock in both columns; svmm's through its hybrid Unix-socket muxer.)"
