// SPDX-License-Identifier: Apache-2.0
/*
 * Unit tests for devices/virtio/queue.c: a driver's side is played by the
 * test, writing rings into a fake guest RAM. Hostile descriptors must each
 * be refused without a crash (run under ASan+UBSan too).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/virtio/queue.h"

#define RAM_SIZE  (1u << 20)
#define QSIZE	  8
#define DESC_GPA  0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA  0x3000
#define DATA_GPA  0x10000

struct fixture {
	uint8_t *ram;
	struct guest_mem mem;
	struct virtq q;
	struct virtq_chain chain;
	struct err err;
};

static struct virtq_desc *desc(struct fixture *f)
{
	return (struct virtq_desc *)(f->ram + DESC_GPA);
}
static uint16_t *avail(struct fixture *f)
{
	return (uint16_t *)(f->ram + AVAIL_GPA);
}
static uint16_t *used(struct fixture *f)
{
	return (uint16_t *)(f->ram + USED_GPA);
}

/* The driver offers descriptor head as the next available chain. */
static void offer(struct fixture *f, uint16_t head)
{
	uint16_t idx = avail(f)[1];
	avail(f)[2 + idx % QSIZE] = head;
	avail(f)[1] = idx + 1;
}

static void set_desc(struct fixture *f, int i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	desc(f)[i] = (struct virtq_desc){ addr, len, flags, next };
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->ram = aligned_alloc(4096, RAM_SIZE);
	memset(f->ram, 0, RAM_SIZE);
	f->mem.base = f->ram;
	f->mem.size = RAM_SIZE;
	f->mem.fd = -1;
	f->mem.region[0] = (struct guest_region){ 0, RAM_SIZE, f->ram };
	f->mem.n_regions = 1;
	f->q.size = QSIZE;
	f->q.desc_gpa = DESC_GPA;
	f->q.avail_gpa = AVAIL_GPA;
	f->q.used_gpa = USED_GPA;
	f->q.indirect = true;
	assert_int_equal(virtq_enable(&f->q, &f->mem), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	free(f->ram);
	free(f);
	return 0;
}

static int pop(struct fixture *f)
{
	f->err = (struct err){ 0 };
	return virtq_pop(&f->q, &f->chain, &f->err);
}

static void expect_broken(struct fixture *f, const char *why)
{
	assert_int_equal(pop(f), -EIO);
	assert_true(f->q.broken);
	if (!strstr(f->err.msg, why))
		fail_msg("expected error containing '%s', got '%s'", why, f->err.msg);
	/* a broken queue stays broken */
	assert_int_equal(pop(f), -EIO);
}

static void good_chain(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pop(f), 0); /* empty */
	memcpy(f->ram + DATA_GPA, "hello", 5);
	set_desc(f, 3, DATA_GPA, 5, VIRTQ_DESC_F_NEXT, 5);
	set_desc(f, 5, DATA_GPA + 0x100, 64, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 3);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->chain.head, 3);
	assert_int_equal(f->chain.n_out, 1);
	assert_int_equal(f->chain.n_in, 1);
	assert_int_equal(f->chain.in_len, 64);
	char buf[8] = { 0 };
	assert_int_equal(iov_to_buf(f->chain.out, f->chain.n_out, 0, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(buf_to_iov(f->chain.in, f->chain.n_in, 2, "xyz", 3), 3);
	assert_memory_equal(f->ram + DATA_GPA + 0x102, "xyz", 3);
	virtq_push(&f->q, 3, 5);
	assert_int_equal(used(f)[1], 1);
	uint32_t *elem = (uint32_t *)(used(f) + 2);
	assert_int_equal(elem[0], 3);
	assert_int_equal(elem[1], 5);
	assert_int_equal(pop(f), 0);
}

static void zero_length_is_harmless(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, 0xdeadbeef000ULL, 0, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, DATA_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->chain.n_out, 0);
	assert_int_equal(f->chain.n_in, 1);
}

static void out_of_range_address(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, RAM_SIZE + 0x1000, 16, 0, 0);
	offer(f, 0);
	expect_broken(f, "outside guest memory");
}

static void straddles_end_of_memory(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, RAM_SIZE - 8, 16, VIRTQ_DESC_F_WRITE, 0);
	offer(f, 0);
	expect_broken(f, "outside guest memory");
}

static void wrapping_length(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, UINT64_MAX - 4, 0xffffffff, 0, 0);
	offer(f, 0);
	expect_broken(f, "outside guest memory");
}

static void chain_loop(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 0);
	offer(f, 0);
	expect_broken(f, "loops");
}

static void head_beyond_size(void **state)
{
	struct fixture *f = *state;

	offer(f, QSIZE);
	expect_broken(f, "head index");
}

static void next_beyond_size(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 200);
	offer(f, 0);
	expect_broken(f, "next index");
}

static void avail_index_jump(void **state)
{
	struct fixture *f = *state;

	avail(f)[1] = QSIZE + 1;
	expect_broken(f, "available index");
}

static void readable_after_writable(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, DATA_GPA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, DATA_GPA, 4, 0, 0);
	offer(f, 0);
	expect_broken(f, "readable descriptor after");
}

static void indirect_chain(void **state)
{
	struct fixture *f = *state;
	struct virtq_desc *t = (struct virtq_desc *)(f->ram + 0x8000);

	t[0] = (struct virtq_desc){ DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 1 };
	t[1] = (struct virtq_desc){ DATA_GPA + 16, 16, VIRTQ_DESC_F_NEXT, 2 };
	t[2] = (struct virtq_desc){ DATA_GPA + 32, 512, VIRTQ_DESC_F_WRITE, 0 };
	set_desc(f, 2, 0x8000, 3 * sizeof(*t), VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 2);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->chain.head, 2);
	assert_int_equal(f->chain.n_out, 2);
	assert_int_equal(f->chain.n_in, 1);
	assert_int_equal(f->chain.out_len, 32);
	assert_int_equal(f->chain.in_len, 512);
}

static void indirect_unaligned_table(void **state)
{
	struct fixture *f = *state;
	struct virtq_desc d = { DATA_GPA, 16, VIRTQ_DESC_F_WRITE, 0 };

	memcpy(f->ram + 0x8003, &d, sizeof(d));
	set_desc(f, 0, 0x8003, sizeof(d), VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	assert_int_equal(f->chain.n_in, 1);
}

static void indirect_not_negotiated(void **state)
{
	struct fixture *f = *state;

	f->q.indirect = false;
	set_desc(f, 0, 0x8000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_broken(f, "without INDIRECT_DESC");
}

static void indirect_with_next(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, 0x8000, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	offer(f, 0);
	expect_broken(f, "both INDIRECT and NEXT");
}

static void indirect_bad_length(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, 0x8000, 24, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_broken(f, "indirect table length");
}

static void indirect_nested(void **state)
{
	struct fixture *f = *state;
	struct virtq_desc *t = (struct virtq_desc *)(f->ram + 0x8000);

	t[0] = (struct virtq_desc){ 0x8000, 16, VIRTQ_DESC_F_INDIRECT, 0 };
	set_desc(f, 0, 0x8000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_broken(f, "nested indirect");
}

static void indirect_loop(void **state)
{
	struct fixture *f = *state;
	struct virtq_desc *t = (struct virtq_desc *)(f->ram + 0x8000);

	t[0] = (struct virtq_desc){ DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 1 };
	t[1] = (struct virtq_desc){ DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 0 };
	set_desc(f, 0, 0x8000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_broken(f, "indirect chain loops");
}

static void indirect_table_outside(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(f, 0);
	expect_broken(f, "outside guest memory");
}

static void enable_checks_rings(void **state)
{
	struct fixture *f = *state;
	struct virtq q = f->q;

	q.size = 6;
	assert_int_equal(virtq_enable(&q, &f->mem), -EINVAL);
	q = f->q;
	q.desc_gpa = DESC_GPA + 8;
	assert_int_equal(virtq_enable(&q, &f->mem), -EINVAL);
	q = f->q;
	q.used_gpa = RAM_SIZE - 8;
	assert_int_equal(virtq_enable(&q, &f->mem), -EINVAL);
	assert_false(q.ready);
	q = f->q;
	q.size = 0;
	assert_int_equal(virtq_enable(&q, &f->mem), -EINVAL);
	/* not ready: pop sees nothing */
	assert_int_equal(virtq_pop(&q, &f->chain, NULL), 0);
}

static void event_idx_notification(void **state)
{
	struct fixture *f = *state;

	f->q.event_idx = true;
	set_desc(f, 0, DATA_GPA, 4, VIRTQ_DESC_F_WRITE, 0);
	for (int i = 0; i < 3; i++) {
		offer(f, 0);
		assert_int_equal(pop(f), 1);
		virtq_push(&f->q, 0, 4);
	}
	assert_true(virtq_should_notify(&f->q)); /* first time: always */
	/* driver asks for an interrupt only after used index 5 */
	avail(f)[2 + QSIZE] = 5;
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	virtq_push(&f->q, 0, 4); /* used idx 4 */
	assert_false(virtq_should_notify(&f->q));
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	virtq_push(&f->q, 0, 4); /* used idx 5 */
	assert_false(virtq_should_notify(&f->q));
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	virtq_push(&f->q, 0, 4); /* used idx 6 crosses used_event + 1 */
	assert_true(virtq_should_notify(&f->q));
	/* avail_event published for kick suppression */
	assert_false(virtq_enable_notify(&f->q));
	assert_int_equal(used(f)[2 + 4 * QSIZE], f->q.last_avail);
	offer(f, 0);
	assert_true(virtq_enable_notify(&f->q));
}

static void no_interrupt_flag(void **state)
{
	struct fixture *f = *state;

	set_desc(f, 0, DATA_GPA, 4, 0, 0);
	offer(f, 0);
	assert_int_equal(pop(f), 1);
	virtq_push(&f->q, 0, 0);
	avail(f)[0] = 1; /* VRING_AVAIL_F_NO_INTERRUPT */
	assert_false(virtq_should_notify(&f->q));
	avail(f)[0] = 0;
	assert_true(virtq_should_notify(&f->q));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(good_chain),
		T(zero_length_is_harmless),
		T(out_of_range_address),
		T(straddles_end_of_memory),
		T(wrapping_length),
		T(chain_loop),
		T(head_beyond_size),
		T(next_beyond_size),
		T(avail_index_jump),
		T(readable_after_writable),
		T(indirect_chain),
		T(indirect_unaligned_table),
		T(indirect_not_negotiated),
		T(indirect_with_next),
		T(indirect_bad_length),
		T(indirect_nested),
		T(indirect_loop),
		T(indirect_table_outside),
		T(enable_checks_rings),
		T(event_idx_notification),
		T(no_interrupt_flag),
	};
	return cmocka_run_group_tests_name("virtq", tests, NULL, NULL);
}
