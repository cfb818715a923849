#!/usr/bin/env bash
# A guest namespace behind a veth reaches the outside through svmm's NAT,
# seen there with the host's masquerade address; teardown removes it all.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/net.lib"
nt_require
nt_world

nt_guest g1
nt_up g1 --link vg-g1 --ip-forward
line=$NT_LINE_g1
t_match "lease line" '^id=g1 link=vg-g1 host=172\.30\.[0-9.]+/30 guest=172\.30\.[0-9.]+/30 .*uplink=up0$' "$line"
t_eq "ip_forward turned on in the host namespace" 1 "$(ip netns exec "$NT_H" cat /proc/sys/net/ipv4/ip_forward)"
host=$(nt_field "$line" host)
t_match "host side address on the link" "inet ${host//./\\.} " "$(ip -n "$NT_H" addr show vg-g1)"

nt_listen "$NT_O" 7000
t_eq "guest reaches the outside, seen as the masquerade address" "hi from 10.99.0.1" "$(nt_ask "$NT_H-g1" 10.99.0.2 7000)"
nt_listen "$NT_O" 7001 udp
t_eq "UDP too" "hi from 10.99.0.1" "$(nt_ask "$NT_H-g1" 10.99.0.2 7001 udp)"

rules=$(ip netns exec "$NT_H" nft -j list ruleset)
t_match "masquerade chain of the VM" '"vm-g1-snat"' "$rules"
t_match "its link in the maps" '"vg-g1"' "$rules"

kill "$NT_PID_g1"
wait "$NT_PID_g1" 2>/dev/null
t_eq "net up exits 0 on SIGTERM" "" "$(grep -v '^id=' "$NT_DIR/up-g1.out")"
rules=$(ip netns exec "$NT_H" nft -j list ruleset)
t_eq "no rules left for g1" "" "$(grep -o 'vm-g1-[a-z]*\|vg-g1\|172\.30\.0\.2' <<<"$rules")"
t_eq "no host address left on the veth" "" "$(ip -n "$NT_H" -4 addr show vg-g1)"
t_eq "no lease left" "" "$(grep '^id=' "$NT_DIR/leases")"
t_eq "guest cut off again" "" "$(nt_ask "$NT_H-g1" 10.99.0.2 7000)"
t_done
