#!/usr/bin/env bash
# A Linux guest (the sandbox's Debian kernel) mounts svmm's FAT12, FAT16 and
# FAT32 images and a NoCloud seed as vfat (loop, read-only, UTF-8 names) and
# reads back every name, byte and time. svmm cannot boot guests yet, so the
# sandbox's own kernel is the guest; this checks the kernel's vfat driver,
# not svmm's block device.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../host/seed-lib.sh"

if [[ -z ${SVMM_IN_SANDBOX:-} || $EUID != 0 ]]; then
	t_skip "vfat mount" "needs root in the sandbox (tests/run --tier kvm)"
	t_done
	exit
fi
# The sandbox kernel's modules live in the cache, not in the host's /lib/modules.
kdir=${SVMM_CACHE:-/var/cache/svmm}/sandbox/$(uname -r)
for m in loop vfat nls_cp437 nls_ascii nls_utf8; do
	modprobe -q -d "$kdir" "$m" 2>/dev/null || modprobe -q "$m" 2>/dev/null || true
done

tmp=$(t_tmpdir)
src=$tmp/src
seed_tree "$src"
echo smile >"$src/sub dir/😀 smile.md" # a surrogate pair, which mtools cannot read
mnt=$tmp/mnt
mkdir "$mnt"

# mounted NAME IMG SRC: mount IMG, compare with SRC, unmount.
mounted() {
	local out
	if ! out=$(mount -o loop,ro,utf8,tz=UTC -t vfat "$2" "$mnt" 2>&1); then
		t_fail "$1: mount -t vfat" "$out" "$(dmesg | tail -n 5)"
		return
	fi
	t_pass "$1: mount -t vfat"
	out=$(diff -r "$3" "$mnt" 2>&1)
	t_eq "$1: the guest reads the same names and bytes" "" "$out"
	[[ -e $3/README.TXT ]] && t_eq "$1: the guest reads the file time" \
		"2024-02-29 12:34:56" "$(TZ=UTC date -r "$mnt/README.TXT" '+%F %T')"
	umount "$mnt"
}

for fat in 12 16 32; do
	"$T_SVMM" seed fat --fat $fat --out "$tmp/fat$fat.img" --label "kvm$fat" "$src" >/dev/null
	t_eq "FAT$fat: the guest's blkid reads the label" "KVM$fat" \
		"$(blkid -o value -s LABEL "$tmp/fat$fat.img")"
	mounted "FAT$fat" "$tmp/fat$fat.img" "$src"
done

# A file of 4 GiB - 1, the FAT limit (sparse: cheap to build and hold).
mkdir "$tmp/max"
max=$((4 * 1024 * 1024 * 1024 - 1))
truncate -s $max "$tmp/max/max.bin"
printf 'TAIL' | dd of="$tmp/max/max.bin" bs=1 seek=$((max - 4)) conv=notrunc status=none
"$T_SVMM" seed fat --out "$tmp/max.img" "$tmp/max" >/dev/null
if mount -o loop,ro -t vfat "$tmp/max.img" "$mnt" 2>/dev/null; then
	t_eq "4 GiB - 1: the guest sees the size" $max "$(stat -c %s "$mnt/max.bin")"
	t_eq "4 GiB - 1: the guest reads the last bytes" TAIL "$(tail -c 4 "$mnt/max.bin")"
	umount "$mnt"
else
	t_fail "4 GiB - 1: mount -t vfat" "$(dmesg | tail -n 5)"
fi
rm -f "$tmp/max.img"

"$T_SVMM" seed cloud-init --out "$tmp/seed.img" --instance-id iid-kvm --hostname kvm \
	--iface eth0 --address 10.0.0.2/24 --gateway 10.0.0.1 --dns 10.0.0.1 >/dev/null
if mount -o loop,ro,utf8 -t vfat "$tmp/seed.img" "$mnt" 2>/dev/null; then
	t_eq "NoCloud seed: files" "meta-data network-config user-data" "$(ls "$mnt" | xargs)"
	t_match "NoCloud seed: meta-data" 'instance-id: "iid-kvm"' "$(cat "$mnt/meta-data")"
	t_eq "NoCloud seed: the label cloud-init looks for" "CIDATA" \
		"$(blkid -o value -s LABEL "$tmp/seed.img")"
	umount "$mnt"
else
	t_fail "NoCloud seed: mount -t vfat" "$(dmesg | tail -n 5)"
fi
t_done
