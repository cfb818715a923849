#!/usr/bin/env bash
# svmm jail with a real guest: the project's kernel boots under the jail
# (cloud-hypervisor flags, uid/gid 12345, a pids cgroup, rlimits) with a
# raw disk and a TAP the jail opens and passes as fd=; the guest reads and
# writes the disk and sends 8 MiB to the host over TCP, then powers off;
# the jail exits 0 with the VMM. Seen from outside meanwhile: the VMM's
# ids, capabilities, root and devices. The VMM runs with --landlock too.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-netdev.sh"

d=$(t_tmpdir)
chmod 755 "$d"
# On the local file system: the VMM runs with --landlock, whose rules hold
# on inodes, and the sandbox's 9p share of the project (cache=none) makes a
# new inode at each lookup.
cp "$(nd_kernel)" "$d/bzImage"
kernel=$d/bzImage
uid=12345
id=svmm-kvm-$$
# the jail's base on a writable local file system (the sandbox's root is
# read-only): mknod and bind mounts work there
base=$d/jailer
jdir=$base/svmm/$id
head -c $((4 << 20)) /dev/urandom >"$d/disk.raw"
truncate -s 16M "$d/disk.raw"
chown $uid:$uid "$d/disk.raw"
sum_in=$(head -c $((4 << 20)) "$d/disk.raw" | sha256sum | cut -d' ' -f1)

cat >"$d/check.sh" <<'GUEST'
ip link set lo up
ip link set eth0 up
ip addr add 192.168.247.2/24 dev eth0
echo "SVMM-FACT sum_in=$(head -c $((4 << 20)) /dev/vda | sha256sum | cut -d' ' -f1)"
head -c $((4 << 20)) /dev/urandom >/tmp/pat
echo "SVMM-FACT sum_out=$(sha256sum </tmp/pat | cut -d' ' -f1)"
dd if=/tmp/pat of=/dev/vda bs=1M seek=4 conv=fsync 2>/dev/null && echo "SVMM-FACT wrote=ok"
ping -c 3 -W 2 192.168.247.1 >/dev/null && echo "SVMM-FACT ping=ok"
head -c $((8 << 20)) /dev/urandom >/tmp/g2h
echo "SVMM-FACT sum_g2h=$(sha256sum </tmp/g2h | cut -d' ' -f1)"
echo "SVMM-FACT ready=1"
sleep 2
socat -u OPEN:/tmp/g2h TCP:192.168.247.1:5003 && echo "SVMM-FACT sent=ok"
GUEST
nd_initramfs "$d/initrd" "$d/check.sh" socat

socat -u TCP-LISTEN:5003,reuseaddr OPEN:"$d/g2h",creat,trunc &
sink=$!
t_cleanup "kill $sink"
"$T_SVMM" jail --id "$id" --chroot-base "$base" --uid $uid --gid $uid --cgroup pids.max=64 \
	--resource-limit no-file=1024 -- "$T_SVMM" \
	--kernel "$kernel" --initramfs "$d/initrd" --cmdline "$ND_CMDLINE" \
	--memory size=512M --serial "file=$d/console.log" \
	--disk "path=$d/disk.raw" --net "tap=svj0,ip=192.168.247.1" --landlock >"$d/out" 2>&1 &
jail=$!
t_cleanup "kill -9 $jail"
# the guest's checks are ready, or the jail ended (then say why)
ready() {
	local i
	for ((i = 0; i < 240; i++)); do
		[[ -n $(nd_fact "$d/console.log" ready) ]] && return 0
		kill -0 "$jail" 2>/dev/null || return 1
		sleep 1
	done
	return 1
}
if ready; then
	pid=$(cat "$jdir/svmm.pid")
	t_cleanup "kill -9 $pid"
	st=$(cat "/proc/$pid/status")
	t_match "the VMM runs as uid $uid" "Uid:[[:space:]]+$uid[[:space:]]" "$st"
	t_match "with no capabilities" "CapEff:[[:space:]]+0000000000000000" "$st"
	t_match "and an empty bounding set" "CapBnd:[[:space:]]+0000000000000000" "$st"
	t_eq "its root is the jail's" "$(stat -c %d:%i "$jdir/root")" "$(stat -Lc %d:%i /proc/$pid/root/)"
	t_eq "its devices" "kvm net null urandom" "$(ls "/proc/$pid/root/dev" | xargs)"
	t_eq "the TAP the jail opened has the host address" "192.168.247.1/24" \
		"$(ip -o -4 addr show svj0 | awk '{print $4}')"
	t_match "the VMM got it as fd=" "--net ip=192.168.247.1,fd=[0-9]+" "$(tr '\0' ' ' <"/proc/$pid/cmdline")"
	t_ok "host pings the guest" busybox ping -c 3 -W 2 192.168.247.2
else
	t_fail "the jailed guest reached its checks" "console: $(tail -c 2000 "$d/console.log" 2>/dev/null)" \
		"jail: $(tail -c 2000 "$d/out")"
fi
wait "$jail"
t_eq "the jail exits 0 at guest power-off" 0 "$?"
log=$d/console.log
t_eq "the guest reads the disk" "$sum_in" "$(nd_fact "$log" sum_in)"
t_eq "the guest's write reached the disk file" "$(nd_fact "$log" sum_out)" \
	"$(dd if="$d/disk.raw" bs=1M skip=4 count=4 2>/dev/null | sha256sum | cut -d' ' -f1)"
t_eq "the guest pings the host" ok "$(nd_fact "$log" ping)"
t_eq "the guest sent 8 MiB" ok "$(nd_fact "$log" sent)"
[[ $(nd_fact "$log" sent) == ok ]] || kill "$sink" 2>/dev/null
wait "$sink" 2>/dev/null
t_eq "the host got them intact" "$(nd_fact "$log" sum_g2h)" "$(sha256sum <"$d/g2h" | cut -d' ' -f1)"
t_ok "the TAP is gone with the VMM" bash -c "! ip link show svj0 >/dev/null 2>&1"
t_ok "so is the jail's cgroup" test ! -d "/sys/fs/cgroup/svmm/$id" -a ! -d "/sys/fs/cgroup/pids/svmm/$id"
t_done
