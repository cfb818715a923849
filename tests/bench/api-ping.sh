#!/usr/bin/env bash
# Figures for the API server: vmm.ping and vm.info round trips per second over
# one kept-alive connection (curl with many URLs), and with a fresh connection
# per request. Prints figures; asserts nothing.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
sock=$dir/api.sock
"$top/build/svmm" --api-socket "$sock" 2>/dev/null &
pid=$!
for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.05; done
curl -s --unix-socket "$sock" -X PUT --data-binary \
	'{"payload":{"kernel":"/k"},"disks":[{"path":"/a"},{"path":"/b"},{"path":"/c"},{"path":"/d"}],"net":[{"tap":"t0","ip":"10.0.0.1"}]}' \
	http://localhost/api/v1/vm.create
n=2000
rate() { # NAME URL-count command...
	local name=$1 count=$2 t0 t1
	shift 2
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	printf '%-44s %8.0f requests/s (%d in %.3f s)\n' "$name" \
		"$(echo "$count / (($t1 - $t0) / 1000000000)" | bc -l)" "$count" \
		"$(echo "($t1 - $t0) / 1000000000" | bc -l)"
}
urls() { for ((i = 0; i < n; i++)); do echo "url = \"http://localhost/api/v1/$1\""; done; }
urls vmm.ping >"$dir/ping.cfg"
urls vm.info >"$dir/info.cfg"
rate "vmm.ping, one keep-alive connection" $n curl -s --unix-socket "$sock" -K "$dir/ping.cfg"
rate "vm.info (4 disks, 1 net), keep-alive" $n curl -s --unix-socket "$sock" -K "$dir/info.cfg"
rate "vmm.ping, a new curl process per request" 200 \
	bash -c "for i in \$(seq 200); do curl -s --unix-socket '$sock' http://localhost/api/v1/vmm.ping; done"
