// SPDX-License-Identifier: Apache-2.0
/*
 * vm.create's JSON body (vmm/config/config_json.c): parse, validate,
 * serialize, parse the serialization again and serialize that: the two
 * serializations must be equal (what the API answers for vm.info is what
 * vm.create was given).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/config/config.h"

static char *dump(const struct vm_config *c)
{
	json_t *j = vm_config_to_json(c);
	if (!j)
		abort();
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	if (!s)
		abort();
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config a, b;
	struct err err = { 0 };

	vm_config_init(&a);
	err = (struct err){ 0 };
	if (vm_config_from_json_text(&a, (const char *)data, size, &err) == 0) {
		vm_config_validate(&a, &err);
		char *s1 = dump(&a);
		vm_config_init(&b);
		if (vm_config_from_json_text(&b, s1, strlen(s1), &err) != 0) {
			fprintf(stderr, "re-parse of %s failed: %s\n", s1, err.msg);
			abort();
		}
		char *s2 = dump(&b);
		if (strcmp(s1, s2)) {
			fprintf(stderr, "serializations differ:\n%s\n%s\n", s1, s2);
			abort();
		}
		free(s1);
		free(s2);
		vm_config_free(&b);
	} else if (!err.code || !memchr(err.msg, 0, sizeof(err.msg))) {
		abort();
	}
	vm_config_free(&a);
	return 0;
}
