// SPDX-License-Identifier: Apache-2.0
/* cloud-hypervisor style "key=value,..." option lists. */
#include "vmm/config/options.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int opt_parse(struct opt_list *l, char *s)
{
	memset(l, 0, sizeof(*l));
	if (!s || !*s)
		return 0;
	for (;;) {
		char *start = s;
		int depth = 0;

		for (; *s && (*s != ',' || depth); s++) {
			if (*s == '[')
				depth++;
			else if (*s == ']' && --depth < 0)
				break;
		}
		if (depth)
			return err_set(&l->err, -EINVAL, "unbalanced '[' or ']' in '%s'", start);
		bool last = !*s;
		*s = '\0';
		if (!*start)
			return err_set(&l->err, -EINVAL, "empty option (stray ',')");
		if (l->n == OPT_MAX_PAIRS)
			return err_set(&l->err, -EINVAL, "too many options (at most %d)",
				       OPT_MAX_PAIRS);
		char *eq = strchr(start, '=');
		struct opt_pair *p = &l->pair[l->n];
		p->key = start;
		p->value = eq ? eq + 1 : start + strlen(start);
		if (eq)
			*eq = '\0';
		if (!*p->key)
			return err_set(&l->err, -EINVAL, "option '=%s' has no key", p->value);
		for (unsigned int i = 0; i < l->n; i++) {
			if (!strcmp(l->pair[i].key, p->key))
				return err_set(&l->err, -EINVAL, "option '%s' given twice", p->key);
		}
		l->n++;
		if (last)
			return 0;
		s++;
	}
}

const char *opt_get(struct opt_list *l, const char *key)
{
	for (unsigned int i = 0; i < l->n; i++) {
		if (!strcmp(l->pair[i].key, key)) {
			l->pair[i].used = true;
			return l->pair[i].value;
		}
	}
	return NULL;
}

static int typed(struct opt_list *l, const char *key, const char *what, int rc)
{
	if (rc < 0)
		err_set(&l->err, rc, "option '%s=%s': not %s", key, opt_get(l, key), what);
	return rc < 0 ? rc : 1;
}

int opt_get_u64(struct opt_list *l, const char *key, uint64_t *out)
{
	const char *v = opt_get(l, key);
	return v ? typed(l, key, "an unsigned integer", parse_u64(v, out)) : 0;
}

int opt_get_size(struct opt_list *l, const char *key, uint64_t *out)
{
	const char *v = opt_get(l, key);
	return v ? typed(l, key, "a size (like 512M or 2G)", parse_size(v, out)) : 0;
}

int opt_get_bool(struct opt_list *l, const char *key, bool *out)
{
	const char *v = opt_get(l, key);
	return v ? typed(l, key, "on or off", parse_bool(v, out)) : 0;
}

int opt_get_str(struct opt_list *l, const char *key, char *buf, size_t size)
{
	const char *v = opt_get(l, key);

	if (!v)
		return 0;
	if (strlen(v) >= size)
		return err_set(&l->err, -EINVAL, "option '%s=%s': longer than %zu characters", key,
			       v, size - 1);
	memcpy(buf, v, strlen(v) + 1);
	return 1;
}

int opt_get_unsupported(struct opt_list *l, const char *key)
{
	bool on = false;
	int rc = opt_get_bool(l, key, &on);

	if (rc < 0)
		return rc;
	if (on)
		return err_set(&l->err, -EINVAL, "option '%s=%s': not supported by svmm", key,
			       opt_get(l, key));
	return 0;
}

int opt_check_unused(struct opt_list *l)
{
	for (unsigned int i = 0; i < l->n; i++) {
		if (!l->pair[i].used)
			return err_set(&l->err, -EINVAL, "unknown option '%s'", l->pair[i].key);
	}
	return 0;
}

int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0, base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		unsigned int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	char num[32];
	size_t n = strspn(s, "0123456789");
	unsigned int shift = 0;

	if (n == 0 || n >= sizeof(num))
		return n ? -ERANGE : -EINVAL;
	switch (s[n]) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	default:
		return -EINVAL;
	}
	if (shift && s[n + 1] && strcasecmp(s + n + 1, "B") && strcasecmp(s + n + 1, "iB"))
		return -EINVAL;
	memcpy(num, s, n);
	num[n] = '\0';
	uint64_t v;
	int rc = parse_u64(num, &v);
	if (rc < 0)
		return rc;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

int parse_bool(const char *s, bool *out)
{
	if (!strcasecmp(s, "on") || !strcasecmp(s, "true")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(s, "off") || !strcasecmp(s, "false")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

int opt_parse_path_or_fd(const char *flag, const char *spec, char **path, int *fd, struct err *err)
{
	struct opt_list l;
	const char *p = spec, *fds = NULL;
	char *copy = NULL;
	uint64_t n = 0;
	int rc = 0;

	*path = NULL;
	*fd = -1;
	if (strchr(spec, '=')) {
		if (!(copy = strdup(spec)))
			return -ENOMEM;
		rc = opt_parse(&l, copy);
		p = rc ? NULL : opt_get(&l, "path");
		fds = rc ? NULL : opt_get(&l, "fd");
		if (!rc)
			rc = opt_check_unused(&l);
		if (!rc && !!p == !!fds) {
			rc = -EINVAL;
			err_set(&l.err, rc, "expected path=PATH, fd=N or PATH");
		}
		if (!rc && fds && (parse_u64(fds, &n) < 0 || n > INT32_MAX)) {
			rc = -EINVAL;
			err_set(&l.err, rc, "fd=%.100s is not a file descriptor", fds);
		}
		if (rc < 0)
			err_set(err, rc, "%s: %.200s", flag, l.err.msg);
	} else if (!*spec) {
		rc = -EINVAL;
		err_set(err, rc, "%s: empty path", flag);
	}
	if (!rc && fds)
		*fd = (int)n;
	else if (!rc && !(*path = strdup(p)))
		rc = -ENOMEM;
	free(copy);
	return rc;
}
