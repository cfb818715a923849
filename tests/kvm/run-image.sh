#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# svmm run --image on svmm's own VMM (no launcher): the project kernel with
# the guest agent as PID 1, the sample image's erofs root on virtio-blk, the
# agent over hybrid vsock. The workload's stdout, stderr and exit code come
# back apart, as with docker run.
. "$(dirname "$0")/../lib.sh"

img=$T_BUILD/images/oci/sample
for f in "$T_BUILD/kernel/bzImage" "$T_BUILD/images/initramfs.cpio.gz" "$img/index.json"; do
	if [[ ! -r $f ]]; then
		t_fail "kernel and images are built" "missing $f: run 'make kernel images'"
		t_done
		exit 1
	fi
done
tmp=$(t_tmpdir)
unset SVMM_LAUNCHER
export SVMM_IMAGE_CACHE=$tmp/cache
run() { timeout -k 5 300 "$T_SVMM" run --rm --image "$img" "$@"; }

out=$(run 2>"$tmp/err")
rc=$?
t_eq "the image's default command exits 0" 0 "$rc"
t_match "the Entrypoint ran, in the image's WorkingDir" "svmm-sample: entrypoint in /opt/data as uid 0" "$out"
t_match "the Cmd ran with the image's Env" "hello from the svmm sample image" "$out"
t_match "layer 2's file is there" 'NAME="svmm sample"' "$out"
out=$(run -- sh -c 'echo to-stdout; echo to-stderr >&2; exit 7' 2>"$tmp/err")
rc=$?
t_eq "the workload's exit code comes back" 7 "$rc"
t_eq "stdout is the workload's stdout" to-stdout "$(tail -n1 <<<"$out")"
t_match "stderr is the workload's stderr" "to-stderr" "$(cat "$tmp/err")"
# (the image's entrypoint echoes the command line, so match whole lines)
t_eq "stdout does not carry stderr" "" "$(grep -x to-stderr <<<"$out")"
run -- /no/such/command >/dev/null 2>&1
t_eq "a command that does not exist gives 127" 127 "$?"
out=$(run -e SVMM_T=42 -w /tmp -u 1000:1000 -- sh -c 'echo "$SVMM_T $(pwd) $(id -u):$(id -g)"' 2>/dev/null)
t_eq "env, cwd and user as asked" "42 /tmp 1000:1000" "$(tail -n1 <<<"$out")"
t_done
