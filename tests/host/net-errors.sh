#!/usr/bin/env bash
# svmm net names the flag that is wrong, and says when CAP_NET_ADMIN is missing.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/net.lib"
nt_require
d=$(t_tmpdir)

err() { # err EXPECTED_STATUS ARGS... : stderr of svmm, checks the status
	local want=$1 out rc
	shift
	out=$("$T_SVMM" "$@" 2>&1 >/dev/null)
	rc=$?
	((rc == want)) || echo "status $rc, wanted $want"
	echo "$out"
}

t_match "up without --id" '--id is required' "$(err 2 net up --dir "$d")"
t_match "bad -p" "-p: port forward '80': expected" "$(err 2 net up --id x -p 80 --dir "$d")"
t_match "bad --allow" "--allow: allow 'hots'" "$(err 2 net up --id x --allow hots --dir "$d")"
t_match "bad --block" '--block 29: use 30 or 31' "$(err 2 net up --id x --block 29 --dir "$d")"
t_match "bad --mtu" "--mtu 'big'" "$(err 2 net up --id x --mtu big --dir "$d")"
t_match "bad --id" "--id 'a/b'" "$(err 1 net up --id a/b --dir "$d")"
t_match "bad --pool" "pool '10.0.0.1/16' has host bits set" \
	"$(err 1 net up --id x --pool 10.0.0.1/16 --dir "$d")"
t_match "bad --tap" "--tap 'much-too-long-name' is not a valid interface name" \
	"$(err 1 net up --id x --tap much-too-long-name --dir "$d")"
t_match "--tap with --link" '--tap and --link exclude each other' \
	"$(err 1 net up --id x --tap a --link b --dir "$d")"
t_match "unknown subcommand" "unknown subcommand 'frob'" "$(err 2 net frob)"
t_match "missing --uplink" '--uplink nope1: no such interface' "$(err 1 net up --id x --uplink nope1 --dir "$d")"
t_match "missing --link" '--link nope0: no such interface' "$(err 1 net up --id x --link nope0 --dir "$d")"

# Without CAP_NET_ADMIN (as nobody, in a namespace of its own).
ns=svt$$-caps
ip netns add "$ns" && t_cleanup "ip netns del $ns"
chmod 777 "$d"
# the tree may be unreadable to nobody (a checkout under /root): svmm and
# svmm-host, which svmm hands net to, side by side
cp "$T_SVMM" "$d/svmm"
cp "$(dirname "$T_SVMM")/svmm-host" "$d/svmm-host"
chmod 755 "$d/svmm" "$d/svmm-host"
out=$(ip netns exec "$ns" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$d/svmm" net up --id nocap --tap svt-nocap --dir "$d" 2>&1)
t_match "no CAP_NET_ADMIN is named" 'needs CAP_NET_ADMIN' "$out"
t_eq "nothing left behind" "" "$(grep '^id=' "$d/leases" 2>/dev/null)"
t_done
