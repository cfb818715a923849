#!/usr/bin/env bash
# Every cloud-hypervisor endpoint: status codes, JSON shapes, the state
# machine and --event-monitor events, driven with curl over the real API
# server. The VM side is the recording TEST DOUBLE of tools/api-selftest.c (no guest):
# these checks are about the API layer only.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/api-common.bash"

EV=$API_DIR/events.json
api_start --event-monitor "path=$EV"
t_ok "api-selftest listens on the socket" test -S "$SOCK"

# --- before vm.create
req GET vmm.ping
t_eq "vmm.ping: 200" 200 "$code"
t_eq "vmm.ping: version is a string" string "$(jq -r '.version|type' <<<"$body")"
t_eq "vmm.ping: pid is ours" "$API_PID" "$(jq -r .pid <<<"$body")"
t_eq "vmm.ping: build_version and features" "string array" \
	"$(jq -r '[(.build_version|type),(.features|type)]|join(" ")' <<<"$body")"
t_match "vmm.ping: headers" "Content-Type: application/json" "$headers"
t_match "vmm.ping: keep-alive" "Connection: keep-alive" "$headers"

req GET vm.info
t_eq "vm.info before vm.create: 404" 404 "$code"
t_eq "errors are a JSON array of strings" true "$(jq 'type=="array" and all(type=="string")' <<<"$body")"
t_match "vm.info 404 says why" "not created" "$body"
for ep in vm.boot vm.shutdown vm.pause vm.resume vm.reboot vm.power-button vm.add-disk; do
	req PUT "$ep"
	t_eq "$ep before vm.create: 404" 404 "$code"
done
req GET vm.counters
t_eq "vm.counters before vm.create: 404" 404 "$code"
req PUT vm.delete
t_eq "vm.delete without a VM: 204 (idempotent)" 204 "$code"

# --- vm.create with the blueprint manager's body
req PUT vm.create "$(manager_body)"
t_eq "vm.create (manager body): 204" 204 "$code"
t_eq "vm.create: no body" "" "$body"
t_match "204 carries no Content-Length" '^[^C]*$' "$(grep -i content-length <<<"$headers" || true)"
req PUT vm.create "$(manager_body)"
t_eq "vm.create twice: 500" 500 "$code"
t_match "vm.create twice says why" "already created" "$body"

req GET vm.info
info=$body
t_eq "vm.info: 200" 200 "$code"
t_eq "vm.info: state Created" Created "$(jq -r .state <<<"$info")"
t_eq "vm.info: 64-bit memory.size" 4294967296 "$(jq -r .config.memory.size <<<"$info")"
t_eq "vm.info: memory.shared" true "$(jq -r .config.memory.shared <<<"$info")"
t_eq "vm.info: memory_actual_size" 4294967296 "$(jq -r .memory_actual_size <<<"$info")"
t_eq "vm.info: device_tree null before boot" null "$(jq -c .device_tree <<<"$info")"
t_eq "vm.info: four disks in order" \
	"$API_DIR/ubuntu.img $API_DIR/svc-cloud-init.img $API_DIR/data.qcow2 $API_DIR/svc-bin.img" \
	"$(jq -r '[.config.disks[].path]|join(" ")' <<<"$info")"
t_eq "vm.info: readonly flags" "false true false true" \
	"$(jq -r '[.config.disks[].readonly]|map(tostring)|join(" ")' <<<"$info")"
t_eq "vm.info: direct flags" "true true true true" \
	"$(jq -r '[.config.disks[].direct]|map(tostring)|join(" ")' <<<"$info")"
t_eq "vm.info: disk defaults (num_queues, queue_size)" "1 128" \
	"$(jq -r '.config.disks[0]|"\(.num_queues) \(.queue_size)"' <<<"$info")"
t_eq "vm.info: net tap and ip" "tap-tngl-42 172.30.0.1" \
	"$(jq -r '.config.net[0]|"\(.tap) \(.ip)"' <<<"$info")"
t_eq "vm.info: net mask defaults to 255.255.255.0" 255.255.255.0 \
	"$(jq -r '.config.net[0].mask' <<<"$info")"
t_match "vm.info: net gets a random local MAC" '^[0-9a-f][26ae](:[0-9a-f]{2}){5}$' \
	"$(jq -r '.config.net[0].mac' <<<"$info")"
t_eq "vm.info: serial File" "File $API_DIR/svc-guest.log" \
	"$(jq -r '.config.serial|"\(.mode) \(.file)"' <<<"$info")"
t_eq "vm.info: console Off" Off "$(jq -r .config.console.mode <<<"$info")"
t_eq "vm.info: vsock" "45 $API_DIR/svc.sock" \
	"$(jq -r '.config.vsock|"\(.cid) \(.socket)"' <<<"$info")"
t_eq "vm.info: cpus default 1/1" "1 1" \
	"$(jq -r '.config.cpus|"\(.boot_vcpus) \(.max_vcpus)"' <<<"$info")"
t_eq "vm.info: rng default" /dev/urandom "$(jq -r .config.rng.src <<<"$info")"
t_eq "vm.info: payload kept" "$API_DIR/vmlinuz" "$(jq -r .config.payload.kernel <<<"$info")"
t_eq "vm.info: unknown field ignored" null "$(jq -c .config.some_future_field <<<"$info")"

# --- cold add / remove before boot (cloud-hypervisor edits the stored config)
req PUT vm.add-disk "{\"path\":\"$API_DIR/extra.img\",\"id\":\"extra0\",\"readonly\":true}"
t_eq "vm.add-disk before boot: 204" 204 "$code"
req GET vm.info
t_eq "vm.add-disk: a fifth disk" "5 extra0" "$(jq -r '"\(.config.disks|length) \(.config.disks[4].id)"' <<<"$body")"
req PUT vm.add-disk '{"path":"x","readonly":"no"}'
t_eq "vm.add-disk with a wrong type: 400" 400 "$code"
t_match "vm.add-disk names the field" "disk.readonly: expected boolean" "$body"
req PUT vm.remove-device '{"id":"extra0"}'
t_eq "vm.remove-device before boot: 204" 204 "$code"
req PUT vm.remove-device '{"id":"nope"}'
t_eq "vm.remove-device unknown id: 404" 404 "$code"
req GET vm.info
t_eq "vm.remove-device: back to four disks" 4 "$(jq '.config.disks|length' <<<"$body")"
req PUT vm.add-device '{"path":"/sys/bus/pci/devices/0000:00:01.0","id":"vfio0"}'
t_eq "vm.add-device (VFIO) before boot: 204" 204 "$code"
req GET vm.info
t_eq "vm.add-device: in the config" "/sys/bus/pci/devices/0000:00:01.0" "$(jq -r '.config.devices[0].path' <<<"$body")"
req PUT vm.add-device '{"id":"x"}'
t_eq "vm.add-device without a path: 400" 400 "$code"
t_match "vm.add-device names the field" "device.path: missing" "$body"
req PUT vm.remove-device '{"id":"vfio0"}'
t_eq "vm.remove-device of the VFIO device: 204" 204 "$code"

# --- boot and the running states
req GET vm.counters
t_eq "vm.counters when not running: 500" 500 "$code"
req PUT vm.boot
t_eq "vm.boot: 204" 204 "$code"
req GET vm.info
t_eq "vm.info: Running" Running "$(jq -r .state <<<"$body")"
t_eq "vm.info: device_tree is an object once booted" object "$(jq -r '.device_tree|type' <<<"$body")"
req PUT vm.boot
t_eq "vm.boot twice: 500" 500 "$code"
req GET vm.counters
t_eq "vm.counters: 200" 200 "$code"
t_eq "vm.counters: the double saw one boot with 4 disks" "1 4" \
	"$(jq -r '.["api-selftest"]|"\(.boot) \(.disks)"' <<<"$body")"
req PUT vm.add-disk '{"path":"/x"}'
t_eq "vm.add-disk while running: 500" 500 "$code"
t_match "vm.add-disk while running: hotplug unsupported" "hotplug is not supported" "$body"

req PUT vm.pause
t_eq "vm.pause: 204" 204 "$code"
req GET vm.info
t_eq "vm.info: Paused" Paused "$(jq -r .state <<<"$body")"
req PUT vm.pause
t_eq "vm.pause twice: 500" 500 "$code"
req PUT vm.reboot
t_eq "vm.reboot while paused: 500" 500 "$code"
req PUT vm.resume
t_eq "vm.resume: 204" 204 "$code"
req PUT vm.resume
t_eq "vm.resume while running: 500" 500 "$code"
req PUT vm.reboot
t_eq "vm.reboot: 204" 204 "$code"
req PUT vm.nmi
t_eq "vm.nmi: 204" 204 "$code"
for ep in vm.resize vm.send-migration vm.receive-migration; do
	req PUT "$ep" '{}'
	t_eq "$ep: 500, unsupported" 500 "$code"
done
req PUT vm.snapshot '{}'
t_eq "vm.snapshot without destination_url: 400" 400 "$code"
req PUT vm.snapshot '{"destination_url":"file:///tmp"}'
t_eq "vm.snapshot of a running VM: 500" 500 "$code"
t_match "vm.snapshot of a running VM says to pause" "not paused" "$body"
req PUT vm.restore '{"source_url":"file:///tmp"}'
t_eq "vm.restore with a VM: 500" 500 "$code"
t_match "vm.restore with a VM says why" "already created" "$body"
req GET vm.counters
t_eq "vm.counters: pause, resume, reboot, nmi each once" "1 1 1 1" \
	"$(jq -r '.["api-selftest"]|"\(.pause) \(.resume) \(.reboot) \(.nmi)"' <<<"$body")"

req PUT vm.shutdown
t_eq "vm.shutdown: 204" 204 "$code"
req GET vm.info
t_eq "vm.info after vm.shutdown: Created (config kept)" "200 Created" "$code $(jq -r .state <<<"$body")"
req PUT vm.shutdown
t_eq "vm.shutdown when not running: 500" 500 "$code"
req PUT vm.boot
t_eq "vm.boot again after vm.shutdown: 204" 204 "$code"
req PUT vm.delete
t_eq "vm.delete while running: 204" 204 "$code"
req GET vm.info
t_eq "vm.info after vm.delete: 404" 404 "$code"

# --- 64-bit sizes, validation at boot, boot failures
req PUT vm.create "{\"payload\":{\"kernel\":\"$API_DIR/vmlinuz\"},\"memory\":{\"size\":68719476736,\"hotplugged_size\":1073741824},\"cpus\":{\"boot_vcpus\":4,\"max_vcpus\":2}}"
t_eq "vm.create with 64 GiB: 204" 204 "$code"
req GET vm.info
t_eq "vm.info: 64 GiB exactly" "68719476736 69793218560" \
	"$(jq -r '"\(.config.memory.size) \(.memory_actual_size)"' <<<"$body")"
req PUT vm.boot
t_eq "vm.boot with boot_vcpus > max_vcpus: 400" 400 "$code"
t_match "the 400 names the field" "cpus.max_vcpus" "$body"
req GET vm.info
t_eq "still Created after a refused boot" Created "$(jq -r .state <<<"$body")"
req PUT vm.delete
req PUT vm.create "{\"payload\":{\"kernel\":\"$API_DIR/missing-kernel\"}}"
req PUT vm.boot
t_eq "vm.boot with a missing kernel: 500" 500 "$code"
t_match "the 500 names the kernel" "missing-kernel" "$body"
req PUT vm.delete

# --- vmm.shutdown ends the process and removes the socket
req PUT vmm.shutdown
t_eq "vmm.shutdown: 200 (as cloud-hypervisor answers)" 200 "$code"
t_eq "vmm.shutdown: empty body" "" "$body"
t_ok "the process ends after vmm.shutdown" wait_gone "$API_PID" 5
wait "$API_PID"
t_eq "exit status 0" 0 "$?"
t_ok "the socket file is removed" test ! -e "$SOCK"

# --- the event stream
events=$(jq -s -c '[.[]|"\(.source)/\(.event)"]' "$EV")
t_eq "event sequence" \
	'["vmm/starting","vm/booting","vm/booted","vm/pausing","vm/paused","vm/resuming","vm/resumed","vm/rebooting","vm/rebooted","vm/shutdown","vm/booting","vm/booted","vm/shutdown","vm/deleted","vm/deleted","vm/booting","vm/deleted","vmm/shutdown"]' \
	"$events"
t_eq "event shape" true \
	"$(jq -s 'all(.[]; (.timestamp.secs|type)=="number" and (.timestamp.nanos|type)=="number" and .properties==null and (keys==["event","properties","source","timestamp"]))' "$EV")"
t_eq "timestamps do not go back" true \
	"$(jq -s '[.[]|.timestamp.secs*1e9+.timestamp.nanos] as $t | $t==($t|sort)' "$EV")"
t_done
