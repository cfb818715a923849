#!/usr/bin/env bash
# build/svmm-remote (ch-remote's commands), svmm invoked as cloud-hypervisor
# (by name and by flags), a payload on the command line, the process
# lifecycle the blueprint manager relies on (API level), --log-file,
# --seccomp. Servers that need a VM use build/api-selftest, tools/api-selftest.c (real API server
# and front end, a recording TEST DOUBLE for the VMM); the others run the
# plain svmm binary, which has no VMM core yet.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/api-common.bash"

REMOTE=$T_BUILD/svmm-remote
r() { "$REMOTE" --api-socket "$SOCK" "$@"; }

t_ok "svmm-remote is built" test -x "$REMOTE"
api_start
out=$(r ping)
t_eq "svmm-remote ping prints the body" "$API_PID" "$(jq -r .pid <<<"$out")"
out=$(r info 2>&1)
t_eq "svmm-remote info without a VM exits 1" 1 "$?"
t_match "and prints the error" "404.*not created" "$out"
manager_body >"$API_DIR/vm.json"
t_ok "svmm-remote create FILE" r create "$API_DIR/vm.json"
t_eq "the config arrived" 4 "$(r info | jq '.config.disks|length')"
t_ok "svmm-remote delete" r delete
t_ok "svmm-remote create - (stdin)" r create - <"$API_DIR/vm.json"
t_ok "svmm-remote add-disk (CLI syntax)" r add-disk "path=$API_DIR/extra.img,readonly=on,id=x1"
t_eq "add-disk arrived as JSON" "true x1" "$(r info | jq -r '.config.disks[4]|"\(.readonly) \(.id)"')"
t_ok "svmm-remote remove-device" r remove-device x1
out=$(r add-disk "path=/a,bogus=1" 2>&1)
t_eq "add-disk with a bad key exits 1" 1 "$?"
t_match "and names it" "unknown option 'bogus'" "$out"
t_ok "svmm-remote boot" r boot
t_eq "state Running" Running "$(r info | jq -r .state)"
t_ok "svmm-remote pause" r pause
t_eq "state Paused after svmm-remote pause" Paused "$(r info | jq -r .state)"
out=$(r pause 2>&1)
t_eq "svmm-remote pause twice exits 1" 1 "$?"
t_match "and prints cloud-hypervisor's 500" "500.*already paused" "$out"
t_ok "svmm-remote resume" r resume
t_eq "state Running after svmm-remote resume" Running "$(r info | jq -r .state)"
t_ok "svmm-remote reboot" r reboot
t_eq "svmm-remote counters" "1 1 1" \
	"$(r counters | jq -r '.["api-selftest"]|"\(.pause) \(.resume) \(.reboot)"')"
t_ok "svmm-remote shutdown (the VM)" r shutdown
t_eq "state Created after shutdown" Created "$(r info | jq -r .state)"
out=$(r frobnicate 2>&1)
t_eq "unknown command exits 2" 2 "$?"
out=$(r create 2>&1)
t_eq "create without a file exits 2" 2 "$?"
t_ok "svmm-remote shutdown-vmm" r shutdown-vmm
t_ok "the VMM ends after shutdown-vmm" wait_gone "$API_PID" 5
out=$(r ping 2>&1)
t_eq "svmm-remote against no server exits 1" 1 "$?"

# --- the blueprint manager's sequence at the API level (contract 1.3): the
# test double powers the "guest" off when the button is pressed, as an ACPI
# guest would; the process must then end so vm.info fails within 30 s.
api_start
t_ok "manager: ping" r ping
t_ok "manager: vm.create" r create "$API_DIR/vm.json"
t_ok "manager: ping, vm.boot" r boot
t_ok "manager: ping, vm.power-button" r power-button
ended=no
for ((i = 0; i < 60; i++)); do
	req GET vm.info
	if [[ $code == 404 || $code == 000 ]]; then
		ended=yes
		break
	fi
	sleep 0.5
done
t_eq "manager: vm.info answers 404 or the socket closes within 30 s" yes "$ended"
t_ok "manager: the process has ended (guest power-off ends it)" wait_gone "$API_PID" 5
wait "$API_PID"
t_eq "manager: exit status 0" 0 "$?"
t_ok "manager: the socket is gone" test ! -e "$SOCK"

# --no-shutdown: the guest's power-off only stops the VM.
api_start --no-shutdown
r create "$API_DIR/vm.json" && r boot && r power-button
sleep 0.5
t_eq "--no-shutdown: VMM alive, VM back to Created" Created "$(r info | jq -r .state)"
r shutdown-vmm >/dev/null
wait_gone "$API_PID" 5

# --- svmm as cloud-hypervisor (the real binary; vm.json's payload cannot boot here)
ln -s "$T_SVMM" "$API_DIR/cloud-hypervisor"
t_match "cloud-hypervisor --version" "^cloud-hypervisor v[0-9.]+ \\(svmm\\)$" "$("$API_DIR/cloud-hypervisor" --version)"
api_start_bin "$API_DIR/cloud-hypervisor" --api-socket "$SOCK"
t_ok "cloud-hypervisor --api-socket BARE_PATH listens" test -S "$SOCK"
t_ok "cloud-hypervisor: ping" r ping
t_ok "cloud-hypervisor: create" r create "$API_DIR/vm.json"
out=$(r boot 2>&1)
# No usable /dev/kvm on the host tier, or (where there is one) no such kernel:
# either way a 500 that says why, and the VMM keeps serving.
t_match "cloud-hypervisor: a boot that cannot happen is a 500 saying why" \
	'500.*(/dev/kvm|kernel)' "$out"
t_ok "cloud-hypervisor: still serving after the failed boot" r ping
# pause and resume of the real VMM core: no VM runs, so cloud-hypervisor's 500
for c in pause resume; do
	out=$(r "$c" 2>&1)
	t_eq "cloud-hypervisor: $c of a VM that is not running exits 1" 1 "$?"
	t_match "and says so (500)" "500.*not running" "$out"
done
t_eq "cloud-hypervisor: the VM stays Created" Created "$(r info | jq -r .state)"
kill -TERM "$API_PID"
wait "$API_PID"
t_eq "cloud-hypervisor: SIGTERM exits 0" 0 "$?"
t_ok "cloud-hypervisor: SIGTERM removes the socket" test ! -e "$SOCK"

api_start_bin "$T_SVMM" --api-socket "path=$SOCK" -v --seccomp true --log-file "$API_DIR/ch.log"
t_ok "svmm --api-socket path=... (flags select cloud-hypervisor mode)" r ping
t_match "--seccomp true: the main thread runs under a filter" 'Seccomp:[[:space:]]+2' \
	"$(cat /proc/$API_PID/status)"
t_eq "--seccomp true: so does every other thread (the API's)" "" \
	"$(grep -L 'Seccomp:[[:space:]]*2' /proc/$API_PID/task/*/status)"
kill -INT "$API_PID"
wait "$API_PID"
t_eq "SIGINT exits 0" 0 "$?"
t_match "--seccomp true is said with -v, in --log-file" "seccomp true: every thread runs under its filter" "$(cat "$API_DIR/ch.log")"
t_eq "and no thread was refused a call" "" "$(grep 'seccomp: thread' "$API_DIR/ch.log")"
api_start_bin "$T_SVMM" --api-socket "path=$SOCK" --seccomp false
t_ok "--seccomp false: serving" r ping
t_match "--seccomp false: no filter" 'Seccomp:[[:space:]]+0' "$(cat /proc/$API_PID/status)"
kill -TERM "$API_PID"
wait "$API_PID"

out=$("$API_DIR/cloud-hypervisor" --api-socket "$SOCK" --disk path=/a,readonlyy=on 2>&1)
t_eq "a bad flag value exits 1" 1 "$?"
t_match "and names the flag and key" "--disk: unknown option 'readonlyy'" "$out"
out=$("$API_DIR/cloud-hypervisor" 2>&1)
t_eq "no --api-socket and no payload: exit 1" 1 "$?"
t_ok "svmm's own --version is unchanged" test "$("$T_SVMM" --version)" = "svmm v$("$T_SVMM" --version | sed 's/^svmm v//')"

# --- a payload on the command line boots at once
EV=$API_DIR/cli-events.json
api_start --kernel "$API_DIR/vmlinuz" --cmdline "console=ttyS0" --cpus boot=2 \
	--memory size=1G --disk "path=$API_DIR/a.img" "path=$API_DIR/b.img,readonly=on" \
	--net tap=tap-cli0,ip=10.1.2.1 --serial "file=$API_DIR/serial.log" --console off \
	--vsock "cid=9,socket=$API_DIR/v.sock" --event-monitor "path=$EV"
out=$(r info)
t_eq "CLI payload: Running at once" Running "$(jq -r .state <<<"$out")"
t_eq "CLI payload: config from flags" "2 2 1073741824 2 true 255.255.255.0 File Off 9" \
	"$(jq -r '.config|"\(.cpus.boot_vcpus) \(.cpus.max_vcpus) \(.memory.size) \(.disks|length) \(.disks[1].readonly) \(.net[0].mask) \(.serial.mode) \(.console.mode) \(.vsock.cid)"' <<<"$out")"
r shutdown-vmm >/dev/null
wait_gone "$API_PID" 5
t_eq "CLI payload: events" '["vmm/starting","vm/booting","vm/booted","vm/shutdown","vm/deleted","vmm/shutdown"]' \
	"$(jq -s -c '[.[]|"\(.source)/\(.event)"]' "$EV")"
# --event-monitor fd=N: an inherited descriptor.
api_start_bin "$API_SELFTEST" --api-socket "$SOCK" --event-monitor fd=7 7>"$API_DIR/fd-events.json"
t_ok "svmm-remote --api-socket=PATH form" "$REMOTE" "--api-socket=$SOCK" ping
"$REMOTE" --api-socket "$SOCK" shutdown-vmm
wait_gone "$API_PID" 5
t_eq "--event-monitor fd=7" '["vmm/starting","vmm/shutdown"]' \
	"$(jq -s -c '[.[]|"\(.source)/\(.event)"]' "$API_DIR/fd-events.json")"
out=$("$API_SELFTEST" --api-socket "$SOCK" --event-monitor fd=213 2>&1)
t_match "--event-monitor fd= that is not open is refused" "fd 213 is not open" "$out"

out=$("$API_SELFTEST" --kernel "$API_DIR/missing" 2>&1)
t_eq "CLI payload that cannot boot: exit 1" 1 "$?"
t_match "and says why" "missing" "$out"
t_done
