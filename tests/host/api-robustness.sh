#!/usr/bin/env bash
# The API server under bad and awkward clients: malformed HTTP, malformed
# JSON, wrong types, oversized heads and bodies, wrong methods, unknown paths,
# slow and idle clients, keep-alive and pipelining, stale and live socket
# files, an inherited listening fd. After each bad request, vmm.ping must
# still answer. The server is build/api-selftest, tools/api-selftest.c (real server, VMM TEST
# DOUBLE) or the plain svmm binary where no VM is involved.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/api-common.bash"

api_start
t_ok "server up" test -S "$SOCK"

# --- malformed HTTP: an error answer, the connection closed, others fine
check_raw() { # NAME BYTES EXPECTED-STATUS
	local out
	out=$(raw "$2")
	t_match "$1: answered $3" "^HTTP/1.1 $3 " "$out"
	t_match "$1: connection closed" "Connection: close" "$out"
	ping_ok "$1"
}
check_raw "garbage line" 'GARBAGE\r\n\r\n' 400
check_raw "binary junk (a TLS hello)" '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' 400
check_raw "NUL in the request line" 'GET /api/v1/vmm.ping\x00 HTTP/1.1\r\n\r\n' 400
check_raw "relative target" 'GET api/v1/vmm.ping HTTP/1.1\r\n\r\n' 400
check_raw "HTTP/2.0" 'GET /api/v1/vmm.ping HTTP/2.0\r\n\r\n' 505
check_raw "header without colon" 'GET /api/v1/vmm.ping HTTP/1.1\r\nHost localhost\r\n\r\n' 400
check_raw "folded header" 'GET /api/v1/vmm.ping HTTP/1.1\r\nA: b\r\n c\r\n\r\n' 400
check_raw "bad Content-Length" 'PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: 12abc\r\n\r\n' 400
check_raw "conflicting Content-Lengths" 'PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}' 400
check_raw "chunked body (411)" 'PUT /api/v1/vm.create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n' 411
out=$(raw 'PUT /api/v1/vm.create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n')
t_match "chunked: the answer says to send a Content-Length" "Content-Length" "$(tail -1 <<<"$out")"
check_raw "body over 4 MiB announced (413)" 'PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: 4194305\r\n\r\n' 413
check_raw "head over 16 KiB (431)" "GET /api/v1/vmm.ping HTTP/1.1\r\nX-Big: $(head -c 17000 /dev/zero | tr '\0' a)\r\n\r\n" 431
check_raw "target over 2 KiB (414)" "GET /api/v1/$(head -c 3000 /dev/zero | tr '\0' a) HTTP/1.1\r\n\r\n" 414

# A real 5 MiB body through curl.
head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$API_DIR/big.json"
req PUT vm.create "@$API_DIR/big.json"
t_eq "a 5 MiB vm.create body: 413" 413 "$code"
ping_ok "5 MiB body"

# --- malformed JSON and wrong types: 400 naming the field
req PUT vm.create '{"memory": {"size": 1'
t_eq "truncated JSON: 400" 400 "$code"
t_match "truncated JSON: says invalid JSON" "invalid JSON" "$body"
ping_ok "truncated JSON"
req PUT vm.create 'not json at all'
t_eq "not JSON: 400" 400 "$code"
req PUT vm.create '[1,2,3]'
t_eq "a JSON array: 400" 400 "$code"
req PUT vm.create '{"payload":{"kernel":"/k"},"disks":[{"path":"a"},{"path":"b"},{"path":"c","readonly":"yes"}]}'
t_eq "wrong type: 400" 400 "$code"
t_match "wrong type: names disks[2].readonly" 'disks\[2\]\.readonly: expected boolean' "$body"
req PUT vm.create '{"payload":{"kernel":"/k"},"memory":{"size":"4G"}}'
t_eq "string size: 400" 400 "$code"
t_match "string size: names memory.size" "memory.size: expected unsigned integer" "$body"
req PUT vm.create '{"payload":{"kernel":"/k"},"serial":{"mode":"file"}}'
t_match "mode names are case-sensitive, as serde's" "400 .*serial.mode" "$code $body"
req PUT vm.create ''
t_eq "vm.create without a body: 400" 400 "$code"
req GET vm.info
t_eq "no VM was created by any of them" 404 "$code"
ping_ok "bad JSON"

# --- methods and paths
req GET vm.create
t_eq "GET vm.create: 405" 405 "$code"
t_match "405 carries Allow: PUT" "Allow: PUT" "$headers"
req PUT vmm.ping
t_eq "PUT vmm.ping: 405" 405 "$code"
t_match "405 carries Allow: GET" "Allow: GET" "$headers"
req DELETE vm.info
t_eq "DELETE vm.info: 405" 405 "$code"
req POST vm.boot
t_eq "POST vm.boot: 405" 405 "$code"
req GET vm.frobnicate
t_eq "unknown endpoint: 404" 404 "$code"
out=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://localhost/nothing/here)
t_eq "path outside /api/v1: 404" 404 "$out"
out=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" 'http://localhost/api/v1/vmm.ping?x=1')
t_eq "a query string is ignored" 200 "$out"
ping_ok "methods and paths"

# --- clients as hyper, curl and HTTP/1.0 send them
out=$(raw 'GET /api/v1/vmm.ping HTTP/1.1\r\nhost: 2f746d702f6170692e736f636b:0\r\n\r\n')
t_match "hyperlocal's hex Host header is fine" "^HTTP/1.1 200 " "$out"
out=$(raw 'GET /api/v1/vmm.ping HTTP/1.1\r\n\r\n')
t_match "no Host header is fine" "^HTTP/1.1 200 " "$out"
out=$(raw 'GET /api/v1/vmm.ping HTTP/1.0\r\n\r\n')
t_match "HTTP/1.0: answered and closed" "^HTTP/1.1 200 .*Connection: close" "$(tr '\n' ' ' <<<"$out")"
out=$(raw 'PUT /api/v1/vm.delete HTTP/1.1\r\ncontent-length: 0\r\n\r\n')
t_match "PUT with content-length: 0" "^HTTP/1.1 204 " "$out"
out=$({
	printf 'PUT /api/v1/vm.delete HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n'
	sleep 0.3
	printf '{}'
	sleep 0.3
} | timeout 5 socat -t 2 - "UNIX-CONNECT:$SOCK" | tr -d '\r')
t_match "Expect: 100-continue gets 100 then the answer" "^HTTP/1.1 100 Continue.*HTTP/1.1 204 " \
	"$(tr '\n' ' ' <<<"$out")"

# --- keep-alive and pipelining: several requests on one connection
out=$(raw 'GET /api/v1/vmm.ping HTTP/1.1\r\n\r\nGET /api/v1/vm.info HTTP/1.1\r\n\r\nGET /api/v1/vmm.ping HTTP/1.1\r\nConnection: close\r\n\r\n')
t_eq "three pipelined requests, three answers in order" "200 404 200" \
	"$(grep -o 'HTTP/1.1 [0-9]*' <<<"$out" | cut -d' ' -f2 | tr '\n' ' ' | sed 's/ $//')"
out=$(curl -sv --unix-socket "$SOCK" http://localhost/api/v1/vmm.ping http://localhost/api/v1/vmm.ping 2>&1 >/dev/null)
t_match "curl reuses the kept-alive connection" "(Re-using|Reusing) existing connection" "$out"

# --- slow and idle clients never hold up others
exec {slow}> >(exec socat -u - "UNIX-CONNECT:$SOCK")
printf 'GET /api/v1/vmm.ping HTTP/1.1\r\nHost: sl' >&$slow
exec {idle}> >(exec socat -u - "UNIX-CONNECT:$SOCK")
exec {body}> >(exec socat -u - "UNIX-CONNECT:$SOCK")
printf 'PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{"memory":' >&$body
sleep 0.3
t0=$(date +%s%N)
req GET vmm.ping
t1=$(date +%s%N)
t_eq "ping while a slow client holds a half-sent head" 200 "$code"
req GET vm.info
t_eq "vm.info while a client holds a half-sent body" 404 "$code"
echo "# ping answered in $(((t1 - t0) / 1000000)) ms with three stalled clients"
# Many idle connections at once.
pids=()
for i in $(seq 20); do
	sleep 3 | socat -u - "UNIX-CONNECT:$SOCK" &
	pids+=($!)
done
sleep 0.3
ping_ok "20 idle connections open"
printf 'ow\r\n\r\n' >&$slow # the slow client finishes: still served
exec {slow}>&- {idle}>&- {body}>&-
kill "${pids[@]}" 2>/dev/null
wait "${pids[@]}" 2>/dev/null
ping_ok "after the slow clients left"

# --- a client that vanishes mid-request or never reads its answer
for i in $(seq 5); do
	printf 'PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: 50\r\n\r\n{"a"' |
		timeout 0.2 socat -u - "UNIX-CONNECT:$SOCK" >/dev/null 2>&1
done
ping_ok "clients that hung up mid-body"

kill -0 "$API_PID"
t_eq "the server survived it all" 0 "$?"

# --- socket files: stale replaced, live kept, other files untouched
kill -9 "$API_PID"
wait "$API_PID" 2>/dev/null
t_ok "after SIGKILL a stale socket file is left" test -S "$SOCK"
api_start
req GET vmm.ping
t_eq "a new server replaces the stale socket" 200 "$code"
out=$("$T_SVMM" --api-socket "$SOCK" 2>&1)
t_eq "a second server on a live socket exits 1" 1 "$?"
t_match "and says the socket is in use" "in use" "$out"
ping_ok "the first server, after a second tried its socket"
kill "$API_PID"
wait "$API_PID"
t_eq "SIGTERM: clean exit 0" 0 "$?"
t_ok "SIGTERM: socket removed" test ! -e "$SOCK"
# As cloud-hypervisor: a regular file at the path is replaced; a directory stays.
echo keep >"$API_DIR/plain"
sock_saved=$SOCK
SOCK=$API_DIR/plain
api_start
req GET vmm.ping
t_eq "a regular file at the socket path is replaced: the server answers there" 200 "$code"
t_ok "and the path is now a socket" test -S "$SOCK"
kill "$API_PID"
wait "$API_PID"
SOCK=$sock_saved
mkdir "$API_DIR/adir"
out=$("$T_SVMM" --api-socket "path=$API_DIR/adir" 2>&1)
t_eq "a directory at the socket path: exit 1" 1 "$?"
t_match "and it is named" "cannot listen on '$API_DIR/adir'" "$out"
t_ok "the directory is untouched" test -d "$API_DIR/adir"
out=$("$T_SVMM" --api-socket fd=0 </dev/null 2>&1)
t_match "fd= that is not a socket is refused" "fd 0 is not a socket" "$out"

# --- svmm itself (its threads have 1 MiB stacks): JSON nested as deep as
# the parser goes, and deeper, is answered 400 and the server goes on
api_start_bin "$T_SVMM" --api-socket "$SOCK"
for depth in 2000 100000; do
	printf '{"cpus":%s%s}' "$(head -c $depth /dev/zero | tr '\0' '[')" \
		"$(head -c $depth /dev/zero | tr '\0' ']')" >"$API_DIR/deep.json"
	req PUT vm.create "@$API_DIR/deep.json"
	t_eq "svmm: JSON nested $depth deep: 400" 400 "$code"
	ping_ok "svmm, after JSON nested $depth deep"
done
kill "$API_PID"
wait "$API_PID" 2>/dev/null

# --- an inherited listening socket (fd=3), as systemd passes it
if command -v systemd-socket-activate >/dev/null; then
	api_start_bin systemd-socket-activate -l "$SOCK" "$T_SVMM" --api-socket fd=3
	req GET vmm.ping
	t_eq "--api-socket fd=3 (inherited listener) serves" 200 "$code"
	req PUT vmm.shutdown
	t_ok "and ends on vmm.shutdown" wait_gone "$API_PID" 5
else
	t_skip "--api-socket fd=3" "systemd-socket-activate not installed"
fi
t_done
