#!/usr/bin/env bash
# 20 svmm processes taking leases at once get 20 distinct blocks; a lease
# whose owner died is reclaimed; released leases leave the file.
. "$(dirname "$0")/../lib.sh"
d=$(t_tmpdir)
pids=()
for i in $(seq 1 20); do
	"$T_SVMM" net lease --id "c$i" --hold --dir "$d" --pool 10.200.0.0/24 >"$d/out.$i" 2>&1 &
	pids+=($!)
	t_cleanup "kill -9 $!"
done
for ((w = 0; w < 200; w++)); do
	n=$(cat "$d"/out.* | grep -c '^id=')
	((n == 20)) && break
	sleep 0.05
done
t_eq "20 processes got a lease" 20 "$n"
t_eq "20 distinct guest addresses" 20 "$(grep -ho 'guest=[^ ]*' "$d"/out.* | sort -u | wc -l)"
t_eq "20 distinct blocks" 20 "$(grep -ho ' net=[^ ]*' "$d"/out.* | sort -u | wc -l)"
t_eq "no errors" "" "$(grep -v '^id=' "$d"/out.*)"
t_eq "the file holds 20 live leases" 20 "$("$T_SVMM" net ls --dir "$d" | grep -c 'alive=1$')"

# kill -9 one owner: its block goes to the next taker
victim=$(grep -l '^id=c7 ' "$d"/out.*)
vnet=$(grep -o ' net=[^ ]*' "$victim")
kill -9 "${pids[6]}"
wait "${pids[6]}" 2>/dev/null
t_eq "the dead owner shows" "alive=0" "$("$T_SVMM" net ls --dir "$d" | grep '^id=c7 ' | grep -o 'alive=.*')"
out=$("$T_SVMM" net lease --id late --dir "$d" --pool 10.200.0.0/24)
t_eq "a dead owner's block is reclaimed" "$vnet" "$(grep -o ' net=[^ ]*' <<<"$out")"
t_eq "...and its record dropped" "" "$(grep '^id=c7 ' "$d/leases")"

# a recycled pid: same pid, other start time, is not the owner
cp "$d/leases" "$d/leases.orig"
sed "s/^id=c1 \(pid=[0-9]*\) start=[0-9]*/id=c1 \1 start=1/" "$d/leases.orig" >"$d/leases"
t_eq "a recycled pid is not a live owner" "alive=0" "$("$T_SVMM" net ls --dir "$d" | grep '^id=c1 ' | grep -o 'alive=.*')"
cp "$d/leases.orig" "$d/leases"
out=$("$T_SVMM" net lease --id c2 --dir "$d" --pool 10.200.0.0/24 2>&1)
t_match "a live VM's id is leased once" "VM id 'c2' already has a lease" "$out"

for i in "${!pids[@]}"; do ((i == 6)) || kill "${pids[i]}"; done
wait 2>/dev/null
t_eq "released leases leave the file (the unheld one stays, dead)" "late" \
	"$(grep -o '^id=[^ ]*' "$d/leases" | cut -d= -f2)"
t_done
