// SPDX-License-Identifier: Apache-2.0
/* Unit tests for vmm/kvm/memory.c: layout around the PCI hole, alignment, and
 * the bounds checks of guest_mem_ptr(). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/kvm/layout.h"
#include "vmm/kvm/memory.h"

#define MiB (1ULL << 20)

static void small_guest(void **state)
{
	struct guest_mem m;
	(void)state;

	assert_int_equal(guest_mem_alloc(&m, 64 * MiB, false, false), 0);
	assert_int_equal(m.n_regions, 1);
	assert_int_equal((uintptr_t)m.base % (2 * MiB), 0);
	assert_int_equal(guest_mem_low_end(&m), 64 * MiB);
	assert_ptr_equal(guest_mem_ptr(&m, 0, 64 * MiB), m.base);
	assert_ptr_equal(guest_mem_ptr(&m, 0x1000, 16), m.base + 0x1000);
	assert_ptr_equal(guest_mem_ptr(&m, 64 * MiB - 1, 1), m.base + 64 * MiB - 1);
	assert_null(guest_mem_ptr(&m, 64 * MiB - 1, 2));    /* straddles the end */
	assert_null(guest_mem_ptr(&m, 64 * MiB, 1));	    /* just past it */
	assert_null(guest_mem_ptr(&m, 0, 64 * MiB + 1));    /* too long */
	assert_null(guest_mem_ptr(&m, UINT64_MAX, 2));	    /* wraps */
	assert_null(guest_mem_ptr(&m, 0x1000, UINT64_MAX)); /* wraps */
	/* it is writable memory */
	memset(guest_mem_ptr(&m, 32 * MiB, MiB), 0x5a, MiB);
	guest_mem_free(&m);
}

static void split_around_hole(void **state)
{
	struct guest_mem m;
	uint64_t size = LAYOUT_MEM_HOLE_START + 64 * MiB;
	(void)state;

	/* MAP_NORESERVE: 3 GiB of address space, next to nothing touched. */
	assert_int_equal(guest_mem_alloc(&m, size, false, false), 0);
	assert_int_equal(m.n_regions, 2);
	assert_int_equal(m.region[0].gpa, 0);
	assert_int_equal(m.region[0].size, LAYOUT_MEM_HOLE_START);
	assert_int_equal(m.region[1].gpa, LAYOUT_MEM_HOLE_END);
	assert_int_equal(m.region[1].size, 64 * MiB);
	/* the same offset modulo 2 MiB on both sides */
	assert_int_equal((uintptr_t)m.region[1].hva % (2 * MiB), 0);
	assert_null(guest_mem_ptr(&m, LAYOUT_MEM_HOLE_START, 1)); /* the hole */
	assert_null(guest_mem_ptr(&m, LAYOUT_MEM_HOLE_START - 8, 16));
	assert_non_null(guest_mem_ptr(&m, LAYOUT_MEM_HOLE_END, 64 * MiB));
	assert_null(guest_mem_ptr(&m, LAYOUT_MEM_HOLE_END, 64 * MiB + 1));
	assert_ptr_equal(guest_mem_ptr(&m, LAYOUT_MEM_HOLE_END + 4096, 1),
			 m.base + LAYOUT_MEM_HOLE_START + 4096);
	guest_mem_free(&m);
}

static void shared_is_memfd(void **state)
{
	struct guest_mem m;
	(void)state;

	assert_int_equal(guest_mem_alloc(&m, 16 * MiB, true, false), 0);
	assert_true(m.fd >= 0);
	memset(m.base, 1, 16 * MiB);
	guest_mem_free(&m);
	assert_int_equal(m.fd, -1);
}

static void bad_sizes(void **state)
{
	struct guest_mem m;
	(void)state;

	assert_int_equal(guest_mem_alloc(&m, 0, false, false), -EINVAL);
	assert_int_equal(guest_mem_alloc(&m, 3 * MiB, false, false), -EINVAL);
	assert_int_equal(guest_mem_alloc(&m, 1ULL << 50, false, false), -E2BIG);
}

/* Without reserved hugepages, hugepages=on fails at once (not later
 * with a SIGBUS when the guest touches its memory). */
static void hugepages_unavailable(void **state)
{
	struct guest_mem m;
	unsigned long free_pages = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "r");
	(void)state;

	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "HugePages_Free: %lu", &free_pages);
	if (f)
		fclose(f);
	if (free_pages >= 8) {
		skip();
		return;
	}
	assert_int_not_equal(guest_mem_alloc(&m, 16 * MiB, false, true), 0);
	assert_int_not_equal(guest_mem_alloc(&m, 16 * MiB, true, true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(small_guest),		 cmocka_unit_test(split_around_hole),
		cmocka_unit_test(shared_is_memfd),	 cmocka_unit_test(bad_sizes),
		cmocka_unit_test(hugepages_unavailable),
	};
	return cmocka_run_group_tests_name("memory", tests, NULL, NULL);
}
