#!/usr/bin/env bash
# vm.snapshot and restore with a real guest, svmm as cloud-hypervisor (API
# socket, default seccomp). The guest prints a counter on the serial
# console every 100 ms and every 5th tick writes "MARK N" into sector N of
# a raw virtio-blk disk, syncs, and says FLUSHED N. Refusals first: a
# snapshot of a running VM, a bad URL, a directory that cannot be written.
# Then pause, snapshot (config.json, a sparse memory.bin, state.bin),
# SIGKILL the VMM: what was flushed is on the disk. A new svmm with
# --restore source_url=file://DIR comes up Paused; after vm.resume the
# counter goes on from where it stopped (no reboot), and the disk writes
# go on. A second VM restored through vm.restore (prefault) from the same
# memory and state files (its own console and a copy of the disk) runs
# beside it. A VM with a device svmm cannot save (net vhost=on) is
# refused, naming it, and leaves no state.bin. No thread was refused a
# call by seccomp. A vsock connection carries data before the snapshot and
# a new one after the restore (the guest gets a transport reset for the one
# held open across it). The host pings the guest through its TAP before the
# snapshot and through the TAP remade from the configuration after the
# restore. Prints the restore-to-running time.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-netdev.sh"

kernel=$(nd_kernel)
d=$(t_tmpdir)
chmod 755 "$d"
log=$d/guest.log
disk=$d/disk.raw
truncate -s 16M "$disk"
qcow=$d/data.qcow2
qemu-img create -q -f qcow2 "$qcow" 16M

cat >"$d/check.sh" <<'GUEST'
ip link set eth0 up
ip addr add 192.168.246.2/24 dev eth0
socat VSOCK-LISTEN:6000,fork SYSTEM:'read l; echo "PONG $l"' &
socat VSOCK-LISTEN:6001,fork SYSTEM:'cat >/dev/null; echo HELD-CLOSED >/dev/console' &
i=0
while :; do
	i=$((i + 1))
	echo "TICK $i"
	if [ $((i % 5)) -eq 0 ]; then
		printf 'MARK %08d\n' $i | dd of=/dev/vda bs=512 seek=$i count=1 conv=notrunc 2>/dev/null
		printf 'QMRK %08d\n' $i | dd of=/dev/vdb bs=512 seek=$((i * 8)) count=1 conv=notrunc 2>/dev/null
		sync
		echo "FLUSHED $i"
	fi
	usleep 100000
done
GUEST
nd_initramfs "$d/initrd" "$d/check.sh" socat
vsock=$d/v.sock

cat >"$d/create.json" <<EOF
{
  "cpus":    {"boot_vcpus": 2, "max_vcpus": 2},
  "memory":  {"size": 268435456},
  "payload": {"kernel": "$kernel", "cmdline": "$ND_CMDLINE", "initramfs": "$d/initrd"},
  "disks":   [{"path": "$disk"}, {"path": "$qcow", "image_type": "Qcow2"}],
  "vsock":   {"cid": 5, "socket": "$vsock"},
  "net":     [{"tap": "svsn0", "ip": "192.168.246.1", "mask": "255.255.255.0",
               "mac": "52:54:00:12:34:56", "host_mac": "52:54:00:12:34:01"}],
  "serial":  {"file": "$log", "mode": "File"},
  "console": {"mode": "Off"}
}
EOF

api() { # SOCKET METHOD PATH [BODY] -> prints the HTTP status; the body in $d/resp
	local args=(-s -o "$d/resp" -w '%{http_code}' --max-time 120 --unix-socket "$1" -X "$2")
	[[ -n ${4:-} ]] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
	curl "${args[@]}" "http://localhost/api/v1/$3"
}
state() { api "$1" GET vm.info >/dev/null && jq -r .state <"$d/resp" 2>/dev/null; }
ticks() { tr -d '\r' <"$1" 2>/dev/null | grep -aE '^TICK [0-9]+$' | cut -d' ' -f2; }
last_tick() { ticks "$1" | tail -n1; }
last_flushed() { tr -d '\r' <"$1" 2>/dev/null | grep -aE '^FLUSHED [0-9]+$' | tail -n1 | cut -d' ' -f2; }
wait_tick() { # LOG N SECS
	local i t=
	for ((i = 0; i < $3 * 10; i++)); do
		t=$(last_tick "$1")
		[[ -n $t ]] && ((t >= $2)) && return 0
		sleep 0.1
	done
	return 1
}
wait_sock() { for _ in $(seq 200); do [[ -S $1 ]] && return 0; sleep 0.1; done; return 1; }
sector() { dd if="$1" bs=512 skip="$2" count=1 2>/dev/null | head -c 13; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# a host -> guest vsock connection through the hybrid socket: "PONG WORD"
vsock_ping() { # SOCKET WORD
	printf 'CONNECT 6000\n%s\n' "$2" | timeout 20 socat -t 10 - UNIX-CONNECT:"$1" 2>/dev/null |
		tr -d '\r' | grep -a '^PONG' | head -n1
}
no_seccomp() { t_eq "$1: no thread was refused a call (seccomp)" "" "$(grep 'seccomp: thread' "$2")"; }

# --- VM A: boot, refusals, pause, snapshot
sa=$d/a.sock
"$T_SVMM" --api-socket "$sa" -v >"$d/a.out" 2>&1 &
pa=$!
t_cleanup "kill -9 $pa 2>/dev/null"
wait_sock "$sa"
t_eq "vm.snapshot with no VM: 404" 404 "$(api "$sa" PUT vm.snapshot '{"destination_url":"file:///tmp"}')"
t_eq "vm.create" 204 "$(api "$sa" PUT vm.create "@$d/create.json")"
code=$(api "$sa" PUT vm.boot)
t_eq "vm.boot" 204 "$code"
if [[ $code != 204 ]] || ! wait_tick "$log" 20 240; then
	t_fail "the guest prints its counter" "console: $(tail -c 2000 "$log" 2>/dev/null)" \
		"svmm: $(tail -n 5 "$d/a.out")"
	t_done
	exit 1
fi
t_pass "the guest prints its counter"
t_eq "vsock: a connection to the guest carries data" "PONG before" "$(vsock_ping "$vsock" before)"
t_ok "net: the host pings the guest through its TAP" busybox ping -c 2 -W 5 192.168.246.2
# one held open across the snapshot (the guest's end is reset at restore)
(printf 'CONNECT 6001\n'; sleep 600) | socat -t 600 - UNIX-CONNECT:"$vsock" >/dev/null 2>&1 &
held=$!
t_cleanup "kill $held 2>/dev/null"
sleep 1
mkdir -p "$d/snap"
t_eq "vm.snapshot of a running VM: 500" 500 \
	"$(api "$sa" PUT vm.snapshot "{\"destination_url\":\"file://$d/snap\"}")"
t_match "it says to pause first" "not paused" "$(cat "$d/resp")"
t_eq "vm.pause" 204 "$(api "$sa" PUT vm.pause)"
n1=$(last_tick "$log")
f1=$(last_flushed "$log")
t_eq "vm.snapshot to an http:// URL: 400" 400 \
	"$(api "$sa" PUT vm.snapshot '{"destination_url":"http://x/y"}')"
t_eq "vm.snapshot without destination_url: 400" 400 "$(api "$sa" PUT vm.snapshot '{}')"
t_eq "vm.snapshot to a directory that does not exist: 500" 500 \
	"$(api "$sa" PUT vm.snapshot "{\"destination_url\":\"file://$d/nowhere\"}")"
t_match "it names the directory" "nowhere" "$(cat "$d/resp")"
t0=$(date +%s%N)
code=$(api "$sa" PUT vm.snapshot "{\"destination_url\":\"file://$d/snap\"}")
t_eq "vm.snapshot of the paused VM: 204" 204 "$code"
[[ $code == 204 ]] || echo "# answer: $(cat "$d/resp")"
echo "# vm.snapshot took $(ms_since "$t0") ms"
t_ok "the snapshot has config.json, memory.bin and state.bin" \
	test -s "$d/snap/config.json" -a -f "$d/snap/memory.bin" -a -s "$d/snap/state.bin"
t_eq "config.json is the VM's configuration" "$disk" "$(jq -r '.disks[0].path' "$d/snap/config.json")"
t_eq "memory.bin is as large as RAM" 268435456 "$(stat -c %s "$d/snap/memory.bin")"
used=$(du -k "$d/snap/memory.bin" | cut -f1)
echo "# memory.bin: $used KiB on disk of 262144 KiB"
t_ok "memory.bin is sparse ($used KiB of 262144 KiB on disk)" test "$used" -lt 200000
t_eq "vm.info after the snapshot: still Paused" Paused "$(state "$sa")"
kill -9 "$pa"
wait "$pa" 2>/dev/null
no_seccomp "VM A" "$d/a.out"
t_ok "a FLUSHED line came before the pause" test -n "$f1"
t_eq "sector $f1 holds what the guest flushed before the snapshot" \
	"$(printf 'MARK %08d' "$f1")" "$(sector "$disk" "$f1")"
echo "# paused at tick $n1, last flushed $f1"

# --- the second VM's snapshot directory: the same memory and state files,
# its own console and a copy of the disk (made before B writes to it)
mkdir "$d/snap2"
ln "$d/snap/memory.bin" "$d/snap2/memory.bin"
ln "$d/snap/state.bin" "$d/snap2/state.bin"
cp --sparse=always "$disk" "$d/disk2.raw"
cp "$qcow" "$d/data2.qcow2"
jq --arg l "$d/guest2.log" --arg k "$d/disk2.raw" --arg v "$d/v2.sock" --arg q "$d/data2.qcow2" \
	'.serial.file = $l | .disks[0].path = $k | .disks[1].path = $q | .vsock.socket = $v |
	 .net[0].tap = "svsn1" | .net[0].ip = "192.168.245.1"' \
	"$d/snap/config.json" >"$d/snap2/config.json"

# --- VM B: --restore on the command line
sb=$d/b.sock
t0=$(date +%s%N)
"$T_SVMM" --api-socket "$sb" -v --restore "source_url=file://$d/snap" >"$d/b.out" 2>&1 &
pb=$!
t_cleanup "kill -9 $pb 2>/dev/null"
wait_sock "$sb"
st=
for _ in $(seq 300); do st=$(state "$sb"); [[ $st == Paused ]] && break; sleep 0.1; done
t_eq "--restore: the VM comes up Paused" Paused "$st"
if [[ $st != Paused ]]; then
	t_fail "restore" "svmm: $(tail -n 8 "$d/b.out")"
	t_done
	exit 1
fi
echo "# start to Paused: $(ms_since "$t0") ms"
t1=$(date +%s%N)
t_eq "vm.resume" 204 "$(api "$sb" PUT vm.resume)"
if wait_tick "$log" $((n1 + 1)) 120; then
	echo "# restore-to-running (vm.resume to the next tick): $(ms_since "$t1") ms, from process start $(ms_since "$t0") ms"
	t_pass "restored: the counter goes on (tick $((n1 + 1)))"
else
	t_fail "restored: the counter goes on" "console: $(tail -c 1000 "$log")" "svmm: $(tail -n 8 "$d/b.out")"
fi
first=$(ticks "$log" | head -n1)
t_ok "restored: it goes on from where it stopped (first tick ${first:-none}, paused at $n1)" \
	test -n "$first" -a "${first:-0}" -gt "$n1" -a "${first:-0}" -le $((n1 + 2))
t_eq "restored: no reboot (no new /init)" 0 "$(grep -ac SVMM-INIT-REACHED "$log")"
t_ok "restored: the guest writes to its disk again" wait_tick "$log" $((n1 + 15)) 120
f2=$(last_flushed "$log")
t_ok "restored: a new FLUSHED line (${f2:-none})" test -n "$f2"
[[ -n $f2 ]] && t_eq "sector $f2 holds what the restored guest flushed" \
	"$(printf 'MARK %08d' "$f2")" "$(sector "$disk" "$f2")"
t_eq "sector $f1 is intact" "$(printf 'MARK %08d' "$f1")" "$(sector "$disk" "$f1")"
t_eq "restored: a new vsock connection carries data" "PONG after" "$(vsock_ping "$vsock" after)"
t_eq "restored: the connection held across the snapshot was reset in the guest" 1 \
	"$(grep -ac HELD-CLOSED "$log")"
t_ok "restored: the TAP is back and the host pings the guest" busybox ping -c 2 -W 5 192.168.246.2

# --- VM C: vm.restore on a VMM started with only --api-socket, prefault
sc=$d/c.sock
"$T_SVMM" --api-socket "$sc" -v >"$d/c.out" 2>&1 &
pc=$!
t_cleanup "kill -9 $pc 2>/dev/null"
wait_sock "$sc"
t_eq "vm.restore of a missing snapshot: 404" 404 \
	"$(api "$sc" PUT vm.restore "{\"source_url\":\"file://$d/nowhere\"}")"
t_eq "vm.restore with a bad URL: 400" 400 "$(api "$sc" PUT vm.restore '{"source_url":"ftp://x"}')"
t0=$(date +%s%N)
t_eq "vm.restore (prefault) from the same memory and state: 204" 204 \
	"$(api "$sc" PUT vm.restore "{\"source_url\":\"file://$d/snap2\",\"prefault\":true}")"
[[ $(cat "$d/resp") ]] && echo "# answer: $(cat "$d/resp")"
echo "# vm.restore (prefault) took $(ms_since "$t0") ms"
t_eq "vm.info: Paused" Paused "$(state "$sc")"
t_eq "vm.restore again: 500 (a VM exists)" 500 \
	"$(api "$sc" PUT vm.restore "{\"source_url\":\"file://$d/snap2\"}")"
t_eq "vm.resume of the second VM" 204 "$(api "$sc" PUT vm.resume)"
t_ok "the second VM runs on from the same point" wait_tick "$d/guest2.log" $((n1 + 10)) 120
first2=$(ticks "$d/guest2.log" | head -n1)
t_ok "the second VM's first tick follows $n1 (${first2:-none})" \
	test -n "$first2" -a "${first2:-0}" -gt "$n1" -a "${first2:-0}" -le $((n1 + 2))
n_b=$(last_tick "$log")
t_ok "the first restored VM still runs beside it" wait_tick "$log" $((n_b + 5)) 60
t_eq "the second VM's vsock carries data" "PONG second" "$(vsock_ping "$d/v2.sock" second)"

# --- a snapshot of a restored VM, into the directory it was restored from
# (and whose memory file the second VM maps through its link): both run on
t_eq "vm.pause of the restored VM" 204 "$(api "$sb" PUT vm.pause)"
n2=$(last_tick "$log")
t_eq "vm.snapshot of the restored VM into its own snapshot directory" 204 \
	"$(api "$sb" PUT vm.snapshot "{\"destination_url\":\"file://$d/snap\"}")"
t_eq "vm.resume after it" 204 "$(api "$sb" PUT vm.resume)"
n_c=$(last_tick "$d/guest2.log")
t_ok "the second VM runs on (its memory file was replaced, not truncated)" \
	wait_tick "$d/guest2.log" $((n_c + 5)) 60
t_ok "the restored VM runs on after its snapshot" wait_tick "$log" $((n2 + 5)) 60
t_eq "vmm.shutdown of the second VM" 200 "$(api "$sc" PUT vmm.shutdown)"
t_eq "vmm.shutdown of the first restored VM" 200 "$(api "$sb" PUT vmm.shutdown)"
for _ in $(seq 100); do kill -0 $pb 2>/dev/null || kill -0 $pc 2>/dev/null || break; sleep 0.1; done
no_seccomp "VM B" "$d/b.out"
no_seccomp "VM C" "$d/c.out"

# --- the snapshot of the restored VM restores in turn
se=$d/e.sock
"$T_SVMM" --api-socket "$se" --restore "source_url=file://$d/snap,prefault=on" >"$d/e.out" 2>&1 &
pe=$!
t_cleanup "kill -9 $pe 2>/dev/null"
wait_sock "$se"
st=
for _ in $(seq 300); do st=$(state "$se"); [[ $st == Paused ]] && break; sleep 0.1; done
t_eq "a snapshot of a restored VM restores (Paused)" Paused "$st"
t_eq "vm.resume" 204 "$(api "$se" PUT vm.resume)"
t_ok "it goes on from tick $n2" wait_tick "$log" $((n2 + 10)) 120
first3=$(ticks "$log" | head -n1)
t_ok "its first tick follows $n2 (${first3:-none})" \
	test -n "$first3" -a "${first3:-0}" -gt "$n2" -a "${first3:-0}" -le $((n2 + 2))
f3=$(last_flushed "$log")
t_eq "vmm.shutdown" 200 "$(api "$se" PUT vmm.shutdown)"
for _ in $(seq 100); do kill -0 $pe 2>/dev/null || break; sleep 0.1; done
no_seccomp "VM E" "$d/e.out"
if [[ -n $f3 ]]; then
	t_eq "raw disk: sector $f3 holds the last flush" "$(printf 'MARK %08d' "$f3")" "$(sector "$disk" "$f3")"
	qemu-img convert -O raw "$qcow" "$d/qcow.raw"
	t_eq "qcow2 disk: what the guest flushed across three VMs (tick $f1, $f3)" \
		"$(printf 'QMRK %08d QMRK %08d' "$f1" "$f3")" \
		"$(sector "$d/qcow.raw" $((f1 * 8))) $(sector "$d/qcow.raw" $((f3 * 8)))"
fi
out=$(qemu-img check "$qcow" 2>&1)
t_match "qemu-img check: the qcow2 disk is clean" "No errors were found" "$out"

# --- a device svmm cannot save: refused, naming it, nothing left behind
modprobe vhost_net 2>/dev/null
if [[ -c /dev/vhost-net ]]; then
	sd=$d/d.sock
	"$T_SVMM" --api-socket "$sd" >"$d/d.out" 2>&1 &
	pd=$!
	t_cleanup "kill -9 $pd 2>/dev/null"
	wait_sock "$sd"
	jq '.net = [{"tap": "svsnap0", "ip": "192.168.247.1", "mask": "255.255.255.0", "vhost": true}] |
	    .disks = [] | del(.vsock)' \
		"$d/create.json" >"$d/create-d.json"
	t_eq "vm.create with net vhost=on" 204 "$(api "$sd" PUT vm.create "@$d/create-d.json")"
	t_eq "vm.boot" 204 "$(api "$sd" PUT vm.boot)"
	t_eq "vm.pause" 204 "$(api "$sd" PUT vm.pause)"
	mkdir -p "$d/snap3"
	t_eq "vm.snapshot with vhost-net: 500" 500 \
		"$(api "$sd" PUT vm.snapshot "{\"destination_url\":\"file://$d/snap3\"}")"
	t_match "the error names the device" "virtio-net \\(vhost=on\\)" "$(cat "$d/resp")"
	t_ok "nothing is left claiming to be a snapshot" test ! -e "$d/snap3/state.bin"
	t_eq "vmm.shutdown" 200 "$(api "$sd" PUT vmm.shutdown)"
else
	t_skip "a device svmm cannot save is refused" "no /dev/vhost-net"
fi
t_done
