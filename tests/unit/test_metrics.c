// SPDX-License-Identifier: Apache-2.0
/*
 * The counter plumbing (vmm/kvm/counters.h, the virtio core's and the I/O
 * loop's counting), vm.counters' JSON and the Prometheus formatter
 * (vmm/api/metrics.h), whose text is also read back by the reference parser
 * (python3-prometheus-client) when it is installed; --metrics' value; the
 * endpoint on a Unix socket; --log-format json's lines.
 */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/loop.h"
#include "devices/virtio/virtio.h"
#include "vmm/api/metrics.h"
#include "vmm/kvm/counters.h"
#include "vmm/kvm/log.h"

static const struct ctr_desc d_read = { "disk", "read_bytes", "Bytes read", false, NULL, NULL };
static const struct ctr_desc d_depth = { "disk", "depth", "A gauge with \\ and\nnewline",
					 true,	 NULL,	  NULL };
static const struct ctr_desc d_exit_io = { "vcpu", "exits", "Exits", false, "reason", "io" };
static const struct ctr_desc d_exit_hlt = { "vcpu", "exits", "Exits", false, "reason", "hlt" };
static const struct ctr_desc d_kicks = { "virtio", "notifications", "Kicks", false, NULL, NULL };

/* Two disks, a vCPU, queue and label samples, interleaved families. */
static void sample_set(struct ctr_set *s)
{
	ctr_group(s, "_disk0", "device", "_disk0");
	ctr_put(s, &d_read, -1, 4194304);
	ctr_put(s, &d_kicks, 0, 7);
	ctr_put(s, &d_kicks, 1, 8);
	ctr_put(s, &d_depth, -1, 3);
	ctr_group(s, "my\"disk", "device", "my\"disk");
	ctr_put(s, &d_read, -1, 1);
	ctr_group(s, "__vcpu0", "vcpu", "0");
	ctr_put(s, &d_exit_io, -1, 10);
	ctr_put(s, &d_exit_hlt, -1, 2);
}

static void counters_inc_and_read(void **state)
{
	uint64_t c = 0;
	(void)state;
	ctr_inc(&c, 3);
	ctr_bump(&c, 4);
	assert_int_equal(ctr_read(&c), 7);
}

static void set_groups_and_samples(void **state)
{
	struct ctr_set s = { 0 };
	(void)state;
	ctr_put(&s, &d_read, -1, 1); /* no group yet: an error, not a crash */
	assert_int_equal(ctr_set_rc(&s), -ENOMEM);
	ctr_set_free(&s);
	sample_set(&s);
	assert_int_equal(ctr_set_rc(&s), 0);
	assert_int_equal(s.ng, 3);
	assert_int_equal(s.nc, 7);
	assert_string_equal(s.g[s.c[5].group].id, "__vcpu0");
	assert_int_equal(s.c[2].queue, 1);
	for (int i = 0; i < 100; i++) /* growth */
		ctr_put(&s, &d_read, -1, (uint64_t)i);
	assert_int_equal(s.nc, 107);
	ctr_set_free(&s);
	assert_null(s.c);
}

static void virtio_core_counts(void **state)
{
	struct virtio_dev d = { .name = "test", .num_queues = 2 };
	struct ctr_set s = { 0 };
	(void)state;
	d.stats.kicks[1] = 5;
	d.stats.irqs[0] = 2;
	virtio_dev_broken(&d, 1, "bad descriptor");
	virtio_dev_broken(&d, 1, "again"); /* logged once, counted twice */
	ctr_group(&s, "_x0", "device", "_x0");
	virtio_dev_counters(&d, &s);
	json_t *j;
	assert_int_equal(metrics_json(&s, &j), 0);
	json_t *x = json_object_get(j, "_x0");
	assert_non_null(x);
	assert_int_equal(json_integer_value(json_object_get(x, "notifications_q1")), 5);
	assert_int_equal(json_integer_value(json_object_get(x, "notifications_q0")), 0);
	assert_int_equal(json_integer_value(json_object_get(x, "interrupts_q0")), 2);
	assert_int_equal(json_integer_value(json_object_get(x, "queue_errors")), 2);
	assert_int_equal(json_integer_value(json_object_get(x, "needs_reset")), 1);
	json_decref(j);
	ctr_set_free(&s);
}

struct loop_ctx {
	int runs;
	int fd;
};

static void loop_run(void *opaque, uint64_t fired)
{
	struct loop_ctx *c = opaque;
	if (fired != VIRTIO_LOOP_START)
		__atomic_add_fetch(&c->runs, 1, __ATOMIC_SEQ_CST);
}

static void loop_counts_eventfd_reads(void **state)
{
	struct virtio_loop l;
	struct loop_ctx c = { 0 };
	uint64_t kicks = 0, three = 3;
	(void)state;
	c.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(c.fd >= 0);
	assert_int_equal(virtio_loop_init(&l, SC_RNG, NULL, loop_run, &c), 0);
	virtio_loop_count(&l, 4, &kicks);
	assert_int_equal(virtio_loop_add(&l, c.fd, EPOLLIN, 4, true), 0);
	assert_int_equal(virtio_loop_start(&l), 0);
	assert_int_equal(write(c.fd, &three, sizeof(three)), sizeof(three));
	for (int i = 0; i < 2000 && !__atomic_load_n(&c.runs, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	assert_int_equal(ctr_read(&kicks), 3); /* one wake-up, three kicks */
	virtio_loop_stop(&l);
	close(c.fd);
}

static void json_shape(void **state)
{
	struct ctr_set s = { 0 };
	json_t *j;
	(void)state;
	sample_set(&s);
	assert_int_equal(metrics_json(&s, &j), 0);
	char *text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(text, "{\"__vcpu0\":{\"exits_hlt\":2,\"exits_io\":10},"
				  "\"_disk0\":{\"depth\":3,\"notifications_q0\":7,"
				  "\"notifications_q1\":8,\"read_bytes\":4194304},"
				  "\"my\\\"disk\":{\"read_bytes\":1}}");
	free(text);
	json_decref(j);
	ctr_set_free(&s);
}

static const char want_prom[] =
	"# HELP svmm_disk_read_bytes_total Bytes read\n"
	"# TYPE svmm_disk_read_bytes_total counter\n"
	"svmm_disk_read_bytes_total{vm=\"vm1\",device=\"_disk0\"} 4194304\n"
	"svmm_disk_read_bytes_total{vm=\"vm1\",device=\"my\\\"disk\"} 1\n"
	"# HELP svmm_virtio_notifications_total Kicks\n"
	"# TYPE svmm_virtio_notifications_total counter\n"
	"svmm_virtio_notifications_total{vm=\"vm1\",device=\"_disk0\",queue=\"0\"} 7\n"
	"svmm_virtio_notifications_total{vm=\"vm1\",device=\"_disk0\",queue=\"1\"} 8\n"
	"# HELP svmm_disk_depth A gauge with \\\\ and\\nnewline\n"
	"# TYPE svmm_disk_depth gauge\n"
	"svmm_disk_depth{vm=\"vm1\",device=\"_disk0\"} 3\n"
	"# HELP svmm_vcpu_exits_total Exits\n"
	"# TYPE svmm_vcpu_exits_total counter\n"
	"svmm_vcpu_exits_total{vm=\"vm1\",vcpu=\"0\",reason=\"io\"} 10\n"
	"svmm_vcpu_exits_total{vm=\"vm1\",vcpu=\"0\",reason=\"hlt\"} 2\n";

static void prometheus_text(void **state)
{
	struct ctr_set s = { 0 };
	char *text;
	size_t len;
	(void)state;
	sample_set(&s);
	assert_int_equal(metrics_prometheus(&s, "vm1", &text, &len), 0);
	assert_string_equal(text, want_prom);
	assert_int_equal(len, strlen(want_prom));
	free(text);
	ctr_set_free(&s);
	/* nothing at all is an empty text */
	assert_int_equal(metrics_prometheus(&s, "vm1", &text, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(text, "");
	free(text);
}

/* The reference parser reads what we write: the families, their types and
 * every sample with its labels. */
static const char checker[] =
	"import sys\n"
	"from prometheus_client.parser import text_string_to_metric_families as f\n"
	"for m in f(sys.stdin.read()):\n"
	"    for s in m.samples:\n"
	"        print(m.name, m.type, s.name, ','.join('%s=%s' % kv for kv in "
	"sorted(s.labels.items())), int(s.value))\n";

static const char *python_with_client(void)
{
	static const char *const cands[] = { "/usr/bin/python3", "python3" };
	for (size_t i = 0; i < 2; i++) {
		char cmd[256];
		snprintf(cmd, sizeof(cmd),
			 "%s -c 'import prometheus_client.parser' >/dev/null 2>&1", cands[i]);
		if (system(cmd) == 0)
			return cands[i];
	}
	return NULL;
}

static void prometheus_parsed_by_reference(void **state)
{
	const char *py = python_with_client();
	char in[] = "/tmp/svmm-test-prom.XXXXXX", cmd[512], out[4096];
	(void)state;
	if (!py) {
		fprintf(stderr, "# python3-prometheus-client is not installed: skipped\n");
		skip();
	}
	int fd = mkstemp(in);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, want_prom, strlen(want_prom)), (ssize_t)strlen(want_prom));
	close(fd);
	char script[] = "/tmp/svmm-test-prom-py.XXXXXX";
	fd = mkstemp(script);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, checker, strlen(checker)), (ssize_t)strlen(checker));
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s %s <%s 2>&1", py, script, in);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	int st = pclose(p);
	unlink(in);
	unlink(script);
	if (st != 0)
		fail_msg("the parser failed: %s", out);
	assert_string_equal(
		out,
		"svmm_disk_read_bytes counter svmm_disk_read_bytes_total device=_disk0,vm=vm1 "
		"4194304\n"
		"svmm_disk_read_bytes counter svmm_disk_read_bytes_total device=my\"disk,vm=vm1 1\n"
		"svmm_virtio_notifications counter svmm_virtio_notifications_total "
		"device=_disk0,queue=0,vm=vm1 7\n"
		"svmm_virtio_notifications counter svmm_virtio_notifications_total "
		"device=_disk0,queue=1,vm=vm1 8\n"
		"svmm_disk_depth gauge svmm_disk_depth device=_disk0,vm=vm1 3\n"
		"svmm_vcpu_exits counter svmm_vcpu_exits_total reason=io,vcpu=0,vm=vm1 10\n"
		"svmm_vcpu_exits counter svmm_vcpu_exits_total reason=hlt,vcpu=0,vm=vm1 2\n");
}

static void spec_parse(void **state)
{
	struct metrics_spec sp;
	struct err err = { 0 };
	(void)state;
	assert_int_equal(metrics_spec_parse("path=/run/m.sock", &sp, &err), 0);
	assert_string_equal(sp.path, "/run/m.sock");
	assert_false(sp.tcp);
	assert_int_equal(metrics_spec_parse("addr=127.0.0.1:9100,id=vm7", &sp, &err), 0);
	assert_true(sp.tcp);
	assert_int_equal(sp.port, 9100);
	assert_int_equal(sp.addr, htonl(0x7f000001));
	assert_string_equal(sp.id, "vm7");
	static const char *const bad[] = {
		"",
		"path=/a,addr=1.2.3.4:5",
		"addr=1.2.3.4",
		"addr=localhost:80",
		"addr=1.2.3.4:0",
		"addr=1.2.3.4:65536",
		"addr=1.2.3.4:x",
		"path=",
		"path=/a,color=red",
		"id=x",
		"path=/a,id=",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = (struct err){ 0 };
		assert_int_equal(metrics_spec_parse(bad[i], &sp, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "--metrics"));
	}
}

static const struct ctr_desc d_test = { "test", "calls", "Scrapes", false, NULL, NULL };

static int collect(void *ctx, struct ctr_set *out)
{
	int *calls = ctx;
	ctr_group(out, "_test0", "device", "_test0");
	ctr_put(out, &d_test, -1, (uint64_t)++ * calls);
	return 0;
}

/* One GET on the Unix socket: the whole answer in buf. */
static void get(const char *path, const char *target, char *buf, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char req[256];
	size_t n = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	int k = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", target);
	assert_int_equal(write(fd, req, (size_t)k), k);
	for (ssize_t r; n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0;)
		n += (size_t)r;
	buf[n] = 0;
	close(fd);
}

static void endpoint_on_unix_socket(void **state)
{
	struct metrics_server m;
	struct err err = { 0 };
	char dir[] = "/tmp/svmm-test-metrics.XXXXXX", spec[160], path[128], buf[8192];
	int calls = 0;
	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/m.sock", dir);
	snprintf(spec, sizeof(spec), "path=%s", path);
	assert_int_equal(metrics_server_open(&m, spec, "vmA", collect, &calls, &err), 0);
	assert_int_equal(metrics_server_start(&m), 0);
	get(path, "/metrics", buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 200"));
	assert_non_null(strstr(buf, "Content-Type: text/plain; version=0.0.4"));
	assert_non_null(strstr(buf, "svmm_test_calls_total{vm=\"vmA\",device=\"_test0\"} 1\n"));
	assert_non_null(strstr(buf, "# TYPE svmm_process_resident_memory_bytes gauge\n"));
	assert_non_null(strstr(buf, "svmm_process_cpu_user_microseconds_total{vm=\"vmA\"} "));
	get(path, "/metrics?x=1", buf, sizeof(buf));
	assert_non_null(strstr(buf, "svmm_test_calls_total{vm=\"vmA\",device=\"_test0\"} 2\n"));
	get(path, "/other", buf, sizeof(buf));
	assert_non_null(strstr(buf, "HTTP/1.1 404"));
	metrics_server_close(&m);
	assert_int_equal(access(path, F_OK), -1); /* unlinked */
	metrics_server_close(&m);		  /* twice is nothing */
	rmdir(dir);
}

static void log_json_lines(void **state)
{
	int p[2], saved = dup(STDERR_FILENO);
	char buf[2048];
	(void)state;
	assert_int_equal(pipe(p), 0);
	dup2(p[1], STDERR_FILENO);
	log_json("vm-9", LV_WARN, "virtio-blk", "a \"quoted\"\tline\\");
	log_json(NULL, LV_INFO, NULL, "second");
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(p[1]);
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	assert_true(n > 0);
	buf[n] = 0;
	char *nl = strchr(buf, '\n');
	assert_non_null(nl);
	*nl = 0;
	json_error_t je;
	json_t *j = json_loads(buf, 0, &je);
	if (!j)
		fail_msg("not JSON: %s (%s)", buf, je.text);
	assert_string_equal(json_string_value(json_object_get(j, "level")), "warn");
	assert_string_equal(json_string_value(json_object_get(j, "subsystem")), "virtio-blk");
	assert_string_equal(json_string_value(json_object_get(j, "vm")), "vm-9");
	assert_string_equal(json_string_value(json_object_get(j, "msg")), "a \"quoted\"\tline\\");
	const char *t = json_string_value(json_object_get(j, "time"));
	assert_non_null(t);
	assert_int_equal(strlen(t), strlen("2026-01-01T00:00:00.000000Z"));
	json_decref(j);
	j = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "vm")), "");
	assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counters_inc_and_read),
		cmocka_unit_test(set_groups_and_samples),
		cmocka_unit_test(virtio_core_counts),
		cmocka_unit_test(loop_counts_eventfd_reads),
		cmocka_unit_test(json_shape),
		cmocka_unit_test(prometheus_text),
		cmocka_unit_test(prometheus_parsed_by_reference),
		cmocka_unit_test(spec_parse),
		cmocka_unit_test(endpoint_on_unix_socket),
		cmocka_unit_test(log_json_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
