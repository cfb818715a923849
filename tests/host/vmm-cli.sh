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
t_match "--cpus boot=0 refused" "--cpus: cpus.boot_vcpus: must be at least 1" "$out"
run --kernel /bin/true --memory size=1G,bogus=on
t_match "unknown --memory key is named" "--memory: unknown option 'bogus'" "$out"
run --kernel /bin/true --memory size=101M
t_match "--memory size not 2M-aligned" "multiple of 2M" "$out"
run --kernel /bin/true --memory size=1G,shared=maybe
t_match "bad toggle value" "shared=maybe" "$out"
run --kernel /bin/true --serial frob
t_match "bad --serial mode" "--serial: 'frob' is not one of off, null, pty, tty" "$out"
run --kernel /bin/true --cpus
t_match "flag without a value" "--cpus: needs a value" "$out"
run --initramfs /dev/null
t_match "--kernel is required" "--kernel: is required" "$out"

# The configuration is validated as cloud-hypervisor's (vm_config_validate),
# before the kernel is read or /dev/kvm is opened: status 2, the flag and the
# field named.
run --kernel "$tmp/missing" --cpus boot=4,max=2
t_eq "--cpus boot=4,max=2: status 2" 2 "$rc"
t_match "--cpus boot=4,max=2 refused, naming cpus" \
	"--cpus: cpus.max_vcpus: 2 is below boot_vcpus 4" "$out"
run --kernel "$tmp/missing" --cpus boot=255
t_match "--cpus boot=255: more than 254" "--cpus: cpus.max_vcpus: 255 is more than 254" "$out"
run --kernel "$tmp/missing" --memory size=32M
t_match "--memory below 64M refused" "--memory: memory.size: .* from 64M to 64T" "$out"
run --kernel "$tmp/missing" --fs "tag=t,socket=$tmp/fs.sock"
t_match "--fs without shared memory refused" \
	"--fs: fs\[0\]: virtio-fs needs --memory shared=on" "$out"
run --kernel "$tmp/missing" --net mac=01:00:5e:00:00:01
t_match "--net multicast mac refused" "--net: net\[0\].mac: .* is a multicast address" "$out"
run --kernel "$tmp/missing" --vsock "cid=2,socket=$tmp/v.sock"
t_match "--vsock cid 2 refused" "--vsock: vsock.cid: 2 is below 3" "$out"
run --kernel "$tmp/missing" --disk path=/a,id=x --net id=x
t_match "a device id used twice" "device id 'x' is used twice" "$out"
# a file with a bzImage header: it gets to /dev/kvm unless refused first
head -c 1024 /dev/zero >"$tmp/bz"
printf '\x55\xaa' | dd of="$tmp/bz" bs=1 seek=$((0x1fe)) conv=notrunc status=none
printf 'HdrS' | dd of="$tmp/bz" bs=1 seek=$((0x202)) conv=notrunc status=none
run --kernel "$tmp/bz" --cpus boot=4,max=2 --serial null
t_eq "validation before /dev/kvm: status 2" 2 "$rc"
t_no_match() { if [[ $3 =~ $2 ]]; then t_fail "$1" "'$3' matches '$2'"; else t_pass "$1"; fi; }
t_no_match "validation before /dev/kvm: KVM is not reached" "/dev/kvm" "$out"

# --config: the VM as cloud-hypervisor's JSON (what run --image hands its VMM)
echo '{"payload":{"kernel":"'"$tmp/text"'"},"cpus":{"boot_vcpus":4,"max_vcpus":2}}' >"$tmp/bad.json"
run --config "$tmp/bad.json"
t_eq "--config that does not validate: status 2" 2 "$rc"
t_match "--config: the field is named" "--config: cpus.max_vcpus: 2 is below boot_vcpus 4" "$out"
echo '{"payload":{"kernel":"/bin/true"},"serial":{"mode":"Null"}}' >"$tmp/ok.json"
run --config "$tmp/ok.json"
t_match "--config: its kernel is the one probed" "--kernel /bin/true: not a bootable kernel" "$out"
run --config "$tmp/ok.json" --cpus boot=2
t_match "--config with a VM flag refused" "--config: the file is the whole VM" "$out"
echo '{"payload":' >"$tmp/trunc.json"
run --config "$tmp/trunc.json"
t_match "--config: bad JSON named" "--config $tmp/trunc.json: .*line" "$out"
run --config "$tmp/missing.json"
t_eq "--config: a missing file: status 2" 2 "$rc"

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
