#!/usr/bin/env bash
# vm.counters and --metrics with a real guest, svmm as cloud-hypervisor (API
# socket, --metrics addr=127.0.0.1:PORT, default seccomp): a guest with a
# virtio-blk disk, a virtio-net NIC on a TAP and a hybrid vsock waits for the
# host's CONNECT on vsock port 6000 (64 KiB come), then writes 4 MiB to its
# disk with O_DIRECT and reads them back the same way, pings the host ten
# times and sends 1 MiB to the host over vsock port 5000. Before and after,
# vm.counters (keyed _disk0, _net1, _vsock2 as cloud-hypervisor names them)
# and GET /metrics (read by prometheus_client's parser) are taken: the
# disk's read and write bytes grew by at least 4 MiB, the NIC's frames both
# ways by at least 10, the vsock's connections by 2 and its bytes by what
# was sent each way; queue notifications and interrupts, vCPU exits and the
# process's RSS are there too. Both forms agree.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-netdev.sh"

kernel=$(nd_kernel)
d=$(t_tmpdir)
sock=$d/api.sock
vsock=$d/v.sock
log=$d/guest.log
port=$((20000 + RANDOM % 20000))

# Debian's python3-prometheus-client is in the system python (a python3
# earlier in PATH, pyenv's, may not have it)
PY=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'from prometheus_client.parser import text_string_to_metric_families' 2>/dev/null; then
		PY=$p
		break
	fi
done
if [[ -z $PY ]]; then
	t_fail "python3-prometheus-client" "not installed (tools/install-deps installs it)"
	t_done
	exit 1
fi

cat >"$d/check.sh" <<'GUEST'
ip link set lo up
ip link set eth0 up
ip addr add 192.168.251.2/24 dev eth0
echo "SVMM-FACT ready=1"
socat -u VSOCK-LISTEN:6000 OPEN:/tmp/go,creat,trunc
echo "SVMM-FACT go=$(wc -c </tmp/go)"
head -c $((4 << 20)) /dev/urandom >/tmp/w
dd if=/tmp/w of=/dev/vda bs=1M count=4 oflag=direct 2>/dev/null && echo "SVMM-FACT wrote=ok"
dd if=/dev/vda of=/dev/null bs=1M count=4 iflag=direct 2>/dev/null && echo "SVMM-FACT read=ok"
ping -c 10 -W 2 192.168.251.1 >/dev/null && echo "SVMM-FACT ping=ok"
head -c $((1 << 20)) /dev/urandom >/tmp/v
socat -u OPEN:/tmp/v VSOCK-CONNECT:2:5000 && echo "SVMM-FACT vsock=ok"
echo "SVMM-FACT io_done=1"
sleep 600
GUEST
nd_initramfs "$d/initrd" "$d/check.sh" socat
truncate -s 64M "$d/disk.raw"

cat >"$d/create.json" <<EOF
{
  "memory":  {"size": 268435456},
  "payload": {"kernel": "$kernel", "cmdline": "$ND_CMDLINE", "initramfs": "$d/initrd"},
  "disks":   [{"path": "$d/disk.raw"}],
  "net":     [{"tap": "svmet0", "ip": "192.168.251.1"}],
  "vsock":   {"cid": 5, "socket": "$vsock"},
  "serial":  {"file": "$log", "mode": "File"},
  "console": {"mode": "Off"}
}
EOF

api() { # METHOD PATH [BODY-FILE] -> prints the HTTP status; the body in $d/resp
	local args=(-s -o "$d/resp" -w '%{http_code}' --max-time 60 --unix-socket "$sock" -X "$1")
	[[ -n ${3:-} ]] && args+=(-H 'Content-Type: application/json' --data-binary "@$3")
	curl "${args[@]}" "http://localhost/api/v1/$2"
}
# both forms of the counters into $d/NAME.json and $d/NAME.prom
snap() {
	api GET vm.counters >"$d/$1.code" && cp "$d/resp" "$d/$1.json"
	curl -s --max-time 30 -D "$d/$1.head" -o "$d/$1.prom" "http://127.0.0.1:$port/metrics"
}

socat -u UNIX-LISTEN:"${vsock}_5000" OPEN:"$d/g2h",creat,trunc &
sink=$!
t_cleanup "kill $sink"
"$T_SVMM" --api-socket "$sock" --metrics "addr=127.0.0.1:$port,id=metrics-test" \
	>"$d/svmm.out" 2>&1 &
pid=$!
t_cleanup "kill -9 $pid"
for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.1; done
t_eq "vmm.ping" 200 "$(api GET vmm.ping)"
t_eq "/metrics answers before a VM exists" 200 \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/metrics")"
t_eq "vm.create" 204 "$(api PUT vm.create "$d/create.json")"
code=$(api PUT vm.boot)
t_eq "vm.boot" 204 "$code"
if [[ $code != 204 ]] || ! nd_wait_fact "$log" ready 240 >/dev/null; then
	t_fail "the guest is up" "answer: $(cat "$d/resp"); svmm: $(tail -c 1000 "$d/svmm.out");" \
		"console: $(tail -c 2000 "$log" 2>/dev/null)"
	t_done
	exit 1
fi
snap before
head -c 65536 /dev/urandom >"$d/go"
{ printf 'CONNECT 6000\n'; cat "$d/go"; } | socat -t 30 - UNIX-CONNECT:"$vsock" >"$d/reply"
t_match "host CONNECT answered OK <port>" '^OK [0-9]+$' "$(head -n1 "$d/reply")"
if ! nd_wait_fact "$log" io_done 240 >/dev/null; then
	t_fail "the guest did its I/O" "console: $(tail -c 2000 "$log" 2>/dev/null)"
fi
t_eq "guest got 64 KiB over vsock" 65536 "$(nd_fact "$log" go)"
t_eq "guest wrote 4 MiB with O_DIRECT" ok "$(nd_fact "$log" wrote)"
t_eq "guest read 4 MiB with O_DIRECT" ok "$(nd_fact "$log" read)"
t_eq "guest pinged the host" ok "$(nd_fact "$log" ping)"
t_eq "guest sent 1 MiB over vsock" ok "$(nd_fact "$log" vsock)"
sleep 1 # the last completions and interrupts
snap after
t_eq "vm.counters: 200" 200 "$(cat "$d/after.code")"
t_match "/metrics: Prometheus text 0.0.4" 'text/plain; version=0.0.4' "$(cat "$d/after.head")"
sed -n '1,12p;/svmm_disk_write_bytes_total/p' "$d/after.prom" >"$d/sample.prom"

# Every check as "ok DESC" or "not ok DESC: WHY", from the parsed texts.
"$PY" - "$d" >"$d/checks" 2>&1 <<'PY' || echo "not ok the checker ran: $(tail -n 3 "$d/checks")" >>"$d/checks"
import json, sys
from prometheus_client.parser import text_string_to_metric_families

d = sys.argv[1]
MiB = 1 << 20

def prom(name):
    out = {}
    for fam in text_string_to_metric_families(open(f"{d}/{name}.prom").read()):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out

def value(p, name, **labels):
    want = tuple(sorted(dict(vm="metrics-test", **labels).items()))
    return p.get((name, want))

def total(p, name, **labels):
    return sum(v for (n, l), v in p.items()
               if n == name and all(dict(l).get(k) == x for k, x in labels.items()))

def check(desc, ok, why=""):
    print(("ok " if ok else "not ok ") + desc + ("" if ok else ": " + why))

b, a = prom("before"), prom("after")
jb, ja = json.load(open(f"{d}/before.json")), json.load(open(f"{d}/after.json"))
check("vm.counters keys devices as cloud-hypervisor does",
      all(k in ja for k in ("_disk0", "_net1", "__rng", "_vsock2", "__vcpu0", "__vmm")),
      f"keys {sorted(ja)}")

def grew(desc, dev, key, metric, at_least, **labels):
    pb, pa = value(b, metric, device=dev, **labels), value(a, metric, device=dev, **labels)
    if pb is None or pa is None:
        return check(desc + " (/metrics)", False, f"{metric} for {dev} missing")
    check(desc + " (/metrics)", pa - pb >= at_least, f"{metric}: {pb} -> {pa}")
    jbv, jav = jb.get(dev, {}).get(key), ja.get(dev, {}).get(key)
    if jbv is None or jav is None:
        return check(desc + " (vm.counters)", False, f"{dev}.{key} missing: {ja.get(dev)}")
    check(desc + " (vm.counters)", jav - jbv >= at_least, f"{dev}.{key}: {jbv} -> {jav}")

grew("disk write_bytes grew by 4 MiB", "_disk0", "write_bytes", "svmm_disk_write_bytes_total", 4 * MiB)
grew("disk read_bytes grew by 4 MiB", "_disk0", "read_bytes", "svmm_disk_read_bytes_total", 4 * MiB)
grew("disk write_ops grew", "_disk0", "write_ops", "svmm_disk_write_ops_total", 1)
grew("disk read_ops grew", "_disk0", "read_ops", "svmm_disk_read_ops_total", 1)
grew("net tx_frames grew by 10 (pings)", "_net1", "tx_frames", "svmm_net_tx_frames_total", 10)
grew("net rx_frames grew by 10 (replies)", "_net1", "rx_frames", "svmm_net_rx_frames_total", 10)
grew("net tx_bytes grew", "_net1", "tx_bytes", "svmm_net_tx_bytes_total", 10 * 84)
grew("net rx_bytes grew", "_net1", "rx_bytes", "svmm_net_rx_bytes_total", 10 * 84)
grew("vsock connections opened: 2 more", "_vsock2", "conns_opened", "svmm_vsock_conns_opened_total", 2)
grew("vsock tx_bytes grew by 1 MiB", "_vsock2", "tx_bytes", "svmm_vsock_tx_bytes_total", MiB)
grew("vsock rx_bytes grew by 64 KiB", "_vsock2", "rx_bytes", "svmm_vsock_rx_bytes_total", 65536)
grew("disk queue 0 notifications grew", "_disk0", "notifications_q0",
     "svmm_virtio_notifications_total", 1, queue="0")
grew("disk queue 0 interrupts grew", "_disk0", "interrupts_q0",
     "svmm_virtio_interrupts_total", 1, queue="0")
grew("net tx queue notifications grew", "_net1", "notifications_q1",
     "svmm_virtio_notifications_total", 1, queue="1")
check("no queue errors", total(a, "svmm_virtio_queue_errors_total") == 0,
      str(total(a, "svmm_virtio_queue_errors_total")))
eb, ea = total(b, "svmm_vcpu_exits_total", vcpu="0"), total(a, "svmm_vcpu_exits_total", vcpu="0")
check("vCPU 0 exits grew", ea > eb, f"{eb} -> {ea}")
check("vCPU exits by reason (io, mmio)",
      value(a, "svmm_vcpu_exits_total", vcpu="0", reason="mmio") is not None
      and value(a, "svmm_vcpu_exits_total", vcpu="0", reason="io") is not None, "missing")
rss = value(a, "svmm_process_resident_memory_bytes")
check("process RSS reported", rss is not None and rss > MiB, str(rss))
cpu = value(a, "svmm_process_cpu_user_microseconds_total")
check("process CPU time reported", cpu is not None and cpu > 0, str(cpu))
check("vm.counters and /metrics agree (disk write_bytes)",
      ja["_disk0"]["write_bytes"] == value(a, "svmm_disk_write_bytes_total", device="_disk0"),
      f"{ja['_disk0']['write_bytes']} vs {value(a, 'svmm_disk_write_bytes_total', device='_disk0')}")
PY
while IFS= read -r line; do
	case $line in
	"ok "*) t_pass "${line#ok }" ;;
	"not ok "*) desc=${line#not ok }; t_fail "${desc%%: *}" "${desc#*: }" ;;
	*) t_fail "checker output" "$line" ;;
	esac
done <"$d/checks"
echo "# /metrics (first lines):"
sed 's/^/#   /' "$d/sample.prom"

t_eq "vmm.shutdown" 200 "$(api PUT vmm.shutdown)"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid"
t_eq "svmm exits 0 after vmm.shutdown" 0 "$?"
t_done
