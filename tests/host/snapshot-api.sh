#!/usr/bin/env bash
# vm.snapshot and vm.restore refusals that need no KVM, on the real VMM
# (svmm as cloud-hypervisor, default seccomp): no VM, bad URLs, a missing
# snapshot, and state files that are garbled, truncated or of another
# format version, each refused with a clear error before /dev/kvm is
# opened; --restore on the command line reports the same and exits 1.
. "$(dirname "$0")/../lib.sh"

d=$(t_tmpdir)
sock=$d/api.sock
api() { # METHOD PATH [BODY] -> status; body in $d/resp
	local args=(-s -o "$d/resp" -w '%{http_code}' --max-time 30 --unix-socket "$sock" -X "$1")
	[[ -n ${3:-} ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	curl "${args[@]}" "http://localhost/api/v1/$2"
}

"$T_SVMM" --api-socket "$sock" >"$d/svmm.out" 2>&1 &
pid=$!
t_cleanup "kill -9 $pid 2>/dev/null"
for _ in $(seq 100); do [[ -S $sock ]] && break; sleep 0.1; done

t_eq "vm.snapshot with no VM: 404" 404 "$(api PUT vm.snapshot '{"destination_url":"file:///tmp"}')"
t_eq "vm.restore without a body: 400" 400 "$(api PUT vm.restore)"
t_eq "vm.restore without source_url: 400" 400 "$(api PUT vm.restore '{}')"
t_eq "vm.restore of a relative file URL: 400" 400 "$(api PUT vm.restore '{"source_url":"file://tmp/x"}')"
t_eq "vm.restore with prefault not a boolean: 400" 400 \
	"$(api PUT vm.restore "{\"source_url\":\"file://$d\",\"prefault\":1}")"
t_eq "vm.restore of a directory with no state.bin: 404" 404 \
	"$(api PUT vm.restore "{\"source_url\":\"file://$d\"}")"
t_match "it says there is no snapshot" "no complete snapshot" "$(cat "$d/resp")"

# a snapshot directory: a valid configuration, then bad state files
s=$d/snap
mkdir "$s"
truncate -s 2M "$d/k"
cat >"$s/config.json" <<EOF
{"cpus": {"boot_vcpus": 1, "max_vcpus": 1}, "memory": {"size": 67108864},
 "payload": {"kernel": "$d/k"}, "serial": {"mode": "Null"}, "console": {"mode": "Off"}}
EOF
truncate -s 64M "$s/memory.bin"
rec() { printf "$(printf '\\x%02x\\x%02x' $((${#1} & 255)) $((${#1} >> 8)))%s" "$1"; printf '\x00\x00\x00\x00'; }
hdr() { printf 'SVMMSNAP'; printf "\\x$(printf %02x "$1")\\x00\\x00\\x00\\x00\\x00\\x00\\x00"; }
endrec() { printf '\x03\x00end\x04\x00\x00\x00'; printf "\\x$(printf %02x "$1")\\x00\\x00\\x00"; }

restore() { api PUT vm.restore "{\"source_url\":\"file://$s\"}"; }
printf 'garbage' >"$s/state.bin"
t_eq "a state.bin that is no svmm snapshot: 500" 500 "$(restore)"
t_match "it says so" "not an svmm snapshot" "$(cat "$d/resp")"
t_eq "and no VM is left behind" 404 "$(api GET vm.info)"
{ hdr 2; endrec 0; } >"$s/state.bin"
t_eq "a state.bin of format version 2: 500" 500 "$(restore)"
t_match "it names the version" "version 2 is not supported" "$(cat "$d/resp")"
{ hdr 1; rec vm.ncpus; } >"$s/state.bin"
t_eq "a truncated state.bin (no end record): 500" 500 "$(restore)"
t_match "it says truncated" "truncated" "$(cat "$d/resp")"
{ hdr 1; printf '\x05\x00abc'; } >"$s/state.bin"
t_eq "a record cut inside its name: 500" 500 "$(restore)"
t_match "it names the offset" "offset 16" "$(cat "$d/resp")"
{ hdr 1; endrec 0; } >"$s/state.bin"
t_eq "a state.bin with no VM in it: 500" 500 "$(restore)"
t_match "it names the missing record" "vm.ncpus" "$(cat "$d/resp")"
# svmm-remote speaks ch-remote's snapshot and restore
out=$("$T_BUILD/svmm-remote" --api-socket "$sock" restore "source_url=file://$s,prefault=on" 2>&1)
t_eq "svmm-remote restore of the bad snapshot exits 1" 1 "$?"
t_match "svmm-remote restore shows the server's reason" "500.*vm.ncpus" "$out"
out=$("$T_BUILD/svmm-remote" --api-socket "$sock" snapshot "file://$d" 2>&1)
t_eq "svmm-remote snapshot with no VM exits 1" 1 "$?"
t_match "svmm-remote snapshot shows the 404" "404" "$out"
out=$("$T_BUILD/svmm-remote" --api-socket "$sock" restore "prefault=on" 2>&1)
t_eq "svmm-remote restore without source_url: usage error" 2 "$?"
t_eq "the VMM still serves" 200 "$(api GET vmm.ping)"
t_eq "vmm.shutdown" 200 "$(api PUT vmm.shutdown)"
wait "$pid"
t_eq "svmm's exit status" 0 "$?"
t_eq "no thread was refused a call (seccomp)" "" "$(grep 'seccomp: thread' "$d/svmm.out")"

# --restore on the command line: the same refusal, status 1
out=$("$T_SVMM" --api-socket "$d/b.sock" --restore "source_url=file://$s" 2>&1)
t_eq "--restore of a bad snapshot exits 1" 1 "$?"
t_match "--restore says why" "--restore: .*vm.ncpus" "$out"
out=$("$T_SVMM" --api-socket "$d/c.sock" --restore "prefault=on" 2>&1)
t_eq "--restore without source_url exits non-zero" 1 "$(($? != 0))"
t_match "--restore names source_url" "source_url" "$out"
t_done
