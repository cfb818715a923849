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
neterr "expected HOST:GUEST" -p 80:90/sctp
neterr "expected HOST:GUEST" -p 0:80
neterr "-p needs a network" --net none -p 8080:80
neterr "makes its own network" -p 8080:80
neterr "makes its own network" --net auto
neterr "keys: dns" --net auto,mtu=9000
SVMM_LAUNCHER= neterr "use --net auto" --net ip=10.0.0.2/24

# SVMM_TIMING names only the phases that were measured: a VM that ends before
# its agent answers has image+disk and launch, and no later phase.
out=$(SVMM_TIMING=1 SVMM_LAUNCHER=/bin/false "$T_SVMM" run --rm --image "$sample" -- true 2>&1)
t_eq "a VM that ends before its agent answers: 125" 125 "$?"
line=$(grep '^svmm-timing:' <<<"$out")
t_match "SVMM_TIMING prints the phases reached" \
	'^svmm-timing: image\+disk=[0-9.]+ms launch=[0-9.]+ms total=[0-9.]+ms$' "$line"
t_done
