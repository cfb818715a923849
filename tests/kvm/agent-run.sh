#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# svmm run --image end to end in a VM: the project kernel and the agent
# initramfs boot in QEMU microvm on KVM (tests/launchers/qemu.sh, the
# test-only launcher until svmm's VMM boots guests), the root disk is the
# image's erofs on virtio-blk, and svmm talks to the agent over vhost-vsock.
# Checks: tests/run-image-checks.sh, plus network, CPUs and virtio-fs volumes.
#
# NOT EXECUTABLE (so not in the KVM tier) until it passes: its one run (QEMU
# launcher) passed 49 checks, failed the cgroup limits and then hung on the
# volumes; the agent fixes for both are untested in a VM. Run it with
# `bash tests/kvm/agent-run.sh` inside tools/kvm-sandbox; chmod +x when green.
. "$(dirname "$0")/../lib.sh"
. "$T_TOP/tests/run-image-checks.sh"

for f in "$T_BUILD/kernel/bzImage" "$T_BUILD/images/initramfs.cpio.gz" \
	"$T_BUILD/images/oci/sample/index.json" "$T_SVMM"; do
	if [[ ! -r $f ]]; then
		t_fail "kernel, images and svmm are built" "missing $f: run 'make all kernel images'"
		t_done
		exit 1
	fi
done
t_ok "/dev/kvm is usable" test -w /dev/kvm
t_ok "vhost-vsock is there" test -c /dev/vhost-vsock
tmp=$(t_tmpdir)
export SVMM_LAUNCHER=$T_TOP/tests/launchers/qemu.sh
export SVMM_IMAGE_CACHE=$tmp/cache
export IN_VM=1
run_image_checks "$T_BUILD/images/oci/sample" "$tmp"
t_done
