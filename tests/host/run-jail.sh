#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# svmm run --image runs its VMM jailed (vmm/run/vm_launch.c, vmm/run/jail.h),
# checked without KVM: a copy of svmm-host next to a static "svmm" that only
# waits stands in for the VMM, so the launch goes all the way to the jailed
# exec and the VMM is looked at from outside: its uid from the pool (two runs
# at once get two, released when the VMM ends), no capabilities, its own
# root and namespaces, config.json and the sockets' directory in reach of its
# uid, the TAP as an fd; --vmm-user, --no-jail, --seccomp; the jail and the
# state removed. tests/kvm/run-image.sh checks the real VMM jailed. Root.
. "$(dirname "$0")/../lib.sh"

if ((EUID != 0)); then
	t_skip "svmm run --image jailed" "needs root"
	t_done
	exit
fi
sample=$T_BUILD/images/oci/sample
if [[ ! -f $sample/index.json ]]; then
	t_fail "the sample image is built" "run 'make images'"
	t_done
	exit 1
fi
tmp=$(t_tmpdir)
export SVMM_IMAGE_CACHE=$tmp/cache
unset SVMM_LAUNCHER
base=1879048192 last=$((1879048192 + 63))
locks=/run/svmm/vmm-uids
cs=/run/svmm/containers

# Flag errors first (the real build: nothing starts): 125, the flag named.
bad() { # regex, then arguments
	local want=$1 out rc
	shift
	out=$("$T_SVMM" run --rm --image "$sample" "$@" -- true 2>&1)
	rc=$?
	t_eq "$* fails with 125" 125 "$rc"
	t_match "$* says why" "$want" "$out"
}
bad "--vmm-user 'abc': expected UID\[:GID\]" --vmm-user abc
bad "--vmm-user '5:': expected UID\[:GID\]" --vmm-user 5:
bad "--vmm-user '5:x': expected UID\[:GID\]" --vmm-user 5:x
bad "--vmm-user '-1': expected UID\[:GID\]" --vmm-user -1
bad "--vmm-user '4294967295': expected UID\[:GID\]" --vmm-user 4294967295
bad "--vmm-user 0: not root's uid" --vmm-user 0
bad "--vmm-user 5:0: not root's uid or gid" --vmm-user 5:0
bad "--vmm-user and --no-jail" --vmm-user 5 --no-jail
bad "--seccomp 'maybe': expected true, false, log or errno" --seccomp maybe
help=$("$T_SVMM" run --image x --help 2>&1)
t_match "--help: the VMM runs jailed and under seccomp by default" \
	"runs jailed and under seccomp by default" "$(tr '\n' ' ' <<<"$help" | tr -s ' ')"
t_match "--help names --vmm-user, --no-jail, --seccomp" \
	"--vmm-user UID\[:GID\].*--no-jail.*--seccomp true\|false\|log\|errno" "$(tr '\n' ' ' <<<"$help")"

if ! printf '#include <unistd.h>\nint main(void){pause();return 0;}\n' >"$tmp/pause.c" ||
	! cc -static -o "$tmp/pause" "$tmp/pause.c" 2>/dev/null; then
	t_skip "a jailed stand-in VMM" "no static C toolchain (cc -static)"
	t_done
	exit
fi
mkdir -p "$tmp/bin"
cp "$T_BUILD/svmm-host" "$tmp/bin/svmm-host"
cp "$tmp/pause" "$tmp/bin/svmm"
echo kernel >"$tmp/kernel" && echo initrd >"$tmp/initrd"
chmod 644 "$tmp/kernel" "$tmp/initrd"

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	pkill -9 -f "^svmm run --config $cs/rj[0-9]-$$/" 2>/dev/null
	rm -rf "$cs"/rj?-$$
}
t_cleanup cleanup

# start NAME ARGS...: a run in the background; $vmm is its VMM's pid
start() {
	local name=$1 i
	shift
	"$tmp/bin/svmm-host" run --name "$name" --kernel "$tmp/kernel" --initrd "$tmp/initrd" \
		--image "$sample" "$@" -- true >"$tmp/$name.out" 2>&1 &
	pids+=($!)
	run_pid=$!
	vmm=
	for i in $(seq 300); do
		vmm=$(cat "$cs/$name/svmm/vmm/svmm.pid" 2>/dev/null) && [[ -n $vmm && -e /proc/$vmm ]] && break
		vmm=$(pgrep -f "^svmm run --config $cs/$name/config.json")
		[[ -n $vmm ]] && break
		sleep 0.1
	done
}
# stop: kill the VMM, wait for the run to end
stop() {
	kill -9 "$vmm" 2>/dev/null
	wait "$run_pid"
	rc=$?
}
field() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$2/status"; }

n1=rj1-$$ n2=rj2-$$
start "$n1" --net auto
v1=$vmm r1=$run_pid
start "$n2" --rm -v "$tmp:/data" --seccomp log --metrics "path=$tmp/m.sock"
v2=$vmm r2=$run_pid
if [[ -z $v1 || -z $v2 ]]; then
	t_fail "two jailed runs start" "VMM pids '$v1' '$v2'" "$(cat "$tmp/$n1.out" "$tmp/$n2.out")"
	t_done
	exit 1
fi
u1=$(field Uid "$v1") u2=$(field Uid "$v2")
t_ok "run 1: the VMM's uid $u1 is the pool's" test "$u1" -ge $base -a "$u1" -le $last
t_ok "run 2: the VMM's uid $u2 is the pool's" test "$u2" -ge $base -a "$u2" -le $last
t_ok "two runs at once: two uids ($u1, $u2)" test "$u1" != "$u2"
t_eq "the gid is the uid" "$u1" "$(field Gid "$v1")"
t_ok "the pool's lock of $u1 is held while its VMM runs" bash -c "! flock -n $locks/$u1.lock true"
st=$(cat "/proc/$v1/status")
t_match "uid, all four" "Uid:[[:space:]]+$u1[[:space:]]+$u1[[:space:]]+$u1[[:space:]]+$u1" "$st"
t_match "CapEff 0" "CapEff:[[:space:]]+0000000000000000" "$st"
t_match "CapBnd 0" "CapBnd:[[:space:]]+0000000000000000" "$st"
t_match "NoNewPrivs 1" "NoNewPrivs:[[:space:]]+1" "$st"
t_ok "its / is not the host's" test "$(stat -Lc %d:%i "/proc/$v1/root/")" != "$(stat -Lc %d:%i /)"
t_eq "its / is the jail in the run's state" "$(stat -c %d:%i "$cs/$n1/svmm/vmm/root")" \
	"$(stat -Lc %d:%i "/proc/$v1/root/")"
for ns in mnt pid; do
	t_ok "its $ns namespace is its own" test "$(readlink "/proc/$v1/ns/$ns")" != "$(readlink /proc/self/ns/$ns)"
done
t_eq "its argv: run --config STATE/config.json --seccomp true" \
	"svmm run --config $cs/$n1/config.json --seccomp true" "$(tr '\0' ' ' <"/proc/$v1/cmdline" | sed 's/ $//')"
t_eq "--seccomp log and --metrics (the socket in STATE/vmm, the run's name) are passed on" \
	"svmm run --config $cs/$n2/config.json --seccomp log --metrics path=$cs/$n2/vmm/metrics.sock,id=$n2" \
	"$(tr '\0' ' ' <"/proc/$v2/cmdline" | sed 's/ $//')"
t_eq "--metrics path=P: P links to the run's STATE/vmm/metrics.sock" "$cs/$n2/vmm/metrics.sock" \
	"$(readlink "$tmp/m.sock")"
as() { setpriv --reuid="$u1" --regid="$u1" --clear-groups -- "$@"; }
jr=/proc/$v1/root
cfg=$(as cat "$jr$cs/$n1/config.json" 2>&1)
t_match "config.json is in the jail, readable by the VMM's uid" '"kernel": "'"$tmp"'/kernel"' "$cfg"
t_ok "... and read-only there" bash -c "! setpriv --reuid=$u1 --regid=$u1 --clear-groups -- sh -c ': >>$jr$cs/$n1/config.json'"
t_ok "the kernel and initramfs are readable by it" as test -r "$jr$tmp/kernel" -a -r "$jr$tmp/initrd"
disk=$(jq -r '.disks[0].path' <<<"$cfg")
t_ok "the root disk ($disk) is readable by it" as test -r "$jr$disk"
t_ok "the sockets' directory is writable by it" as test -w "$jr$cs/$n1/vmm" -a -x "$jr$cs/$n1/vmm"
t_ok "the console file is writable by it" as test -w "$jr$cs/$n1/console.log"
t_ok "the run's state is not: (the host writes its endpoint there)" bash -c "! setpriv --reuid=$u1 --regid=$u1 --clear-groups -- test -w $jr$cs/$n1"
fd=$(jq -r '.net[0].fds[0]' <<<"$cfg")
t_match "--net auto: config.json passes the TAP as \"fds\": [N]" '^[0-9]+$' "$fd"
t_eq "... and the VMM holds fd $fd, a TAP" /dev/net/tun "$(readlink "/proc/$v1/fd/$fd" 2>&1)"
t_eq "... its only fd besides stdio" "0 1 2 $fd" "$(ls "/proc/$v1/fd" | sort -n | xargs)"
u2sock=$(stat -c %u "$cs/$n2/vmm/fs-0.sock" 2>&1)
t_eq "-v: the virtiofsd socket is the VMM's" "$u2" "$u2sock"

vmm=$v1 run_pid=$r1
stop
t_eq "run 1: its VMM killed: 125" 125 "$rc"
t_ok "run 1: the jail is removed" test ! -e "$cs/$n1/svmm"
t_ok "run 1: its uid is released" flock -n "$locks/$u1.lock" true
t_ok "run 1 (no --rm): the state is kept" test -d "$cs/$n1"
t_ok "run 2 runs on" test -e "/proc/$v2"
# a third run gets run 1's uid back (the first free one) while run 2 holds its own
n3=rj3-$$
start "$n3" --rm
t_eq "run 3: the released uid is taken again" "$u1" "$(field Uid "$vmm")"
stop
vmm=$v2 run_pid=$r2
stop
t_ok "run 2 (--rm): the state and jail are removed" test ! -e "$cs/$n2"
t_ok "run 2: its --metrics link is removed" test ! -L "$tmp/m.sock"
t_ok "run 2: its uid is released" flock -n "$locks/$u2.lock" true
rm -rf "${cs:?}/$n1"

# --vmm-user: that uid and gid
n4=rj4-$$
start "$n4" --rm --vmm-user 4000:4001
t_eq "--vmm-user 4000:4001: the uid" 4000 "$(field Uid "$vmm")"
t_eq "--vmm-user 4000:4001: the gid" 4001 "$(field Gid "$vmm")"
t_eq "--vmm-user: its state files are its" "4000:4001" "$(stat -c %u:%g "$cs/$n4/config.json" 2>&1)"
stop
t_ok "--vmm-user: the jail is removed" test ! -e "$cs/$n4"

# --no-jail: as today, root, the host's root
n5=rj5-$$
start "$n5" --rm --no-jail
t_eq "--no-jail: the VMM runs as uid 0" 0 "$(field Uid "$vmm")"
t_eq "--no-jail: in the host's root" "$(stat -Lc %d:%i /)" "$(stat -Lc %d:%i "/proc/$vmm/root/")"
t_eq "--no-jail: still with --seccomp true" "svmm run --config $cs/$n5/config.json --seccomp true" \
	"$(tr '\0' ' ' <"/proc/$vmm/cmdline" | sed 's/ $//')"
t_ok "--no-jail: no jail directory" test ! -e "$cs/$n5/svmm"
stop
t_ok "--no-jail --rm: the state is removed" test ! -e "$cs/$n5"
t_done
