# Helpers for the tests/host/api-*.sh tests (sourced after tests/lib.sh).
#
#   api_start [FLAGS...]   start `api-selftest --api-socket $SOCK FLAGS`
#                          (the real API server, flags and lifecycle, with a
#                          recording TEST DOUBLE as the VMM); sets API_PID
#   api_start_bin BIN ARGS start another command line that serves $SOCK
#   req METHOD ENDPOINT [BODY|@FILE]
#                          one request with curl; sets $code, $body, $headers
#   raw BYTES              send raw bytes (printf %b) and print the answer
#   ping_ok WHAT           checks that vmm.ping still answers 200
#   wait_gone PID SECS     waits for a process to end; 0 if it did
# $API_SELFTEST is that test program (tools/api-selftest.c, built into $T_BUILD).
API_SELFTEST=${API_SELFTEST:-$T_BUILD/api-selftest}
API_DIR=$(mktemp -d "${TMPDIR:-/tmp}/svmm-api.XXXXXX")
t_cleanup "rm -rf '$API_DIR'"
SOCK=$API_DIR/api.sock

# Ready = answering vmm.ping (a stale socket file may already be there).
wait_for_socket() {
	local i
	for ((i = 0; i < 200; i++)); do
		curl -s -o /dev/null --max-time 1 --unix-socket "$SOCK" \
			http://localhost/api/v1/vmm.ping && return 0
		sleep 0.05
	done
	return 1
}

api_start_bin() {
	"$@" 2>>"$API_DIR/svmm.err" &
	API_PID=$!
	t_cleanup "kill -9 $API_PID"
	wait_for_socket
}

api_start() {
	api_start_bin "$API_SELFTEST" --api-socket "$SOCK" "$@"
}

req() {
	local method=$1 ep=$2 data=${3-}
	local args=(-s -o "$API_DIR/body" -D "$API_DIR/headers" -w '%{http_code}'
		--max-time 5 --unix-socket "$SOCK" -X "$method")
	if [[ -n $data ]]; then
		args+=(-H 'Content-Type: application/json' --data-binary "$data")
	fi
	code=$(curl "${args[@]}" "http://localhost/api/v1/$ep")
	body=$(cat "$API_DIR/body" 2>/dev/null)
	headers=$(tr -d '\r' <"$API_DIR/headers" 2>/dev/null)
}

raw() {
	printf '%b' "$1" | timeout 5 socat -t 2 - "UNIX-CONNECT:$SOCK" 2>/dev/null | tr -d '\r'
}

ping_ok() {
	req GET vmm.ping
	t_eq "$1: vmm.ping still answers" 200 "$code"
}

wait_gone() {
	local pid=$1 secs=$2 i
	for ((i = 0; i < secs * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}

# The blueprint manager's vm.create body (contract 1.4), with paths under
# $API_DIR, plus a field svmm does not know.
manager_body() {
	cat <<JSON
{"memory":{"size":4294967296,"shared":true},
 "payload":{"kernel":"$API_DIR/vmlinuz","cmdline":"root=/dev/vda1 rw console=ttyS0 systemd.log_level=debug systemd.log_target=kmsg","initramfs":"$API_DIR/initrd.img"},
 "disks":[{"path":"$API_DIR/ubuntu.img","readonly":false,"direct":true},
          {"path":"$API_DIR/svc-cloud-init.img","readonly":true,"direct":true},
          {"path":"$API_DIR/data.qcow2","readonly":false,"direct":true},
          {"path":"$API_DIR/svc-bin.img","readonly":true,"direct":true}],
 "net":[{"tap":"tap-tngl-42","ip":"172.30.0.1"}],
 "serial":{"file":"$API_DIR/svc-guest.log","mode":"File"},
 "console":{"mode":"Off"},
 "vsock":{"cid":45,"socket":"$API_DIR/svc.sock"},
 "some_future_field":{"x":[1,2]}}
JSON
}
touch "$API_DIR/vmlinuz" "$API_DIR/initrd.img"
