# SPDX-License-Identifier: Apache-2.0
# run-image-checks.sh: sourced by tests/host/run-image.sh (the agent on the
# host, no VM) and tests/kvm/run-image.sh (the agent in a guest on svmm's
# VMM): the same `svmm run --image` checks through svmm's VMM or whichever
# launcher SVMM_LAUNCHER names. IN_VM=1 adds what needs the guest kernel
# (network, CPUs and memory, cgroup limits, volumes over virtio-fs). On
# svmm's own VMM (no SVMM_LAUNCHER) every run here is jailed and under
# seccomp (the default), so stdio, exit codes, signals, exec, volumes and the
# network are checked through the jail; IN_VM=1 without a launcher also looks
# at the jailed VMM from outside, and at --no-jail's.
#
#   run_image_checks SAMPLE_IMAGE TMPDIR

svmm_run() { timeout -k 5 "${RUN_TIMEOUT:-180}" "$T_SVMM" run "$@"; }

run_image_checks() {
	local img=$1 tmp=$2 out err rc pid i

	# The sample's defaults: Entrypoint + Cmd, Env, WorkingDir.
	out=$(svmm_run --rm --image "$img" 2>"$tmp/err")
	rc=$?
	t_eq "sample image: exit 0" 0 "$rc"
	t_match "sample image: the entrypoint ran in WorkingDir /opt/data" \
		'svmm-sample: entrypoint in /opt/data as uid 0' "$out"
	t_match "sample image: Cmd printed SAMPLE_GREETING" 'hello from the svmm sample image' "$out"
	t_match "sample image: /etc/sample-release from layer 2" 'NAME="svmm sample"' "$out"

	# Exit codes as docker.
	svmm_run --rm --image "$img" -- sh -c 'exit 3' >/dev/null 2>&1
	t_eq "exit code of the workload (3)" 3 "$?"
	# Without the entrypoint's shell: the agent's own exec errors.
	out=$(svmm_run --rm --image "$img" -- /nonexistent 2>&1)
	t_eq "command not found: 127" 127 "$?"
	out=$(svmm_run --rm --image "$img" -- /etc/passwd 2>&1)
	t_eq "command not executable: 126" 126 "$?"
	out=$(svmm_run --rm --image /nonexistent-image -- true 2>&1)
	t_eq "svmm's own error (no such image): 125" 125 "$?"
	t_match "... with a message naming the image" "image '/nonexistent-image'" "$out"

	# stdout and stderr kept apart.
	out=$(svmm_run --rm --image "$img" -- sh -c 'echo to-out; echo to-err >&2' 2>"$tmp/err")
	t_eq "stdout has only stdout" "$(printf 'svmm-sample: entrypoint in /opt/data as uid 0, running: sh -c echo to-out; echo to-err >&2\nto-out')" "$out"
	t_eq "stderr has only stderr" to-err "$(cat "$tmp/err")"

	# stdin with -i.
	out=$(printf 'line1\nline2\n' | svmm_run --rm -i --image "$img" -- wc -l 2>/dev/null | tail -n1)
	t_eq "-i: stdin reaches the workload, EOF closes it" 2 "$(tr -d ' ' <<<"$out")"

	# env, cwd, user.
	out=$(svmm_run --rm --image "$img" -e FOO=bar -e SAMPLE_GREETING=over -w /tmp -u 1000:1001 \
		-- sh -c 'echo "$FOO $SAMPLE_GREETING $(pwd) $(id -u):$(id -g)"' 2>/dev/null | tail -n1)
	t_eq "-e adds and overrides env, -w sets cwd, -u sets uid:gid" "bar over /tmp 1000:1001" "$out"
	out=$(svmm_run --rm --image "$img" -u root -- id -u 2>/dev/null | tail -n1)
	t_eq "-u NAME is looked up in the image's /etc/passwd" 0 "$out"
	out=$(svmm_run --rm --image "$img" -u nobody-here -- true 2>&1)
	t_eq "-u with an unknown name: 125" 125 "$?"

	# Whiteouts and the opaque directory, as the workload sees them.
	out=$(svmm_run --rm --image "$img" -- sh -c 'ls /etc; echo --; ls /opt/data' 2>/dev/null)
	t_eq "whiteout: layer 2's /etc/sample-release is there" sample-release \
		"$(grep -x sample-release <<<"$out")"
	t_eq "whiteout: layer 2 hides layer 1's /etc/sample-removed" "" \
		"$(grep -x sample-removed <<<"$out")"
	t_eq "opaque dir: /opt/data holds only layer 2's c" c "$(sed -n '/^--$/,$p' <<<"$out" | sed 1d)"

	# The root: writable (a tmpfs overlay), or read-only with --read-only.
	svmm_run --rm --image "$img" -- sh -c 'echo x >/etc/new && cat /etc/new' >/dev/null 2>&1
	t_eq "the root is writable by default" 0 "$?"
	out=$(svmm_run --rm --image "$img" --read-only -- sh -c 'echo x >/etc/new' 2>&1)
	t_eq "--read-only: writing to the root fails" 1 "$?"
	t_match "--read-only: ... with EROFS" 'Read-only file system' "$out"

	# Masked and read-only paths, capabilities, hostname, pid namespace.
	out=$(svmm_run --rm --image "$img" --hostname box -- sh -c \
		'hostname; cat /proc/kcore | wc -c; echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo sysro; grep CapEff /proc/self/status; echo pid=$$' 2>/dev/null)
	t_match "--hostname sets the UTS name" '(^|
)box(
|$)' "$out"
	t_match "maskedPaths: /proc/kcore reads empty" '(^|
)0(
|$)' "$out"
	t_match "readonlyPaths: /proc/sys is read-only" 'sysro' "$out"
	t_match "capabilities: docker's default set (0xa80425fb)" 'CapEff:[[:space:]]+00000000a80425fb' "$out"
	t_match "the workload is PID 1 of its pid namespace" 'pid=1' "$out"

	# Signal forwarding: SIGINT to svmm reaches the workload.
	"$T_SVMM" run --rm --image "$img" -- sh -c \
		'trap "echo got-INT; exit 42" INT; echo ready; while :; do sleep 0.1; done' \
		>"$tmp/sig.out" 2>&1 &
	pid=$!
	for i in $(seq 600); do grep -q ready "$tmp/sig.out" 2>/dev/null && break; sleep 0.1; done
	kill -INT "$pid"
	wait "$pid"
	rc=$?
	t_eq "SIGINT forwarded: the workload's trap exits 42" 42 "$rc"
	t_match "SIGINT forwarded: the trap ran" got-INT "$(cat "$tmp/sig.out")"

	# exec into a running workload.
	svmm_run --rm --name "t$$" --image "$img" -- sh -c \
		'trap "exit 0" TERM; echo $$ >/tmp/marker; echo started; while :; do sleep 0.1; done' \
		>"$tmp/exec.out" 2>&1 &
	pid=$!
	for i in $(seq 600); do grep -q started "$tmp/exec.out" 2>/dev/null && break; sleep 0.1; done
	out=$(timeout 60 "$T_SVMM" exec "t$$" -- sh -c 'cat /tmp/marker; echo in-exec >&2; exit 7' 2>"$tmp/exec.err")
	rc=$?
	t_eq "exec: the command's exit code" 7 "$rc"
	t_eq "exec: it sees the workload's files and pid namespace (/tmp/marker = 1)" 1 "$out"
	t_eq "exec: its stderr apart" in-exec "$(cat "$tmp/exec.err")"
	out=$(timeout 60 "$T_SVMM" exec -u 1000 "t$$" -- id -u 2>&1)
	t_eq "exec -u: the user asked" 1000 "$out"
	timeout 60 "$T_SVMM" exec "t$$" -- /nonexistent >/dev/null 2>&1
	t_eq "exec of a missing command: 127" 127 "$?"
	out=$(timeout 60 "$T_SVMM" exec -t "t$$" -- tty 2>&1)
	t_match "exec -t: the process has a terminal" '^/dev/pts/[0-9]+' "$out"
	local ep
	ep=$(cat "/run/svmm/containers/t$$/endpoint")
	out=$(timeout 60 python3 "$T_TOP/tests/agent-proto.py" "$ep" ping 2>&1)
	t_match "health check: PING gets PONG with the echo" '"echo": ?"are-you-there"' "$out"
	t_match "health check: PONG counts the running processes" '"processes": ?[1-9]' "$out"
	out=$(timeout 90 python3 "$T_TOP/tests/agent-proto.py" "$ep" flood /tmp/flood-done 2>&1)
	t_match "a host that reads nothing does not block the workload (20 MB written)" \
		'finished-while-unread=True' "$out"
	t_match "... the output past the 4 MiB queue is dropped and counted (lost_bytes)" \
		'"lost_bytes": ?[1-9][0-9]{6,}' "$out"
	timeout 60 "$T_SVMM" exec "t$$" -- kill -TERM 1
	wait "$pid"
	t_eq "the workload ended by exec'd kill: exit 0" 0 "$?"
	timeout 10 "$T_SVMM" exec "t$$" -- true >/dev/null 2>&1
	t_eq "exec after the run ended: 125" 125 "$?"

	# A terminal session driven through a pty: -t -i.
	out=$(python3 - "$T_SVMM" "$img" <<'PY'
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "run", "--rm", "-t", "-i", "--image", sys.argv[2], "--", "sh"])
buf = b""
def read_until(pat, t=120):
    global buf
    end = time.time() + t
    while pat not in buf and time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                buf += os.read(fd, 4096)
            except OSError:
                break
read_until(b"# ")
os.write(fd, b"stty size; tty; echo $((6*7))x\r")
read_until(b"42x")
os.write(fd, b"exit 5\r")
read_until(b"never", 20)
_, st = os.waitpid(pid, 0)
sys.stdout.write(buf.decode(errors="replace").replace("\r", ""))
print("\nstatus=%d" % os.waitstatus_to_exitcode(st))
PY
)
	t_match "-t -i: the shell computed 42 from typed input" '(^|
)42x' "$out"
	t_match "-t -i: the workload's stdin is a pty" '/dev/pts/[0-9]+' "$out"
	t_match "-t -i: the exit code comes back" 'status=5' "$out"

	if [[ ${IN_VM:-0} == 1 ]]; then
		# a launcher's own network takes given addresses; svmm's VMM a lease
		local net='ip=10.0.2.15/24,gw=10.0.2.2,dns=10.0.2.3' ip='10\.0\.2\.15/24' gw='10\.0\.2\.2'
		if [[ -z ${SVMM_LAUNCHER:-} ]]; then
			net='auto,dns=10.0.2.3' ip='172\.30\.[0-9]+\.[0-9]+/30' gw='172\.30\.[0-9.]+'
		fi
		out=$(svmm_run --rm --net "$net" --image "$img" -- \
			sh -c 'ip -4 addr show; ip route; cat /etc/resolv.conf' 2>&1)
		t_match "--net $net: the guest interface has its address" "inet $ip" "$out"
		t_match "--net $net: the default route" "default via $gw" "$out"
		t_match "--net $net: resolv.conf" 'nameserver 10\.0\.2\.3' "$out"
		out=$(svmm_run --rm --cpus 2 --memory 256M --image "$img" -- \
			sh -c 'grep -c ^processor /proc/cpuinfo; cat /sys/fs/cgroup/memory.max 2>/dev/null; cat /proc/self/cgroup' 2>&1)
		t_match "--cpus 2: the guest has 2 CPUs" '(^|
)2(
|$)' "$out"
		out=$(svmm_run --rm --memory 256M --image "$img" -- grep MemTotal /proc/meminfo 2>&1)
		t_match "--memory 256M: the guest's memory" 'MemTotal: +2[0-9]{5} kB' "$out"
		# cgroup limits from linux.resources, seen in the workload's cgroup namespace.
		local b=$tmp/cg-bundle
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
		out=$(svmm_run --rm --bundle "$b" 2>&1)
		t_eq "cgroup limits: memory.max, pids.max, cpu.max" \
			"$(printf '67108864\n42\n50000 100000')" "$out"
		mkdir -p "$tmp/vol"
		echo from-host >"$tmp/vol/hello"
		out=$(svmm_run --rm -v "$tmp/vol:/data" --image "$img" -- \
			sh -c 'cat /data/hello; echo from-guest >/data/out' 2>&1)
		t_match "-v: the guest reads the host directory" from-host "$out"
		t_eq "-v: the host sees the guest's write" from-guest "$(cat "$tmp/vol/out" 2>/dev/null)"
		out=$(svmm_run --rm -v "$tmp/vol:/data:ro" --image "$img" -- \
			sh -c 'echo x >/data/out2' 2>&1)
		t_match "-v :ro: writes fail" 'Read-only file system' "$out"
	fi

	if [[ ${IN_VM:-0} == 1 && -z ${SVMM_LAUNCHER:-} ]]; then
		# The VMM of a running container, seen from /proc/PID: jailed by
		# default (a pool uid, no capabilities, no_new_privs, its own root,
		# mount and pid namespaces) and under seccomp (mode 2, a filter).
		local name st vmm root
		for mode in jail no-jail; do
			name=j$mode-$$
			out=$tmp/$name.out
			# svmm itself in the background (not the svmm_run function: its
			# subshell would take the SIGTERM below)
			"$T_SVMM" run --rm --name "$name" $([[ $mode == no-jail ]] && echo --no-jail) \
				--image "$img" -- sh -c 'trap "exit 0" TERM; echo up; while :; do sleep 0.1; done' \
				>"$out" 2>&1 &
			pid=$!
			for i in $(seq 1200); do grep -q up "$out" 2>/dev/null && break; sleep 0.1; done
			vmm=$(pgrep -f "^svmm run --config /run/svmm/containers/$name/config.json" | head -n1)
			if [[ -z $vmm ]]; then
				t_fail "$mode: the VMM of a running container is found" "$(cat "$out")"
				kill "$pid" 2>/dev/null
				wait "$pid"
				continue
			fi
			st=$(cat "/proc/$vmm/status")
			t_match "$mode: the VMM is under seccomp (Seccomp 2)" 'Seccomp:[[:space:]]+2' "$st"
			t_match "$mode: ... with --seccomp true" "--seccomp true" \
				"$(tr '\0' ' ' <"/proc/$vmm/cmdline")"
			root=$(stat -Lc %d:%i "/proc/$vmm/root/")
			if [[ $mode == jail ]]; then
				local uid
				uid=$(awk '$1 == "Uid:" { print $2 }' <<<"$st")
				t_ok "jail: the VMM's uid $uid is the pool's (1879048192-1879048255)" \
					test "$uid" -ge 1879048192 -a "$uid" -le 1879048255
				t_match "jail: all four uids" "Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid" "$st"
				t_match "jail: CapEff 0" 'CapEff:[[:space:]]+0000000000000000' "$st"
				t_match "jail: CapBnd 0" 'CapBnd:[[:space:]]+0000000000000000' "$st"
				t_match "jail: NoNewPrivs 1" 'NoNewPrivs:[[:space:]]+1' "$st"
				t_ok "jail: its / is not the host's" test "$root" != "$(stat -Lc %d:%i /)"
				t_eq "jail: its / is STATE/svmm/vmm/root" \
					"$(stat -c %d:%i "/run/svmm/containers/$name/svmm/vmm/root" 2>&1)" "$root"
				for ns in mnt pid; do
					t_ok "jail: its $ns namespace is its own" \
						test "$(readlink "/proc/$vmm/ns/$ns")" != "$(readlink /proc/self/ns/$ns)"
				done
				t_eq "jail: only the VM's devices" "kvm null urandom" \
					"$(ls "/proc/$vmm/root/dev" 2>&1 | grep -v '^net$' | xargs)"
			else
				t_match "no-jail: the VMM runs as root" 'Uid:[[:space:]]+0[[:space:]]+0' "$st"
				t_eq "no-jail: in the host's root" "$(stat -Lc %d:%i /)" "$root"
			fi
			kill -TERM "$pid" # forwarded to the workload, whose trap exits 0
			wait "$pid"
			t_eq "$mode: SIGTERM ends the run (the workload's trap: 0)" 0 "$?"
			t_ok "$mode: the run's state and jail are removed (--rm)" \
				test ! -e "/run/svmm/containers/$name"
			t_ok "$mode: the VMM is gone" test ! -e "/proc/$vmm"
		done
	fi
}
