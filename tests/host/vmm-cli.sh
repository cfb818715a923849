#!/usr/bin/env bash
# svmm run's command line: CH syntax errors, files that are not kernels,
# and what it says about /dev/kvm. No KVM needed.
. "$(dirname "$0")/../lib.sh"

tmp=$(t_tmpdir)
run() {
	out=$("$T_SVMM" run "$@" 2>&1)
	rc=$?
}

run --help
t_eq "--help exits 0" 0 "$rc"
t_match "--help shows the syntax" '--memory +size=<size>' "$out"
run --version
t_match "--version" '^svmm v[0-9]' "$out"

run --kernel /bin/true --frobnicate
t_eq "unknown flag: status 2" 2 "$rc"
t_match "unknown flag is named" "--frobnicate: unknown option" "$out"
run --kernel /bin/true --cpus boot=x
t_match "bad --cpus value is named, syntax shown" \
	"--cpus: option 'boot=x'.*syntax: --cpus boot=<n>" "$(echo $out)"
run --kernel /bin/true --cpus boot=0
t_match "--cpus boot=0 refused" "boot=0: must be 1 to" "$out"
run --kernel /bin/true --memory size=1G,bogus=on
t_match "unknown --memory key is named" "--memory: unknown option 'bogus'" "$out"
run --kernel /bin/true --memory size=101M
t_match "--memory size not 2M-aligned" "multiple of 2M" "$out"
run --kernel /bin/true --memory size=1G,shared=maybe
t_match "bad toggle value" "shared=maybe" "$out"
run --kernel /bin/true --serial frob
t_match "bad --serial mode" "--serial: 'frob' is not one of off\|null\|tty" "$out"
run --kernel /bin/true --cpus
t_match "flag without a value" "--cpus: needs a value" "$out"
run --initramfs /dev/null
t_match "--kernel is required" "--kernel: is required" "$out"

run --kernel "$tmp/missing"
t_match "missing kernel file" "--kernel $tmp/missing: No such file" "$out"
echo "hello" >"$tmp/text"
run --kernel "$tmp/text"
t_eq "not a kernel: status 1" 1 "$rc"
t_match "a text file is refused" "not a Linux kernel: the file is neither a bzImage nor an ELF" "$out"
printf '070701' >"$tmp/cpio"
run --kernel "$tmp/cpio"
t_match "an initramfs given as the kernel is named" "a cpio archive" "$out"
run --kernel /bin/true
t_match "an ELF without a PVH note is refused" "ELF file without a PVH entry note" "$out"

# A real kernel gets as far as /dev/kvm; here it is absent or unusable
# unless this host has real KVM.
k=$(ls /var/cache/svmm/sandbox/*/boot/vmlinuz-* 2>/dev/null | head -n1)
# (the sandbox's own test: usable means it opens, vmx or svm, not KVM-PVM)
usable=0
[[ -r /dev/kvm && ! -e /sys/module/kvm_pvm ]] && grep -qw -e vmx -e svm /proc/cpuinfo && usable=1
if [[ -n $k && $usable == 0 ]]; then
	run --kernel "$k" --serial null
	t_eq "no usable /dev/kvm: status 1" 1 "$rc"
	t_match "no usable /dev/kvm points at the sandbox" \
		"/dev/kvm (does not exist|is not usable).*tools/kvm-sandbox|no permission on /dev/kvm" "$out"
else
	t_skip "no usable /dev/kvm message" "KVM is usable here, or no kernel cached"
fi
t_done
