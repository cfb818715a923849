// SPDX-License-Identifier: Apache-2.0
/*
 * PCI config space of every device on bus 0 (devices/pci.c): the host
 * bridge, and virtio-pci's virtio-rng, virtio-blk and virtio-vsock, as the
 * guest finds them: through CF8/CFC port I/O and ECAM, BARs sized, placed
 * and moved, decoding and MSI-X turned on and off, and the BARs then used
 * wherever they went. Inputs whose length has bit 1 set defer the devices'
 * activations and resets (fuzz_pci.h). The op list is fuzz_pci.h's.
 */
#include "tests/fuzz/fuzz_pci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned int kinds[] = { 0, 1, 2 };
	struct fz z = { data, size };
	struct fzp p;

	fzp_init(&p, kinds, 3, size & 1, size & 2);
	fzp_run(&p, &z);
	fzp_free(&p);
	return 0;
}
