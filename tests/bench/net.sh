#!/usr/bin/env bash
# Figures for the host network side (no assertions): how long `svmm net up`
# takes to set a VM up (lease + TAP + address + nf_tables batch) and to tear
# it down, with N other VMs already in the table, and how fast leases go.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
svmm=${T_SVMM:-$top/build/svmm}
((EUID == 0)) || { echo "net bench: needs root (skipped)"; exit 0; }
ns=svb$$
d=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$d"
}
trap cleanup EXIT
now() { date +%s%N; }
ip netns add "$ns"
ip -n "$ns" link set lo up

us=0
vm_up() { # vm_up ID PORT: start net up and read its line (no polling); sets $us
	local t0 t1 line fifo=$d/$1.fifo
	mkfifo "$fifo"
	t0=$(now)
	ip netns exec "$ns" "$svmm" net up --id "$1" --tap "b$1" --uplink lo -p "$2:80" \
		--dir "$d" --table bench >"$fifo" 2>/dev/null &
	pids+=($!)
	disown $! # no "Killed" notices at the end
	read -r line <"$fifo"
	t1=$(now)
	us=$(((t1 - t0) / 1000))
}

t0=$(now)
ip netns exec "$ns" "$svmm" version >/dev/null
echo "baseline, ip netns exec + svmm version: $((($(now) - t0) / 1000)) us"
n=${BENCH_VMS:-50}
total=0
for i in $(seq 1 "$n"); do
	vm_up "v$i" $((10000 + i))
	total=$((total + us))
done
echo "net up (lease + TAP + address + one nf_tables batch), VMs 1..$n: mean $((total / n)) us"
vm_up probe 9999
echo "net up with $n VMs in the table: $us us"
t0=$(now)
kill "${pids[-1]}"
while kill -0 "${pids[-1]}" 2>/dev/null; do sleep 0.001; done
echo "net up teardown (SIGTERM to exit) with $n VMs in the table: $((($(now) - t0) / 1000)) us"
echo "nf_tables objects (maps, chains, rules) in table inet bench: $(ip netns exec "$ns" nft -a list table inet bench | grep -c '# handle')"
for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.01; done; done
t0=$(now)
out=$(ip netns exec "$ns" "$svmm" net gc --dir "$d" --table bench)
echo "net gc after kill -9 of $n VMs ($out): $((($(now) - t0) / 1000)) us"
t0=$(now)
for i in $(seq 1 200); do "$svmm" net lease --id "l$i" --dir "$d/l" >/dev/null; done
echo "net lease, 200 sequential processes: $((($(now) - t0) / 200000)) us each"
