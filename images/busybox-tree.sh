# SPDX-License-Identifier: Apache-2.0
# busybox-tree.sh: sourced by the image scripts. busybox_tree DIR puts
# busybox-static at DIR/bin/busybox and one relative symbolic link per applet
# where busybox would install it (bin, sbin, usr/bin, usr/sbin), so the tree
# works wherever it is mounted. Fails naming what is wrong.

busybox_tree() {
	local dir=$1 busybox applet target
	busybox=$(command -v busybox) || {
		echo "busybox is missing (run 'make deps': busybox-static)" >&2
		return 1
	}
	[[ $(ldd "$busybox" 2>&1 || true) == *"not a dynamic executable"* ]] || {
		echo "$busybox is not statically linked (install busybox-static)" >&2
		return 1
	}
	mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin}
	install -m 0755 "$busybox" "$dir/bin/busybox"
	# linuxrc is busybox's own init for initrds: never wanted here.
	while IFS= read -r applet; do
		case ${applet%/*} in
		. | '' | "$applet") continue ;;
		bin) target=busybox ;;
		sbin) target=../bin/busybox ;;
		usr/bin | usr/sbin) target=../../bin/busybox ;;
		*)
			echo "busybox applet '$applet' is in an unexpected directory" >&2
			return 1
			;;
		esac
		[[ $applet == bin/busybox ]] && continue
		ln -sfn "$target" "$dir/$applet"
	done < <("$busybox" --list-full)
}

# busybox_version: the busybox-static package version, for image metadata.
busybox_version() {
	dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo unknown
}
