#!/usr/bin/env bash
# Guests cannot reach each other, the host's own services, or be reached
# from outside, unless an --allow rule opens the way.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/net.lib"
nt_require
nt_world

nt_guest g1
nt_guest g2
nt_up g1 --link vg-g1 --ip-forward
t_match "g1 is up" '^id=g1 ' "$NT_LINE_g1"
g1=$(nt_field "$NT_LINE_g1" guest)
g1=${g1%/*}
gw1=$(nt_field "$NT_LINE_g1" gateway)
# g2 may reach the host's port 7100 and g1's port 7300, nothing else of the kind
nt_up g2 --link vg-g2 --allow host:7100 --allow "$g1:7300"
t_match "g2 is up" '^id=g2 ' "$NT_LINE_g2"
g2=$(nt_field "$NT_LINE_g2" guest)
g2=${g2%/*}
gw2=$(nt_field "$NT_LINE_g2" gateway)
t_match "distinct leases" . "$([[ $g1 != "$g2" ]] && echo y)"

nt_listen "$NT_H" 7100         # a service of the host
nt_listen "$NT_H" 7101         # another one
nt_listen "$NT_H" 7102 udp
nt_listen "$NT_H-g1" 7300
nt_listen "$NT_H-g2" 7200
nt_listen "$NT_O" 7000

t_eq "control: the outside reaches the host's service" "hi from 10.99.0.2" "$(nt_ask "$NT_O" 10.99.0.1 7100)"
t_eq "control: g1 reaches the outside" "hi from 10.99.0.1" "$(nt_ask "$NT_H-g1" 10.99.0.2 7000)"

t_eq "g1 cannot reach g2" "" "$(nt_ask "$NT_H-g1" "$g2" 7200)"
t_eq "g1 cannot reach the host through its gateway" "" "$(nt_ask "$NT_H-g1" "$gw1" 7100)"
t_eq "g1 cannot reach the host's uplink address" "" "$(nt_ask "$NT_H-g1" 10.99.0.1 7100)"
t_eq "g1 cannot reach g2's gateway" "" "$(nt_ask "$NT_H-g1" "$gw2" 7100)"
t_eq "g1 cannot reach a host UDP service" "" "$(nt_ask "$NT_H-g1" "$gw1" 7102 udp)"

t_eq "g2 may reach the host's port 7100" "hi from $g2" "$(nt_ask "$NT_H-g2" "$gw2" 7100)"
t_eq "g2 may not reach the host's port 7101" "" "$(nt_ask "$NT_H-g2" "$gw2" 7101)"
t_eq "g2 may reach g1's port 7300" "hi from $g2" "$(nt_ask "$NT_H-g2" "$g1" 7300)"
t_eq "...which does not let g1 reach g2" "" "$(nt_ask "$NT_H-g1" "$g2" 7200)"

ip -n "$NT_O" route add 172.30.0.0/16 via 10.99.0.1
t_eq "the outside cannot reach a guest directly, even with a route" "" "$(nt_ask "$NT_O" "$g1" 7300)"
t_eq "g2 reaches the outside through NAT" "hi from 10.99.0.1" "$(nt_ask "$NT_H-g2" 10.99.0.2 7000)"
t_done
