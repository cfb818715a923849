#!/usr/bin/env bash
# After kill -9 of the owner, svmm net gc removes the VM's rules, TAP and
# lease; chains left without any lease go too; live VMs are left alone.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/net.lib"
nt_require
nt_world

tap=svt-gc$$
nt_up gc1 --tap "$tap" -p 8080:80 --allow host:53/udp
t_match "gc1 is up on its TAP" "^id=gc1 link=$tap " "$NT_LINE_gc1"
t_match "a persistent vnet_hdr TAP" 'tun type tap pi off vnet_hdr on persist on' \
	"$(ip -d -n "$NT_H" link show "$tap")"
nt_up live --tap "svt-lv$$"
t_match "a second, live VM" '^id=live ' "$NT_LINE_live"
guest=$(nt_field "$NT_LINE_gc1" guest)
guest=${guest%/*}

kill -9 "$NT_PID_gc1"
wait "$NT_PID_gc1" 2>/dev/null
rules=$(ip netns exec "$NT_H" nft -j list ruleset)
t_match "rules outlive kill -9" '"vm-gc1-dnat"' "$rules"
t_match "the TAP outlives kill -9" "$tap" "$(ip -n "$NT_H" link)"

out=$(nt_svmm net gc --dir "$NT_DIR" --table "$NT_TABLE")
t_eq "gc reports one VM" "removed 1" "$out"
rules=$(ip netns exec "$NT_H" nft -j list ruleset)
t_eq "nft -j list ruleset shows nothing of it" "" \
	"$(grep -o "vm-gc1-[a-z]*\|$tap\|${guest//./\\.}\"" <<<"$rules")"
t_eq "ip link shows nothing of it" "" "$(ip -n "$NT_H" link | grep "$tap")"
t_eq "its lease is gone" "" "$(grep '^id=gc1 ' "$NT_DIR/leases")"
t_match "the live VM keeps its lease" '^id=live ' "$(grep '^id=live ' "$NT_DIR/leases")"
t_match "...its rules" '"vm-live-egress"' "$rules"
t_match "...and its TAP" "svt-lv$$" "$(ip -n "$NT_H" link)"

# Rules whose lease vanished (a lost lease file): gc removes them by id.
nt_up orphan --tap "svt-or$$"
kill -9 "$NT_PID_orphan"
wait "$NT_PID_orphan" 2>/dev/null
grep -v '^id=orphan ' "$NT_DIR/leases" >"$NT_DIR/leases.new" && mv "$NT_DIR/leases.new" "$NT_DIR/leases"
t_match "orphan chains present" '"vm-orphan-egress"' "$(ip netns exec "$NT_H" nft -j list ruleset)"
out=$(nt_svmm net up --id orphan --tap "svt-o2$$" --dir "$NT_DIR" --table "$NT_TABLE" 2>&1)
t_match "an id with rules cannot come up again" "already has rules for VM id 'orphan'" "$out"
t_eq "...its new TAP is removed again" "" "$(ip -n "$NT_H" link | grep "svt-o2$$")"
t_eq "...and its lease" "" "$(grep '^id=orphan ' "$NT_DIR/leases")"
t_match "...and the failed setup left the existing chains alone" '"vm-orphan-egress"' \
	"$(ip netns exec "$NT_H" nft -j list ruleset)"
t_eq "gc removes chains without a lease" "removed 1" "$(nt_svmm net gc --dir "$NT_DIR" --table "$NT_TABLE")"
t_eq "no orphan chains left" "" "$(ip netns exec "$NT_H" nft -j list ruleset | grep -o 'vm-orphan-[a-z]*')"
ip -n "$NT_H" link del "svt-or$$" # a TAP without a lease is not svmm's to judge

# A lease belongs to its network namespace: gc elsewhere leaves it (and a
# same-named TAP there) alone until that namespace is gone.
nt_up other --tap "svt-ns$$"
kill -9 "$NT_PID_other"
wait "$NT_PID_other" 2>/dev/null
nt_ns "$NT_O-b"
ip -n "$NT_O-b" tuntap add dev "svt-ns$$" mode tap
ip netns exec "$NT_O-b" "$T_SVMM" net gc --dir "$NT_DIR" --table "$NT_TABLE" >/dev/null
t_match "gc in another namespace keeps the lease" '^id=other ' "$(grep '^id=other ' "$NT_DIR/leases")"
t_match "...and that namespace's TAP of the same name" "svt-ns$$" "$(ip -n "$NT_O-b" link)"
out=$(ip netns exec "$NT_O-b" "$T_SVMM" net down --id other --dir "$NT_DIR" 2>&1)
t_match "down from another namespace says where the VM lives" "lives in another network namespace" "$out"
t_eq "gc in its own namespace reclaims it" "removed 1" "$(nt_svmm net gc --dir "$NT_DIR" --table "$NT_TABLE")"
nt_up other2 --tap "svt-n2$$"
kill -9 "$NT_PID_other2"
wait "$NT_PID_other2" 2>/dev/null
cp "$NT_DIR/leases" "$NT_DIR/leases.save"
# the same record, as if its namespace (inode 1: none has it) were gone
sed 's/^\(id=other2 .*netns=\)[0-9]*$/\11/' "$NT_DIR/leases.save" >"$NT_DIR/leases"
ip netns exec "$NT_O-b" "$T_SVMM" net gc --dir "$NT_DIR" --table "$NT_TABLE" >/dev/null
t_eq "a vanished namespace's lease is dropped" "" "$(grep '^id=other2 ' "$NT_DIR/leases")"
cp "$NT_DIR/leases.save" "$NT_DIR/leases"
nt_svmm net gc --dir "$NT_DIR" --table "$NT_TABLE" >/dev/null

t_eq "svmm net down removes a live VM's network" "" \
	"$(nt_svmm net down --id live --dir "$NT_DIR" 2>&1)"
t_eq "...its TAP" "" "$(ip -n "$NT_H" link | grep "svt-lv$$")"
t_eq "...its rules" "" "$(ip netns exec "$NT_H" nft -j list ruleset | grep -o 'vm-live-[a-z]*')"
out=$(nt_svmm net down --id live --dir "$NT_DIR" 2>&1)
t_match "down of an unknown id names it" "--id live: no lease" "$out"
t_done
