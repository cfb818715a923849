#!/usr/bin/env bash
# Ten `svmm net up` started at once on an empty table (five sharing a lease
# directory, five with a directory and pool each, so that only nf_tables
# itself orders their batches): all come up with distinct leases, the table
# skeleton is made exactly once, and ten simultaneous teardowns leave
# nothing behind.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/net.lib"
nt_require
nt_world

pids=()
for i in $(seq 0 9); do
	dir=(--dir "$NT_DIR")
	((i < 5)) || dir=(--dir "$NT_DIR/d$i" --pool "10.88.$i.0/24")
	ip netns exec "$NT_H" "$T_SVMM" net up --id "p$i" --tap "svt-p$i" -p "$((9000 + i)):80" \
		"${dir[@]}" --table "$NT_TABLE" >"$NT_DIR/p$i.out" 2>&1 &
	pids+=($!)
	t_cleanup "kill -9 $!"
done
for ((w = 0; w < 200; w++)); do
	n=$(cat "$NT_DIR"/p*.out | grep -c '^id=')
	((n == 10)) && break
	sleep 0.05
done
t_eq "ten VMs up" 10 "$n"
t_eq "no errors" "" "$(grep -hv '^id=\|warning: IPv4 forwarding is off' "$NT_DIR"/p*.out)"
t_match "forwarding off is warned about" "warning: IPv4 forwarding is off: VM 'p0' reaches nothing" \
	"$(cat "$NT_DIR/p0.out")"
t_eq "ten distinct guest addresses" 10 "$(grep -ho 'guest=[^ ]*' "$NT_DIR"/p*.out | sort -u | wc -l)"
rules=$(ip netns exec "$NT_H" nft list table inet "$NT_TABLE")
t_eq "the dispatch rules exist once" 2 "$(ip netns exec "$NT_H" nft list chain inet "$NT_TABLE" forward | grep -c vmap)"
t_eq "ten egress chains" 10 "$(grep -c 'chain vm-p[0-9]-egress' <<<"$rules")"
t_eq "ten TAPs" 10 "$(ip -n "$NT_H" link | grep -c 'svt-p[0-9]:')"

kill "${pids[@]}"
wait "${pids[@]}" 2>/dev/null
t_eq "teardowns without errors" "" "$(grep -h 'teardown' "$NT_DIR"/p*.out)"
t_eq "no VM chains left" "" "$(ip netns exec "$NT_H" nft list table inet "$NT_TABLE" | grep -o 'vm-p[0-9]-[a-z]*')"
t_eq "no map elements left" "" "$(ip netns exec "$NT_H" nft list table inet "$NT_TABLE" | grep elements)"
t_eq "no TAPs left" 0 "$(ip -n "$NT_H" link | grep -c 'svt-p[0-9]:')"
t_eq "no leases left" "" "$(cat "$NT_DIR/leases" "$NT_DIR"/d*/leases | grep '^id=')"
t_done
