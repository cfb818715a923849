#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# svmm run --image without a VM: the agent runs on the host
# (tests/launchers/agent-on-host.sh) behind the hybrid vsock socket, so the image
# code, the runtime spec, the protocol and the agent's containers are checked
# here; tests/kvm/run-image.sh runs the same checks in a guest on svmm's VMM.
. "$(dirname "$0")/../lib.sh"
. "$T_TOP/tests/run-image-checks.sh"

tmp=$(t_tmpdir)
export SVMM_LAUNCHER=$T_TOP/tests/launchers/agent-on-host.sh
export SVMM_IMAGE_CACHE=$tmp/cache
export SVMM_KERNEL=/dev/null SVMM_INITRD=/dev/null # no VM: not used
sample=$T_BUILD/images/oci/sample
if [[ ! -f $sample/index.json || ! -x $T_BUILD/svmm-agent ]]; then
	t_fail "the sample image and the agent are built" "run 'make all images'"
	t_done
	exit 1
fi
run_image_checks "$sample" "$tmp"

# network flags are checked before anything starts
neterr() { # expected-text, then svmm run arguments
	local want=$1 out rc
	shift
	out=$("$T_SVMM" run --rm --image "$sample" "$@" -- true 2>&1)
	rc=$?
	t_eq "$* fails with 125" 125 "$rc"
	t_match "$* says why" "$want" "$out"
}
neterr "-p: port forward '80:90/sctp': expected \[ADDR:\]HOSTPORT:GUESTPORT" -p 80:90/sctp
neterr "expected \[ADDR:\]HOSTPORT:GUESTPORT" -p 0:80
neterr "expected \[ADDR:\]HOSTPORT:GUESTPORT" -p 1.2.3:80:90
neterr "-p needs a network" --net none -p 8080:80
neterr "makes its own network" -p 8080:80
neterr "makes its own network" --net auto
neterr "keys: dns" --net auto,mtu=9000
SVMM_LAUNCHER= neterr "use --net auto" --net ip=10.0.0.2/24

# --name is the VM's id (its lease, its firewall rules): what the message says
for bad in -x .x a/b "a b" 'a:b' "$(printf 'n%.0s' {1..65})" ''; do
	neterr "--name '.*': 1 to 64 letters, digits, '\.', '-' and '_', not starting" --name "$bad"
done
t_cleanup "rm -rf /run/svmm/containers/ok.Name_1-$$" # the launcher leaves agent/
out=$("$T_SVMM" run --rm --name "ok.Name_1-$$" --image "$sample" -- true 2>&1)
t_eq "--name with letters, digits, '.', '-' and '_' runs" 0 "$?"
# the VM's configuration is validated as svmm's VMM would, before the launch
neterr "the VM's configuration: cpus.max_vcpus: 300 is more than 254" --cpus 300
neterr "the VM's configuration: memory.size: 105906176 is not a multiple of 2M" --memory 101M
neterr "--cpus x: expected a number" --cpus x

# svmm's own VMM gets its VM as config.json in the run's state directory
# (`svmm run --config`). A file with a bzImage header as the kernel: the
# child reads and validates the file and gets as far as KVM, never a guest;
# it does so jailed (the default), as a uid of the pool.
head -c 1024 /dev/zero >"$tmp/bz"
printf '\x55\xaa' | dd of="$tmp/bz" bs=1 seek=$((0x1fe)) conv=notrunc status=none
printf 'HdrS' | dd of="$tmp/bz" bs=1 seek=$((0x202)) conv=notrunc status=none
st=/run/svmm/containers/cfg-$$
t_cleanup "rm -rf $st"
out=$(SVMM_LAUNCHER= SVMM_KERNEL=$tmp/bz "$T_SVMM" run --name "cfg-$$" --cpus 2 --memory 256M \
	--image "$sample" -- true 2>&1)
t_eq "native VMM without a guest: 125" 125 "$?"
t_match "the child VMM took its config (it got to KVM or the kernel)" \
	"svmm run: (/dev/kvm|no permission on /dev/kvm|--kernel $tmp/bz)" "$out"
t_ok "the child VMM found nothing wrong in the config" bash -c '! grep -q -- "--config" <<<"$1"' _ "$out"
cfg=$st/config.json
t_eq "config.json: the kernel" "$tmp/bz" "$(jq -r .payload.kernel "$cfg" 2>&1)"
t_eq "config.json: cpus and memory" "2 268435456" "$(jq -r '"\(.cpus.boot_vcpus) \(.memory.size)"' "$cfg" 2>&1)"
t_eq "config.json: the root disk, read-only" true "$(jq -r '.disks[0].readonly' "$cfg" 2>&1)"
t_eq "config.json: the agent's vsock, in the VMM's own directory" "$st/vmm/vsock.sock" "$(jq -r .vsock.socket "$cfg" 2>&1)"
t_eq "config.json: serial to the console log, no console" "File $st/console.log Off" \
	"$(jq -r '"\(.serial.mode) \(.serial.file) \(.console.mode)"' "$cfg" 2>&1)"
t_match "config.json and STATE/vmm are the jailed VMM's (a uid of the pool)" \
	'^(1879048[12][0-9]{2}):1879048[12][0-9]{2} 1879048[12][0-9]{2}:1879048[12][0-9]{2} 700$' \
	"$(stat -c %u:%g "$cfg" 2>&1) $(stat -c '%u:%g %a' "$st/vmm" 2>&1)"
t_ok "the VMM's jail is removed with the VM (the failed run's state is kept)" \
	test -d "$st" -a ! -e "$st/svmm"

# SVMM_TIMING names only the phases that were measured: a VM that ends before
# its agent answers has image+disk and launch, and no later phase.
out=$(SVMM_TIMING=1 SVMM_LAUNCHER=/bin/false "$T_SVMM" run --rm --image "$sample" -- true 2>&1)
t_eq "a VM that ends before its agent answers: 125" 125 "$?"
line=$(grep '^svmm-timing:' <<<"$out")
t_match "SVMM_TIMING prints the phases reached" \
	'^svmm-timing: image\+disk=[0-9.]+ms launch=[0-9.]+ms total=[0-9.]+ms$' "$line"
t_done
