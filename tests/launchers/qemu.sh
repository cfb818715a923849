#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# qemu.sh: a TEST-ONLY VM launcher for `svmm run --image` while
# svmm's VMM cannot boot guests (vmm/run/vm_launch.h: SVMM_LAUNCHER). Boots
# the VM svmm describes in SVMM_VM_* with QEMU microvm on KVM: the root
# disk as a read-only virtio-blk device, vhost-vsock with the CID svmm
# picked, user networking (with SVMM_VM_PORTS forwarded) when the kernel
# command line gives the guest an address, virtio-fs shares through
# virtiofsd. Runs until the guest powers off. Not part of the product.
set -uo pipefail

qemu=(qemu-system-x86_64 -accel kvm -M microvm,rtc=on,acpi=on -cpu host
	-smp "$SVMM_VM_CPUS" -m "$SVMM_VM_MEM_MIB" -nodefaults -no-user-config
	-display none -monitor none -no-reboot
	-serial "file:$SVMM_VM_CONSOLE"
	-kernel "$SVMM_VM_KERNEL" -initrd "$SVMM_VM_INITRD" -append "$SVMM_VM_CMDLINE"
	-device "vhost-vsock-device,guest-cid=$SVMM_VM_VSOCK_CID")
if [[ -n $SVMM_VM_DISK ]]; then
	qemu+=(-drive "id=root,file=$SVMM_VM_DISK,format=raw,if=none,readonly=on"
		-device virtio-blk-device,drive=root)
fi
if [[ $SVMM_VM_CMDLINE == *svmm.ip=* ]]; then
	fwd=
	for p in $SVMM_VM_PORTS; do # [ADDR:]HOST:GUEST[/udp]
		proto=tcp addr=127.0.0.1
		[[ $p == */udp ]] && proto=udp p=${p%/udp}
		hp=${p%:*}
		[[ $hp == *:* ]] && addr=${hp%%:*} hp=${hp#*:}
		fwd+=",hostfwd=$proto:$addr:$hp-:${p##*:}"
	done
	qemu+=(-netdev "user,id=n0$fwd" -device virtio-net-device,netdev=n0)
fi
pids=()
if [[ -n $SVMM_VM_SHARES ]]; then
	run=$(mktemp -d "${TMPDIR:-/tmp}/svmm-qemu.XXXXXX")
	trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$run"' EXIT
	qemu+=(-object "memory-backend-memfd,id=mem,size=${SVMM_VM_MEM_MIB}M,share=on"
		-machine memory-backend=mem)
	for s in $SVMM_VM_SHARES; do
		tag=${s%%=*} dir=${s#*=}
		dir=${dir%:ro} # read-only: the guest mounts it ro
		/usr/lib/qemu/virtiofsd --socket-path="$run/$tag.sock" -o source="$dir" \
			-o cache=none >"$run/$tag.log" 2>&1 &
		pids+=($!)
		for _ in $(seq 100); do [[ -S $run/$tag.sock ]] && break; sleep 0.05; done
		qemu+=(-chardev "socket,id=$tag,path=$run/$tag.sock"
			-device "vhost-user-fs-device,chardev=$tag,tag=$tag")
	done
fi
"${qemu[@]}" </dev/null
