#!/usr/bin/env bash
# svmm jail (Firecracker's jailer): a jailed idle VMM (the cloud-hypervisor
# personality with only --api-socket opens no /dev/kvm) seen from outside
# through /proc/PID: its root, ids, capabilities, namespaces, cgroup,
# rlimits, devices, and its API answering; then the flag errors. Root, no KVM.
. "$(dirname "$0")/../lib.sh"

if ((EUID != 0)); then
	t_skip "svmm jail" "needs root"
	t_done
	exit
fi
tmp=$(t_tmpdir)
id=svmm-test-$$
uid=12345
base=/srv/jailer
jdir=$base/svmm/$id
sockdir=/run/svmm-jail-test.$$
if [[ -e /sys/fs/cgroup/cgroup.controllers ]]; then
	cgdir=/sys/fs/cgroup/svmm/$id cgline="0::/svmm/$id"
else
	cgdir=$(awk '$3 == "cgroup" && $4 ~ /(^|,)pids(,|$)/ { print $2; exit }' /proc/mounts)/svmm/$id
	cgline="pids:/svmm/$id"
fi
pid=
cleanup() {
	[[ -n $pid ]] && kill -9 "$pid" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do [[ -n $pid && -e /proc/$pid ]] && sleep 0.1; done
	rmdir "$cgdir" 2>/dev/null
	ip link del "jt$$" 2>/dev/null
	rm -rf "$jdir" "$sockdir"
}
t_cleanup cleanup
mkdir -p "$sockdir" && chown $uid:$uid "$sockdir"

out=$("$T_SVMM" jail --id "$id" --uid $uid --gid $uid --cgroup pids.max=32 \
	--resource-limit no-file=256,fsize=1048576 --daemonize -- \
	"$T_SVMM" --api-socket "$sockdir/api.sock" 2>&1)
rc=$?
t_eq "jail --daemonize: status 0" 0 "$rc"
t_match "jail --daemonize prints the VMM's pid" '^[0-9]+$' "$out"
[[ $out =~ ^[0-9]+$ ]] && pid=$out
t_eq "the pid is in the jail's svmm.pid" "$pid" "$(cat "$jdir/svmm.pid" 2>&1)"
for _ in $(seq 50); do [[ -S $sockdir/api.sock ]] && break; sleep 0.1; done
if [[ -z $pid || ! -e /proc/$pid ]]; then
	t_fail "the jailed VMM runs" "pid '$pid', output: $out"
	t_done
	exit
fi
st=$(cat /proc/$pid/status)
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --unix-socket "$sockdir/api.sock" \
	http://localhost/api/v1/vmm.ping)
t_eq "the API answers through the bound socket directory" 200 "$code"
t_eq "its / is the jail's root" "$(stat -c %d:%i "$jdir/root")" "$(stat -Lc %d:%i /proc/$pid/root/)"
t_match "it runs as uid $uid" "Uid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid" "$st"
t_match "it runs as gid $uid" "Gid:[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid[[:space:]]+$uid" "$st"
t_match "no supplementary groups" $'Groups:[ \t]*\n' "$st"
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
	t_match "$c is empty" "$c:[[:space:]]+0000000000000000" "$st"
done
t_match "no_new_privs" "NoNewPrivs:[[:space:]]+1" "$st"
t_match "it is PID 1 of its pid namespace" "NSpid:[[:space:]]+$pid[[:space:]]+1" "$st"
for ns in mnt pid ipc uts; do
	t_ok "its $ns namespace is its own" test "$(readlink /proc/$pid/ns/$ns)" != "$(readlink /proc/self/ns/$ns)"
done
t_eq "its net namespace is the host's (no --netns)" "$(readlink /proc/self/ns/net)" "$(readlink /proc/$pid/ns/net)"
t_ok "it is in the jail's cgroup ($cgline)" grep -Eqx "[0-9]+:$cgline" /proc/$pid/cgroup
t_eq "pids.max is --cgroup's" 32 "$(cat "$cgdir/pids.max" 2>&1)"
lim=$(cat /proc/$pid/limits)
t_match "Max open files 256" "Max open files +256 +256 " "$lim"
t_match "Max file size 1048576" "Max file size +1048576 +1048576 " "$lim"
want="null urandom"
[[ -c /dev/kvm ]] && want="kvm $want"
t_eq "/dev holds only what the VM needs" "$want" "$(ls /proc/$pid/root/dev | xargs)"
t_eq "/dev/kvm is the host's device, the VMM's" "$(stat -c %t:%T /dev/kvm 2>/dev/null) $uid" \
	"$(stat -c '%t:%T %u' /proc/$pid/root/dev/kvm 2>/dev/null)"
t_ok "the host's /etc is not in the jail" test ! -e /proc/$pid/root/etc/passwd
t_ok "the host's /root is not in the jail" test ! -e /proc/$pid/root/root
t_ok "the copied /svmm runs from the jail's root alone (its libraries are there)" \
	nsenter -t "$pid" -m -r -- /svmm --version
t_ok "/svmm is a copy, not a link" \
	test "$(stat -c %i "$jdir/root/svmm")" != "$(stat -c %i "$T_SVMM")" -a "$(stat -c %h "$jdir/root/svmm")" = 1
interp=$(readelf -l "$T_SVMM" 2>/dev/null | sed -n 's/.*interpreter: \(.*\)]/\1/p')
if [[ -n $interp ]]; then
	t_ok "its ELF interpreter is copied in ($interp)" cmp "$interp" "$jdir/root$interp"
	t_ok "and libc" bash -c "ls $jdir/root/lib*/*/libc.so.* $jdir/root/usr/lib*/*/libc.so.* 2>/dev/null | grep -q ."
fi
t_eq "the jail directory is root's, 0700" "0 700" "$(stat -c '%u %a' "$jdir")"
kill "$pid"
for _ in $(seq 50); do [[ -e /proc/$pid ]] || break; sleep 0.1; done
t_ok "SIGTERM ends the jailed VMM" test ! -e /proc/$pid
pid=

# A jail in the foreground waits for its VMM, passes SIGTERM on, exits with
# its status and removes the cgroup.
rm -rf "$jdir" && rmdir "$cgdir" 2>/dev/null
"$T_SVMM" jail --id "$id" --uid $uid --gid $uid --cgroup pids.max=16 -- \
	"$T_SVMM" --api-socket "path=$sockdir/api2.sock" >"$tmp/fg.log" 2>&1 &
jpid=$!
for _ in $(seq 50); do [[ -S $sockdir/api2.sock ]] && break; sleep 0.1; done
pid=$(cat "$jdir/svmm.pid" 2>/dev/null)
t_ok "foreground: the VMM runs" test -n "$pid" -a -e "/proc/$pid"
kill -TERM $jpid
wait $jpid
t_eq "foreground: SIGTERM to the jail ends the VMM, status 0" 0 "$?"
t_ok "foreground: the cgroup is removed" test ! -d "$cgdir"
pid=

# TAPs: opened and configured by the jail, handed to the VMM as fd=. The
# "VMM" is a static program that only waits (the real one needs KVM to open
# its devices; tests/kvm/jail.sh boots a guest): a static executable is
# copied alone. PID 1 of a pid namespace ignores signals it has no handler
# for, so it is ended with SIGKILL.
tap=jt$$
if printf '#include <unistd.h>\nint main(void){pause();return 0;}\n' >"$tmp/pause.c" &&
	cc -static -o "$tmp/pause" "$tmp/pause.c" 2>/dev/null; then
	rm -rf "$jdir"
	out=$("$T_SVMM" jail --id "$id" --uid $uid --gid $uid --daemonize -- "$tmp/pause" \
		--api-socket "$sockdir/api3.sock" --net "tap=$tap,ip=172.31.250.1,mac=52:54:00:12:34:56" \
		num_queues=4 --net=vhost=off,tap= 2>&1)
	[[ $out =~ ^[0-9]+$ ]] && pid=$out
	t_match "TAPs: the jail starts" '^[0-9]+$' "$out"
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>&1)
	t_match "TAPs: --net tap=NAME becomes fd=N (and keeps the rest)" \
		"--net ip=172.31.250.1,mac=52:54:00:12:34:56,fd=([0-9]+) num_queues=4,fd=\[([0-9]+),([0-9]+)\] --net=vhost=off,fd=([0-9]+) $" "$cmd"
	fds=$(for f in /proc/$pid/fd/*; do [[ $(readlink "$f") == /dev/net/tun ]] && echo "${f##*/}"; done | xargs)
	t_eq "TAPs: the VMM holds exactly the queue fds its arguments name" \
		"$(grep -o 'fd=[^ ]*' <<<"$cmd" | grep -o '[0-9]\+' | xargs)" "$fds"
	t_eq "TAPs: and nothing else but stdio (on /dev/null with --daemonize)" "0 1 2 $fds" "$(ls /proc/$pid/fd | sort -n | xargs)"
	t_match "TAPs: the named TAP has the host address" " 172.31.250.1/24" "$(ip -br addr show "$tap" 2>&1)"
	t_match "TAPs: and is up" "<[^>]*[,<]UP[,>]" "$(ip -o link show "$tap" 2>&1)"
	t_eq "TAPs: /dev/net/tun is in the jail" "kvm net null urandom" "$(ls /proc/$pid/root/dev | xargs)"
	t_eq "TAPs: a static executable is copied alone" "dev proc run svmm" "$(ls /proc/$pid/root | xargs)"
	kill -9 "$pid"
	for _ in $(seq 50); do [[ -e /proc/$pid ]] || break; sleep 0.1; done
	sleep 0.2
	t_ok "TAPs: the TAP goes with the VMM" bash -c "! ip link show $tap >/dev/null 2>&1"
	pid=
else
	t_skip "TAPs" "no static C toolchain (cc -static)"
fi

# The ASan+UBSan build runs jailed too: libasan & co. are copied, and its
# /proc/self/maps is in the jail's own /proc.
asan=$T_TOP/build-asan/svmm
if [[ -x $asan ]]; then
	rm -rf "$jdir"
	out=$("$T_SVMM" jail --id "$id" --uid $uid --gid $uid --daemonize -- "$asan" \
		--api-socket "$sockdir/api4.sock" 2>&1)
	[[ $out =~ ^[0-9]+$ ]] && pid=$out
	for _ in $(seq 100); do [[ -S $sockdir/api4.sock ]] && break; sleep 0.1; done
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --unix-socket "$sockdir/api4.sock" \
		http://localhost/api/v1/vmm.ping)
	t_eq "the ASan build answers jailed" 200 "$code"
	t_ok "its sanitizer runtime was copied in" bash -c "ls $jdir/root/*/*/libasan.so.* $jdir/root/*/*/*/libasan.so.* 2>/dev/null | grep -q ."
	kill -9 "$pid" 2>/dev/null
	for _ in $(seq 50); do [[ -e /proc/$pid ]] || break; sleep 0.1; done
	pid=
else
	t_skip "the ASan build jailed" "no build-asan/svmm (make asan)"
fi

# Flag errors: status 2 (usage) or 1, the flag named.
j() { out=$("$T_SVMM" jail "$@" 2>&1); rc=$?; }
j --uid 1 --gid 1 -- "$T_SVMM" --api-socket /x
t_eq "missing --id: status 2" 2 "$rc"
t_match "missing --id is named" "svmm jail: --id is required" "$out"
j --id 'a/b' --uid 1 --gid 1 -- "$T_SVMM" --api-socket /x
t_match "bad --id" "--id 'a/b': expected" "$out"
j --id "$(printf 'a%.0s' $(seq 65))" --uid 1 --gid 1 -- "$T_SVMM" --api-socket /x
t_match "--id over 64 characters" "--id 'a+': expected" "$out"
j --id x --uid abc --gid 1 -- "$T_SVMM" --api-socket /x
t_eq "bad --uid: status 2" 2 "$rc"
t_match "bad --uid is named" "--uid 'abc': expected a number" "$out"
j --id x --uid 1 --gid -5 -- "$T_SVMM" --api-socket /x
t_match "bad --gid is named" "--gid '-5': expected a number" "$out"
j --id x --uid 1 --gid 1 --resource-limit cpu=5 -- "$T_SVMM" --api-socket /x
t_match "unknown --resource-limit" "--resource-limit: unknown limit 'cpu'" "$out"
j --id x --uid 1 --gid 1 --cgroup pidsmax -- "$T_SVMM" --api-socket /x
t_match "malformed --cgroup" "--cgroup 'pidsmax': expected CONTROLLER.FILE=VALUE" "$out"
j --id x --uid 1 --gid 1 --frob -- "$T_SVMM" --api-socket /x
t_match "unknown flag" "unknown flag '--frob'" "$out"
j --id x --uid 1 --gid 1
t_match "nothing after --" "nothing to run" "$out"
j --id x --uid 1 --gid 1 -- "$T_SVMM" --kernel
t_match "the VMM's flags are read as the VMM reads them" "the VMM's flags: --kernel needs a value" "$out"
b=$tmp/base
j --id e1 --uid $uid --gid $uid --chroot-base "$b" -- "$T_SVMM" --kernel relative/vmlinux
t_eq "relative VM path: status 1" 1 "$rc"
t_match "relative VM path refused" "the VM's path 'relative/vmlinux' is not absolute" "$out"
mkdir -p "$b/svmm/e2"
j --id e2 --uid $uid --gid $uid --chroot-base "$b" -- "$T_SVMM" --api-socket "$sockdir/e.sock"
t_match "an existing jail directory is refused" "$b/svmm/e2 exists" "$out"
j --id e3 --uid $uid --gid $uid --chroot-base "$b" --cgroup pids.bogus=1 -- "$T_SVMM" --api-socket "$sockdir/e.sock"
t_match "an unknown cgroup file is named" "--cgroup pids.bogus: .*/svmm/e3/pids.bogus does not exist" "$out"
rmdir "${cgdir%/*}/e3" 2>/dev/null
t_ok "the failed jail's cgroup is removed" test ! -d "${cgdir%/*}/e3"
j --id e4 --uid $uid --gid $uid --chroot-base "$b" --cgroup nosuchctl.max=1 -- "$T_SVMM" --api-socket "$sockdir/e.sock"
t_match "a missing controller is named" "--cgroup.*nosuchctl" "$out"
j --id e5 --uid $uid --gid $uid --chroot-base "$b" --netns /nonexistent/ns -- "$T_SVMM" --api-socket "$sockdir/e.sock"
t_match "a bad --netns is named" "--netns /nonexistent/ns: No such file" "$out"
j --id e6 --uid $uid --gid $uid --chroot-base "$b" -- "$tmp/none" --api-socket "$sockdir/e.sock"
t_match "a missing executable is named" "cannot stat the executable $tmp/none" "$out"
t_done
