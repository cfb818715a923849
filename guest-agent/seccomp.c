// SPDX-License-Identifier: Apache-2.0
/*
 * linux.seccomp (defaultAction, architectures, syscalls[{names, action,
 * errnoRet, args}]) through libseccomp, which knows syscall numbers and
 * architectures and builds the BPF program.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#include "guest-agent/seccomp.h"

static int parse_action(const char *s, json_t *errno_ret, uint32_t *act)
{
	int e = errno_ret ? (int)json_integer_value(errno_ret) : EPERM;
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "SCMP_ACT_ALLOW"))
		*act = SCMP_ACT_ALLOW;
	else if (!strcmp(s, "SCMP_ACT_ERRNO"))
		*act = SCMP_ACT_ERRNO(e);
	else if (!strcmp(s, "SCMP_ACT_KILL") || !strcmp(s, "SCMP_ACT_KILL_THREAD"))
		*act = SCMP_ACT_KILL;
	else if (!strcmp(s, "SCMP_ACT_KILL_PROCESS"))
		*act = SCMP_ACT_KILL_PROCESS;
	else if (!strcmp(s, "SCMP_ACT_TRAP"))
		*act = SCMP_ACT_TRAP;
	else if (!strcmp(s, "SCMP_ACT_LOG"))
		*act = SCMP_ACT_LOG;
	else if (!strcmp(s, "SCMP_ACT_TRACE"))
		*act = SCMP_ACT_TRACE(e);
	else
		return -EINVAL;
	return 0;
}

static int parse_op(const char *s, enum scmp_compare *op)
{
	static const struct {
		const char *name;
		enum scmp_compare op;
	} ops[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE },
		{ "SCMP_CMP_LT", SCMP_CMP_LT },
		{ "SCMP_CMP_LE", SCMP_CMP_LE },
		{ "SCMP_CMP_EQ", SCMP_CMP_EQ },
		{ "SCMP_CMP_GE", SCMP_CMP_GE },
		{ "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};
	for (size_t i = 0; s && i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (!strcmp(s, ops[i].name)) {
			*op = ops[i].op;
			return 0;
		}
	}
	return -EINVAL;
}

int seccomp_apply(json_t *sc, char *msg, size_t len)
{
	uint32_t def;
	int r;
	const char *ds = json_string_value(json_object_get(sc, "defaultAction"));
	if (parse_action(ds, json_object_get(sc, "defaultErrnoRet"), &def) < 0) {
		snprintf(msg, len, "defaultAction '%s' is unknown", ds ? ds : "(none)");
		return -EINVAL;
	}
	scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx) {
		snprintf(msg, len, "seccomp_init failed");
		return -ENOMEM;
	}
	json_t *a;
	size_t i;
	json_array_foreach(json_object_get(sc, "architectures"), i, a)
	{
		const char *s = json_string_value(a);
		uint32_t arch;
		if (!s || strncmp(s, "SCMP_ARCH_", 10)) {
			snprintf(msg, len, "architectures[%zu] is not SCMP_ARCH_*", i);
			r = -EINVAL;
			goto out;
		}
		char lower[32];
		size_t k;
		for (k = 0; s[10 + k] && k < sizeof(lower) - 1; k++)
			lower[k] =
				s[10 + k] >= 'A' && s[10 + k] <= 'Z' ? s[10 + k] + 32 : s[10 + k];
		lower[k] = 0;
		arch = seccomp_arch_resolve_name(lower);
		if (!arch) {
			snprintf(msg, len, "architecture %s is unknown", s);
			r = -EINVAL;
			goto out;
		}
		r = seccomp_arch_add(ctx, arch);
		if (r < 0 && r != -EEXIST) {
			snprintf(msg, len, "architecture %s: %s", s, strerror(-r));
			goto out;
		}
	}
	json_t *rule;
	json_array_foreach(json_object_get(sc, "syscalls"), i, rule)
	{
		uint32_t act;
		const char *as = json_string_value(json_object_get(rule, "action"));
		if (parse_action(as, json_object_get(rule, "errnoRet"), &act) < 0) {
			snprintf(msg, len, "syscalls[%zu].action '%s' is unknown", i,
				 as ? as : "(none)");
			r = -EINVAL;
			goto out;
		}
		if (act == def)
			continue; /* libseccomp refuses rules equal to the default */
		struct scmp_arg_cmp cmp[6];
		unsigned int ncmp = 0;
		json_t *arg;
		size_t j;
		json_array_foreach(json_object_get(rule, "args"), j, arg)
		{
			enum scmp_compare op;
			const char *os = json_string_value(json_object_get(arg, "op"));
			if (ncmp >= 6 || parse_op(os, &op) < 0) {
				snprintf(msg, len, "syscalls[%zu].args[%zu]: bad op '%s'", i, j,
					 os ? os : "(none)");
				r = -EINVAL;
				goto out;
			}
			cmp[ncmp++] = (struct scmp_arg_cmp){
				.arg = json_integer_value(json_object_get(arg, "index")),
				.op = op,
				.datum_a = json_integer_value(json_object_get(arg, "value")),
				.datum_b = json_integer_value(json_object_get(arg, "valueTwo")),
			};
		}
		json_t *name;
		size_t k;
		json_array_foreach(json_object_get(rule, "names"), k, name)
		{
			const char *ns = json_string_value(name);
			int nr = ns ? seccomp_syscall_resolve_name(ns) : __NR_SCMP_ERROR;
			if (nr == __NR_SCMP_ERROR)
				continue; /* unknown on this kernel or architecture: skipped as runc
					     does */
			r = seccomp_rule_add_array(ctx, act, nr, ncmp, cmp);
			if (r < 0) {
				snprintf(msg, len, "syscalls[%zu]: rule for %s: %s", i, ns,
					 strerror(-r));
				goto out;
			}
		}
	}
	r = seccomp_load(ctx);
	if (r < 0)
		snprintf(msg, len, "loading the filter: %s", strerror(-r));
out:
	seccomp_release(ctx);
	return r;
}
