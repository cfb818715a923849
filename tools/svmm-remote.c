// SPDX-License-Identifier: Apache-2.0
/*
 * svmm-remote: ch-remote's commands and syntax for svmm (or cloud-hypervisor).
 *
 *   svmm-remote --api-socket PATH COMMAND [ARG]
 *
 * Prints the response body; on an error answer prints it to stderr and
 * exits 1 (2 for a usage error).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "vmm/config/config.h"
#include "vmm/config/options.h"

static const struct command {
	const char *name;
	const char *method;
	const char *endpoint;
	enum { NO_ARG, BODY_FILE, DEVICE_ARG, ID_ARG, URL_ARG, RESTORE_ARG } arg;
} commands[] = {
	{ "ping", "GET", "vmm.ping", NO_ARG },
	{ "info", "GET", "vm.info", NO_ARG },
	{ "counters", "GET", "vm.counters", NO_ARG },
	{ "create", "PUT", "vm.create", BODY_FILE },
	{ "boot", "PUT", "vm.boot", NO_ARG },
	{ "shutdown", "PUT", "vm.shutdown", NO_ARG },
	{ "shutdown-vmm", "PUT", "vmm.shutdown", NO_ARG },
	{ "reboot", "PUT", "vm.reboot", NO_ARG },
	{ "power-button", "PUT", "vm.power-button", NO_ARG },
	{ "pause", "PUT", "vm.pause", NO_ARG },
	{ "resume", "PUT", "vm.resume", NO_ARG },
	{ "delete", "PUT", "vm.delete", NO_ARG },
	{ "nmi", "PUT", "vm.nmi", NO_ARG },
	{ "add-disk", "PUT", "vm.add-disk", DEVICE_ARG },
	{ "add-net", "PUT", "vm.add-net", DEVICE_ARG },
	{ "add-fs", "PUT", "vm.add-fs", DEVICE_ARG },
	{ "add-pmem", "PUT", "vm.add-pmem", DEVICE_ARG },
	{ "add-vsock", "PUT", "vm.add-vsock", DEVICE_ARG },
	{ "add-device", "PUT", "vm.add-device", DEVICE_ARG },
	{ "remove-device", "PUT", "vm.remove-device", ID_ARG },
	{ "snapshot", "PUT", "vm.snapshot", URL_ARG },
	{ "restore", "PUT", "vm.restore", RESTORE_ARG },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: svmm-remote --api-socket PATH COMMAND [ARG]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s%s\n", commands[i].name,
			commands[i].arg == BODY_FILE	 ? " <VmConfig JSON file>|-"
			: commands[i].arg == DEVICE_ARG	 ? " <cloud-hypervisor device syntax>"
			: commands[i].arg == ID_ARG	 ? " <device id>"
			: commands[i].arg == URL_ARG	 ? " file:///DIR"
			: commands[i].arg == RESTORE_ARG ? " source_url=file:///DIR[,prefault=on]"
							 : "");
}

static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap) {
			if (ferror(f))
				break;
			*len = n;
			return buf;
		}
		char *p = realloc(buf, cap *= 2);
		if (!p)
			break;
		buf = p;
	}
	free(buf);
	return NULL;
}

/* A device in cloud-hypervisor's CLI syntax, as its JSON object. */
static char *device_json(const char *cmd, const char *arg)
{
	struct err err = { 0 };
	struct vm_config c;
	const char *key;
	int rc;

	vm_config_init(&c);
	if (!strcmp(cmd, "add-disk"))
		rc = vm_config_parse_disk(&c, arg, &err), key = "disks";
	else if (!strcmp(cmd, "add-net"))
		rc = vm_config_parse_net(&c, arg, &err), key = "net";
	else if (!strcmp(cmd, "add-fs"))
		rc = vm_config_parse_fs(&c, arg, &err), key = "fs";
	else if (!strcmp(cmd, "add-pmem"))
		rc = vm_config_parse_pmem(&c, arg, &err), key = "pmem";
	else if (!strcmp(cmd, "add-device"))
		rc = vm_config_parse_device(&c, arg, &err), key = "devices";
	else
		rc = vm_config_parse_vsock(&c, arg, &err), key = "vsock";
	if (rc < 0) {
		fprintf(stderr, "svmm-remote: %s: %s\n", cmd, err.msg);
		vm_config_free(&c);
		return NULL;
	}
	json_t *all = vm_config_to_json(&c);
	json_t *one = json_object_get(all, key);
	if (json_is_array(one))
		one = json_array_get(one, 0);
	char *s = one ? json_dumps(one, JSON_COMPACT) : NULL;
	json_decref(all);
	vm_config_free(&c);
	return s;
}

static int http_call(const char *sock, const char *method, const char *endpoint, const char *body,
		     size_t body_len, int *status, char **resp_body, size_t *resp_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char head[512];
	int fd, n;

	if (strlen(sock) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int rc = -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	n = snprintf(head, sizeof(head),
		     "%s /api/v1/%s HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n"
		     "Connection: close\r\n%sContent-Length: %zu\r\n\r\n",
		     method, endpoint, body ? "Content-Type: application/json\r\n" : "", body_len);
	for (size_t off = 0, total = n + body_len; off < total;) {
		const char *p = off < (size_t)n ? head + off : body + (off - n);
		size_t len = off < (size_t)n ? (size_t)n - off : total - off;
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int rc = -errno;
			close(fd);
			return rc ? rc : -EIO;
		}
		off += w;
	}
	FILE *f = fdopen(fd, "r");
	size_t len;
	char *resp = f ? read_all(f, &len) : NULL;
	if (f)
		fclose(f);
	else
		close(fd);
	if (!resp)
		return -EIO;
	char *end = memmem(resp, len, "\r\n\r\n", 4);
	if (len < 12 || strncmp(resp, "HTTP/1.", 7) || !end) {
		free(resp);
		return -EPROTO;
	}
	*status = atoi(resp + 9);
	size_t blen = len - (end + 4 - resp);
	/* Trust Content-Length when given (we asked for close, so EOF ends it too). */
	*end = '\0';
	for (char *h = strstr(resp, "\r\n"); h; h = strstr(h + 2, "\r\n")) {
		if (!strncasecmp(h + 2, "Content-Length:", 15)) {
			size_t cl = strtoull(h + 17, NULL, 10);
			if (cl < blen)
				blen = cl;
		}
	}
	memmove(resp, end + 4, blen);
	resp[blen] = '\0';
	*resp_body = resp;
	*resp_len = blen;
	return 0;
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--api-socket") && i + 1 < argc) {
			sock = argv[++i];
		} else if (!strncmp(argv[i], "--api-socket=", 13)) {
			sock = argv[i] + 13;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "svmm-remote: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!sock || i >= argc) {
		usage(stderr);
		return 2;
	}
	const struct command *cmd = NULL;
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (!strcmp(commands[k].name, argv[i]))
			cmd = &commands[k];
	if (!cmd) {
		fprintf(stderr, "svmm-remote: unknown command '%s'\n", argv[i]);
		usage(stderr);
		return 2;
	}
	const char *arg = i + 1 < argc ? argv[i + 1] : NULL;
	if ((cmd->arg != NO_ARG && !arg) || (cmd->arg == NO_ARG && arg) || (arg && i + 2 < argc)) {
		fprintf(stderr, "svmm-remote: %s: wrong number of arguments\n", cmd->name);
		return 2;
	}

	char *body = NULL;
	size_t body_len = 0;
	if (cmd->arg == BODY_FILE) {
		FILE *f = strcmp(arg, "-") ? fopen(arg, "r") : stdin;
		if (!f || !(body = read_all(f, &body_len))) {
			fprintf(stderr, "svmm-remote: %s: cannot read '%s': %s\n", cmd->name, arg,
				strerror(errno));
			return 1;
		}
		if (f != stdin)
			fclose(f);
	} else if (cmd->arg == DEVICE_ARG) {
		if (!(body = device_json(cmd->name, arg)))
			return 1;
		body_len = strlen(body);
	} else if (cmd->arg == URL_ARG || cmd->arg == RESTORE_ARG) {
		/* ch-remote: snapshot <destination_url>, restore source_url=...,prefault=on */
		json_t *o = NULL;
		if (cmd->arg == URL_ARG) {
			o = json_pack("{s:s}", "destination_url", arg);
		} else {
			char *copy = strdup(arg);
			struct opt_list l = { 0 };
			const char *url;
			bool prefault = false;
			if (!copy || opt_parse(&l, copy) < 0 ||
			    !(url = opt_get(&l, "source_url")) ||
			    opt_get_bool(&l, "prefault", &prefault) < 0 ||
			    opt_check_unused(&l) < 0) {
				fprintf(stderr, "svmm-remote: restore: expected "
						"source_url=file:///DIR[,prefault=on]\n");
				free(copy);
				return 2;
			}
			o = json_pack("{s:s,s:b}", "source_url", url, "prefault", prefault);
			free(copy);
		}
		body = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!body)
			return 1;
		body_len = strlen(body);
	} else if (cmd->arg == ID_ARG) {
		json_t *o = json_pack("{s:s}", "id", arg);
		body = o ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (!body)
			return 1;
		body_len = strlen(body);
	}

	int status = 0;
	char *resp = NULL;
	size_t resp_len = 0;
	int rc = http_call(sock, cmd->method, cmd->endpoint, body, body_len, &status, &resp,
			   &resp_len);
	free(body);
	if (rc < 0) {
		fprintf(stderr, "svmm-remote: %s: cannot talk to '%s': %s\n", cmd->name, sock,
			strerror(-rc));
		return 1;
	}
	if (status < 200 || status >= 300) {
		fprintf(stderr, "svmm-remote: %s: the server answered %d: %s\n", cmd->name, status,
			resp);
		free(resp);
		return 1;
	}
	if (resp_len)
		printf("%s\n", resp);
	free(resp);
	return 0;
}
