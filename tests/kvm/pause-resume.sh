#!/usr/bin/env bash
# vm.pause and vm.resume with a real guest, svmm as cloud-hypervisor (API
# socket, default seccomp): the guest prints a counter with its clock on
# the serial console every 100 ms and reads the virtio-rng every second.
# Paused, the console stands still, vm.info says Paused and no thread of
# svmm uses CPU; pausing twice and rebooting are refused. Resumed, the
# counter goes on from where it stopped, the guest's clock has not gone
# back, and the rng still answers. svmm-remote (ch-remote's commands)
# pauses and resumes too. A paused VM shuts down (vm.shutdown: its threads
# gone, the VMM still serving), boots again, and is deleted while paused
# (vm.info 404); vmm.shutdown then ends the process with status 0.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-netdev.sh"

kernel=$(nd_kernel)
d=$(t_tmpdir)
sock=$d/api.sock
log=$d/guest.log
REMOTE=$T_BUILD/svmm-remote

cat >"$d/check.sh" <<'GUEST'
(j=0; while :; do j=$((j + 1)); echo "RNG $j $(head -c 8 /dev/hwrng | od -An -tx1 | tr -d ' \n')"; sleep 1; done) &
i=0
while :; do
	i=$((i + 1))
	echo "TICK $i $(date +%s)"
	usleep 100000
done
GUEST
nd_initramfs "$d/initrd" "$d/check.sh"

cat >"$d/create.json" <<EOF
{
  "cpus":    {"boot_vcpus": 2, "max_vcpus": 2},
  "memory":  {"size": 268435456},
  "payload": {"kernel": "$kernel", "cmdline": "$ND_CMDLINE", "initramfs": "$d/initrd"},
  "serial":  {"file": "$log", "mode": "File"},
  "console": {"mode": "Off"}
}
EOF

api() { # METHOD PATH [BODY-FILE] -> prints the HTTP status; the body in $d/resp
	local args=(-s -o "$d/resp" -w '%{http_code}' --max-time 60 --unix-socket "$sock" -X "$1")
	[[ -n ${3:-} ]] && args+=(-H 'Content-Type: application/json' --data-binary "@$3")
	curl "${args[@]}" "http://localhost/api/v1/$2"
}
state() { api GET vm.info >/dev/null && jq -r .state <"$d/resp" 2>/dev/null; }
remote() { "$REMOTE" --api-socket "$sock" "$@"; }

# The complete TICK lines (10-digit clock: a line cut short has fewer) as
# "N EPOCH"; the last one; the one of counter N.
ticks() { tr -d '\r' <"$log" 2>/dev/null | grep -aE '^TICK [0-9]+ [0-9]{10}$' | cut -d' ' -f2-; }
last_tick() { ticks | tail -n1; }
tick_epoch() { ticks | awk -v n="$1" '$1 == n {print $2; exit}'; }
# Wait until the counter reaches N (at most SECS); prints the last tick.
wait_tick() {
	local want=$1 i t=
	for ((i = 0; i < $2 * 10; i++)); do
		t=$(last_tick)
		[[ -n $t ]] && ((${t%% *} >= want)) && { echo "$t"; return 0; }
		sleep 0.1
	done
	echo "$t"
	return 1
}
last_rng() { tr -d '\r' <"$log" 2>/dev/null | grep -aE '^RNG [0-9]+ [0-9a-f]{16}$' | tail -n1 | cut -d' ' -f2; }
# utime + stime of every thread of svmm, in clock ticks
cpu_ticks() { cat /proc/"$pid"/task/*/stat 2>/dev/null | sed 's/^.*) //' | awk '{s += $12 + $13} END {print s + 0}'; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# Seconds the second boot may take, from what is left of the test's 300 s.
left() { local l=$((270 - SECONDS)); echo $((l < 20 ? 20 : l)); }

"$T_SVMM" --api-socket "$sock" -v >"$d/svmm.out" 2>&1 &
pid=$!
t_cleanup "kill -9 $pid"
for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.1; done
t_eq "vmm.ping" 200 "$(api GET vmm.ping)"
threads0=$(ls /proc/$pid/task | wc -l)
t_eq "vm.create (2 vCPUs)" 204 "$(api PUT vm.create "$d/create.json")"
code=$(api PUT vm.boot)
t_eq "vm.boot" 204 "$code"
if [[ $code != 204 ]]; then
	t_fail "vm.boot failed: the rest cannot run" "answer: $(cat "$d/resp")" \
		"svmm: $(tail -n 5 "$d/svmm.out")"
	t_done
	exit 1
fi
if ! wait_tick 20 240 >/dev/null; then
	t_fail "the guest prints its counter" "console: $(tail -c 2000 "$log" 2>/dev/null)" \
		"svmm: $(tail -n 5 "$d/svmm.out")"
	t_done
	exit 1
fi
t_pass "the guest prints its counter"
c0=$(cpu_ticks)
sleep 1
echo "# CPU used by svmm in 1 s while running: $(($(cpu_ticks) - c0)) ticks"

# --- pause: the console stands still, no CPU is used
t0=$(date +%s%N)
code=$(api PUT vm.pause)
t_eq "vm.pause: 204" 204 "$code"
echo "# vm.pause took $(ms_since "$t0") ms"
t_eq "vm.info: Paused" Paused "$(state)"
read -r n1 e1 <<<"$(last_tick)"
rng1=$(last_rng)
size1=$(stat -c %s "$log")
c1=$(cpu_ticks)
sleep 1
size2=$(stat -c %s "$log")
sleep 1.5
size3=$(stat -c %s "$log")
c2=$(cpu_ticks)
t_eq "paused: no console output (1 s later)" "$size1" "$size2"
t_eq "paused: no console output (2.5 s later)" "$size1" "$size3"
echo "# CPU used by svmm in 2.5 s while paused: $((c2 - c1)) ticks"
t_ok "paused: svmm's threads (vCPUs, devices) use no CPU ($((c2 - c1)) ticks in 2.5 s)" \
	test $((c2 - c1)) -le 5
t_eq "vm.pause twice: 500" 500 "$(api PUT vm.pause)"
t_match "and says it is paused" "already paused" "$(cat "$d/resp")"
t_eq "vm.reboot while paused: 500" 500 "$(api PUT vm.reboot)"
t_eq "still Paused" Paused "$(state)"

# --- resume: the counter goes on from where it stopped, the clock did not go back
t_eq "vm.resume: 204" 204 "$(api PUT vm.resume)"
t_eq "vm.info: Running" Running "$(state)"
t_eq "vm.resume while running: 500" 500 "$(api PUT vm.resume)"
t_ok "resumed: the counter goes on (tick $((n1 + 10)))" wait_tick $((n1 + 10)) 60
e2=$(tick_epoch $((n1 + 1)))
t_ok "resumed: tick $((n1 + 1)) follows tick $n1 (no tick lost, no reboot)" test -n "$e2"
t_ok "resumed: the guest's clock did not go back (${e1:-?} -> ${e2:-?})" \
	test "${e2:-0}" -ge "${e1:-1}"
echo "# guest clock across the pause: ${e1:-?} -> ${e2:-?}"
t_eq "resumed: the guest booted once" 1 "$(tr -d '\r' <"$log" | grep -ac '^TICK 1 ')"
t_ok "the virtio-rng answered before the pause" test -n "$rng1"
rng_on=
for _ in $(seq 100); do
	r=$(last_rng)
	((${r:-0} > ${rng1:-0})) && { rng_on=1; break; }
	sleep 0.2
done
t_eq "resumed: the virtio-rng still answers" 1 "$rng_on"

# --- ch-remote's commands
t_ok "svmm-remote pause" remote pause
t_eq "svmm-remote info: Paused" Paused "$(remote info | jq -r .state)"
read -r n2 _ <<<"$(last_tick)"
t_ok "svmm-remote resume" remote resume
t_eq "svmm-remote info: Running" Running "$(remote info | jq -r .state)"
t_ok "after svmm-remote resume the counter goes on" wait_tick $((n2 + 5)) 60
# (informative: a nested sandbox can stall a guest by itself)
warn=$(tr -d '\r' <"$log" | grep -aiE 'soft lockup|rcu.*stall|watchdog' | head -n 3)
[[ -z $warn ]] || echo "# the guest warned: $warn"

# --- a paused VM shuts down (vm.shutdown), boots again, and is deleted
t_eq "pause before vm.shutdown" 204 "$(api PUT vm.pause)"
t0=$(date +%s%N)
t_eq "vm.shutdown of a paused VM: 204" 204 "$(api PUT vm.shutdown)"
echo "# vm.shutdown of the paused VM took $(ms_since "$t0") ms"
t_eq "vm.info after vm.shutdown: Created (the VMM stays)" Created "$(state)"
threads1=$(ls /proc/$pid/task | wc -l)
t_ok "the VM's threads are gone ($threads1 left, $threads0 before vm.boot)" \
	test "$threads1" -le "$threads0"
# (each vm.boot truncates the console file)
t_eq "vm.boot after the paused VM's shutdown" 204 "$(api PUT vm.boot)"
if wait_tick 5 "$(left)" >/dev/null; then
	t_pass "the guest runs again"
else
	t_fail "the guest runs again" "console: $(tail -c 2000 "$log" 2>/dev/null)"
fi
t_eq "pause before vm.delete" 204 "$(api PUT vm.pause)"
# vm.delete is vmm.shutdown's first step (server.c vm_delete_locked)
t_eq "vm.delete of a paused VM: 204" 204 "$(api PUT vm.delete)"
t_eq "vm.info after vm.delete: 404" 404 "$(api GET vm.info)"
t_eq "the VMM still serves after vm.delete" 200 "$(api GET vmm.ping)"
t_eq "vmm.shutdown: 200" 200 "$(api PUT vmm.shutdown)"
for _ in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
t_ok "svmm has exited" bash -c "! kill -0 $pid 2>/dev/null"
wait "$pid"
t_eq "svmm's exit status" 0 "$?"
t_eq "no thread was refused a call (seccomp)" "" "$(grep 'seccomp: thread' "$d/svmm.out")"
t_done
