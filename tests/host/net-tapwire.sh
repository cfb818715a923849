#!/usr/bin/env bash
# The data path through a real svmm TAP: socat attaches to the persistent
# TAP by name (as a VMM would) and relays its frames to a veth whose other
# end is the guest namespace. The guest reaches the outside through NAT and
# a port forward reaches the guest; gc removes the TAP even while attached.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/net.lib"
nt_require
command -v ethtool >/dev/null || { t_skip "TAP data path" "ethtool is missing"; t_done; exit 0; }
nt_world

tap=svt-w$$
nt_ns "$NT_H-g"
# gp0: the relay's end of the wire, no address and no ARP, so the host stack ignores it
ip -n "$NT_H" link add gp0 type veth peer name eth0 netns "$NT_H-g"
ip -n "$NT_H" link set gp0 arp off up
# frames cross a packet socket: no checksum offload on the guest side
ip netns exec "$NT_H-g" ethtool -K eth0 tx off >/dev/null
nt_up g --tap "$tap" --ip-forward -p 8080:80
t_match "g is up on its TAP" "^id=g link=$tap " "$NT_LINE_g"
ip netns exec "$NT_H" socat "TUN,tun-name=$tap,tun-type=tap,iff-no-pi,iff-up" INTERFACE:gp0 \
	>"$NT_DIR/relay.log" 2>&1 &
relay=$!
t_cleanup "kill $relay"
sleep 0.3
t_ok "the relay attached to the TAP by name" kill -0 $relay

nt_listen "$NT_O" 7000
nt_listen "$NT_H-g" 80
t_eq "through the TAP to the outside, masqueraded" "hi from 10.99.0.1" "$(nt_ask "$NT_H-g" 10.99.0.2 7000)"
t_eq "port forward through the TAP" "hi from 10.99.0.2" "$(nt_ask "$NT_O" 10.99.0.1 8080)"
nt_listen "$NT_H" 7100
t_eq "the host's services stay closed to it" "" \
	"$(nt_ask "$NT_H-g" "$(nt_field "$NT_LINE_g" gateway)" 7100)"

kill -9 "$NT_PID_g"
wait "$NT_PID_g" 2>/dev/null
t_eq "gc after kill -9" "removed 1" "$(nt_svmm net gc --dir "$NT_DIR" --table "$NT_TABLE")"
t_eq "the attached TAP is gone" "" "$(ip -n "$NT_H" link show "$tap" 2>/dev/null)"
t_eq "no rules of g" "" "$(ip netns exec "$NT_H" nft -j list ruleset | grep -o "vm-g-[a-z]*\|$tap")"
t_done
