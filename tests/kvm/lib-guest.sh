# tests/kvm/lib-guest.sh: guests for the KVM tier. Source it after lib.sh.
#
#   g_kernel                       Debian's generic bzImage (the sandbox's)
#   g_pvh_vmlinux OUT              an ELF vmlinux with a PVH note: the ELF
#                                  inside Debian's bzImage
#   g_project_kernel               the newest finished build of the project's
#                                  kernel (vmlinux, bzImage, config), if any
#   g_initramfs OUT ACTION         a busybox initramfs whose /init mounts
#                                  /proc, /sys, /dev, prints facts as
#                                  "SVMM-FACT name=value" lines, then does
#                                  ACTION: poweroff, reboot, sleep, panic
#   g_fact FILE NAME               a fact's value from a console log
#   G_CMDLINE                      a kernel command line for tests
#
# The guest keeps no state across a reboot: count the "SVMM-INIT-REACHED"
# lines in the console log to count boots.

G_CMDLINE=${G_CMDLINE:-"console=ttyS0 reboot=k panic=-1 quiet"}

g_kernel() {
	local k
	for k in /var/cache/svmm/sandbox/*/boot/vmlinuz-*; do
		[[ -r $k ]] && { echo "$k"; return 0; }
	done
	return 1
}

g_project_kernel() {
	local d
	d=$(ls -td /var/cache/svmm/kernel/*/ 2>/dev/null | while read -r d; do
		[[ -e $d/.done && -r $d/vmlinux && -r $d/bzImage ]] && { echo "${d%/}"; break; }
	done)
	[[ -n $d ]] && echo "$d"
}

g_pvh_vmlinux() {
	local out=$1 k
	k=$(g_kernel) || return 1
	# The bzImage's payload is the vmlinux ELF (PVH note included, with
	# CONFIG_PVH=y), compressed: Debian's is xz.
	python3 - "$k" "$out" <<'PY' || return 1
import lzma, sys
d = open(sys.argv[1], 'rb').read()
i = d.find(b'\xfd7zXZ\x00')
if i < 0:
    sys.exit('no xz payload in ' + sys.argv[1])
open(sys.argv[2], 'wb').write(lzma.LZMADecompressor().decompress(d[i:]))
PY
	echo "vmlinux extracted from $k"
}

g_initramfs() {
	local out=$1 action=$2 d
	d=$(mktemp -d "${TMPDIR:-/tmp}/svmm-initrd.XXXXXX")
	mkdir -p "$d"/{bin,sbin,proc,sys,dev,tmp}
	cp /bin/busybox "$d/bin/busybox"
	for a in sh mount cat grep date dd printf nproc sleep poweroff reboot echo head sed ls \
		uname awk cut tr wc; do
		ln -s busybox "$d/bin/$a"
	done
	cat >"$d/init" <<INIT
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev 2>/dev/null
# boot-timer port 0x80: code 0x60 = user space reached
printf '\140' | dd of=/dev/port bs=1 seek=128 count=1 2>/dev/null
echo "SVMM-INIT-REACHED uptime=\$(cut -d' ' -f1 /proc/uptime)"
echo "SVMM-FACT nproc=\$(grep -c ^processor /proc/cpuinfo)"
echo "SVMM-FACT memtotal_kb=\$(awk '/^MemTotal/ {print \$2}' /proc/meminfo)"
echo "SVMM-FACT date=\$(date -u +%Y-%m-%d)"
echo "SVMM-FACT epoch=\$(date -u +%s)"
echo "SVMM-FACT hypervisor=\$(grep -c '^flags.* hypervisor' /proc/cpuinfo)"
echo "SVMM-FACT acpi_tables=\$(ls /sys/firmware/acpi/tables 2>/dev/null | tr '\n' ' ')"
echo "SVMM-FACT pci_slots=\$(ls /sys/bus/pci/slots 2>/dev/null | tr '\n' ' ')"
echo "SVMM-FACT cmdline=\$(cat /proc/cmdline)"
echo "SVMM-FACTS-DONE"
case "$action" in
poweroff) poweroff -f ;;
reboot) reboot -f ;;
panic) echo c > /proc/sysrq-trigger ;;
sleep) while :; do sleep 1; done ;;
esac
sleep 1000
INIT
	chmod +x "$d/init"
	(cd "$d" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
	rm -rf "$d"
}

g_fact() {
	sed -n "s/^SVMM-FACT $2=//p" "$1" | tr -d '\r' | head -n1
}
