#!/usr/bin/env bash
# TAP details: the default name, --mtu, --bridge (enslaved, no address, no
# rules), and that a TAP name taken by another link is refused untouched.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/net.lib"
nt_require
nt_world

nt_up t1 --mtu 1400 --pool 10.77.0.0/24
t_match "default TAP name is svmm + the block's index" '^id=t1 link=svmm0 host=10\.77\.0\.1/30 guest=10\.77\.0\.2/30 ' "$NT_LINE_t1"
t_match "--mtu 1400 on the TAP" 'mtu 1400 ' "$(ip -n "$NT_H" link show svmm0)"
t_match "vnet_hdr, no packet info" 'tun type tap pi off vnet_hdr on' "$(ip -d -n "$NT_H" link show svmm0)"
nt_up t2 --block 31 --pool 10.77.1.0/24
t_match "/31 blocks skip .0: the first is .2/.3" '^id=t2 link=svmm1 host=10\.77\.1\.2/31 guest=10\.77\.1\.3/31 ' "$NT_LINE_t2"

ip -n "$NT_H" link add br-svt type bridge
nt_up t3 --tap "svt-br$$" --bridge br-svt
t_match "t3 is up" '^id=t3 ' "$NT_LINE_t3"
t_match "the TAP is a port of the bridge" "master br-svt" "$(ip -n "$NT_H" link show "svt-br$$")"
t_eq "no address on a bridged TAP" "" "$(ip -n "$NT_H" -4 addr show "svt-br$$")"
t_eq "no rules for a bridged TAP" "" "$(ip netns exec "$NT_H" nft list ruleset | grep -o 'vm-t3-[a-z]*')"

ip -n "$NT_H" link add svt-taken type veth peer name svt-taken2
out=$(nt_svmm net up --id t4 --tap svt-taken --dir "$NT_DIR" --table "$NT_TABLE" 2>&1)
t_match "a taken name is refused" "--tap svt-taken: an interface of that name already exists" "$out"
t_match "...and the veth is untouched" 'svt-taken@svt-taken2' "$(ip -n "$NT_H" link show svt-taken)"
t_eq "...and no lease is kept" "" "$(grep '^id=t4 ' "$NT_DIR/leases")"

kill "$NT_PID_t3"
wait "$NT_PID_t3" 2>/dev/null
t_eq "the bridged TAP goes with its VM" "" "$(ip -n "$NT_H" link show "svt-br$$" 2>/dev/null)"
t_done
