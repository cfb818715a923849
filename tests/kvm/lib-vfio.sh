# Helpers of the kvm/vfio-* tests (source after lib.sh, lib-guest.sh and
# lib-netdev.sh): a level-2 initramfs with Debian's modules for the device.

# vf_closure MODDIR MODULE: its file under MODDIR and its dependencies',
# deepest first (modules.dep order), one per line.
vf_closure() {
	local dir=$1 m=$2 line deps i
	line=$(grep -E "(^|/)$m\.ko(\.xz|\.zst|\.gz)?:" "$dir/modules.dep" | head -n1)
	[[ -n $line ]] || return 0
	read -ra deps <<<"${line#*:}"
	for ((i = ${#deps[@]} - 1; i >= 0; i--)); do echo "${deps[i]}"; done
	echo "${line%%:*}"
}

# vf_initramfs OUT SCRIPT MODDIR MODULE...: nd_initramfs's busybox guest
# running SCRIPT, with the modules' closures (decompressed) in /modules and
# their load order in /modules/order; prints the module files.
vf_initramfs() {
	local out=$1 script=$2 dir=$3 m f mods w
	shift 3
	mods=$(for m in "$@"; do vf_closure "$dir" "$m"; done | awk '!seen[$0]++')
	nd_initramfs "$out" "$script"
	w=$(mktemp -d "${TMPDIR:-/tmp}/svmm-vfmods.XXXXXX")
	mkdir -p "$w/modules"
	for m in $mods; do
		f=${m##*/}
		cp "$dir/$m" "$w/modules/$f"
		case $f in
		*.xz) xz -d "$w/modules/$f"; f=${f%.xz} ;;
		*.zst) zstd -q -d --rm "$w/modules/$f"; f=${f%.zst} ;;
		*.gz) gzip -d "$w/modules/$f"; f=${f%.gz} ;;
		esac
		echo "$f" >>"$w/modules/order"
	done
	# an uncompressed archive first, then the compressed one (the layout of
	# early microcode): the kernel unpacks both
	(cd "$w" && find . | cpio -o -H newc --quiet) >"$out.m"
	cat "$out.m" "$out" >"$out.all" && mv "$out.all" "$out"
	rm -rf "$w" "$out.m"
	echo "$mods"
}

# vf_kernel: Debian's kernel in $kernel and its modules' directory in
# $moddir; 1 when the sandbox has none.
vf_kernel() {
	local kver
	kernel=$(g_kernel) || return 1
	kver=$(basename "$kernel")
	kver=${kver#vmlinuz-}
	moddir=$(dirname "$(dirname "$kernel")")/lib/modules/$kver
}

# vf_qemu_peer DIR BDF CMDLINE: the initramfs DIR/initrd under QEMU q35 as
# the level-2 VMM with BDF passed through (console in DIR/qemu.log); checks
# its exit and returns 0 when it ran (1: no QEMU, skipped).
vf_qemu_peer() {
	local d=$1 bdf=$2 cmdline=$3 rc
	if ! command -v qemu-system-x86_64 >/dev/null; then
		t_skip "QEMU peer" "no qemu-system-x86_64"
		return 1
	fi
	timeout 300 qemu-system-x86_64 -accel kvm -M q35 -cpu host -m 256 -smp 1 -nographic -nodefaults \
		-no-reboot -serial "file:$d/qemu.log" -kernel "$kernel" -initrd "$d/initrd" \
		-append "$cmdline" -device "vfio-pci,host=$bdf" >"$d/qemu.out" 2>&1
	rc=$?
	t_eq "QEMU peer: exits 0 at guest power-off" 0 "$rc"
	((rc == 0)) || sed 's/^/#   /' "$d/qemu.out" | tail -n 20
	return 0
}

# vf_need WHAT VALUE SANDBOX_VAR HINT: 0 when VALUE (a device) is set; else
# a failure inside the sandbox (its --vfio boot sets SANDBOX_VAR), a skip
# elsewhere (HINT: what to set), and 1.
vf_need() {
	[[ -n $2 ]] && return 0
	if [[ -n ${SVMM_IN_SANDBOX:-} ]]; then
		t_fail "the --vfio sandbox has $1" "$3 is empty (run in tools/kvm-sandbox --vfio)"
	else
		t_skip "VFIO: $1" "no device: $4"
	fi
	return 1
}

# vf_driver BDF: the driver that holds BDF, or "-".
vf_driver() {
	local l=/sys/bus/pci/devices/$1/driver
	[[ -e $l ]] && basename "$(readlink "$l")" || echo -
}
