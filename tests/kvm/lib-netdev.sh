# tests/kvm/lib-netdev.sh: helpers for the virtio-net, -vsock and -fs guest
# tests. Source it after lib.sh.
#
#   nd_kernel                  the project's kernel (fails the test when absent)
#   nd_initramfs OUT SCRIPT [PROGRAM...]
#                              a busybox initramfs whose /init mounts /proc,
#                              /sys, /dev, runs SCRIPT (its "SVMM-FACT
#                              name=value" lines go to the console) and powers
#                              off; each PROGRAM (socat, ...) is copied with
#                              its shared libraries
#   nd_wait_fact LOG NAME [SECONDS]
#                              wait for a fact in a console log; prints it
#   nd_fact LOG NAME           a fact's value

ND_CMDLINE=${ND_CMDLINE:-"console=ttyS0 reboot=k panic=-1 quiet"}

nd_kernel() {
	local k=$T_TOP/build/kernel/bzImage
	if [[ ! -r $k ]]; then
		t_fail "project kernel" "expected $k (run make kernel)"
		t_done
		exit 1
	fi
	echo "$k"
}

nd_initramfs() {
	local out=$1 script=$2 d p lib
	shift 2
	d=$(mktemp -d "${TMPDIR:-/tmp}/svmm-initrd.XXXXXX")
	mkdir -p "$d"/{bin,proc,sys,dev,tmp,mnt,etc}
	cp /bin/busybox "$d/bin/busybox"
	# relative links: `busybox --install -s` would point them at this host's path
	for a in $(busybox --list); do [[ $a == busybox ]] || ln -s busybox "$d/bin/$a"; done
	for p in "$@"; do
		p=$(command -v "$p")
		cp "$p" "$d/bin/"
		for lib in $(ldd "$p" | awk '/=>/ {print $3} /^[[:space:]]*\// {print $1}'); do
			mkdir -p "$d$(dirname "$lib")"
			cp -L "$lib" "$d$lib"
		done
	done
	cp "$script" "$d/check.sh"
	cat >"$d/init" <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
echo "SVMM-INIT-REACHED"
sh /check.sh 2>&1
echo "SVMM-FACTS-DONE"
sync
poweroff -f
INIT
	chmod +x "$d/init"
	(cd "$d" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
	rm -rf "$d"
}

nd_fact() {
	sed -n "s/^SVMM-FACT $2=//p" "$1" 2>/dev/null | tr -d '\r' | head -n1
}

nd_wait_fact() {
	local i v
	for ((i = 0; i < ${3:-120} * 5; i++)); do
		v=$(nd_fact "$1" "$2")
		[[ -n $v ]] && { echo "$v"; return 0; }
		sleep 0.2
	done
	return 1
}
