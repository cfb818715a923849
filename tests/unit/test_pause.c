// SPDX-License-Identifier: Apache-2.0
/*
 * What vm.pause stops besides the vCPUs, without KVM: the devices' gate
 * (devices/virtio/loop.h) holds every I/O thread of a VM before its next
 * run(), waits for the run in progress, lets a held loop stop, and lets
 * everything that fired meanwhile run once it opens; the 16550's input
 * thread takes no byte in and raises no interrupt while paused.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/chardev.h"
#include "devices/serial.h"
#include "devices/virtio/loop.h"
#include "vmm/kvm/bus.h"

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&t, NULL);
}

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* Wait up to ms for *v to reach at least want. */
static bool wait_for(atomic_int *v, int want, long ms)
{
	for (long end = now_ms() + ms; now_ms() < end; sleep_ms(2))
		if (atomic_load(v) >= want)
			return true;
	return atomic_load(v) >= want;
}

/* --- the gate ----------------------------------------------------------- */

struct counting {
	atomic_int starts, runs, in_run;
	atomic_uint_fast64_t fired;
	long run_ms; /* how long each run() takes */
};

static void count_run(void *opaque, uint64_t fired)
{
	struct counting *c = opaque;

	atomic_fetch_add(&c->in_run, 1);
	if (c->run_ms)
		sleep_ms(c->run_ms);
	if (fired == VIRTIO_LOOP_START) {
		atomic_fetch_add(&c->starts, 1);
	} else {
		atomic_fetch_or(&c->fired, fired);
		atomic_fetch_add(&c->runs, 1);
	}
	atomic_fetch_sub(&c->in_run, 1);
}

static void kick(int efd)
{
	uint64_t one = 1;
	assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
}

/* A loop of gate g with one eventfd on tag 3. */
static void loop_open(struct virtio_loop *l, struct virtio_gate *g, struct counting *c, int *efd)
{
	*efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(*efd >= 0);
	assert_int_equal(virtio_loop_init(l, SC_RNG, g, count_run, c), 0);
	assert_int_equal(virtio_loop_add(l, *efd, EPOLLIN, 3, true), 0);
}

static void gate_holds_runs_until_open(void **state)
{
	struct virtio_gate g;
	struct virtio_loop l;
	struct counting c = { 0 };
	int efd;
	(void)state;

	virtio_gate_init(&g);
	loop_open(&l, &g, &c, &efd);
	virtio_gate_close(&g); /* paused before the thread even starts */
	assert_int_equal(virtio_loop_start(&l), 0);
	kick(efd);
	sleep_ms(150);
	assert_int_equal(atomic_load(&c.starts), 0); /* not even the first run */
	assert_int_equal(atomic_load(&c.runs), 0);
	kick(efd); /* more while held: not lost, run once open */
	virtio_gate_open(&g);
	assert_true(wait_for(&c.starts, 1, 2000));
	assert_true(wait_for(&c.runs, 1, 2000));
	assert_int_equal(atomic_load(&c.fired), 1ULL << 3);

	/* paused while running: a kick waits for the gate */
	int runs = atomic_load(&c.runs);
	virtio_gate_close(&g);
	kick(efd);
	sleep_ms(150);
	assert_int_equal(atomic_load(&c.runs), runs);
	virtio_gate_open(&g);
	assert_true(wait_for(&c.runs, runs + 1, 2000));

	/* no gate: a loop of its own, never held */
	struct virtio_loop free_loop;
	struct counting c2 = { 0 };
	int efd2;
	loop_open(&free_loop, NULL, &c2, &efd2);
	virtio_gate_close(&g);
	assert_int_equal(virtio_loop_start(&free_loop), 0);
	kick(efd2);
	assert_true(wait_for(&c2.runs, 1, 2000));
	virtio_loop_stop(&free_loop);
	virtio_gate_open(&g);

	virtio_loop_stop(&l);
	virtio_gate_destroy(&g);
	close(efd);
	close(efd2);
}

struct closer {
	struct virtio_gate *g;
	atomic_int done;
};

static void *close_gate(void *arg)
{
	struct closer *k = arg;
	virtio_gate_close(k->g);
	atomic_store(&k->done, 1);
	return NULL;
}

/* Closing waits for the run in progress: when it returns no run is on. */
static void gate_close_waits_for_the_run(void **state)
{
	struct virtio_gate g;
	struct virtio_loop l;
	struct counting c = { .run_ms = 300 };
	struct closer k = { .g = &g };
	pthread_t t;
	int efd;
	(void)state;

	virtio_gate_init(&g);
	loop_open(&l, &g, &c, &efd);
	assert_int_equal(virtio_loop_start(&l), 0);
	assert_true(wait_for(&c.starts, 1, 2000)); /* the first run, 300 ms */
	kick(efd);
	assert_true(wait_for(&c.in_run, 1, 2000)); /* the kick's run is on */
	assert_int_equal(pthread_create(&t, NULL, close_gate, &k), 0);
	sleep_ms(100);
	assert_int_equal(atomic_load(&k.done), 0); /* still inside run() */
	pthread_join(t, NULL);
	assert_int_equal(atomic_load(&c.in_run), 0);
	int runs = atomic_load(&c.runs);
	kick(efd);
	sleep_ms(100);
	assert_int_equal(atomic_load(&c.runs), runs);
	assert_int_equal(atomic_load(&c.in_run), 0);
	virtio_gate_open(&g);
	virtio_loop_stop(&l);
	virtio_gate_destroy(&g);
	close(efd);
}

/* A loop held at a closed gate stops (a device reset or the VM's end while
 * paused) without running. */
static void held_loop_stops(void **state)
{
	struct virtio_gate g;
	struct virtio_loop l;
	struct counting c = { 0 };
	int efd;
	(void)state;

	virtio_gate_init(&g);
	loop_open(&l, &g, &c, &efd);
	assert_int_equal(virtio_loop_start(&l), 0);
	assert_true(wait_for(&c.starts, 1, 2000));
	virtio_gate_close(&g);
	kick(efd);
	sleep_ms(50); /* the thread took the kick and waits at the gate */
	long t0 = now_ms();
	virtio_loop_stop(&l);
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(atomic_load(&c.runs), 0);
	virtio_gate_open(&g);
	virtio_gate_destroy(&g);
	close(efd);
}

/* --- the serial input --------------------------------------------------- */

#define COM1 SERIAL_COM1_BASE

static atomic_int irq_level, irq_raises;

static void serial_irq(void *opaque, uint32_t irq, int level)
{
	(void)opaque;
	(void)irq;
	atomic_store(&irq_level, level);
	if (level)
		atomic_fetch_add(&irq_raises, 1);
}

static uint8_t in8(struct bus *b, uint64_t port)
{
	uint8_t v;
	bus_access(b, port, &v, 1, false);
	return v;
}

static void out8(struct bus *b, uint64_t port, uint8_t v)
{
	bus_access(b, port, &v, 1, true);
}

static bool data_ready(struct bus *b, long ms)
{
	for (long end = now_ms() + ms; now_ms() < end; sleep_ms(2))
		if (in8(b, COM1 + 5) & 0x01)
			return true;
	return false;
}

static void serial_input_held_while_paused(void **state)
{
	struct err err = { 0 };
	struct chardev cd;
	struct serial s;
	struct bus b;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[64];
	(void)state;

	snprintf(path, sizeof(path), "/tmp/svmm-test-pause-%d.sock", (int)getpid());
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(chardev_init(&cd, CHARDEV_SOCKET, path, &err), 0);
	assert_int_equal(chardev_open(&cd, &err), 0);
	bus_init(&b);
	assert_int_equal(serial_init(&s, &cd, SERIAL_COM1_IRQ, serial_irq, NULL), 0);
	assert_int_equal(serial_register(&s, &b, COM1), 0);
	assert_int_equal(serial_start(&s), 0);
	out8(&b, COM1 + 1, 0x01); /* IER: received-data interrupt */

	int cl = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(cl >= 0);
	assert_int_equal(connect(cl, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(cl, "a", 1), 1);
	assert_true(data_ready(&b, 2000));
	assert_int_equal(atomic_load(&irq_level), 1);
	assert_int_equal(in8(&b, COM1), 'a');
	assert_int_equal(atomic_load(&irq_level), 0);

	serial_pause(&s);
	int raises = atomic_load(&irq_raises);
	assert_int_equal(write(cl, "b", 1), 1);
	assert_false(data_ready(&b, 200));
	assert_int_equal(atomic_load(&irq_raises), raises);
	serial_resume(&s);
	assert_true(data_ready(&b, 2000));
	assert_int_equal(in8(&b, COM1), 'b');
	assert_true(atomic_load(&irq_raises) > raises);

	/* paused at the end: the input thread still stops */
	serial_pause(&s);
	assert_int_equal(write(cl, "c", 1), 1);
	sleep_ms(50);
	long t0 = now_ms();
	serial_destroy(&s);
	assert_true(now_ms() - t0 < 1000);
	close(cl);
	chardev_close(&cd);
	bus_free(&b);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gate_holds_runs_until_open),
		cmocka_unit_test(gate_close_waits_for_the_run),
		cmocka_unit_test(held_loop_stops),
		cmocka_unit_test(serial_input_held_while_paused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
