#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kernel-config/build.sh: build svmm's guest kernel (`make kernel`).
#
#   kernel-config/build.sh [--config-only]
#
# Builds vmlinux (ELF with the PVH entry note) and bzImage from Debian's
# linux-source-6.1 with kernel-config/microvm.config over tinyconfig, and
# links them (and the final .config) into $BUILD/kernel/.
#
# Cache (outside the tree, shared by every checkout and by CI):
#   $SVMM_KERNEL_CACHE (default ${SVMM_CACHE:-/var/cache/svmm}/kernel)
#     src/<version>/linux-source-6.1  the unpacked source, once per version
#     obj/<version>/                  the build directory (O=), reused, so a
#                                     config change rebuilds only what changed
#     <key>/                          vmlinux, bzImage, config, build-info
# key = sha256 of the fragment, this script, check-config.sh and the source
# package version. With <key>/ present the script only links: a no-op.
# --config-only stops after writing and checking the .config.
#
# Environment: BUILD (default build), SVMM_KERNEL_JOBS (default nproc).
set -euo pipefail

me=build-kernel
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
frag=$here/microvm.config
checker=$here/check-config.sh
tarball=/usr/src/linux-source-6.1.tar.xz
cache=${SVMM_KERNEL_CACHE:-${SVMM_CACHE:-/var/cache/svmm}/kernel}
build=${BUILD:-build}
[[ $build == /* ]] || build=$top/$build
out=$build/kernel
jobs=${SVMM_KERNEL_JOBS:-$(nproc)}
config_only=0

die() {
	echo "$me: $*" >&2
	exit 1
}

case ${1:-} in
--config-only) config_only=1 ;;
'') ;;
*) die "unknown option '$1' (usage: $0 [--config-only])" ;;
esac

srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) ||
	die "linux-source-6.1 is not installed (run 'make deps')"
[[ -r $tarball ]] || die "$tarball is missing (reinstall linux-source-6.1)"
for t in make gcc bc flex bison perl lz4 sha256sum; do
	command -v "$t" >/dev/null || die "'$t' is needed to build the kernel (run 'make deps')"
done
[[ -e /usr/include/libelf.h ]] || die "libelf-dev is needed to build the kernel (run 'make deps')"

key=$({
	echo "linux-source-6.1 $srcver"
	cat "$frag" "$0" "$checker"
} | sha256sum | cut -c1-16)
dest=$cache/$key

link_results() {
	mkdir -p "$out"
	local f
	for f in vmlinux bzImage config build-info; do
		ln -sfn "$dest/$f" "$out/$f"
	done
}

mkdir -p "$cache"
exec 9>"$cache/.lock"
if ! flock -n 9; then
	echo "$me: waiting for another kernel build to finish" >&2
	flock 9
fi

if [[ -e $dest/.done && $config_only == 0 ]]; then
	link_results
	echo "$me: cached: $dest ($(sed -n 's/^build_seconds=//p' "$dest/build-info") s to build)"
	exit 0
fi

t0=$(date +%s)

# --- the unpacked source, once per package version ------------------------------
srcdir=$cache/src/$srcver
src=$srcdir/linux-source-6.1
if [[ ! -e $srcdir/.done ]]; then
	echo "$me: unpacking $tarball (linux-source-6.1 $srcver)"
	rm -rf "$srcdir" "$srcdir.tmp"
	mkdir -p "$srcdir.tmp"
	tar -xf "$tarball" -C "$srcdir.tmp"
	[[ -f $srcdir.tmp/linux-source-6.1/Makefile ]] || die "$tarball has no linux-source-6.1/"
	mv "$srcdir.tmp" "$srcdir"
	touch "$srcdir/.done"
fi

# --- configuration: tinyconfig's fragments and ours, through allnoconfig ---------
obj=$cache/obj/$srcver
mkdir -p "$obj"
kmake() {
	make -C "$src" O="$obj" ARCH=x86_64 KBUILD_BUILD_USER=svmm KBUILD_BUILD_HOST=svmm "$@"
}
cat "$src/kernel/configs/tiny-base.config" "$src/kernel/configs/tiny.config" \
	"$src/arch/x86/configs/tiny.config" "$frag" >"$obj/svmm.allconfig"
# (Our choices override tinyconfig's on purpose: drop the warnings saying so.)
kmake -s KCONFIG_ALLCONFIG="$obj/svmm.allconfig" allnoconfig 2> >(grep -v "warning: override" >&2) >/dev/null
kmake -s olddefconfig >/dev/null
"$checker" "$frag" "$obj/.config"
((config_only)) && { echo "$me: config written to $obj/.config"; exit 0; }

# --- build ----------------------------------------------------------------------
echo "$me: building vmlinux and bzImage with -j$jobs in $obj"
kmake -j"$jobs" vmlinux bzImage

# The PVH entry point is an ELF note of owner "Xen", type 18
# (XEN_ELFNOTE_PHYS32_ENTRY); a VMM that boots vmlinux directly needs it.
# readelf separates the size from the type with a tab; its output is read
# whole (grep -q closing the pipe early would fail it under pipefail).
notes=$(readelf -n "$obj/vmlinux")
grep -qE '^ *Xen[[:space:]]+0x[0-9a-f]+[[:space:]]+.*(0x00000012|PHYS32_ENTRY)' <<<"$notes" ||
	die "$obj/vmlinux has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)"

secs=$(($(date +%s) - t0))
rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
cp "$obj/vmlinux" "$obj/arch/x86/boot/bzImage" "$obj/System.map" "$dest.tmp/"
cp "$obj/.config" "$dest.tmp/config"
cat >"$dest.tmp/build-info" <<EOF
source=linux-source-6.1 $srcver
release=$(cat "$obj/include/config/kernel.release")
key=$key
jobs=$jobs
build_seconds=$secs
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF
rm -rf "$dest"
mv "$dest.tmp" "$dest"
touch "$dest/.done"
link_results
printf '%s: built in %dm%02ds: vmlinux %s bytes, bzImage %s bytes -> %s\n' "$me" \
	$((secs / 60)) $((secs % 60)) "$(stat -c %s "$dest/vmlinux")" "$(stat -c %s "$dest/bzImage")" "$out"
