#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# agent-on-host.sh: a TEST-ONLY launcher (vmm/run/vm_launch.h, SVMM_LAUNCHER)
# that runs the guest agent on the host instead of in a VM, in a private
# mount namespace: the agent listens on the hybrid vsock socket svmm names
# (SVMM_VM_VSOCK_SOCKET) and takes the root disk (SVMM_VM_DISK, an erofs
# image, mounted from the file) for /dev/vda. What the host tier can check
# of svmm run without KVM: images, spec, protocol, the agent's containers.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
state=$(dirname "$SVMM_VM_VSOCK_SOCKET")/agent
mkdir -p "$state"
exec unshare -m --propagation private "${T_BUILD:-$top/build}/svmm-agent" \
	--listen "unix:$SVMM_VM_VSOCK_SOCKET" --state "$state" --root-dev "$SVMM_VM_DISK" \
	2>>"$SVMM_VM_CONSOLE"
