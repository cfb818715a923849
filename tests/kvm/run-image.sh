#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# svmm run --image on svmm's own VMM (no launcher): the project kernel with
# the guest agent as PID 1, the sample image's erofs root on virtio-blk, the
# agent over hybrid vsock. tests/run-image-checks.sh (exit codes, stdout and
# stderr apart, env/cwd/user, whiteouts, a corrupted blob, read-only root,
# exec, signals, -t -i, network, CPUs, cgroup limits, volumes) in a real
# guest, then what only svmm's VMM does: virtiofsd per volume, --net auto
# and -p through a TAP, a lease and nf_tables.
. "$(dirname "$0")/../lib.sh"
. "$T_TOP/tests/run-image-checks.sh"

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

# the checks the host tier runs with the agent on the host, here in a guest,
# with what needs a guest kernel (IN_VM)
IN_VM=1 run_image_checks "$img" "$tmp"

# what only svmm's VMM does: a virtiofsd per -v, read-only on the host for
# :ro; --net auto and -p through net/
t_ok "-v :ro: the guest's write did not reach the host" test ! -e "$tmp/vol/out2"
t_ok "-v: no virtiofsd left behind" bash -c "! pgrep -f '[v]irtiofsd.*source=$tmp/vol'"
run --name vol-$$ -v "$tmp/vol:/data" -- true
t_ok "-v --rm: the run's state (fs-N.sock, fs-N.log) is removed" test ! -e "/run/svmm/containers/vol-$$"
out=$(run -v "$tmp/no-such-dir:/data" -- true 2>&1)
t_match "-v with a missing host directory: a clear error" "no-such-dir" "$out"
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
