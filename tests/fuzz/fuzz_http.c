// SPDX-License-Identifier: Apache-2.0
/*
 * The API server's HTTP/1.1 request parser (vmm/api/http.c) on a hostile
 * client's bytes: pipelined requests are parsed one after the other, as the
 * server does, and each answer is checked against the buffer (the body lies
 * inside it, consumed bytes are progress, an error names a status).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly the input's size: any read past it is reported. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	size_t off = 0;
	for (int n = 0; n < 1000 && off <= size; n++) {
		struct http_request req;
		size_t consumed = 0;
		int status = 0;
		const char *why = NULL;
		enum http_parse r =
			http_parse_request(buf + off, size - off, &req, &consumed, &status, &why);
		if (r == HTTP_PARSE_ERROR) {
			if (status < 400 || status > 599 || !why || !http_reason(status))
				abort();
			break;
		}
		if (r != HTTP_PARSE_DONE)
			break;
		if (!consumed || consumed > size - off ||
		    !memchr(req.method, 0, sizeof(req.method)) ||
		    !memchr(req.path, 0, sizeof(req.path)))
			abort();
		if (req.body_len && (req.body < buf + off || req.body > buf + off + consumed ||
				     req.body_len > (size_t)(buf + off + consumed - req.body)))
			abort();
		off += consumed;
	}
	free(buf);
	return 0;
}
