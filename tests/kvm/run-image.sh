#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# svmm run --image on svmm's own VMM (no launcher): the project kernel with
# the guest agent as PID 1, the sample image's erofs root on virtio-blk, the
# agent over hybrid vsock. The workload's stdout, stderr and exit code come
# back apart, as with docker run; -v volumes through virtiofsd; --net auto
# and -p through a TAP, a lease and nf_tables.
. "$(dirname "$0")/../lib.sh"

img=$T_BUILD/images/oci/sample
for f in "$T_BUILD/kernel/bzImage" "$T_BUILD/images/initramfs.cpio.gz" "$img/index.json"; do
	if [[ ! -r $f ]]; then
		t_fail "kernel and images are built" "missing $f: run 'make kernel images'"
		t_done
		exit 1
	fi
done
tmp=$(t_tmpdir)
unset SVMM_LAUNCHER
export SVMM_IMAGE_CACHE=$tmp/cache
run() { timeout -k 5 300 "$T_SVMM" run --rm --image "$img" "$@"; }

out=$(run 2>"$tmp/err")
rc=$?
t_eq "the image's default command exits 0" 0 "$rc"
t_match "the Entrypoint ran, in the image's WorkingDir" "svmm-sample: entrypoint in /opt/data as uid 0" "$out"
t_match "the Cmd ran with the image's Env" "hello from the svmm sample image" "$out"
t_match "layer 2's file is there" 'NAME="svmm sample"' "$out"
out=$(run -- sh -c 'echo to-stdout; echo to-stderr >&2; exit 7' 2>"$tmp/err")
rc=$?
t_eq "the workload's exit code comes back" 7 "$rc"
t_eq "stdout is the workload's stdout" to-stdout "$(tail -n1 <<<"$out")"
t_match "stderr is the workload's stderr" "to-stderr" "$(cat "$tmp/err")"
# (the image's entrypoint echoes the command line, so match whole lines)
t_eq "stdout does not carry stderr" "" "$(grep -x to-stderr <<<"$out")"
run -- /no/such/command >/dev/null 2>&1
t_eq "a command that does not exist gives 127" 127 "$?"
out=$(run -e SVMM_T=42 -w /tmp -u 1000:1000 -- sh -c 'echo "$SVMM_T $(pwd) $(id -u):$(id -g)"' 2>/dev/null)
t_eq "env, cwd and user as asked" "42 /tmp 1000:1000" "$(tail -n1 <<<"$out")"
out=$(run --cpus 2 --memory 256M -- sh -c 'grep -c ^processor /proc/cpuinfo; grep MemTotal /proc/meminfo' 2>&1)
t_match "--cpus 2: the guest has 2 CPUs" '(^|
)2(
|$)' "$out"
t_match "--memory 256M: the guest's memory" 'MemTotal: +2[0-9]{5} kB' "$out"
# cgroup limits from a bundle's linux.resources, seen in the workload's cgroup namespace
b=$tmp/cg-bundle
mkdir -p "$b"
cp -a "$(ls -d "$SVMM_IMAGE_CACHE"/*/rootfs | head -n1)" "$b/rootfs"
jq -n '{ociVersion: "1.0.2",
	process: {args: ["/bin/sh", "-c", "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max"],
		env: ["PATH=/bin"], cwd: "/", user: {uid: 0, gid: 0}},
	root: {path: "rootfs"},
	mounts: [{destination: "/proc", type: "proc", source: "proc"},
		{destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup"}],
	linux: {namespaces: [{type: "pid"}, {type: "mount"}, {type: "cgroup"}],
		resources: {memory: {limit: 67108864}, pids: {limit: 42},
			cpu: {quota: 50000, period: 100000}}}}' >"$b/config.json"
out=$(timeout -k 5 300 "$T_SVMM" run --rm --bundle "$b" 2>&1)
t_eq "cgroup limits in the guest: memory.max, pids.max, cpu.max" \
	"$(printf '67108864\n42\n50000 100000')" "$out"
# volumes: a virtiofsd per -v, the guest agent mounts the share
mkdir -p "$tmp/vol"
echo from-host >"$tmp/vol/hello"
out=$(run -v "$tmp/vol:/data" -- sh -c 'cat /data/hello; echo from-guest >/data/out' 2>"$tmp/err")
t_match "-v: the guest reads the host directory" from-host "$out$(cat "$tmp/err")"
t_eq "-v: the host sees the guest's write" from-guest "$(cat "$tmp/vol/out" 2>/dev/null)"
out=$(run -v "$tmp/vol:/data:ro" -- sh -c 'cat /data/hello; echo x >/data/out2' 2>&1)
t_match "-v :ro: the guest reads" from-host "$out"
t_match "-v :ro: writes fail" 'Read-only file system' "$out"
t_ok "-v :ro: nothing written on the host" test ! -e "$tmp/vol/out2"
t_ok "-v: no virtiofsd left behind" bash -c "! pgrep -f '[v]irtiofsd.*source=$tmp/vol'"
out=$(run -v "$tmp/no-such-dir:/data" -- true 2>&1)
t_match "-v with a missing host directory: a clear error" "no-such-dir" "$out"
# network: --net auto (an address from the pool, a TAP, NAT) and -p
out=$(run --net auto,dns=192.0.2.53 -- sh -c 'ip -4 addr show; ip route; cat /etc/resolv.conf' 2>&1)
t_match "--net auto: the guest has an address from the pool" 'inet 172\.30\.[0-9]+\.[0-9]+/30' "$out"
t_match "--net auto: the default route is the host" 'default via 172\.30\.' "$out"
t_match "--net auto: resolv.conf" 'nameserver 192\.0\.2\.53' "$out"
# (the sample's busybox has no UDP server: the UDP forward's rule is
# checked here, its traffic in tests/host/net-forward.sh)
run --name pub -p 18080:8080 -p 18053:5353/udp -- sh -c 'echo hi-from-guest | nc -l -p 8080' \
	>"$tmp/pub.out" 2>&1 &
rp=$!
for ((i = 0; i < 100; i++)); do # the rules are in before the VM starts
	rules=$(nft list ruleset 2>/dev/null)
	[[ $rules == *vm-pub-dnat* ]] && break
	sleep 0.1
done
t_match "-p 18053:5353/udp: the run's dnat rule" 'udp dport 18053 dnat ip to 172\.30\.[0-9.]+:5353' "$rules"
for ((i = 0; i < 90; i++)); do
	got=$(socat -T 5 - TCP:127.0.0.1:18080,connect-timeout=3 </dev/null 2>/dev/null)
	[[ -n $got ]] && break
	sleep 1
done
t_eq "-p 18080:8080: the host reaches the guest's TCP server" hi-from-guest "$got"
wait "$rp"
t_eq "-p: the run ends with its workload" 0 "$?"
t_eq "-p: no firewall rules of the run left" "" "$(nft list ruleset 2>/dev/null | grep -F vm-pub-)"
t_eq "-p: no lease of the run left" "" "$(grep -s '^id=pub ' /run/svmm/net/leases)"
out=$(run --net ip=10.0.0.2/24 -- true 2>&1)
t_match "--net ip= on svmm's VMM: a clear error" "use --net auto" "$out"
t_done
