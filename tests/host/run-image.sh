#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# svmm run --image without a VM: the agent runs on the host
# (tests/launchers/agent-on-host.sh) behind the hybrid vsock socket, so the image
# code, the runtime spec, the protocol and the agent's containers are checked
# here; tests/kvm/agent-run.sh runs the same checks in a VM.
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
t_done
