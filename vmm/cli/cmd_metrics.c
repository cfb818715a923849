// SPDX-License-Identifier: Apache-2.0
/* svmm metrics: scrape every svmm VM's --metrics socket, merge the texts. */
#include "vmm/cli/cmd_metrics.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/api/metrics.h"

#define MAX_SOCKETS 1024
#define MAX_ANSWER  (16u << 20)

struct found {
	char *path[MAX_SOCKETS];
	size_t n;
};

static void add(struct found *f, const char *path)
{
	struct stat st;
	if (f->n < MAX_SOCKETS && stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		f->path[f->n++] = strdup(path);
}

/* DIR/NAME/vmm/metrics.sock for each NAME, or DIR/NAME.sock. */
static void scan(struct found *f, const char *dir, bool runs)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.')
			continue;
		if (runs)
			snprintf(p, sizeof(p), "%s/%s/vmm/metrics.sock", dir, e->d_name);
		else if (n > 5 && !strcmp(e->d_name + n - 5, ".sock"))
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		else
			continue;
		add(f, p);
	}
	closedir(d);
}

/* GET /metrics on a Unix socket: the body of a 200 answer in *body. */
static int scrape(const char *path, char **body, size_t *len, char *why, size_t wsize)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	static const char req[] =
		"GET /metrics HTTP/1.1\r\nHost: svmm\r\nConnection: close\r\n\r\n";
	size_t n = 0, cap = 65536;
	char *buf = NULL;
	int fd = -1, rc = -EIO;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, wsize, "the path is too long");
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
		rc = -errno;
		snprintf(why, wsize, "%s", strerror(errno));
		goto out;
	}
	if (!(buf = malloc(cap + 1)))
		goto oom;
	for (;;) {
		if (n == cap) {
			if (cap >= MAX_ANSWER) {
				snprintf(why, wsize, "the answer is over %u bytes", MAX_ANSWER);
				goto out;
			}
			char *q = realloc(buf, cap * 2 + 1);
			if (!q)
				goto oom;
			buf = q;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			rc = -errno;
			snprintf(why, wsize, "%s",
				 errno == EAGAIN ? "no answer in 5 s" : strerror(errno));
			goto out;
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	char *sep = strstr(buf, "\r\n\r\n");
	if (strncmp(buf, "HTTP/1.1 200 ", 13) || !sep) {
		snprintf(why, wsize, "answered '%.40s'", buf);
		goto out;
	}
	sep += 4;
	*len = n - (size_t)(sep - buf);
	memmove(buf, sep, *len + 1);
	*body = buf;
	buf = NULL;
	rc = 0;
	goto out;
oom:
	rc = -ENOMEM;
	snprintf(why, wsize, "out of memory");
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: svmm metrics [--state-dir DIR]... [--socket PATH]...\n"
		"Scrape every svmm VM's metrics socket and print one Prometheus text:\n"
		"  DIR/*/vmm/metrics.sock (default DIR: /run/svmm/containers, the runs of\n"
		"  svmm run --image --metrics path=...), " METRICS_REGISTRY "/*.sock (VMMs\n"
		"  started with --metrics path=" METRICS_REGISTRY "/NAME.sock), each --socket.\n");
}

int cmd_metrics(int argc, char **argv)
{
	struct found f = { 0 };
	const char *dirs[64];
	size_t nd = 0;
	int status = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		bool dir = !strcmp(argv[i], "--state-dir"), sock = !strcmp(argv[i], "--socket");
		if ((!dir && !sock) || i + 1 >= argc) {
			usage(stderr);
			return 2;
		}
		if (dir && nd < sizeof(dirs) / sizeof(dirs[0]))
			dirs[nd++] = argv[++i];
		else if (sock)
			add(&f, argv[++i]);
	}
	if (!nd)
		dirs[nd++] = "/run/svmm/containers";
	for (size_t i = 0; i < nd; i++)
		scan(&f, dirs[i], true);
	scan(&f, METRICS_REGISTRY, false);

	char **texts = calloc(f.n + 1, sizeof(*texts));
	size_t *lens = calloc(f.n + 1, sizeof(*lens)), nt = 0;
	if (!texts || !lens) {
		fprintf(stderr, "svmm metrics: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < f.n; i++) {
		char why[128];
		if (scrape(f.path[i], &texts[nt], &lens[nt], why, sizeof(why)) == 0)
			nt++;
		else {
			fprintf(stderr, "svmm metrics: %s: %s\n", f.path[i], why);
			status = 1;
		}
		free(f.path[i]);
	}
	char *out;
	size_t len;
	if (metrics_merge((const char *const *)texts, lens, nt, &out, &len) < 0) {
		fprintf(stderr, "svmm metrics: out of memory\n");
		status = 1;
	} else {
		fwrite(out, 1, len, stdout);
		free(out);
	}
	for (size_t i = 0; i < nt; i++)
		free(texts[i]);
	free(texts);
	free(lens);
	return status;
}
