// SPDX-License-Identifier: Apache-2.0
/*
 * The virtio-pci transport (devices/virtio/transport/pci.c) of one device
 * (the input's first byte: virtio-rng, virtio-blk or virtio-vsock) with BAR
 * 0 placed and decoding on, as a driver finds it: common config, notify,
 * ISR, device config, MSI-X table and PBA reads and writes, status
 * sequences, bring-ups with fuzzed queues (whose rings and buffers are in
 * guest RAM the ops write) and resets. Inputs whose length has bit 1 set
 * defer activations and resets, as svmm's devmgr does (fuzz_pci.h). The op
 * list is fuzz_pci.h's.
 */
#include "tests/fuzz/fuzz_pci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz z = { data, size };
	unsigned int kind = fz_u8(&z) % 3;
	struct fzp p;

	fzp_init(&p, &kind, 1, size & 1, size & 2);
	fzp_place(&p, 0);
	fzp_run(&p, &z);
	fzp_free(&p);
	return 0;
}
