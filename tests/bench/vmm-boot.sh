#!/usr/bin/env bash
# Benchmark: svmm against qemu-system-x86_64 -M microvm, same kernel, same
# initramfs, same command line, 1 vCPU and 128 MiB, inside the same KVM
# (the nested sandbox where /dev/kvm is not usable here). Prints figures
# and ratios (svmm / qemu); asserts nothing.
#
#   start -> first KVM_RUN   strace -f -ttt on a separate run of each
#   start -> /init           wall time until /init's line on the serial file
#   resident memory          Rss from /proc/PID/smaps at /init, less the
#                            guest RAM mapping(s)
# BENCH_RUNS=N repeats the timed boots (default 3) and prints the median.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
if [[ -z ${SVMM_IN_SANDBOX:-} ]] && ! "$top/tools/kvm-sandbox" --check 2>/dev/null | grep -q '^direct'; then
	exec "$top/tools/kvm-sandbox" --timeout 1500 -- "$0" "$@"
fi
. "$top/tests/lib.sh"
. "$top/tests/kvm/lib-guest.sh"
svmm=$T_SVMM
runs=${BENCH_RUNS:-3}
mem_mib=128
cmdline="console=ttyS0 reboot=t panic=-1 quiet"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/svmm-bench.XXXXXX")
# The last boot's logs stay in build/bench-logs for a look when a figure is n/a.
trap 'mkdir -p "$top/build/bench-logs" && cp "$tmp"/*.log "$tmp"/*.err "$top/build/bench-logs/" 2>/dev/null; rm -rf "$tmp"' EXIT

kernel=$(g_kernel) || { echo "no kernel to boot"; exit 0; }
g_initramfs "$tmp/init.gz" sleep
pvh_from=$(g_pvh_vmlinux "$tmp/vmlinux")

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Waiting without forking (a fork per poll costs the nested guest dearly):
# nap sleeps with a builtin, has FILE WORD tells whether FILE holds WORD.
mkfifo "$tmp/nap"
exec {nap_fd}<>"$tmp/nap"
nap() { read -r -t "$1" -u "$nap_fd" _ || true; }
has() {
	local c=
	read -r -d "" c 2>/dev/null <"$1"
	[[ $c == *"$2"* ]]
}

# stop VMM WAITED: ends the VMM (TERM, then KILL after 10 s) and reaps
# WAITED (the VMM itself, or strace around it), which then ends too.
stop() {
	local vmm=$1 waited=$2 i
	[[ -n $vmm ]] && kill -TERM "$vmm" 2>/dev/null
	for ((i = 0; i < 1000; i++)); do
		kill -0 "$waited" 2>/dev/null || break
		nap 0.01
	done
	if kill -0 "$waited" 2>/dev/null; then
		[[ -n $vmm ]] && kill -KILL "$vmm" 2>/dev/null
		kill -KILL "$waited" 2>/dev/null
	fi
	wait "$waited" 2>/dev/null
}

# vmm_cmd WHO KERNEL LOG: the command line of one boot.
vmm_cmd() {
	local who=$1 k=$2 log=$3
	if [[ $who == svmm ]]; then
		echo "$svmm" run -v --kernel "$k" --initramfs "$tmp/init.gz" --cmdline "'$cmdline'" \
			--cpus boot=1 --memory size=${mem_mib}M --serial "file=$log"
	else
		echo qemu-system-x86_64 -M microvm,x-option-roms=off,rtc=on,isa-serial=on \
			-accel kvm -cpu host -smp 1 -m ${mem_mib}M -nodefaults -no-user-config \
			-display none -serial "file:$log" -kernel "$k" -initrd "$tmp/init.gz" \
			-append "'$cmdline'"
	fi
}

# Rss in kB of pid, less mappings of at least the guest RAM's size (and at
# most 4 MiB more: QEMU adds guard pages).
rss_beyond_ram() {
	awk -v lo=$((mem_mib * 1024)) -v hi=$((mem_mib * 1024 + 4096)) '
		/^[0-9a-f]+-[0-9a-f]+ / { size = -1; next }
		/^Size:/ { size = $2; next }
		/^Rss:/ { if (size >= lo && size <= hi) ram += $2; else rest += $2 }
		END { printf "%d %d\n", rest, ram }' "/proc/$1/smaps"
}

# Where pid's resident memory beyond guest RAM goes, one "KiB what" line
# per kind of mapping, largest first: the binary, each library, [heap],
# thread stacks (anonymous 8 MiB-class mappings), io_uring rings, the rest
# of the anonymous memory.
rss_breakdown() {
	awk -v lo=$((mem_mib * 1024)) -v hi=$((mem_mib * 1024 + 4096)) '
		/^[0-9a-f]+-[0-9a-f]+ / {
			what = $6
			for (i = 7; i <= NF; i++) what = what " " $i
			if (what == "") what = "anonymous"
			else if (what ~ /io_uring/) what = "io_uring rings"
			else if (what ~ /^\//) { n = split(what, p, "/"); what = p[n] }
			next
		}
		/^Size:/ { size = $2; if (what == "anonymous" && size >= 2048 && size <= 8200) what = "thread stacks"; next }
		/^Rss:/ { if (!(size >= lo && size <= hi)) kb[what] += $2 }
		END { for (w in kb) if (kb[w]) printf "%7d %s\n", kb[w], w }' "/proc/$1/smaps" | sort -rn
}

# boot_once WHO KERNEL: "ms_to_init rss_kb ram_rss_kb" of one boot.
boot_once() {
	local who=$1 k=$2 log=$tmp/$1.log t0 t pid i out
	rm -f "$log"
	t0=$(now_ms)
	eval "exec $(vmm_cmd "$who" "$k" "$log")" 2>"$tmp/$who.err" & # $! is the VMM
	pid=$!
	for ((i = 0; i < 9000; i++)); do # 90 s at most
		has "$log" SVMM-INIT-REACHED && break
		kill -0 "$pid" 2>/dev/null || break
		nap 0.01
	done
	t=$(($(now_ms) - t0))
	out=$(rss_beyond_ram "$pid" 2>/dev/null || echo "0 0")
	rss_breakdown "$pid" >"$tmp/$who.rss" 2>/dev/null
	stop "$pid" "$pid"
	grep -q SVMM-INIT-REACHED "$log" 2>/dev/null || { echo "fail fail fail"; return; }
	echo "$t $out"
}

# first_run_us WHO KERNEL: µs from exec to the first KVM_RUN ioctl.
first_run_us() {
	local who=$1 k=$2 st=$tmp/$1.strace
	# A trace left by the other kernel's run would be read as this one's
	# (the PVH half once waited forever on a VM nobody stopped).
	rm -f "$st"
	eval "strace -f -ttt -e trace=execve,ioctl -o '$st' $(vmm_cmd "$who" "$k" "$tmp/$who-s.log")" \
		2>/dev/null &
	local pid=$! i
	for ((i = 0; i < 3000; i++)); do # 30 s at most
		has "$st" KVM_RUN && break
		kill -0 "$pid" 2>/dev/null || break
		nap 0.01
	done
	# the traced VMM's pid leads strace's first line; ending it ends strace
	stop "$(awk 'NR == 1 { print $1 }' "$st" 2>/dev/null)" "$pid"
	awk '/execve\(/ && !t0 { t0 = $2 } /KVM_RUN/ { printf "%d\n", ($2 - t0) * 1e6; exit }' "$st" 2>/dev/null
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR ? a[int((NR + 1) / 2)] : "n/a") }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "# kernel: $kernel (bzImage); PVH: $pvh_from"
echo "# guest: 1 vCPU, ${mem_mib} MiB, cmdline '$cmdline'; $runs run(s) each, median"
echo "# where: $(if [[ -n ${SVMM_IN_SANDBOX:-} ]]; then echo "nested sandbox (QEMU TCG level 1, KVM level 2): slow, compare ratios only"; else echo "direct KVM"; fi)"
printf '%-34s %12s %12s %8s\n' "figure" "svmm" "qemu-microvm" "ratio"
for kind in bzimage pvh; do
	k=$kernel
	[[ $kind == pvh ]] && k=$tmp/vmlinux
	declare -A t rss ram fr
	for who in svmm qemu; do
		: >"$tmp/$who.times"
		for ((r = 0; r < runs; r++)); do
			boot_once "$who" "$k" >>"$tmp/$who.times"
		done
		t[$who]=$(cut -d' ' -f1 "$tmp/$who.times" | median)
		rss[$who]=$(cut -d' ' -f2 "$tmp/$who.times" | median)
		ram[$who]=$(cut -d' ' -f3 "$tmp/$who.times" | median)
		fr[$who]=$(first_run_us "$who" "$k")
	done
	printf '%-34s %12s %12s %8s\n' "$kind: start -> first KVM_RUN (us)" "${fr[svmm]:-n/a}" "${fr[qemu]:-n/a}" \
		"$(ratio "${fr[svmm]:-0}" "${fr[qemu]:-0}")"
	printf '%-34s %12s %12s %8s\n' "$kind: start -> /init (ms)" "${t[svmm]}" "${t[qemu]}" \
		"$(ratio "${t[svmm]}" "${t[qemu]}")"
	printf '%-34s %12s %12s %8s\n' "$kind: RSS beyond guest RAM (KiB)" "${rss[svmm]}" "${rss[qemu]}" \
		"$(ratio "${rss[svmm]}" "${rss[qemu]}")"
	printf '%-34s %12s %12s %8s\n' "$kind: guest RAM touched (KiB)" "${ram[svmm]}" "${ram[qemu]}" \
		"$(ratio "${ram[svmm]}" "${ram[qemu]}")"
	grep -h 'first KVM_RUN\|boot-timer' "$tmp/svmm.err" | sed "s/^/# $kind svmm -v: /"
	for who in svmm qemu; do
		echo "# $kind $who RSS beyond guest RAM, last boot (KiB, by mapping):"
		head -n 12 "$tmp/$who.rss" | sed 's/^/#   /'
	done
	unset t rss ram fr
done
exit 0
