// SPDX-License-Identifier: Apache-2.0
/* The snapshot state file (vmm/kvm/snapshot.h): round trip and refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/kvm/snapshot.h"

static void build(struct snap_w *w)
{
	uint64_t regs[18];
	for (unsigned int i = 0; i < 18; i++)
		regs[i] = 0x1111111111111111ULL * i;
	snap_w_init(w);
	snap_put(w, regs, sizeof(regs), "vcpu%u.regs", 0u);
	snap_put(w, "abc", 3, "serial");
	snap_put(w, NULL, 0, "empty");
	assert_int_equal(snap_w_finish(w), 0);
}

static void round_trip(void **state)
{
	struct snap_w w;
	struct snap_r r;
	struct err err = { 0 };
	uint64_t regs[18];
	size_t len;
	(void)state;

	build(&w);
	assert_int_equal(snap_parse(&r, w.buf, w.len, &err), 0);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.version, SNAP_VERSION);
	assert_int_equal(snap_get_exact(&r, regs, sizeof(regs), &err, "vcpu%u.regs", 0u), 0);
	assert_true(regs[17] == 0x1111111111111111ULL * 17);
	const char *s = snap_get(&r, &len, "serial");
	assert_non_null(s);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "abc", 3);
	assert_true(snap_has(&r, "empty"));
	assert_false(snap_has(&r, "nothing"));
	/* the wrong size is refused, naming the record */
	assert_int_equal(snap_get_exact(&r, regs, 8, &err, "serial"), -EINVAL);
	assert_non_null(strstr(err.msg, "serial"));
	assert_int_equal(snap_get_exact(&r, regs, 8, &err, "vcpu1.regs"), -ENOENT);
	assert_non_null(strstr(err.msg, "vcpu1.regs"));
	snap_r_free(&r);
	snap_w_free(&w);
}

static void bad_version_and_magic(void **state)
{
	struct snap_w w;
	struct snap_r r;
	struct err err = { 0 };
	(void)state;

	build(&w);
	w.buf[8] = 2; /* version 2 */
	assert_int_equal(snap_parse(&r, w.buf, w.len, &err), -EPROTO);
	assert_non_null(strstr(err.msg, "version 2"));
	w.buf[8] = 1;
	w.buf[0] = 'X';
	assert_int_equal(snap_parse(&r, w.buf, w.len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not an svmm snapshot"));
	snap_w_free(&w);
}

static void truncations_refused(void **state)
{
	struct snap_w w;
	struct snap_r r;
	struct err err = { 0 };
	(void)state;

	build(&w);
	/* every prefix of a good file is refused */
	for (size_t n = 0; n < w.len; n++) {
		err = (struct err){ 0 };
		assert_true(snap_parse(&r, w.buf, n, &err) < 0);
		assert_true(err.msg[0] != 0);
	}
	/* and so is a byte after the end */
	uint8_t *more = malloc(w.len + 1);
	memcpy(more, w.buf, w.len);
	more[w.len] = 0;
	assert_int_equal(snap_parse(&r, more, w.len + 1, &err), -EINVAL);
	free(more);
	snap_w_free(&w);
}

static void garbled_refused(void **state)
{
	struct snap_w w;
	struct snap_r r;
	struct err err = { 0 };
	(void)state;

	build(&w);
	/* the first record's data length, past the end */
	size_t name_len = strlen("vcpu0.regs");
	uint8_t *len = w.buf + SNAP_HEADER_SIZE + 2 + name_len;
	len[3] = 0x7f;
	assert_int_equal(snap_parse(&r, w.buf, w.len, &err), -EINVAL);
	len[3] = 0;
	/* a name with a control character */
	w.buf[SNAP_HEADER_SIZE + 2] = '\n';
	assert_int_equal(snap_parse(&r, w.buf, w.len, &err), -EINVAL);
	w.buf[SNAP_HEADER_SIZE + 2] = 'v';
	/* the end record's count disagrees */
	w.buf[w.len - 4] = 9;
	assert_int_equal(snap_parse(&r, w.buf, w.len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "end record"));
	snap_w_free(&w);

	/* a duplicate name */
	snap_w_init(&w);
	snap_put(&w, "a", 1, "x");
	snap_put(&w, "b", 1, "x");
	assert_int_equal(snap_w_finish(&w), 0);
	assert_int_equal(snap_parse(&r, w.buf, w.len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "twice"));
	snap_w_free(&w);
}

static void writer_refuses_bad_names(void **state)
{
	struct snap_w w;
	char longname[SNAP_NAME_MAX + 8];
	(void)state;

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	snap_w_init(&w);
	assert_int_equal(snap_put(&w, "x", 1, "%s", longname), -EINVAL);
	assert_int_equal(snap_w_finish(&w), -EINVAL); /* the failure sticks */
	snap_w_free(&w);
	snap_w_init(&w);
	assert_int_equal(snap_put(&w, "x", 1, "end"), -EINVAL); /* reserved */
	snap_w_free(&w);
	snap_w_init(&w);
	assert_int_equal(snap_put(&w, "x", 1, "a b"), -EINVAL);
	snap_w_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(bad_version_and_magic),
		cmocka_unit_test(truncations_refused),
		cmocka_unit_test(garbled_refused),
		cmocka_unit_test(writer_refuses_bad_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
