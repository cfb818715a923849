// SPDX-License-Identifier: Apache-2.0
/* Unit tests for the port-forward and allow specs of net/firewall.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <netinet/in.h>

#include <cmocka.h>

#include "net/firewall.h"
#include "net/lease.h"

static uint32_t ip(const char *s)
{
	uint32_t a = 0;

	assert_int_equal(lease_aton(s, &a), 0);
	return a;
}

static void forwards(void **state)
{
	(void)state;
	struct fw_forward f;
	struct err err;

	assert_int_equal(fw_forward_parse(&f, "8080:80", &err), 0);
	assert_int_equal(f.proto, IPPROTO_TCP);
	assert_int_equal(f.host_addr, 0);
	assert_int_equal(f.host_port, 8080);
	assert_int_equal(f.guest_port, 80);
	assert_int_equal(fw_forward_parse(&f, "5353:53/udp", &err), 0);
	assert_int_equal(f.proto, IPPROTO_UDP);
	assert_int_equal(fw_forward_parse(&f, "10.0.0.1:2222:22/tcp", &err), 0);
	assert_int_equal(f.host_addr, ip("10.0.0.1"));
	assert_int_equal(f.host_port, 2222);
	assert_int_equal(f.guest_port, 22);

	const char *bad[] = { "80",   "0:80",	     "80:65536",    "80:22/sctp",
			      "x:80", "1.2.3:80:80", "80:80:80:80", ":80",
			      "80:",  "-1:80",	     "80:22/" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(fw_forward_parse(&f, bad[i], &err), -EINVAL);
		assert_non_null(strstr(err.msg, bad[i]));
	}
}

static void allows(void **state)
{
	(void)state;
	struct fw_allow a;
	struct err err;

	assert_int_equal(fw_allow_parse(&a, "host", &err), 0);
	assert_true(a.host);
	assert_int_equal(a.proto, 0);
	assert_int_equal(fw_allow_parse(&a, "host:53/udp", &err), 0);
	assert_true(a.host);
	assert_int_equal(a.proto, IPPROTO_UDP);
	assert_int_equal(a.port, 53);
	assert_int_equal(fw_allow_parse(&a, "host:22", &err), 0);
	assert_int_equal(a.proto, IPPROTO_TCP);
	assert_int_equal(fw_allow_parse(&a, "172.30.0.6", &err), 0);
	assert_false(a.host);
	assert_int_equal(a.net, ip("172.30.0.6"));
	assert_int_equal(a.plen, 32);
	assert_int_equal(a.proto, 0);
	assert_int_equal(fw_allow_parse(&a, "10.0.0.0/8:443", &err), 0);
	assert_int_equal(a.plen, 8);
	assert_int_equal(a.port, 443);
	assert_int_equal(a.proto, IPPROTO_TCP);
	assert_int_equal(fw_allow_parse(&a, "0.0.0.0/0", &err), 0);
	assert_int_equal(a.plen, 0);

	const char *bad[] = { "hots",	    "10.0.0.1/8",   "10.0.0.0/33", "10.0.0.0/8:0",
			      "host:99999", "host:53/icmp", "10.0.0.0/x",  "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fw_allow_parse(&a, bad[i], &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(forwards),
		cmocka_unit_test(allows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
