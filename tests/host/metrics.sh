#!/usr/bin/env bash
# --metrics without a VM (no KVM needed) and svmm metrics: two VMMs as
# cloud-hypervisor, one serving on a run's STATE/vmm/metrics.sock, one on a
# TCP port; GET /metrics answers Prometheus text that prometheus_client
# reads (the process's families, the vm label from id=); svmm metrics
# --state-dir finds the first (and --socket a third) and prints one text
# with each family once and every VM's samples; a bad --metrics value is a
# usage error naming the flag; the socket is gone after vmm.shutdown; and
# --log-file truncates its file as cloud-hypervisor's does (the JSON lines
# of --log-format json: tests/unit/test_metrics.c).
. "$(dirname "$0")/../lib.sh"

d=$(t_tmpdir)
PY=
for p in python3 /usr/bin/python3; do
	"$p" -c 'import prometheus_client.parser' 2>/dev/null && { PY=$p; break; }
done
families() { # FILE -> "name:samples" lines, sorted, from the reference parser
	"$PY" -c 'import sys
from prometheus_client.parser import text_string_to_metric_families as f
for m in f(open(sys.argv[1]).read()):
    print("%s:%s" % (m.name, ",".join(sorted(s.labels["vm"] for s in m.samples))))' "$1" | sort
}
port=$((20000 + RANDOM % 20000))
mkdir -p "$d/state/run1/vmm"
"$T_SVMM" --api-socket "$d/a.sock" --metrics "path=$d/state/run1/vmm/metrics.sock,id=vmA" \
	>"$d/a.out" 2>&1 &
a=$!
t_cleanup "kill -9 $a"
"$T_SVMM" --api-socket "$d/b.sock" --metrics "addr=127.0.0.1:$port,id=vmB" >"$d/b.out" 2>&1 &
b=$!
t_cleanup "kill -9 $b"
"$T_SVMM" --api-socket "$d/c.sock" --metrics "path=$d/c-metrics.sock" >"$d/c.out" 2>&1 &
c=$!
t_cleanup "kill -9 $c"
for _ in $(seq 100); do
	[[ -S $d/state/run1/vmm/metrics.sock && -S $d/c-metrics.sock && -S $d/b.sock ]] && break
	sleep 0.1
done
code=$(curl -s -o "$d/a.prom" -D "$d/a.head" -w '%{http_code}' --unix-socket \
	"$d/state/run1/vmm/metrics.sock" http://localhost/metrics)
t_eq "GET /metrics on the socket" 200 "$code"
t_match "Content-Type: Prometheus text 0.0.4" 'text/plain; version=0.0.4' "$(cat "$d/a.head")"
t_eq "GET /metrics on the TCP port" 200 \
	"$(curl -s -o "$d/b.prom" -w '%{http_code}' "http://127.0.0.1:$port/metrics")"
t_eq "another path: 404" 404 \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/other")"
t_eq "PUT: 405" 405 \
	"$(curl -s -o /dev/null -w '%{http_code}' -X PUT "http://127.0.0.1:$port/metrics")"
if [[ -z $PY ]]; then
	t_skip "prometheus_client reads the text" "python3-prometheus-client is not installed"
else
	t_match "prometheus_client reads the text; vm label from id=" \
		"svmm_process_resident_memory_bytes:vmA" "$(families "$d/a.prom")"
	"$T_SVMM" metrics --state-dir "$d/state" --socket "$d/c-metrics.sock" >"$d/all.prom" 2>"$d/all.err"
	t_eq "svmm metrics: status 0" 0 "$?"
	t_eq "svmm metrics: every family once, both VMs' samples" \
		"svmm_process_cpu_system_microseconds:$c,vmA
svmm_process_cpu_user_microseconds:$c,vmA
svmm_process_max_resident_memory_bytes:$c,vmA
svmm_process_resident_memory_bytes:$c,vmA" "$(families "$d/all.prom")"
fi
"$T_SVMM" metrics --state-dir "$d/none" --socket "$d/missing.sock" >"$d/none.prom" 2>&1
t_eq "svmm metrics with nothing to find: status 0, empty" "0:" "$?:$(cat "$d/none.prom")"
"$T_SVMM" --api-socket "$d/x.sock" --metrics "addr=127.0.0.1" >"$d/x.out" 2>&1
t_eq "a bad --metrics value: status 1" 1 "$?"
t_match "the error names --metrics" "--metrics: addr '127.0.0.1' is not IPV4:PORT" "$(cat "$d/x.out")"
for s in a b c; do curl -s -o /dev/null -X PUT --unix-socket "$d/$s.sock" http://localhost/api/v1/vmm.shutdown; done
wait "$a"
t_eq "vmm.shutdown: status 0" 0 "$?"
wait "$b" "$c"
t_ok "the metrics socket is removed at exit" test ! -e "$d/state/run1/vmm/metrics.sock"

# --log-format json, -v, --log-file (created or truncated, as cloud-hypervisor)
echo "old line" >"$d/log"
"$T_SVMM" --api-socket "$d/l.sock" --log-format json --log-file "$d/log" -v &
l=$!
t_cleanup "kill -9 $l"
for _ in $(seq 100); do [[ -S $d/l.sock ]] && break; sleep 0.1; done
kill -TERM "$l"
wait "$l"
t_ok "--log-file is truncated" bash -c "! grep -q 'old line' '$d/log'"
t_done
