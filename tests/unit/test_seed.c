// SPDX-License-Identifier: Apache-2.0
/* Unit tests for images/seed.c: the generated NoCloud files and the checks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "images/seed.h"

static void generated_files(void **state)
{
	(void)state;
	const char *keys[] = { "ssh-ed25519 AAAAC3Nz user@host", "ssh-rsa AAAAB3 \"q\"" };
	struct seed_cloud_init c = {
		.instance_id = "iid-42",
		.hostname = "vm-1",
		.ssh_keys = keys,
		.n_ssh_keys = 2,
		.iface = "ens5",
		.address = "172.30.0.2/24",
		.gateway = "172.30.0.1",
		.dns = { "1.1.1.1", "8.8.8.8" },
		.n_dns = 2,
	};
	char *s;

	assert_int_equal(seed_meta_data(&c, &s), 0);
	assert_string_equal(s, "instance-id: \"iid-42\"\nlocal-hostname: \"vm-1\"\n");
	free(s);
	assert_int_equal(seed_user_data(&c, &s), 0);
	assert_string_equal(s, "#cloud-config\n"
			       "hostname: \"vm-1\"\n"
			       "ssh_authorized_keys:\n"
			       "  - \"ssh-ed25519 AAAAC3Nz user@host\"\n"
			       "  - \"ssh-rsa AAAAB3 \\\"q\\\"\"\n");
	free(s);
	assert_int_equal(seed_network_config(&c, &s), 0);
	assert_string_equal(s, "version: 2\n"
			       "ethernets:\n"
			       "  \"ens5\":\n"
			       "    dhcp4: false\n"
			       "    addresses:\n"
			       "      - \"172.30.0.2/24\"\n"
			       "    routes:\n"
			       "      - to: \"0.0.0.0/0\"\n"
			       "        via: \"172.30.0.1\"\n"
			       "    nameservers:\n"
			       "      addresses:\n"
			       "        - \"1.1.1.1\"\n"
			       "        - \"8.8.8.8\"\n");
	free(s);
	c.net_version = 1;
	assert_int_equal(seed_network_config(&c, &s), 0);
	assert_string_equal(s, "version: 1\n"
			       "config:\n"
			       "  - type: physical\n"
			       "    name: \"ens5\"\n"
			       "    subnets:\n"
			       "      - type: static\n"
			       "        address: \"172.30.0.2/24\"\n"
			       "        gateway: \"172.30.0.1\"\n"
			       "  - type: nameserver\n"
			       "    address:\n"
			       "      - \"1.1.1.1\"\n"
			       "      - \"8.8.8.8\"\n");
	free(s);
	/* DHCP when no address; nothing when no interface or a file is given. */
	c.address = c.gateway = NULL;
	c.n_dns = 0;
	c.net_version = 2;
	assert_int_equal(seed_network_config(&c, &s), 0);
	assert_string_equal(s, "version: 2\nethernets:\n  \"ens5\":\n    dhcp4: true\n");
	free(s);
	c.iface = NULL;
	assert_int_equal(seed_network_config(&c, &s), 0);
	assert_null(s);
	c.hostname = NULL, c.n_ssh_keys = 0;
	assert_int_equal(seed_user_data(&c, &s), 0);
	assert_string_equal(s, "#cloud-config\n{}\n");
	free(s);
	c.user_data = "/etc/hostname";
	assert_int_equal(seed_user_data(&c, &s), 0);
	assert_null(s);
}

static void check_fails(struct seed_cloud_init *c, const char *needle)
{
	struct fat_tree t;

	assert_int_equal(fat_tree_init(&t), 0);
	assert_true(seed_cloud_init_check(&t, c) < 0);
	if (!strstr(t.err.msg, needle))
		fail_msg("'%s' not in '%s'", needle, t.err);
	fat_tree_free(&t);
}

static void checks_name_the_flag(void **state)
{
	(void)state;
	const char *bad_key[] = { "not-a-key" };
	struct seed_cloud_init ok = { .instance_id = "i" }, c;
	struct fat_tree t;

	assert_int_equal(fat_tree_init(&t), 0);
	assert_int_equal(seed_cloud_init_check(&t, &ok), 0);
	fat_tree_free(&t);

	c = (struct seed_cloud_init){ 0 };
	check_fails(&c, "--instance-id is required");
	c = ok, c.hostname = "bad_host";
	check_fails(&c, "--hostname 'bad_host'");
	c = ok, c.ssh_keys = bad_key, c.n_ssh_keys = 1;
	check_fails(&c, "--ssh-key 'not-a-key'");
	c = ok, c.address = "10.0.0.2/24";
	check_fails(&c, "--address needs --iface");
	c = ok, c.iface = "eth0", c.address = "10.0.0.2";
	check_fails(&c, "--address '10.0.0.2'");
	c = ok, c.iface = "eth0", c.address = "10.0.0.2/33";
	check_fails(&c, "--address '10.0.0.2/33'");
	c = ok, c.iface = "eth0", c.address = "10.0.0.2/24", c.gateway = "fe80::1";
	check_fails(&c, "--gateway 'fe80::1'");
	c = ok, c.iface = "eth0", c.dns[0] = "dns.example", c.n_dns = 1;
	check_fails(&c, "--dns 'dns.example'");
	c = ok, c.iface = "a-name-that-is-too-long";
	check_fails(&c, "--iface");
	c = ok, c.meta_data = "/etc/hostname";
	check_fails(&c, "--meta-data and --instance-id");
	c = ok, c.user_data = "/nonexistent/user-data";
	check_fails(&c, "--user-data '/nonexistent/user-data'");
	c = ok, c.network_config = "/etc/hostname", c.iface = "eth0";
	check_fails(&c, "--network-config and --iface");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(generated_files),
		cmocka_unit_test(checks_name_the_flag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
