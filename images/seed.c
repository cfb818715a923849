// SPDX-License-Identifier: Apache-2.0
/* cloud-init NoCloud seeds and service disks (see seed.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "images/seed.h"

/* ---- checks ---- */

static bool hostname_ok(const char *h)
{
	size_t len = strlen(h), label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = h[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      (c == '-' && label > 0)))
			return false;
		label++;
	}
	return true;
}

static bool printable(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

/* AF_INET or AF_INET6 for an address; 0 when it is neither. */
static int ip_family(const char *s)
{
	unsigned char buf[16];

	if (inet_pton(AF_INET, s, buf) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, buf) == 1)
		return AF_INET6;
	return 0;
}

/* "IP/prefix"; the family, or 0 when malformed. */
static int cidr_family(const char *s)
{
	char ip[64], *end;
	const char *slash = strchr(s, '/');
	unsigned long prefix;
	int fam;

	if (!slash || (size_t)(slash - s) >= sizeof(ip) || !slash[1])
		return 0;
	memcpy(ip, s, slash - s);
	ip[slash - s] = '\0';
	fam = ip_family(ip);
	errno = 0;
	prefix = strtoul(slash + 1, &end, 10);
	if (!fam || *end || errno || slash[1] < '0' || slash[1] > '9' ||
	    prefix > (fam == AF_INET ? 32u : 128u))
		return 0;
	return fam;
}

static bool iface_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++) {
		if ((unsigned char)*s <= 0x20 || *s == '/' || *s == ':' || *s == '"' || *s == 0x7f)
			return false;
	}
	return true;
}

static int file_check(struct fat_tree *t, const char *flag, const char *path)
{
	struct stat st;

	if (!path)
		return 0;
	if (stat(path, &st))
		return err_set(&t->err, -errno, "%s '%s': %s", flag, path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(&t->err, -EINVAL, "%s '%s': not a regular file", flag, path);
	return 0;
}

int seed_cloud_init_check(struct fat_tree *t, const struct seed_cloud_init *c)
{
	int ret, fam = 0;

	if ((ret = file_check(t, "--user-data", c->user_data)) ||
	    (ret = file_check(t, "--meta-data", c->meta_data)) ||
	    (ret = file_check(t, "--network-config", c->network_config)) ||
	    (ret = file_check(t, "--vendor-data", c->vendor_data)))
		return ret;
	if (c->meta_data && (c->instance_id || c->hostname))
		return err_set(&t->err, -EINVAL,
			       "--meta-data and --%s: give the file or the fields, not both",
			       c->instance_id ? "instance-id" : "hostname");
	if (!c->meta_data && !c->instance_id)
		return err_set(&t->err, -EINVAL, "--instance-id is required (or --meta-data FILE)");
	if (c->instance_id && !printable(c->instance_id, 255))
		return err_set(&t->err, -EINVAL,
			       "--instance-id '%s': 1 to 255 printable characters", c->instance_id);
	if (c->hostname && !hostname_ok(c->hostname))
		return err_set(&t->err, -EINVAL,
			       "--hostname '%s': not a host name (letters, digits, '-', dots)",
			       c->hostname);
	if (c->user_data && c->n_ssh_keys)
		return err_set(&t->err, -EINVAL,
			       "--user-data and --ssh-key: give the file or the keys");
	for (unsigned int i = 0; i < c->n_ssh_keys; i++) {
		const char *k = c->ssh_keys[i];

		if (!printable(k, 16384) || !strchr(k, ' '))
			return err_set(&t->err, -EINVAL,
				       "--ssh-key '%.40s': not one OpenSSH public key line ('TYPE "
				       "BASE64 [COMMENT]')",
				       k);
	}
	if (c->network_config && (c->iface || c->address || c->gateway || c->n_dns))
		return err_set(&t->err, -EINVAL,
			       "--network-config and --iface/--address/--gateway/--dns: give the "
			       "file or the fields");
	if (!c->iface && (c->address || c->gateway || c->n_dns))
		return err_set(&t->err, -EINVAL, "--%s needs --iface NAME",
			       c->address   ? "address"
			       : c->gateway ? "gateway"
					    : "dns");
	if (c->iface && !iface_ok(c->iface))
		return err_set(&t->err, -EINVAL,
			       "--iface '%s': not an interface name (1 to 15 characters)",
			       c->iface);
	if (c->address && !(fam = cidr_family(c->address)))
		return err_set(&t->err, -EINVAL,
			       "--address '%s': not an address with a prefix (10.0.0.2/24)",
			       c->address);
	if (c->gateway && !c->address)
		return err_set(&t->err, -EINVAL, "--gateway needs --address (a static address)");
	if (c->gateway && ip_family(c->gateway) != fam)
		return err_set(&t->err, -EINVAL,
			       "--gateway '%s': not an IPv%d address like --address", c->gateway,
			       fam == AF_INET ? 4 : 6);
	for (unsigned int i = 0; i < c->n_dns; i++) {
		if (!ip_family(c->dns[i]))
			return err_set(&t->err, -EINVAL, "--dns '%s': not an IP address",
				       c->dns[i]);
	}
	if (c->net_version && c->net_version != 1 && c->net_version != 2)
		return err_set(&t->err, -EINVAL, "--network-version %d: use 1 or 2",
			       c->net_version);
	return 0;
}

/* ---- generated files ---- */

/* A YAML double-quoted scalar. */
static void yaml_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* "PREFIXkey: "value"\n" */
static void yaml_kv(FILE *f, const char *prefix, const char *key, const char *value)
{
	fprintf(f, "%s%s: ", prefix, key);
	yaml_str(f, value);
	fputc('\n', f);
}

/* "INDENT- "value"\n" */
static void yaml_item(FILE *f, const char *indent, const char *value)
{
	fprintf(f, "%s- ", indent);
	yaml_str(f, value);
	fputc('\n', f);
}

/* A generated file's text, written with stdio into memory. */
struct text {
	FILE *f;
	char *buf;
	size_t len;
};

static int text_open(struct text *tx)
{
	tx->f = open_memstream(&tx->buf, &tx->len);
	return tx->f ? 0 : -ENOMEM;
}

static int text_close(struct text *tx, char **out)
{
	if (fclose(tx->f)) {
		free(tx->buf);
		return -ENOMEM;
	}
	*out = tx->buf;
	return 0;
}

int seed_meta_data(const struct seed_cloud_init *c, char **out)
{
	struct text tx;
	FILE *f;

	*out = NULL;
	if (c->meta_data)
		return 0;
	if (text_open(&tx))
		return -ENOMEM;
	f = tx.f;
	yaml_kv(f, "", "instance-id", c->instance_id ? c->instance_id : "");
	if (c->hostname)
		yaml_kv(f, "", "local-hostname", c->hostname);
	return text_close(&tx, out);
}

int seed_user_data(const struct seed_cloud_init *c, char **out)
{
	struct text tx;
	FILE *f;

	*out = NULL;
	if (c->user_data)
		return 0;
	if (text_open(&tx))
		return -ENOMEM;
	f = tx.f;
	fputs("#cloud-config\n", f);
	if (!c->hostname && !c->n_ssh_keys)
		fputs("{}\n", f); /* an empty mapping: a bare header parses as null */
	if (c->hostname)
		yaml_kv(f, "", "hostname", c->hostname);
	if (c->n_ssh_keys) {
		fputs("ssh_authorized_keys:\n", f);
		for (unsigned int i = 0; i < c->n_ssh_keys; i++)
			yaml_item(f, "  ", c->ssh_keys[i]);
	}
	return text_close(&tx, out);
}

static void dns_list(FILE *f, const struct seed_cloud_init *c, const char *indent)
{
	for (unsigned int i = 0; i < c->n_dns; i++)
		yaml_item(f, indent, c->dns[i]);
}

int seed_network_config(const struct seed_cloud_init *c, char **out)
{
	bool v6 = c->address && strchr(c->address, ':');
	struct text tx;
	FILE *f;

	*out = NULL;
	if (c->network_config || !c->iface)
		return 0;
	if (text_open(&tx))
		return -ENOMEM;
	f = tx.f;
	if (c->net_version == 1) {
		fputs("version: 1\nconfig:\n  - type: physical\n", f);
		yaml_kv(f, "    ", "name", c->iface);
		fputs("    subnets:\n", f);
		if (!c->address) {
			fputs("      - type: dhcp\n", f);
		} else {
			fprintf(f, "      - type: %s\n", v6 ? "static6" : "static");
			yaml_kv(f, "        ", "address", c->address);
			if (c->gateway)
				yaml_kv(f, "        ", "gateway", c->gateway);
		}
		if (c->n_dns) {
			fputs("  - type: nameserver\n    address:\n", f);
			dns_list(f, c, "      ");
		}
	} else {
		fputs("version: 2\nethernets:\n  ", f);
		yaml_str(f, c->iface);
		fputs(":\n", f);
		if (!c->address) {
			fputs("    dhcp4: true\n", f);
		} else {
			fputs("    dhcp4: false\n    addresses:\n", f);
			yaml_item(f, "      ", c->address);
			if (c->gateway) {
				fputs("    routes:\n", f);
				yaml_kv(f, "      - ", "to", v6 ? "::/0" : "0.0.0.0/0");
				yaml_kv(f, "        ", "via", c->gateway);
			}
		}
		if (c->n_dns) {
			fputs("    nameservers:\n      addresses:\n", f);
			dns_list(f, c, "        ");
		}
	}
	return text_close(&tx, out);
}

/* ---- adding to the tree ---- */

static int add_text(struct fat_tree *t, const char *name, const char *file, char *text,
		    int64_t mtime)
{
	if (file)
		return fat_add_file(t, name, file, FAT_MTIME_SOURCE);
	if (!text)
		return 0;
	return fat_add_data(t, name, text, strlen(text), mtime);
}

int seed_cloud_init_add(struct fat_tree *t, const struct seed_cloud_init *c)
{
	char *ud = NULL, *md = NULL, *nc = NULL;
	int ret;

	if ((ret = seed_user_data(c, &ud)) || (ret = seed_meta_data(c, &md)) ||
	    (ret = seed_network_config(c, &nc))) {
		ret = err_set(&t->err, ret, "out of memory");
		goto out;
	}
	if ((ret = add_text(t, "user-data", c->user_data, ud, c->mtime)) ||
	    (ret = add_text(t, "meta-data", c->meta_data, md, c->mtime)) ||
	    (ret = add_text(t, "network-config", c->network_config, nc, c->mtime)) ||
	    (ret = add_text(t, "vendor-data", c->vendor_data, NULL, c->mtime)))
		goto out;
out:
	free(ud);
	free(md);
	free(nc);
	return ret;
}

int seed_service_add(struct fat_tree *t, const struct seed_service *s)
{
	int ret;

	if ((ret = file_check(t, "--binary", s->binary)) ||
	    (ret = file_check(t, "--launch", s->launch)))
		return ret;
	if (s->tree)
		ret = fat_add_host_tree(t, "", s->tree);
	if (!ret && s->binary)
		ret = fat_add_file(t, "service", s->binary, FAT_MTIME_SOURCE);
	if (!ret && s->launch)
		ret = fat_add_file(t, "launch", s->launch, FAT_MTIME_SOURCE);
	if (!ret && s->keystore)
		ret = fat_add_host_tree(t, "keystore", s->keystore);
	return ret;
}
