// SPDX-License-Identifier: Apache-2.0
/* Counters as JSON and Prometheus text, and the --metrics endpoint. */
#include "vmm/api/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/config/options.h"
#include "vmm/kvm/log.h"
#include "vmm/kvm/seccomp.h"

/* --- text building ------------------------------------------------------ */

struct buf {
	char *p;
	size_t n, cap;
	int rc;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	for (int tries = 0; tries < 2 && !b->rc; tries++) {
		size_t room = b->cap - b->n;
		va_start(ap, fmt);
		int k = vsnprintf(b->p ? b->p + b->n : NULL, room, fmt, ap);
		va_end(ap);
		if (k < 0) {
			b->rc = -EINVAL;
			return;
		}
		if ((size_t)k < room) {
			b->n += (size_t)k;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)k + 256;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->rc = -ENOMEM;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
}

/* A label value or help text, escaped as the exposition format wants:
 * backslash and newline always, the double quote in label values. */
static void put_escaped(struct buf *b, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(b, "\\\\");
		else if (*s == '\n')
			put(b, "\\n");
		else if (*s == '"' && quote)
			put(b, "\\\"");
		else
			put(b, "%c", *s);
	}
}

/* --- JSON ---------------------------------------------------------------- */

static void json_key(const struct ctr *c, char *key, size_t size)
{
	if (c->d->label_value)
		snprintf(key, size, "%s_%s", c->d->name, c->d->label_value);
	else if (c->queue >= 0)
		snprintf(key, size, "%s_q%d", c->d->name, c->queue);
	else
		snprintf(key, size, "%s", c->d->name);
}

int metrics_json(const struct ctr_set *s, json_t **out)
{
	json_t *root = json_object();
	json_t **objs = calloc(s->ng ? s->ng : 1, sizeof(*objs));
	int rc = 0;

	if (!root || !objs) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->ng; i++) {
		objs[i] = json_object_get(root, s->g[i].id);
		if (!objs[i] && (!(objs[i] = json_object()) ||
				 json_object_set_new(root, s->g[i].id, objs[i]) < 0)) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < s->nc; i++) {
		const struct ctr *c = &s->c[i];
		char key[128];
		json_key(c, key, sizeof(key));
		/* jansson's integers are signed: a counter past 2^63 shows wrapped */
		if (json_object_set_new(objs[c->group], key, json_integer((json_int_t)c->value)) <
		    0) {
			rc = -ENOMEM;
			goto out;
		}
	}
out:
	free(objs);
	if (rc) {
		json_decref(root);
		return rc;
	}
	*out = root;
	return 0;
}

/* --- Prometheus ---------------------------------------------------------- */

static void metric_name(const struct ctr_desc *d, char *name, size_t size)
{
	snprintf(name, size, "svmm_%s_%s%s", d->family, d->name, d->gauge ? "" : "_total");
}

static void put_sample(struct buf *b, const char *name, const char *vm, const struct ctr_set *s,
		       const struct ctr *c)
{
	const struct ctr_group *g = &s->g[c->group];

	put(b, "%s{vm=\"", name);
	put_escaped(b, vm, true);
	put(b, "\"");
	if (g->label) {
		put(b, ",%s=\"", g->label);
		put_escaped(b, g->label_value, true);
		put(b, "\"");
	}
	if (c->queue >= 0)
		put(b, ",queue=\"%d\"", c->queue);
	if (c->d->label) {
		put(b, ",%s=\"", c->d->label);
		put_escaped(b, c->d->label_value, true);
		put(b, "\"");
	}
	put(b, "} %llu\n", (unsigned long long)c->value);
}

int metrics_prometheus(const struct ctr_set *s, const char *vm, char **out, size_t *len)
{
	struct buf b = { 0 };
	bool *done = calloc(s->nc ? s->nc : 1, sizeof(*done));
	char name[160], other[160];

	if (!done)
		return -ENOMEM;
	put(&b, "%s", ""); /* an empty scrape is still a string */
	/* Each family once, with every sample of it together, in the order
	 * families first appear. */
	for (size_t i = 0; i < s->nc; i++) {
		if (done[i])
			continue;
		metric_name(s->c[i].d, name, sizeof(name));
		put(&b, "# HELP %s ", name);
		put_escaped(&b, s->c[i].d->help, false);
		put(&b, "\n# TYPE %s %s\n", name, s->c[i].d->gauge ? "gauge" : "counter");
		for (size_t j = i; j < s->nc; j++) {
			if (done[j])
				continue;
			metric_name(s->c[j].d, other, sizeof(other));
			if (strcmp(name, other))
				continue;
			put_sample(&b, name, vm, s, &s->c[j]);
			done[j] = true;
		}
	}
	free(done);
	if (b.rc) {
		free(b.p);
		return b.rc;
	}
	*out = b.p;
	*len = b.n;
	return 0;
}

/* --- the process --------------------------------------------------------- */

static const struct ctr_desc c_rss = {
	"process", "resident_memory_bytes", "Resident memory of the VMM process", true, NULL, NULL
};
static const struct ctr_desc c_maxrss = { "process",
					  "max_resident_memory_bytes",
					  "Peak resident memory of the VMM process",
					  true,
					  NULL,
					  NULL };
static const struct ctr_desc c_utime = { "process",
					 "cpu_user_microseconds",
					 "User CPU time of the VMM process (every thread)",
					 false,
					 NULL,
					 NULL };
static const struct ctr_desc c_stime = { "process",
					 "cpu_system_microseconds",
					 "System CPU time of the VMM process (every thread)",
					 false,
					 NULL,
					 NULL };

void metrics_process(struct ctr_set *s, int statm_fd)
{
	struct rusage ru;
	char text[128];

	ctr_group(s, "__vmm", NULL, NULL);
	if (statm_fd >= 0) {
		ssize_t n = pread(statm_fd, text, sizeof(text) - 1, 0);
		unsigned long long size, resident;
		if (n > 0) {
			text[n] = 0;
			if (sscanf(text, "%llu %llu", &size, &resident) == 2)
				ctr_put(s, &c_rss, -1,
					resident * (unsigned long long)sysconf(_SC_PAGESIZE));
		}
	}
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		ctr_put(s, &c_maxrss, -1, (uint64_t)ru.ru_maxrss * 1024);
		ctr_put(s, &c_utime, -1,
			(uint64_t)ru.ru_utime.tv_sec * 1000000 + (uint64_t)ru.ru_utime.tv_usec);
		ctr_put(s, &c_stime, -1,
			(uint64_t)ru.ru_stime.tv_sec * 1000000 + (uint64_t)ru.ru_stime.tv_usec);
	}
}

/* --- --metrics ----------------------------------------------------------- */

static int parse_addr(const char *v, struct metrics_spec *o, struct err *err)
{
	const char *colon = strrchr(v, ':');
	char host[INET_ADDRSTRLEN];
	uint64_t port;

	if (!colon || (size_t)(colon - v) >= sizeof(host))
		return err_set(err, -EINVAL, "--metrics: addr '%.100s' is not IPV4:PORT", v);
	memcpy(host, v, (size_t)(colon - v));
	host[colon - v] = 0;
	struct in_addr a;
	if (inet_pton(AF_INET, host, &a) != 1)
		return err_set(err, -EINVAL,
			       "--metrics: addr '%.100s': '%s' is not an IPv4 address", v, host);
	if (parse_u64(colon + 1, &port) < 0 || port < 1 || port > 65535)
		return err_set(err, -EINVAL, "--metrics: addr '%.100s': the port is not 1-65535",
			       v);
	o->tcp = true;
	o->addr = a.s_addr;
	o->port = (uint16_t)port;
	return 0;
}

int metrics_spec_parse(const char *spec, struct metrics_spec *o, struct err *err)
{
	struct opt_list l;
	char buf[512];
	int rc;

	memset(o, 0, sizeof(*o));
	if (strlen(spec) >= sizeof(buf))
		return err_set(err, -EINVAL, "--metrics: the value is too long");
	strcpy(buf, spec);
	if ((rc = opt_parse(&l, buf)) < 0)
		return err_set(err, rc, "--metrics: %s", l.err.msg);
	const char *path = opt_get(&l, "path"), *addr = opt_get(&l, "addr"),
		   *id = opt_get(&l, "id");
	if (!!path == !!addr)
		return err_set(err, -EINVAL,
			       "--metrics: give one of path=SOCKET and addr=IPV4:PORT");
	if (path) {
		if (!path[0] || strlen(path) >= sizeof(o->path))
			return err_set(err, -EINVAL,
				       "--metrics: path '%.100s' is empty or too long", path);
		strcpy(o->path, path);
	} else if ((rc = parse_addr(addr, o, err)) < 0) {
		return rc;
	}
	if (id) {
		if (!id[0] || strlen(id) >= sizeof(o->id))
			return err_set(err, -EINVAL, "--metrics: id '%.100s' is empty or too long",
				       id);
		strcpy(o->id, id);
	}
	if (opt_check_unused(&l) < 0)
		return err_set(err, -EINVAL, "--metrics: %s", l.err.msg);
	return 0;
}

static int listen_tcp(const struct metrics_spec *sp, struct err *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(sp->port) };
	int one = 1, rc;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	sa.sin_addr.s_addr = sp->addr;
	if (fd < 0)
		return err_set(err, -errno, "--metrics: socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		rc = -errno;
		err_set(err, rc, "--metrics: cannot listen on port %u: %s", sp->port,
			strerror(errno));
		close(fd);
		return rc;
	}
	return fd;
}

int metrics_scrape(struct metrics_server *m, char **out, size_t *len)
{
	struct ctr_set s = { 0 };

	if (m->collect)
		m->collect(m->ctx, &s); /* -ESRCH: no VM, only the process */
	metrics_process(&s, m->statm_fd);
	int rc = ctr_set_rc(&s);
	if (!rc)
		rc = metrics_prometheus(&s, m->vm, out, len);
	ctr_set_free(&s);
	return rc;
}

static void handle(void *ctx, const struct http_request *req, struct http_response *resp)
{
	struct metrics_server *m = ctx;
	size_t plen = strcspn(req->path, "?");
	static const char nf[] = "[\"only /metrics is here\"]";

	if (plen != strlen("/metrics") || strncmp(req->path, "/metrics", plen)) {
		resp->status = 404;
		resp->body = strdup(nf);
		resp->body_len = resp->body ? strlen(nf) : 0;
		return;
	}
	if (strcmp(req->method, "GET")) {
		resp->status = 405;
		resp->allow = "GET";
		return;
	}
	if (metrics_scrape(m, &resp->body, &resp->body_len) < 0) {
		resp->status = 500;
		return;
	}
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

int metrics_server_open(struct metrics_server *m, const char *spec, const char *default_id,
			metrics_collect_fn *collect, void *ctx, struct err *err)
{
	struct metrics_spec sp;
	int fd, rc;

	memset(m, 0, sizeof(*m));
	m->statm_fd = -1;
	if ((rc = metrics_spec_parse(spec, &sp, err)) < 0)
		return rc;
	snprintf(m->vm, sizeof(m->vm), "%s", sp.id[0] ? sp.id : default_id ? default_id : "");
	m->collect = collect;
	m->ctx = ctx;
	fd = sp.tcp ? listen_tcp(&sp, err) : http_listen_path(sp.path, err);
	if (fd < 0) {
		if (!sp.tcp)
			err_wrap(err, "--metrics");
		return fd;
	}
	if ((rc = http_server_init(&m->http, fd, sp.tcp ? NULL : sp.path, handle, NULL, m)) < 0) {
		close(fd);
		return err_set(err, rc, "--metrics: %s", strerror(-rc));
	}
	/* read at each scrape (pread), so the thread opens nothing */
	m->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	m->inited = true;
	return 0;
}

static void *serve(void *arg)
{
	struct metrics_server *m = arg;
	int rc = sc_install(SC_METRICS);

	if (rc) {
		log_msg(LV_ERROR, "metrics", "metrics thread: seccomp filter: %s", strerror(-rc));
		return NULL;
	}
	if ((rc = http_server_run(&m->http)) < 0)
		log_msg(LV_ERROR, "metrics", "metrics server: %s", strerror(-rc));
	return NULL;
}

int metrics_server_start(struct metrics_server *m)
{
	int rc = -pthread_create(&m->thread, NULL, serve, m);
	if (!rc)
		m->running = true;
	return rc;
}

void metrics_server_close(struct metrics_server *m)
{
	if (!m->inited)
		return;
	if (m->running) {
		http_server_stop(&m->http);
		pthread_join(m->thread, NULL);
		m->running = false;
	}
	http_server_close(&m->http);
	if (m->statm_fd >= 0)
		close(m->statm_fd);
	m->statm_fd = -1;
	m->inited = false;
}

/* --- svmm metrics: several VMs' texts as one --------------------------- */

struct family {
	char *name; /* NULL: samples before any # line */
	struct buf head, samples;
};

/* The family a "# HELP NAME ..." or "# TYPE NAME ..." line names, as
 * [*name, *name + *n); false for another comment. */
static bool comment_family(const char *l, size_t len, const char **name, size_t *n)
{
	if (len < 7 || (strncmp(l, "# HELP ", 7) && strncmp(l, "# TYPE ", 7)))
		return false;
	*name = l + 7;
	*n = strcspn(*name, " ");
	if (*n > len - 7)
		*n = len - 7;
	return true;
}

static struct family *family_of(struct family **fs, size_t *nf, const char *name, size_t n)
{
	for (size_t i = 0; i < *nf; i++)
		if (!(*fs)[i].name || !name
			    ? !(*fs)[i].name && !name
			    : strlen((*fs)[i].name) == n && !strncmp((*fs)[i].name, name, n))
			return &(*fs)[i];
	struct family *q = realloc(*fs, (*nf + 1) * sizeof(**fs));
	if (!q)
		return NULL;
	*fs = q;
	struct family *f = &q[(*nf)++];
	memset(f, 0, sizeof(*f));
	if (name && !(f->name = strndup(name, n)))
		f->head.rc = -ENOMEM;
	return f;
}

int metrics_merge(const char *const *texts, const size_t *lens, size_t n, char **out, size_t *len)
{
	struct family *fs = NULL;
	size_t nf = 0;
	struct buf b = { 0 };
	int rc = 0;

	for (size_t t = 0; t < n && !rc; t++) {
		struct family *cur = NULL;
		const char *p = texts[t], *end = texts[t] + lens[t];
		while (p < end && !rc) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
			const char *name;
			size_t nn;
			if (!ll) {
				/* blank lines carry nothing */
			} else if (p[0] == '#') {
				if (comment_family(p, ll, &name, &nn)) {
					cur = family_of(&fs, &nf, name, nn);
					if (!cur)
						rc = -ENOMEM;
					else if (!memmem(cur->head.p ? cur->head.p : "",
							 cur->head.n, p,
							 7)) /* the first HELP, the first TYPE */
						put(&cur->head, "%.*s\n", (int)ll, p);
				}
			} else {
				if (!cur && !(cur = family_of(&fs, &nf, NULL, 0)))
					rc = -ENOMEM;
				else
					put(&cur->samples, "%.*s\n", (int)ll, p);
			}
			p += ll + 1;
		}
	}
	put(&b, "%s", "");
	for (size_t i = 0; i < nf; i++) {
		if (fs[i].head.rc || fs[i].samples.rc)
			rc = -ENOMEM;
		if (fs[i].head.n)
			put(&b, "%.*s", (int)fs[i].head.n, fs[i].head.p);
		if (fs[i].samples.n)
			put(&b, "%.*s", (int)fs[i].samples.n, fs[i].samples.p);
		free(fs[i].name);
		free(fs[i].head.p);
		free(fs[i].samples.p);
	}
	free(fs);
	if (!rc)
		rc = b.rc;
	if (rc) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	*len = b.n;
	return 0;
}
