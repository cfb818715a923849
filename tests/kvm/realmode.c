// SPDX-License-Identifier: Apache-2.0
/*
 * The first KVM test: create a VM, run three real-mode instructions that
 * write a byte to an I/O port and halt, and check the byte. It proves the
 * sandbox pipeline end to end. Prints TAP.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_ADDR 0x1000
#define TEST_PORT  0x10
#define TEST_BYTE  0x5a

static int fail(const char *what)
{
	printf("not ok 1 - realmode port write\n# %s: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	/* mov al, 0x5a; out 0x10, al; hlt */
	static const uint8_t code[] = { 0xb0, TEST_BYTE, 0xe6, TEST_PORT, 0xf4 };
	printf("1..2\n");

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return fail("KVM_GET_API_VERSION");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");

	uint8_t *mem =
		mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap");
	memcpy(mem, code, sizeof(code));
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = GUEST_ADDR,
		.memory_size = 0x1000,
		.userspace_addr = (uint64_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct kvm_run *run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail("KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = GUEST_ADDR, .rflags = 0x2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_REGS");

	int got = -1, halted = 0;
	for (int i = 0; i < 10 && !halted; i++) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			return fail("KVM_RUN");
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == TEST_PORT &&
			    run->io.size == 1)
				got = *((uint8_t *)run + run->io.data_offset);
			break;
		case KVM_EXIT_HLT:
			halted = 1;
			break;
		default:
			printf("# unexpected exit reason %u\n", run->exit_reason);
			i = 10;
		}
	}
	printf("%s 1 - realmode port write\n", got == TEST_BYTE ? "ok" : "not ok");
	if (got != TEST_BYTE)
		printf("# expected byte 0x%02x on port 0x%x, got %d\n", TEST_BYTE, TEST_PORT, got);
	printf("%s 2 - guest halted\n", halted ? "ok" : "not ok");
	return got == TEST_BYTE && halted ? 0 : 1;
}
