#!/usr/bin/env bash
# Kata Containers' cloud-hypervisor call sequence (virtcontainers/clh.go)
# replayed against svmm with a real guest (issue 20): spawn with only
# --api-socket, vmm.ping within 10 s, vm.create (kernel, initramfs, serial
# to a file, hybrid vsock), vm.info Created, vm.add-net whose TAP file
# descriptor travels as SCM_RIGHTS on the HTTP request itself (no "tap", no
# "fds" the VMM could open), vm.boot, vm.info Running, the agent's port
# reachable over the hybrid vsock socket, the guest pinging the host over
# the NIC; later vm.add-disk (the guest sees the disk) and vm.remove-device
# (it goes), vm.shutdown and vmm.shutdown.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-netdev.sh"

command -v python3 >/dev/null || { t_fail "python3 (make deps)"; t_done; exit 1; }
kernel=$(nd_kernel)
d=$(t_tmpdir)
sock=$d/clh.sock
vsock=$d/kata.hvsock
log=$d/guest.log
tap=tap-kata-$$
tap=${tap:0:15}

cat >"$d/check.sh" <<'GUEST'
socat VSOCK-LISTEN:1024,fork EXEC:'echo kata-agent-ok' &
ip link set lo up
i=0
while ! ip link show eth0 >/dev/null 2>&1 && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ip link set eth0 up && ip addr add 172.31.9.2/24 dev eth0
ping -c 3 -W 2 172.31.9.1 >/dev/null 2>&1 && echo "SVMM-FACT ping=ok" || echo "SVMM-FACT ping=failed"
seen=none
while :; do
	cur=$(ls /sys/block | grep '^vd' | tr '\n' ' ')
	[ "$cur" != "$seen" ] && echo "BLK [$cur]" && seen=$cur
	usleep 100000
done
GUEST
nd_initramfs "$d/initrd" "$d/check.sh" socat

cat >"$d/create.json" <<EOF
{
  "cpus":    {"boot_vcpus": 1, "max_vcpus": 1},
  "memory":  {"size": 268435456, "shared": true},
  "payload": {"kernel": "$kernel", "cmdline": "$ND_CMDLINE", "initramfs": "$d/initrd"},
  "serial":  {"file": "$log", "mode": "File"},
  "console": {"mode": "Off"},
  "vsock":   {"cid": 3, "socket": "$vsock"}
}
EOF
api() { # METHOD PATH [BODY-FILE] -> prints the HTTP status; the body in $d/resp
	local args=(-s -o "$d/resp" -w '%{http_code}' --max-time 60 --unix-socket "$sock" -X "$1")
	[[ -n ${3:-} ]] && args+=(-H 'Content-Type: application/json' --data-binary "@$3")
	curl "${args[@]}" "http://localhost/api/v1/$2"
}
state() { api GET vm.info >/dev/null && jq -r .state <"$d/resp" 2>/dev/null; }
seen_line() { tr -d '\r' <"$log" 2>/dev/null | grep -qaE "$1"; }
wait_line() { local i; for ((i = 0; i < $2 * 10; i++)); do seen_line "$1" && return 0; sleep 0.1; done; return 1; }

# Kata's TAP: made by the runtime, opened by it (IFF_VNET_HDR), handed over
ip tuntap add "$tap" mode tap vnet_hdr || { t_fail "ip tuntap add $tap"; t_done; exit 1; }
t_cleanup "ip link del '$tap' 2>/dev/null"
ip addr add 172.31.9.1/24 dev "$tap" && ip link set "$tap" up

t0=$(date +%s%N)
"$T_SVMM" --api-socket "$sock" >"$d/svmm.out" 2>&1 &
pid=$!
t_cleanup "kill -9 $pid 2>/dev/null"
code=000
for _ in $(seq 100); do
	[[ -S $sock ]] && code=$(api GET vmm.ping) && [[ $code == 200 ]] && break
	sleep 0.1
done
ms=$((($(date +%s%N) - t0) / 1000000))
t_eq "vmm.ping" 200 "$code"
t_ok "vmm.ping answered within 10 s ($ms ms)" test "$ms" -lt 10000
t_eq "vm.create" 204 "$(api PUT vm.create "$d/create.json")"
t_eq "vm.info: Created" Created "$(state)"

# vm.add-net with the TAP's fd as SCM_RIGHTS on the request (Kata's way)
cat >"$d/addnet.py" <<'PY'
import array, fcntl, json, os, socket, struct, sys
sock, tap = sys.argv[1], sys.argv[2]
TUNSETIFF = 0x400454ca
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(), 0x0002 | 0x1000 | 0x4000))
body = json.dumps({"mac": "52:54:00:6b:61:74", "id": "kata-net0"}).encode()
req = (b"PUT /api/v1/vm.add-net HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
       b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sock)
s.sendmsg([req], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
os.close(fd)
resp = s.recv(65536).decode(errors="replace")
print(resp.split("\r\n", 1)[0].split(" ")[1])
PY
code=$(python3 "$d/addnet.py" "$sock" "$tap" 2>"$d/addnet.err")
t_eq "vm.add-net with the TAP fd over SCM_RIGHTS: 204" 204 "$code" || sed 's/^/#   /' "$d/addnet.err"
api GET vm.info >/dev/null
t_eq "vm.info: the net device" kata-net0 "$(jq -r '.config.net[0].id' <"$d/resp")"
t_eq "vm.boot" 204 "$(api PUT vm.boot)"
t_eq "vm.info: Running" Running "$(state)"

# the agent's port over the hybrid vsock
reply=
for _ in $(seq 120); do
	reply=$(printf 'CONNECT 1024\n' | timeout 5 socat -t 3 - UNIX-CONNECT:"$vsock" 2>/dev/null | tr -d '\r')
	grep -q kata-agent-ok <<<"$reply" && break
	sleep 1
done
t_match "the agent's vsock port answers (hybrid vsock CONNECT)" '^OK [0-9]+' "$(head -n1 <<<"$reply")"
t_match "and carries its data" 'kata-agent-ok' "$reply"
t_eq "the guest pings the host over the NIC of the passed fd" ok "$(nd_wait_fact "$log" ping 60)"

# later: a disk in, then out
truncate -s 4M "$d/ctr.img"
printf '{"path": "%s", "id": "ctr-rootfs"}' "$d/ctr.img" >"$d/disk.json"
t_eq "vm.add-disk: 200" 200 "$(api PUT vm.add-disk "$d/disk.json")"
t_eq "its PciDeviceInfo id" ctr-rootfs "$(jq -r .id <"$d/resp" 2>/dev/null)"
wait_line '^BLK \[vda \]$' 60
t_ok "the guest sees the disk" seen_line '^BLK \[vda \]$'
printf '{"id": "ctr-rootfs"}' >"$d/rm.json"
n=$(tr -d '\r' <"$log" | grep -ac '^BLK \[\]$')
t_eq "vm.remove-device: 204" 204 "$(api PUT vm.remove-device "$d/rm.json")"
for _ in $(seq 600); do (($(tr -d '\r' <"$log" | grep -ac '^BLK \[\]$') > n)) && break; sleep 0.1; done
t_ok "the guest lets it go" test "$(tr -d '\r' <"$log" | grep -ac '^BLK \[\]$')" -gt "$n"
t_eq "vm.shutdown" 204 "$(api PUT vm.shutdown)"
t_eq "vmm.shutdown" 200 "$(api PUT vmm.shutdown)"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid"
t_eq "svmm's exit status" 0 "$?"
t_eq "no thread was refused a call (seccomp)" "" "$(grep 'seccomp: thread' "$d/svmm.out")"
t_done
