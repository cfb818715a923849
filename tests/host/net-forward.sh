#!/usr/bin/env bash
# Port forwards (svmm net up -p) carry TCP and UDP from the outside to the
# guest, which sees the real client address, and from the host itself
# (127.0.0.1 included); other ports stay closed.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/net.lib"
nt_require
nt_world

nt_guest g3
nt_up g3 --link vg-g3 --ip-forward -p 8080:80 -p 8053:53/udp -p 10.99.0.1:2222:22
t_match "g3 is up" '^id=g3 ' "$NT_LINE_g3"
nt_listen "$NT_H-g3" 80
nt_listen "$NT_H-g3" 53 udp
nt_listen "$NT_H-g3" 22
nt_listen "$NT_H-g3" 81

t_eq "TCP host:8080 -> guest:80" "hi from 10.99.0.2" "$(nt_ask "$NT_O" 10.99.0.1 8080)"
t_eq "UDP host:8053 -> guest:53" "hi from 10.99.0.2" "$(nt_ask "$NT_O" 10.99.0.1 8053 udp)"
t_eq "TCP on one host address 10.99.0.1:2222 -> guest:22" "hi from 10.99.0.2" \
	"$(nt_ask "$NT_O" 10.99.0.1 2222)"
gw=$(nt_field "$NT_LINE_g3" gateway)
t_eq "from the host itself to its own address" "hi from 10.99.0.1" "$(nt_ask "$NT_H" 10.99.0.1 8080)"
t_eq "from the host itself to 127.0.0.1, masqueraded" "hi from $gw" "$(nt_ask "$NT_H" 127.0.0.1 8080)"
t_eq "UDP from the host itself to 127.0.0.1" "hi from $gw" "$(nt_ask "$NT_H" 127.0.0.1 8053 udp)"
t_eq "no forward for TCP 8053" "" "$(nt_ask "$NT_O" 10.99.0.1 8053)"
t_eq "no forward for UDP 8080" "" "$(nt_ask "$NT_O" 10.99.0.1 8080 udp)"
ip -n "$NT_O" route add 172.30.0.0/16 via 10.99.0.1
g3=$(nt_field "$NT_LINE_g3" guest)
t_eq "the guest's other ports stay closed" "" "$(nt_ask "$NT_O" "${g3%/*}" 81)"
t_eq "the forwarded port is not open directly either" "" "$(nt_ask "$NT_O" "${g3%/*}" 80)"

rules=$(ip netns exec "$NT_H" nft list chain inet "$NT_TABLE" vm-g3-dnat)
t_match "dnat rules name the guest" "tcp dport 8080 dnat ip to ${g3%/*}:80" "$rules"

kill "$NT_PID_g3"
wait "$NT_PID_g3" 2>/dev/null
t_eq "forward gone after teardown" "" "$(nt_ask "$NT_O" 10.99.0.1 8080)"
t_eq "no dnat chains left" "" "$(ip netns exec "$NT_H" nft list chains | grep vm-g3)"
t_done
