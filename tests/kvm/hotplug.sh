#!/usr/bin/env bash
# PCI hotplug of disks (issue 20) with a real guest, svmm as cloud-hypervisor
# (API socket, default seccomp): the VM boots with no disk; vm.add-disk on
# the running VM answers cloud-hypervisor's PciDeviceInfo, the guest's
# acpiphp (ACPI GED -> PCNT -> Notify) finds the disk, reads what the host
# wrote and writes to it (the bytes reach the image); vm.info lists it;
# vm.remove-device asks the guest to eject it, and after its _EJ0 the VMM
# frees the device (the image closed, its threads gone). Then 20 add/remove
# rounds leave no fd or thread behind. Refusals: an unknown id (404), a
# missing image (an error naming it), bad JSON (400). Then a NIC whose TAP fd
# travels as SCM_RIGHTS (the guest pings the host over it) and a virtio-fs
# share (the guest mounts and reads it), each added and removed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-netdev.sh"

kernel=$(nd_kernel)
d=$(t_tmpdir)
sock=$d/api.sock
log=$d/guest.log

cat >"$d/check.sh" <<'GUEST'
seen=none
fsdone=
netdone=
while :; do
	if [ -z "$netdone" ] && ip link show eth0 >/dev/null 2>&1; then
		ip link set eth0 up && ip addr add 172.31.8.2/24 dev eth0
		ping -c 3 -W 2 172.31.8.1 >/dev/null 2>&1 && echo "NET ping ok" || echo "NET ping failed"
		netdone=1
	fi
	if [ -n "$netdone" ] && [ "$netdone" != gone ] && ! ip link show eth0 >/dev/null 2>&1; then
		echo "NET gone"
		netdone=gone
	fi
	if [ -z "$fsdone" ] && mount -t virtiofs hpfs /mnt 2>/dev/null; then
		echo "FS $(cat /mnt/hello)"
		umount /mnt && echo "FS unmounted"
		fsdone=1
	fi
	cur=$(ls /sys/block | grep '^vd' | tr '\n' ' ')
	if [ "$cur" != "$seen" ]; then
		echo "BLK [$cur]"
		for b in $cur; do
			case " $seen " in
			*" $b "*) ;;
			*)
				data=$(dd if=/dev/$b bs=4096 skip=1 count=1 2>/dev/null | head -c 16)
				echo "NEW $b $data"
				printf "GUEST-WROTE-%s" "$b" | dd of=/dev/$b bs=512 seek=16 conv=fsync 2>/dev/null &&
					echo "WROTE $b"
				;;
			esac
		done
		seen=$cur
	fi
	usleep 100000
done
GUEST
nd_initramfs "$d/initrd" "$d/check.sh"

cat >"$d/create.json" <<EOF
{
  "cpus":    {"boot_vcpus": 1, "max_vcpus": 1},
  "memory":  {"size": 268435456, "shared": true},
  "payload": {"kernel": "$kernel", "cmdline": "$ND_CMDLINE", "initramfs": "$d/initrd"},
  "serial":  {"file": "$log", "mode": "File"},
  "console": {"mode": "Off"}
}
EOF
mkimg() { # mkimg FILE TEXT: 8 MiB, TEXT at 4096
	truncate -s 8M "$1"
	printf '%s' "$2" | dd of="$1" bs=4096 seek=1 conv=notrunc 2>/dev/null
}

api() { # METHOD PATH [BODY-FILE] -> prints the HTTP status; the body in $d/resp
	local args=(-s -o "$d/resp" -w '%{http_code}' --max-time 60 --unix-socket "$sock" -X "$1")
	[[ -n ${3:-} ]] && args+=(-H 'Content-Type: application/json' --data-binary "@$3")
	curl "${args[@]}" "http://localhost/api/v1/$2"
}
body() { printf '%s' "$1" >"$d/body.json"; echo "$d/body.json"; }
console() { tr -d '\r' <"$log" 2>/dev/null; }
wait_line() { # wait_line REGEX SECS: a console line matching REGEX after the mark
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		tail -c +"$mark" "$log" 2>/dev/null | tr -d '\r' | grep -qaE "$1" && return 0
		sleep 0.1
	done
	return 1
}
set_mark() { mark=$(($(stat -c %s "$log" 2>/dev/null || echo 0) + 1)); }
fds_on() { ls -l /proc/"$pid"/fd 2>/dev/null | grep -c "$1"; }
nthreads() { ls /proc/"$pid"/task | wc -l; }
nfds() { ls /proc/"$pid"/fd | wc -l; }

"$T_SVMM" --api-socket "$sock" -v >"$d/svmm.out" 2>&1 &
pid=$!
t_cleanup "kill -9 $pid"
for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.1; done
t_eq "vmm.ping" 200 "$(api GET vmm.ping)"
t_eq "vm.create (no disk)" 204 "$(api PUT vm.create "$d/create.json")"
mark=1
code=$(api PUT vm.boot)
t_eq "vm.boot" 204 "$code"
if [[ $code != 204 ]] || ! wait_line '^BLK \[\]$' 240; then
	t_fail "the guest runs and sees no disk" "answer: $(cat "$d/resp")" \
		"console: $(console | tail -n 20)" "svmm: $(tail -n 5 "$d/svmm.out")"
	t_done
	exit 1
fi
t_pass "the guest runs and sees no disk"
sleep 1
threads0=$(nthreads) fds0=$(nfds)

# --- hot-add
mkimg "$d/one.img" HOSTDATA-one
set_mark
code=$(api PUT vm.add-disk "$(body "{\"path\": \"$d/one.img\"}")")
t_eq "vm.add-disk on the running VM: 200" 200 "$code"
t_eq "it answers the id (cloud-hypervisor's name)" _disk0 "$(jq -r .id <"$d/resp" 2>/dev/null)"
bdf=$(jq -r .bdf <"$d/resp" 2>/dev/null)
t_match "and the PCI address" '^0000:00:[0-9a-f]{2}\.0$' "$bdf"
if wait_line '^NEW vda HOSTDATA-one$' 60; then
	t_pass "the guest finds the disk and reads the host's bytes"
else
	t_fail "the guest finds the disk and reads the host's bytes" "console: $(console | tail -n 30)" \
		"svmm: $(tail -n 10 "$d/svmm.out")"
fi
wait_line '^WROTE vda$' 30
t_eq "the guest's write reached the image" GUEST-WROTE-vda \
	"$(dd if="$d/one.img" bs=512 skip=16 count=1 2>/dev/null | head -c 15)"
api GET vm.info >/dev/null
t_eq "vm.info lists it" "$d/one.img" "$(jq -r '.config.disks[0].path' <"$d/resp")"
t_eq "vm.info: its id" _disk0 "$(jq -r '.config.disks[0].id' <"$d/resp")"
t_eq "the VMM holds the image open" 1 "$(fds_on "$d/one.img")"

# --- hot-remove
set_mark
t_eq "vm.remove-device: 204" 204 "$(api PUT vm.remove-device "$(body '{"id": "_disk0"}')")"
if wait_line '^BLK \[\]$' 60; then
	t_pass "the guest lets the disk go"
else
	t_fail "the guest lets the disk go" "console: $(console | tail -n 30)"
fi
for _ in $(seq 50); do [[ $(fds_on "$d/one.img") == 0 ]] && break; sleep 0.1; done
t_eq "the VMM closed the image" 0 "$(fds_on "$d/one.img")"
t_match "the VMM freed it at the guest's eject" 'ejected by the guest: removed' "$(cat "$d/svmm.out")"
api GET vm.info >/dev/null
t_eq "vm.info: no disk" 0 "$(jq '.config.disks // [] | length' <"$d/resp")"
t_eq "vm.remove-device of an unknown id: 404" 404 "$(api PUT vm.remove-device "$(body '{"id": "_disk0"}')")"

# --- refusals
code=$(api PUT vm.add-disk "$(body "{\"path\": \"$d/missing.img\"}")")
t_match "vm.add-disk of a missing image: refused" '^(4|5)[0-9][0-9]$' "$code"
t_match "the error names the image" 'missing\.img' "$(cat "$d/resp")"
t_eq "vm.add-disk with bad JSON: 400" 400 "$(api PUT vm.add-disk "$(body '{"path": ')")"
t_eq "the VMM still serves" 200 "$(api GET vmm.ping)"

# --- 20 rounds, nothing left behind
mkimg "$d/two.img" HOSTDATA-two
ok=0
for r in $(seq 20); do
	set_mark
	code=$(api PUT vm.add-disk "$(body "{\"path\": \"$d/two.img\", \"id\": \"round$r\"}")")
	[[ $code == 200 ]] || { echo "# round $r: add-disk $code $(cat "$d/resp")"; break; }
	wait_line '^NEW vd[a-z] HOSTDATA-two$' 60 || { echo "# round $r: the guest did not see it"; break; }
	set_mark
	code=$(api PUT vm.remove-device "$(body "{\"id\": \"round$r\"}")")
	[[ $code == 204 ]] || { echo "# round $r: remove-device $code $(cat "$d/resp")"; break; }
	wait_line '^BLK \[\]$' 60 || { echo "# round $r: the guest kept it"; break; }
	for _ in $(seq 50); do [[ $(fds_on "$d/two.img") == 0 ]] && break; sleep 0.1; done
	ok=$r
done
echo "# $ok rounds in $SECONDS s since the start"
t_eq "20 add/remove rounds" 20 "$ok"
sleep 1
t_eq "no thread left behind" "$threads0" "$(nthreads)"
t_eq "no fd left behind" "$fds0" "$(nfds)"
t_eq "the VMM still serves" 200 "$(api GET vmm.ping)"

# --- a NIC whose TAP fd comes over SCM_RIGHTS, in and out
tap=tap-hp-$$
tap=${tap:0:15}
ip tuntap add "$tap" mode tap vnet_hdr && ip addr add 172.31.8.1/24 dev "$tap" && ip link set "$tap" up
t_cleanup "ip link del '$tap' 2>/dev/null"
cat >"$d/addnet.py" <<'PY'
import array, fcntl, json, os, socket, struct, sys
sock, tap = sys.argv[1], sys.argv[2]
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", tap.encode(), 0x0002 | 0x1000 | 0x4000))
body = json.dumps({"id": "hpnet0"}).encode()
req = (b"PUT /api/v1/vm.add-net HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
       b"Content-Length: %d\r\n\r\n" % len(body)) + body
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock)
s.sendmsg([req], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
os.close(fd)
print(s.recv(65536).decode(errors="replace").split("\r\n", 1)[0].split(" ")[1])
PY
set_mark
t_eq "vm.add-net with the TAP fd over SCM_RIGHTS on the running VM: 200" 200 \
	"$(python3 "$d/addnet.py" "$sock" "$tap" 2>"$d/addnet.err")" || sed 's/^/#   /' "$d/addnet.err"
if wait_line '^NET ping ok$' 90; then
	t_pass "the guest pings the host over the hot-added NIC"
else
	t_fail "the guest pings the host over the hot-added NIC" "console: $(console | tail -n 20)"
fi
t_eq "the VMM holds the TAP" 1 "$(ls -l /proc/$pid/fd 2>/dev/null | grep -c /dev/net/tun)"
set_mark
t_eq "vm.remove-device of the NIC: 204" 204 "$(api PUT vm.remove-device "$(body '{"id": "hpnet0"}')")"
wait_line '^NET gone$' 60
t_ok "the guest lets the NIC go" wait_line '^NET gone$' 1
for _ in $(seq 50); do [[ $(ls -l /proc/$pid/fd 2>/dev/null | grep -c /dev/net/tun) == 0 ]] && break; sleep 0.1; done
t_eq "the VMM closed the TAP" 0 "$(ls -l /proc/$pid/fd 2>/dev/null | grep -c /dev/net/tun)"

# --- a virtio-fs share, in and out
mkdir -p "$d/share" && echo hotplug-fs-ok >"$d/share/hello"
/usr/lib/qemu/virtiofsd --socket-path="$d/fs.sock" -o source="$d/share" -o cache=none \
	>"$d/virtiofsd.log" 2>&1 &
t_cleanup "kill $! 2>/dev/null"
for _ in $(seq 100); do [[ -S $d/fs.sock ]] && break; sleep 0.1; done
set_mark
code=$(api PUT vm.add-fs "$(body "{\"tag\": \"hpfs\", \"socket\": \"$d/fs.sock\", \"id\": \"hpfs0\"}")")
t_eq "vm.add-fs on the running VM: 200" 200 "$code"
t_eq "its id" hpfs0 "$(jq -r .id <"$d/resp" 2>/dev/null)"
if wait_line '^FS hotplug-fs-ok$' 60; then
	t_pass "the guest mounts the hot-added share and reads the host's file"
else
	t_fail "the guest mounts the hot-added share and reads the host's file" \
		"console: $(console | tail -n 20)" "virtiofsd: $(tail -n 5 "$d/virtiofsd.log")"
fi
wait_line '^FS unmounted$' 30
set_mark
t_eq "vm.remove-device of the share: 204" 204 "$(api PUT vm.remove-device "$(body '{"id": "hpfs0"}')")"
for _ in $(seq 300); do grep -q 'slot .* (hpfs0) ejected' "$d/svmm.out" && break; sleep 0.1; done
t_match "the VMM freed the share at the guest's eject" '\(hpfs0\) ejected by the guest' "$(cat "$d/svmm.out")"
t_eq "vm.shutdown" 204 "$(api PUT vm.shutdown)"
t_eq "vmm.shutdown" 200 "$(api PUT vmm.shutdown)"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid"
t_eq "svmm's exit status" 0 "$?"
t_eq "no thread was refused a call (seccomp)" "" "$(grep 'seccomp: thread' "$d/svmm.out")"
t_done
