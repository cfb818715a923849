// SPDX-License-Identifier: Apache-2.0
/* Unit tests for net/lease.c: block arithmetic, records, the pool file, owner liveness. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/lease.h"

static uint32_t ip(const char *s)
{
	uint32_t a = 0;

	assert_int_equal(lease_aton(s, &a), 0);
	return a;
}

static void pool_parse(void **state)
{
	(void)state;
	struct lease_pool p;
	struct err err;

	assert_int_equal(lease_pool_parse(&p, "172.30.0.0/16", 30, &err), 0);
	assert_int_equal(p.net, ip("172.30.0.0"));
	assert_int_equal(p.plen, 16);
	assert_int_equal(lease_pool_slots(&p), 16384);
	assert_int_equal(lease_pool_parse(&p, "172.30.0.0/16", 31, &err), 0);
	assert_int_equal(lease_pool_slots(&p), 32768);
	assert_int_equal(lease_pool_parse(&p, "10.0.0.4/30", 30, &err), 0);
	assert_int_equal(lease_pool_slots(&p), 1);

	assert_int_equal(lease_pool_parse(&p, "172.30.0.1/16", 30, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "host bits"));
	assert_int_equal(lease_pool_parse(&p, "172.30.0.0", 30, &err), -EINVAL);
	assert_int_equal(lease_pool_parse(&p, "172.30.0.0/", 30, &err), -EINVAL);
	assert_int_equal(lease_pool_parse(&p, "172.30.0.0/x", 30, &err), -EINVAL);
	assert_int_equal(lease_pool_parse(&p, "300.1.0.0/16", 30, &err), -EINVAL);
	assert_int_equal(lease_pool_parse(&p, "10.0.0.0/4", 30, &err), -EINVAL);
	assert_int_equal(lease_pool_parse(&p, "10.0.0.0/31", 30, &err), -EINVAL);
	assert_int_equal(lease_pool_parse(&p, "10.0.0.0/16", 29, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "/30 or /31"));
}

static void blocks_30(void **state)
{
	(void)state;
	struct lease_pool p;
	uint32_t n, h, g;

	assert_int_equal(lease_pool_parse(&p, "172.30.0.0/16", 30, NULL), 0);
	assert_int_equal(lease_pool_block(&p, 0, &n, &h, &g), 0);
	assert_int_equal(n, ip("172.30.0.0"));
	assert_int_equal(h, ip("172.30.0.1"));
	assert_int_equal(g, ip("172.30.0.2"));
	assert_int_equal(lease_pool_block(&p, 1, &n, &h, &g), 0);
	assert_int_equal(h, ip("172.30.0.5"));
	assert_int_equal(g, ip("172.30.0.6"));
	assert_int_equal(lease_pool_block(&p, 64, &n, &h, &g), 0);
	assert_int_equal(n, ip("172.30.1.0"));
	assert_int_equal(lease_pool_block(&p, 16383, &n, &h, &g), 0);
	assert_int_equal(g, ip("172.30.255.254"));
	assert_int_equal(lease_pool_block(&p, 16384, &n, &h, &g), -ERANGE);
}

static void blocks_31_skip_0_255(void **state)
{
	(void)state;
	struct lease_pool p;
	uint32_t n, h, g;

	assert_int_equal(lease_pool_parse(&p, "10.1.0.0/16", 31, NULL), 0);
	/* 10.1.0.0/31 holds .0, 10.1.0.254/31 holds .255 */
	assert_int_equal(lease_pool_block(&p, 0, &n, &h, &g), -EADDRNOTAVAIL);
	assert_int_equal(lease_pool_block(&p, 1, &n, &h, &g), 0);
	assert_int_equal(h, ip("10.1.0.2"));
	assert_int_equal(g, ip("10.1.0.3"));
	assert_int_equal(lease_pool_block(&p, 127, &n, &h, &g), -EADDRNOTAVAIL);
	assert_int_equal(lease_pool_block(&p, 128, &n, &h, &g), -EADDRNOTAVAIL);
	assert_int_equal(lease_pool_block(&p, 129, &n, &h, &g), 0);
	assert_int_equal(h, ip("10.1.1.2"));
}

static void names(void **state)
{
	(void)state;
	char long_id[LEASE_ID_MAX + 2];

	assert_true(lease_id_valid("vm-1.a_b"));
	assert_false(lease_id_valid(""));
	assert_false(lease_id_valid("-x"));
	assert_false(lease_id_valid(".x"));
	assert_false(lease_id_valid("a b"));
	assert_false(lease_id_valid("a/b"));
	memset(long_id, 'a', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = 0;
	assert_false(lease_id_valid(long_id));
	long_id[LEASE_ID_MAX] = 0;
	assert_true(lease_id_valid(long_id));
	assert_true(lease_table_valid("svmm_test-1"));
	assert_false(lease_table_valid("svmm.t"));
}

static struct lease sample(const char *id)
{
	struct lease l;

	memset(&l, 0, sizeof(l));
	snprintf(l.id, sizeof(l.id), "%s", id);
	l.pid = 4242;
	l.start = 123456789;
	l.net = ip("172.30.0.4");
	l.plen = 30;
	l.host = ip("172.30.0.5");
	l.guest = ip("172.30.0.6");
	snprintf(l.link, sizeof(l.link), "svmm1");
	l.created = true;
	snprintf(l.table, sizeof(l.table), "svmm");
	l.netns = 4026531840u;
	return l;
}

static void record_round_trip(void **state)
{
	(void)state;
	struct lease a = sample("web"), b;
	char line[512];

	assert_int_equal(lease_format(&a, line, sizeof(line)), 0);
	assert_string_equal(line,
			    "id=web pid=4242 start=123456789 net=172.30.0.4/30 "
			    "host=172.30.0.5 guest=172.30.0.6 link=svmm1 created=1 table=svmm "
			    "netns=4026531840");
	assert_non_null(strstr(line, "net=172.30.0.4/30 host=172.30.0.5 guest=172.30.0.6"));
	assert_int_equal(lease_parse(&b, line), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	/* netns may be absent (then 0) */
	assert_int_equal(lease_parse(&b, "id=web pid=1 start=1 net=172.30.0.4/30 host=172.30.0.5 "
					 "guest=172.30.0.6 link=t created=1 table=svmm"),
			 0);
	assert_int_equal(b.netns, 0);
	/* unknown fields are kept for newer versions; missing, repeated or bad ones are not */
	strcat(line, " future=1");
	assert_int_equal(lease_parse(&b, line), 0);
	assert_int_equal(lease_parse(&b, "id=web pid=1"), -EINVAL);
	assert_int_equal(lease_parse(&b, "id=web id=web pid=4242 start=1 net=172.30.0.4/30 "
					 "host=172.30.0.5 guest=172.30.0.6 link=t created=1 "
					 "table=svmm"),
			 -EINVAL);
	assert_int_equal(lease_parse(&b, "id=web pid=-1 start=1 net=172.30.0.4/30 "
					 "host=172.30.0.5 guest=172.30.0.6 link=t created=1 "
					 "table=svmm"),
			 -EINVAL);
	assert_int_equal(lease_parse(&b, "id=web pid=1 start=1 net=172.30.0.5/30 "
					 "host=172.30.0.5 guest=172.30.0.6 link=t created=1 "
					 "table=svmm"),
			 -EINVAL);
	assert_int_equal(lease_parse(&b, "id=w/b pid=1 start=1 net=172.30.0.4/30 "
					 "host=172.30.0.5 guest=172.30.0.6 link=t created=1 "
					 "table=svmm"),
			 -EINVAL);
}

static void owner_liveness(void **state)
{
	(void)state;
	uint64_t start;
	pid_t child;
	int st;

	assert_int_equal(lease_proc_start(getpid(), &start), 0);
	assert_true(lease_owner_alive(getpid(), start));
	assert_false(lease_owner_alive(getpid(), start + 1)); /* a recycled pid */
	assert_false(lease_owner_alive(0, 0));
	child = fork();
	if (child == 0)
		_exit(0);
	assert_true(child > 0);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_false(lease_owner_alive(child, start));
}

static void netns_identity(void **state)
{
	(void)state;
	uint64_t self = 0;

	assert_int_equal(lease_netns_self(&self), 0);
	assert_true(self != 0);
	assert_true(lease_netns_exists(self));
	assert_false(lease_netns_exists(1)); /* no namespace has inode 1 */
}

static char *tmpdir(void)
{
	char *d = strdup("/tmp/svmm-lease-XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void rmdir_all(char *d)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
	free(d);
}

static void db_alloc_and_reload(void **state)
{
	(void)state;
	char *d = tmpdir(), sub[512];
	struct lease_pool p;
	struct lease_db db;
	struct lease t = sample("a");
	struct err err;
	uint32_t avoid[] = { ip("10.9.0.5") };

	snprintf(sub, sizeof(sub), "%s/run/svmm", d); /* created on demand */
	assert_int_equal(lease_pool_parse(&p, "10.9.0.0/28", 30, NULL), 0);
	assert_int_equal(lease_db_open(&db, sub, &err), 0);
	assert_int_equal(db.n, 0);
	assert_int_equal(lease_db_alloc(&db, &p, &t, NULL, 0, &err), 0);
	assert_int_equal(db.v[0].guest, ip("10.9.0.2"));
	assert_int_equal(lease_db_alloc(&db, &p, &t, NULL, 0, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "'a'"));
	snprintf(t.id, sizeof(t.id), "b");
	/* 10.9.0.5 is the host's: block 1 is skipped */
	assert_int_equal(lease_db_alloc(&db, &p, &t, avoid, 1, &err), 0);
	assert_int_equal(db.v[1].net, ip("10.9.0.8"));
	assert_int_equal(db.v[1].host, ip("10.9.0.9"));
	snprintf(t.id, sizeof(t.id), "c");
	assert_int_equal(lease_db_alloc(&db, &p, &t, avoid, 1, &err), 0);
	assert_int_equal(db.v[2].net, ip("10.9.0.12"));
	snprintf(t.id, sizeof(t.id), "d");
	assert_int_equal(lease_db_alloc(&db, &p, &t, avoid, 1, &err), -EADDRNOTAVAIL);
	assert_non_null(strstr(err.msg, "full"));
	assert_int_equal(lease_db_save(&db, &err), 0);
	lease_db_close(&db);

	assert_int_equal(lease_db_open(&db, sub, &err), 0);
	assert_int_equal(db.n, 3);
	assert_int_equal(lease_db_find(&db, "b"), 1);
	assert_int_equal(lease_db_find(&db, "zz"), -ENOENT);
	lease_db_remove(&db, 0);
	/* the freed first block is found again, an overlapping bigger lease is respected */
	assert_int_equal(lease_db_alloc(&db, &p, &t, NULL, 0, &err), 0);
	assert_int_equal(db.v[2].net, ip("10.9.0.0"));
	lease_db_close(&db);
	rmdir_all(d);
}

static void db_rejects_junk(void **state)
{
	(void)state;
	char *d = tmpdir(), path[512];
	struct lease_db db;
	struct err err;
	FILE *f;

	snprintf(path, sizeof(path), "%s/leases", d);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "# comment\n\nnot a lease\n");
	fclose(f);
	assert_int_equal(lease_db_open(&db, d, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "line 3"));
	rmdir_all(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pool_parse),		cmocka_unit_test(blocks_30),
		cmocka_unit_test(blocks_31_skip_0_255), cmocka_unit_test(names),
		cmocka_unit_test(record_round_trip),	cmocka_unit_test(owner_liveness),
		cmocka_unit_test(netns_identity),	cmocka_unit_test(db_alloc_and_reload),
		cmocka_unit_test(db_rejects_junk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
