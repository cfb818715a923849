// SPDX-License-Identifier: Apache-2.0
/*
 * The seccomp filters (vmm/kvm/seccomp.h), in the spirit of Firecracker's
 * filter test: for every thread kind, a child installs that kind's filter
 * in kill mode and makes each allowed call with its allowed arguments (the
 * others -1, so the kernel answers EBADF, EFAULT or EINVAL and nothing
 * happens): it must not die of SIGSYS. Then each forbidden call, each in a
 * child of its own, must kill it with SIGSYS and the line that names the
 * thread and the call. No /dev/kvm needed: an allowed KVM ioctl on fd -1
 * answers EBADF. Prints how many syscalls each kind allows.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <linux/vhost.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices/virtio/loop.h"
#include "vmm/kvm/seccomp.h"

#define NONE (~0ull)

/* One call: number and six arguments. */
struct call {
	const char *what;
	long nr;
	uint64_t a[6];
};

struct outcome {
	int status;
	char err[512];
};

/* In a child: install kind's filter (kill mode, with the SIGSYS report)
 * and make the call; exit 0 after it returns (expect_errno: exit 0 only if
 * it failed with that errno). */
static struct outcome run_call(enum sc_thread kind, const struct call *c, int expect_errno)
{
	struct outcome o = { .status = -1 };
	int p[2];

	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no_core);
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		sc_set_mode(SC_KILL);
		if (sc_install_mode(kind, SC_KILL))
			_exit(3);
		long r = syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
		_exit(!expect_errno || (r < 0 && errno == expect_errno) ? 0 : 4);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t k;
	while ((k = read(p[0], o.err + n, sizeof(o.err) - 1 - n)) > 0)
		n += (size_t)k;
	o.err[n] = 0;
	close(p[0]);
	assert_int_equal(waitpid(pid, &o.status, 0), pid);
	return o;
}

static bool killed_by_filter(const struct outcome *o)
{
	return WIFSIGNALED(o->status) && WTERMSIG(o->status) == SIGSYS;
}

/* --- every allowed rule is allowed -------------------------------------- */

struct walk {
	enum sc_thread kind;
	unsigned int calls, failures;
};

static void try_rule(void *ctx, const struct sc_rule *r)
{
	struct walk *w = ctx;
	struct call c = { .what = "rule", .nr = r->nr };

	for (unsigned int i = 0; i < 6; i++)
		c.a[i] = NONE;
	for (unsigned int i = 0; i < r->ncond; i++)
		c.a[r->cond[i].arg] = (c.a[r->cond[i].arg] & ~r->cond[i].mask) | r->cond[i].value;
	struct outcome o = run_call(w->kind, &c, r->err);
	w->calls++;
	bool ok = !killed_by_filter(&o) && !strstr(o.err, "not allowed") &&
		  !(WIFEXITED(o.status) &&
		    (WEXITSTATUS(o.status) == 3 || WEXITSTATUS(o.status) == 4));
	if (!ok) {
		w->failures++;
		print_message("# %s: syscall %d (arg%u=%#llx) refused: status %#x, %s\n",
			      sc_thread_name(w->kind), r->nr, r->ncond ? r->cond[0].arg : 0,
			      r->ncond ? (unsigned long long)c.a[r->cond[0].arg] : 0ull, o.status,
			      o.err);
	}
}

static void allowed_calls_pass(void **state)
{
	(void)state;
	for (int k = 0; k < SC_NKINDS; k++) {
		struct walk w = { .kind = (enum sc_thread)k };
		sc_for_each_rule(w.kind, try_rule, &w);
		assert_true(w.calls > 0);
		assert_int_equal(w.failures, 0);
	}
}

/* --- forbidden calls kill ------------------------------------------------ */

#define CALL(name, ...)             \
	{                           \
#name, SYS_##name,  \
		{                   \
			__VA_ARGS__ \
		}                   \
	}

static const struct call common_forbidden[] = {
	CALL(execve, 0, 0, 0),
	CALL(execveat, NONE, 0, 0, 0, 0),
	CALL(ptrace, PTRACE_TRACEME, 0, 0, 0),
	CALL(mount, 0, 0, 0, 0, 0),
	CALL(umount2, 0, 0),
	CALL(setuid, 0),
	CALL(setgid, 0),
	CALL(setresuid, 0, 0, 0),
	CALL(unshare, CLONE_NEWUSER),
	CALL(setns, NONE, 0),
	CALL(chroot, 0),
	CALL(pivot_root, 0, 0),
	CALL(init_module, 0, 0, 0),
	CALL(bpf, 0, 0, 0),
	CALL(kexec_load, 0, 0, 0, 0),
	CALL(process_vm_writev, 0, 0, 0, 0, 0, 0),
	CALL(personality, 0xffffffff),
	CALL(keyctl, 0, 0, 0, 0, 0),
	CALL(fork),
	CALL(vfork),
	CALL(kill, 0, 0),
	/* a new process, not a thread: clone without CLONE_THREAD */
	CALL(clone, SIGCHLD, 0, 0, 0, 0),
	/* executable memory */
	CALL(mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, NONE, 0),
	CALL(mprotect, 0, 4096, PROT_READ | PROT_EXEC),
	CALL(socket, AF_PACKET, SOCK_RAW, 0),
	CALL(socket, AF_VSOCK, SOCK_STREAM, 0),
	/* a terminal's input queue, a KVM ioctl no thread needs */
	CALL(ioctl, NONE, TIOCSTI, 0),
	CALL(ioctl, NONE, KVM_SET_TSC_KHZ, 0),
};

/* Where a kind refuses more than the common list. */
static const struct call vcpu_forbidden[] = {
	CALL(socket, AF_INET, SOCK_STREAM, 0),
	CALL(socket, AF_NETLINK, SOCK_RAW, 0),
	CALL(openat, NONE, 0, O_RDWR | O_CREAT, 0600),
	CALL(ioctl, NONE, KVM_CREATE_VM, 0),
	/* (KVM_SET_USER_MEMORY_REGION is a vCPU's: a VFIO BAR's mapped pieces
	 * become memory slots when the guest programs the BAR) */
	CALL(ioctl, NONE, TUNSETIFF, 0),
	CALL(bind, NONE, 0, 0),
	CALL(listen, NONE, 0),
	CALL(memfd_create, 0, 0),
	CALL(unlink, 0),
	CALL(rt_sigaction, SIGSYS, 0, 0, 8),
	/* device activation and reset are the devmgr's: no threads, rings,
	 * eventfds, epoll sets, vhost or vhost-user from a vCPU */
	CALL(clone, CLONE_VM | CLONE_THREAD | CLONE_SIGHAND, 0, 0, 0, 0),
	CALL(clone3, 0, 0),
	CALL(seccomp, 0, 0, 0),
	CALL(prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
	CALL(set_robust_list, 0, 0),
	CALL(io_uring_setup, 0, 0),
	CALL(io_uring_enter, NONE, 0, 0, 0, 0, 0),
	CALL(io_uring_register, NONE, 0, 0, 0),
	CALL(eventfd2, 0, 0),
	CALL(epoll_create1, 0),
	CALL(epoll_ctl, NONE, 0, NONE, 0),
	CALL(epoll_wait, NONE, 0, 0, 0),
	CALL(openat, NONE, 0, O_RDWR, 0),
	CALL(sendmsg, NONE, 0, 0),
	CALL(socket, AF_UNIX, SOCK_STREAM, 0),
	CALL(readv, NONE, 0, 0),
	CALL(ioctl, NONE, VHOST_SET_OWNER, 0),
	CALL(ioctl, NONE, VHOST_SET_MEM_TABLE, 0),
	/* VFIO set-up is the process's; a vCPU only programs MSI-X and BAR
	 * slots */
	CALL(ioctl, NONE, VFIO_GROUP_GET_DEVICE_FD, 0),
	CALL(ioctl, NONE, VFIO_IOMMU_MAP_DMA, 0),
	CALL(ioctl, NONE, KVM_CREATE_DEVICE, 0),
	CALL(ioctl, NONE, TUNSETOFFLOAD, 0),
	/* the guest clock is vm.pause's, on the API thread */
	CALL(ioctl, NONE, KVM_GET_CLOCK, 0),
	CALL(ioctl, NONE, KVM_SET_CLOCK, 0),
	/* snapshot and restore are the API's and the VM thread's (vmm) */
	CALL(ioctl, NONE, KVM_GET_LAPIC, 0),
	CALL(ioctl, NONE, KVM_SET_LAPIC, 0),
	CALL(ioctl, NONE, KVM_GET_MSRS, 0),
	CALL(ioctl, NONE, KVM_GET_XSAVE, 0),
	CALL(ioctl, NONE, KVM_SET_IRQCHIP, 0),
	CALL(ioctl, NONE, KVM_SET_PIT2, 0),
	CALL(mincore, 0, 0, 0),
};

/* What the devmgr needs (activation), which the vCPU now refuses. */
static const struct call devmgr_allowed[] = {
	CALL(eventfd2, 0, EFD_CLOEXEC),
	CALL(epoll_create1, EPOLL_CLOEXEC),
	CALL(io_uring_setup, 0, 0),
	CALL(io_uring_register, NONE, 0, 0, 0),
	CALL(clone, CLONE_THREAD | NONE, 0, 0, 0, 0),
	CALL(set_robust_list, 0, 0),
	CALL(seccomp, NONE, 0, 0),
	CALL(sendmsg, NONE, 0, 0),
	CALL(ioctl, NONE, VHOST_SET_OWNER, 0),
	CALL(ioctl, NONE, TUNSETOFFLOAD, 0),
	CALL(close, NONE),
	/* a hot-removed device's ioeventfds, irqfds and routes */
	CALL(ioctl, NONE, KVM_IOEVENTFD, 0),
	CALL(ioctl, NONE, KVM_IRQFD, 0),
	CALL(ioctl, NONE, KVM_SET_GSI_ROUTING, 0),
	CALL(ioctl, NONE, KVM_SET_USER_MEMORY_REGION, 0),
};

/* The devmgr starts threads and opens /dev/vhost-net, but no more (the
 * unix sockets it allows are the vsock threads', which inherit its list). */
static const struct call devmgr_forbidden[] = {
	CALL(socket, AF_INET, SOCK_STREAM, 0),
	CALL(socket, AF_NETLINK, SOCK_RAW, 0),
	CALL(open, 0, 0, 0),
	CALL(openat, NONE, 0, O_RDWR | O_CREAT, 0600),
	CALL(ioctl, NONE, KVM_RUN, 0),
	CALL(ioctl, NONE, KVM_CREATE_VM, 0),
	CALL(ioctl, NONE, KVM_GET_CLOCK, 0),
	CALL(ioctl, NONE, KVM_SET_CLOCK, 0),
	CALL(ioctl, NONE, KVM_GET_IRQCHIP, 0),
	CALL(ioctl, NONE, KVM_SET_VCPU_EVENTS, 0),
	CALL(ioctl, NONE, TUNSETIFF, 0),
	CALL(bind, NONE, 0, 0),
	CALL(listen, NONE, 0),
	CALL(unlink, 0),
	CALL(memfd_create, 0, 0),
	CALL(rt_sigaction, SIGSYS, 0, 0, 8),
};

static const struct call dev_forbidden[] = {
	CALL(socket, AF_INET, SOCK_STREAM, 0),
	CALL(open, 0, 0, 0),
	CALL(openat, NONE, 0, O_RDONLY, 0),
	CALL(ioctl, NONE, KVM_RUN, 0),
	CALL(ioctl, NONE, KVM_IRQFD, 0),
	CALL(ioctl, NONE, KVM_GET_CLOCK, 0),
	CALL(ioctl, NONE, KVM_SET_CLOCK, 0),
	CALL(ioctl, NONE, KVM_GET_LAPIC, 0),
	CALL(ioctl, NONE, KVM_GET_MSR_INDEX_LIST, 0),
	CALL(clone, CLONE_VM | CLONE_THREAD | CLONE_SIGHAND, 0, 0, 0, 0),
	CALL(clone3, 0, 0),
	CALL(seccomp, 0, 0, 0),
	CALL(prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
	CALL(io_uring_setup, 0, 0),
	CALL(bind, NONE, 0, 0),
	CALL(listen, NONE, 0),
	CALL(unlink, 0),
	CALL(memfd_create, 0, 0),
};

/* Kinds that have neither sockets nor io_uring. */
static const struct call quiet_forbidden[] = {
	CALL(socket, AF_UNIX, SOCK_STREAM, 0),
	CALL(connect, NONE, 0, 0),
	CALL(sendmsg, NONE, 0, 0),
	CALL(io_uring_enter, NONE, 0, 0, 0, 0, 0),
	CALL(readv, NONE, 0, 0),
	CALL(ioctl, NONE, TUNSETOFFLOAD, 0),
};

#ifdef __SANITIZE_ADDRESS__
#define SANITIZER 1
#else
#define SANITIZER 0
#endif

static unsigned int must_kill(enum sc_thread kind, const struct call *c, size_t n)
{
	char want[96];
	unsigned int bad = 0;

	snprintf(want, sizeof(want), "svmm: seccomp: thread %s: syscall ", sc_thread_name(kind));
	for (size_t i = 0; i < n; i++) {
		/* what the sanitizer runtimes need is allowed everywhere there */
		if (SANITIZER &&
		    (c[i].nr == SYS_openat || c[i].nr == SYS_prctl || c[i].nr == SYS_rt_sigaction))
			continue;
		struct outcome o = run_call(kind, &c[i], 0);
		if (!killed_by_filter(&o) || !strstr(o.err, want) ||
		    !strstr(o.err, "not allowed")) {
			bad++;
			print_message("# %s: %s (nr %ld) was not killed: status %#x, stderr '%s'\n",
				      sc_thread_name(kind), c[i].what, c[i].nr, o.status, o.err);
		}
	}
	return bad;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void forbidden_calls_kill(void **state)
{
	unsigned int bad = 0;

	(void)state;
	for (int k = 0; k < SC_NKINDS; k++) {
		enum sc_thread kind = (enum sc_thread)k;
		bad += must_kill(kind, common_forbidden, N(common_forbidden));
		if (kind == SC_VCPU)
			bad += must_kill(kind, vcpu_forbidden, N(vcpu_forbidden));
		if (kind == SC_DEVMGR)
			bad += must_kill(kind, devmgr_forbidden, N(devmgr_forbidden));
		if (kind != SC_VMM && kind != SC_VCPU && kind != SC_DEVMGR)
			bad += must_kill(kind, dev_forbidden, N(dev_forbidden));
		if (kind == SC_SERIAL || kind == SC_FS || kind == SC_RNG)
			bad += must_kill(kind, quiet_forbidden, N(quiet_forbidden));
	}
	assert_int_equal(bad, 0);
}

/* The devmgr (and the process) allow what activation needs. */
static void devmgr_allows_activation(void **state)
{
	static const enum sc_thread kinds[] = { SC_DEVMGR, SC_VMM };
	unsigned int bad = 0;

	(void)state;
	for (size_t k = 0; k < N(kinds); k++)
		for (size_t i = 0; i < N(devmgr_allowed); i++) {
			struct outcome o = run_call(kinds[k], &devmgr_allowed[i], 0);
			if (killed_by_filter(&o) || strstr(o.err, "not allowed") ||
			    !WIFEXITED(o.status) || WEXITSTATUS(o.status)) {
				bad++;
				print_message("# %s: %s (nr %ld) refused: status %#x, %s\n",
					      sc_thread_name(kinds[k]), devmgr_allowed[i].what,
					      devmgr_allowed[i].nr, o.status, o.err);
			}
		}
	assert_int_equal(bad, 0);
}

/* The report names the call. */
static void report_names_the_call(void **state)
{
	const struct call c = CALL(execve, 0, 0, 0);
	struct outcome o = run_call(SC_RNG, &c, 0);
	char want[96];

	(void)state;
	snprintf(want, sizeof(want), "svmm: seccomp: thread rng: syscall %d (execve) not allowed\n",
		 SYS_execve);
	assert_true(killed_by_filter(&o));
	assert_string_equal(o.err, want);
}

/* --- the lists stack: a thread's creators allow what it needs ----------- */

struct list {
	const struct sc_rule *r[512];
	unsigned int n;
};

static void collect(void *ctx, const struct sc_rule *r)
{
	struct list *l = ctx;
	if (l->n < 512)
		l->r[l->n++] = r;
}

static bool covers(const struct list *parent, const struct sc_rule *r)
{
	for (unsigned int i = 0; i < parent->n; i++) {
		const struct sc_rule *p = parent->r[i];
		if (p->nr != r->nr || p->err != r->err)
			continue;
		if (!p->ncond ||
		    (r->ncond == p->ncond && !memcmp(p->cond, r->cond, sizeof(p->cond[0]))))
			return true;
	}
	return false;
}

static void creators_cover_children(void **state)
{
	static const struct {
		enum sc_thread parent, child;
	} edges[] = {
		{ SC_VMM, SC_VCPU },   { SC_VMM, SC_DEVMGR }, { SC_VMM, SC_SERIAL },
		{ SC_DEVMGR, SC_BLK }, { SC_DEVMGR, SC_NET }, { SC_DEVMGR, SC_VSOCK },
		{ SC_DEVMGR, SC_FS },  { SC_DEVMGR, SC_RNG },
	};
	static struct list p, c;

	(void)state;
	for (size_t e = 0; e < N(edges); e++) {
		p.n = c.n = 0;
		sc_for_each_rule(edges[e].parent, collect, &p);
		sc_for_each_rule(edges[e].child, collect, &c);
		for (unsigned int i = 0; i < c.n; i++) {
			if (!covers(&p, c.r[i]))
				print_message("# %s lacks syscall %d that %s needs\n",
					      sc_thread_name(edges[e].parent), c.r[i]->nr,
					      sc_thread_name(edges[e].child));
			assert_true(covers(&p, c.r[i]));
		}
	}
}

/* --- the counts, and what an install costs ------------------------------- */

static void counts(void **state)
{
	(void)state;
	for (int k = 0; k < SC_NKINDS; k++) {
		int p[2];
		long us = -1;
		assert_int_equal(pipe(p), 0);
		pid_t pid = fork();
		if (pid == 0) {
			struct timespec t0, t1;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			int rc = sc_install_mode((enum sc_thread)k, SC_KILL);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			us = rc ? -1
				: (t1.tv_sec - t0.tv_sec) * 1000000L +
					     (t1.tv_nsec - t0.tv_nsec) / 1000;
			_exit(write(p[1], &us, sizeof(us)) == sizeof(us) ? 0 : 1);
		}
		close(p[1]);
		assert_int_equal(read(p[0], &us, sizeof(us)), sizeof(us));
		close(p[0]);
		int st;
		waitpid(pid, &st, 0);
		assert_true(us >= 0);
		print_message("# seccomp: thread %-6s allows %2u syscalls (install %ld us)\n",
			      sc_thread_name((enum sc_thread)k),
			      sc_allowed_count((enum sc_thread)k), us);
	}
	/* the device threads stay small; the vCPU holds only what KVM_RUN's
	 * exits need (Firecracker's vCPU filter: 27 syscalls); the devmgr is
	 * larger because the device threads it starts inherit its filter */
	assert_true(sc_allowed_count(SC_RNG) <= 20 + 15 * SANITIZER);
	assert_true(sc_allowed_count(SC_VCPU) <= 27 + 15 * SANITIZER);
	assert_true(sc_allowed_count(SC_VCPU) < sc_allowed_count(SC_DEVMGR));
	assert_true(sc_allowed_count(SC_DEVMGR) < sc_allowed_count(SC_VMM));
}

/* --- the real chain: vmm -> a devmgr-like thread -> device I/O threads --- */

struct chain {
	int done[2]; /* a pipe: each loop writes a byte when its kick arrived */
	int failed;
};

static void loop_run(void *opaque, uint64_t fired)
{
	struct chain *c = opaque;

	if (fired != VIRTIO_LOOP_START && (fired & 1) && write(c->done[1], "k", 1) != 1)
		c->failed = 1;
}

/* As the devmgr activating devices: its filter, then one I/O thread of
 * each kind started (pthread_create under the devmgr filter), kicked and
 * stopped (the thread's exit under its own). */
static void *devmgr_like(void *arg)
{
	struct chain *c = arg;

	if (sc_install(SC_DEVMGR)) {
		c->failed = 2;
		return NULL;
	}
	for (int k = SC_BLK; k <= SC_RNG; k++) {
		struct virtio_loop l;
		uint64_t one = 1;
		char b;
		int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (efd < 0 || virtio_loop_init(&l, (enum sc_thread)k, NULL, loop_run, c) ||
		    virtio_loop_add(&l, efd, EPOLLIN, 0, true) || virtio_loop_start(&l) ||
		    write(efd, &one, sizeof(one)) != sizeof(one) || read(c->done[0], &b, 1) != 1)
			c->failed = 10 + k;
		virtio_loop_stop(&l);
		close(efd);
	}
	return NULL;
}

static void device_threads_under_devmgr_under_vmm(void **state)
{
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct chain c = { .failed = 0 };
		pthread_t t;
		struct rlimit no_core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no_core);
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		if (pipe(c.done))
			_exit(5);
		sc_set_mode(SC_KILL);
		if (sc_install(SC_VMM))
			_exit(3);
		if (pthread_create(&t, NULL, devmgr_like, &c) || pthread_join(t, NULL))
			_exit(4);
		_exit(c.failed);
	}
	close(p[1]);
	char err[512];
	ssize_t n = read(p[0], err, sizeof(err) - 1);
	err[n > 0 ? n : 0] = 0;
	close(p[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		print_message("# chain: status %#x, stderr '%s'\n", st, err);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_string_equal(err, "");
}

static void mode_words(void **state)
{
	enum sc_mode m = SC_OFF;

	(void)state;
	assert_int_equal(sc_mode_parse("true", &m), 0);
	assert_int_equal(m, SC_KILL);
	assert_int_equal(sc_mode_parse("log", &m), 0);
	assert_int_equal(m, SC_LOG);
	assert_int_equal(sc_mode_parse("errno", &m), 0);
	assert_int_equal(m, SC_ERRNO);
	assert_int_equal(sc_mode_parse("false", &m), 0);
	assert_int_equal(m, SC_OFF);
	assert_int_equal(sc_mode_parse("maybe", &m), -EINVAL);
	assert_int_equal(sc_mode_parse(NULL, &m), -EINVAL);
	/* nothing set: nothing installed */
	assert_int_equal(sc_get_mode(), SC_OFF);
	assert_int_equal(sc_install(SC_VCPU), 0);
}

/* Log and errno modes let the process live. */
static void log_and_errno_modes(void **state)
{
	(void)state;
	for (int m = SC_LOG; m <= SC_ERRNO; m++) {
		pid_t pid = fork();
		if (pid == 0) {
			if (sc_install_mode(SC_RNG, (enum sc_mode)m))
				_exit(3);
			long r = syscall(SYS_getpgrp); /* on no list */
			_exit(m == SC_ERRNO ? (r < 0 && errno == EPERM ? 0 : 4) : (r > 0 ? 0 : 5));
		}
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mode_words),
		cmocka_unit_test(counts),
		cmocka_unit_test(creators_cover_children),
		cmocka_unit_test(report_names_the_call),
		cmocka_unit_test(allowed_calls_pass),
		cmocka_unit_test(forbidden_calls_kill),
		cmocka_unit_test(log_and_errno_modes),
		cmocka_unit_test(devmgr_allows_activation),
		cmocka_unit_test(device_threads_under_devmgr_under_vmm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
