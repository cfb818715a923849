// SPDX-License-Identifier: Apache-2.0
/* Per-thread seccomp allow-lists (see seccomp.h for the kinds and modes). */
#include "vmm/kvm/seccomp.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/sockios.h>
#include <linux/vfio.h>
#include <linux/vhost.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SC_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SC_SANITIZER 1
#endif
#endif

#define ALLOW(name)                  \
	{                            \
		.nr = SCMP_SYS(name) \
	}
#define ARG(name, i, m, v)                                                      \
	{                                                                       \
		.nr = SCMP_SYS(name), .ncond = 1, .cond = { { (i), (m), (v) } } \
	}
#define U32 0xffffffffull
/* ioctl(fd, req): the request as the kernel reads it (an unsigned int). */
#define IOC(req)     ARG(ioctl, 1, U32, (uint32_t)(req))
#define NOEXEC(name) ARG(name, 2, PROT_EXEC, 0)
#define FAMILY(f)    ARG(socket, 0, U32, (f))
#define ANSWER(name, e)                          \
	{                                        \
		.nr = SCMP_SYS(name), .err = (e) \
	}

struct sc_set {
	const struct sc_rule *r;
	size_t n;
};
#define SET(a)                                  \
	{                                       \
		(a), sizeof(a) / sizeof((a)[0]) \
	}

/* Every thread: glibc's malloc, locks, signal return and exit, and write()
 * for log lines (and the SIGSYS report). */
static const struct sc_rule base[] = {
	ALLOW(futex),	     ALLOW(brk),     NOEXEC(mmap),	NOEXEC(mprotect),
	ALLOW(munmap),	     ALLOW(madvise), ALLOW(mremap),	ALLOW(rt_sigprocmask),
	ALLOW(rt_sigreturn), ALLOW(exit),    ALLOW(exit_group), ALLOW(clock_gettime),
	ALLOW(write),
};

/* Threads that start threads, which then install their own filter on top:
 * pthread_create (clone with CLONE_THREAD; clone3 cannot be checked, so it
 * answers ENOSYS and glibc falls back to clone), what the new thread does
 * in glibc before its start routine, and libseccomp's load. */
static const struct sc_rule spawn[] = {
	ARG(clone, 0, CLONE_THREAD, CLONE_THREAD),
	ANSWER(clone3, ENOSYS),
	ALLOW(set_robust_list),
	ALLOW(rseq),
	ARG(prctl, 0, U32, PR_SET_NO_NEW_PRIVS),
	ALLOW(seccomp),
};

/* Every device I/O thread: the epoll loop (devices/virtio/loop.c) drains
 * eventfds; interrupts are irqfd eventfd writes (base). */
static const struct sc_rule dev_loop[] = { ALLOW(epoll_wait), ALLOW(read) };

/* virtio-blk: io_uring submissions and waits, bounce and qcow2 metadata
 * I/O. (Reads, writes, fsync and fallocate go through io_uring.) */
static const struct sc_rule blk[] = { ALLOW(io_uring_enter), ALLOW(pread64), ALLOW(pwrite64),
				      ALLOW(ftruncate) /* a qcow2 file grows */ };

/* virtio-net on TAP: frames in and out; the TAP's EPOLLIN on and off. */
static const struct sc_rule net[] = { ALLOW(readv), ALLOW(writev), ALLOW(epoll_ctl) };

/* virtio-vsock: the host side's unix sockets (vsock_mux.c). */
static const struct sc_rule vsock[] = {
	FAMILY(AF_UNIX), ALLOW(connect),   ALLOW(accept4),	   ALLOW(sendto),
	ALLOW(sendmsg),	 ALLOW(recvfrom),  ALLOW(recvmsg),	   ALLOW(shutdown),
	ALLOW(close),	 ALLOW(epoll_ctl), ALLOW(timerfd_settime),
};

/* virtio-fs and virtio-rng need no more than the loop: the fs thread only
 * forwards the back-end's call eventfds; rng reads its source. */

/* The vCPU thread's own work: KVM_RUN and the exits (serial output, PCI
 * config and MSI-X table writes that move irqfd routes and ioeventfds). */
static const struct sc_rule vcpu[] = {
	IOC(KVM_RUN),
	IOC(KVM_GET_REGS),
	IOC(KVM_IRQ_LINE),
	IOC(KVM_IRQFD),
	IOC(KVM_IOEVENTFD),
	IOC(KVM_SET_GSI_ROUTING),
	ALLOW(read),  /* MSI-X: what a masked vector's
			 eventfd holds */
	ALLOW(poll),  /* MSI-X: the pending bit */
	ALLOW(close), /* a serial socket client that left */
	/* VFIO (devices/vfio): trapped BAR and config accesses are pread/pwrite
	 * on the device fd; the guest enabling MSI-X points the physical
	 * vectors at their eventfds */
	ALLOW(pread64),
	ALLOW(pwrite64),
	IOC(VFIO_DEVICE_SET_IRQS),
	/* VFIO: the guest programming a BAR adds and removes the memory slots
	 * of its pieces mmap'd at open (munmap at free is base's) */
	IOC(KVM_SET_USER_MEMORY_REGION),
};

/* Device activation (DRIVER_OK) and reset, on the devmgr thread: queue
 * threads, io_uring rings, vhost-net (opened then), vhost-user messages,
 * TAP offloads. */
static const struct sc_rule activate[] = {
	ALLOW(eventfd2),
	ALLOW(epoll_create1),
	ALLOW(epoll_ctl),
	ALLOW(io_uring_setup),
	ALLOW(io_uring_register),
	ALLOW(io_uring_enter),
	ARG(openat, 2, O_CREAT | O_TRUNC, 0), /* /dev/vhost-net */
	ALLOW(sendmsg),
	ALLOW(close),
	IOC(TUNSETOFFLOAD),
	IOC(VHOST_SET_OWNER),
	IOC(VHOST_GET_FEATURES),
	IOC(VHOST_SET_FEATURES),
	IOC(VHOST_SET_MEM_TABLE),
	IOC(VHOST_SET_VRING_NUM),
	IOC(VHOST_SET_VRING_BASE),
	IOC(VHOST_SET_VRING_ADDR),
	IOC(VHOST_SET_VRING_KICK),
	IOC(VHOST_SET_VRING_CALL),
	IOC(VHOST_NET_SET_BACKEND),
};

/* A hot-removed device freed on the devmgr thread (the guest's eject): its
 * notify ioeventfds and its vectors' irqfds and routes go; a VFIO one's
 * interrupts off, its BAR slots out, a reset, its group out of KVM's VFIO
 * device and the container. */
static const struct sc_rule unplug[] = {
	IOC(KVM_IOEVENTFD),	  IOC(KVM_IRQFD),
	IOC(KVM_SET_GSI_ROUTING), IOC(KVM_SET_USER_MEMORY_REGION),
	IOC(KVM_SET_DEVICE_ATTR), IOC(VFIO_DEVICE_SET_IRQS),
	IOC(VFIO_DEVICE_RESET),	  IOC(VFIO_GROUP_UNSET_CONTAINER),
};

/* The serial input thread: poll, read, a socket back end's accept; the
 * IRQ line on the VM fd; a pty nobody opened yet is polled every 100 ms. */
static const struct sc_rule serial[] = {
	ALLOW(poll),	   ALLOW(read), ALLOW(accept4), ALLOW(close), ALLOW(clock_nanosleep),
	IOC(KVM_IRQ_LINE),
};

/* The --metrics thread: an HTTP loop on sockets listening already (its
 * reads are recvmsg: the API's may carry fds, http.c's one read path). */
static const struct sc_rule metrics[] = {
	ALLOW(epoll_wait), ALLOW(epoll_ctl), ALLOW(accept4), ALLOW(recvfrom), ALLOW(sendto),
	ALLOW(recvmsg),	   ALLOW(read),	     ALLOW(close),   ALLOW(pread64),  ALLOW(getrusage),
};

/* The process: start-up, VM set-up and reboot (/dev/kvm, guest RAM, disks,
 * TAPs and their addresses, the serial back end), the API server, the VM
 * thread's main loop and signals. Looser, but no exec, no new processes, no
 * mounts, namespaces, credentials, ptrace, modules or BPF. */
static const struct sc_rule vmm[] = {
	ALLOW(open),
	ALLOW(openat),
	ALLOW(close),
	ALLOW(close_range),
	ALLOW(read),
	ALLOW(readv),
	ALLOW(writev),
	ALLOW(pread64),
	ALLOW(pwrite64),
	ALLOW(lseek),
	ALLOW(fstat),
	ALLOW(newfstatat),
	ALLOW(statx),
	ALLOW(stat),
	ALLOW(lstat),
	ALLOW(access),
	ALLOW(faccessat),
	ALLOW(faccessat2),
	ALLOW(readlink),
	ALLOW(getdents64),
	ALLOW(getcwd),
	ALLOW(fcntl),
	ALLOW(dup),
	ALLOW(dup2),
	ALLOW(dup3),
	ALLOW(pipe2),
	ALLOW(ftruncate),
	ALLOW(fallocate),
	ALLOW(fsync),
	ALLOW(fdatasync),
	ALLOW(unlink),
	ALLOW(unlinkat),
	ALLOW(rename),
	ALLOW(mkdir),
	ALLOW(fchmod),
	ALLOW(chmod),
	ALLOW(umask),
	ALLOW(memfd_create),
	ALLOW(poll),
	ALLOW(ppoll),
	ALLOW(epoll_create1),
	ALLOW(epoll_ctl),
	ALLOW(epoll_wait),
	ALLOW(epoll_pwait),
	ALLOW(eventfd2),
	ALLOW(signalfd4),
	ALLOW(timerfd_create),
	ALLOW(timerfd_settime),
	FAMILY(AF_UNIX),
	FAMILY(AF_INET), /* SIOCSIFADDR and friends on a TAP */
	FAMILY(AF_INET6),
	FAMILY(AF_NETLINK),
	ALLOW(socketpair),
	ALLOW(bind),
	ALLOW(listen),
	ALLOW(accept),
	ALLOW(accept4),
	ALLOW(connect),
	ALLOW(getsockname),
	ALLOW(getpeername),
	ALLOW(getsockopt),
	ALLOW(setsockopt),
	ALLOW(sendto),
	ALLOW(recvfrom),
	ALLOW(sendmsg),
	ALLOW(recvmsg),
	ALLOW(shutdown),
	ALLOW(rt_sigaction),
	ALLOW(sigaltstack),
	ALLOW(tgkill), /* kicking vCPUs out of KVM_RUN */
	ALLOW(getpid),
	ALLOW(gettid),
	ALLOW(getuid),
	ALLOW(geteuid),
	ALLOW(getgid),
	ALLOW(getegid),
	ALLOW(nanosleep),
	ALLOW(clock_nanosleep),
	ALLOW(clock_getres),
	ALLOW(gettimeofday),
	ALLOW(getrandom),
	ALLOW(sched_getaffinity),
	ALLOW(sched_yield),
	ALLOW(prlimit64),
	ALLOW(uname),
	ALLOW(sysinfo),
	ALLOW(io_uring_setup),
	ALLOW(io_uring_enter),
	ALLOW(io_uring_register),
	/* --landlock in the API's vm.boot (vmm/confine.c) */
	ALLOW(landlock_create_ruleset),
	ALLOW(landlock_add_rule),
	ALLOW(landlock_restrict_self),
	/* KVM set-up (vmm/kvm, vmm/x86) */
	IOC(KVM_GET_API_VERSION),
	IOC(KVM_CHECK_EXTENSION),
	IOC(KVM_GET_VCPU_MMAP_SIZE),
	IOC(KVM_CREATE_VM),
	IOC(KVM_GET_SUPPORTED_CPUID),
	IOC(KVM_SET_TSS_ADDR),
	IOC(KVM_SET_IDENTITY_MAP_ADDR),
	IOC(KVM_CREATE_IRQCHIP),
	IOC(KVM_CREATE_PIT2),
	IOC(KVM_SET_USER_MEMORY_REGION),
	IOC(KVM_CREATE_VCPU),
	IOC(KVM_SET_CPUID2),
	IOC(KVM_SET_MSRS),
	IOC(KVM_GET_SREGS),
	IOC(KVM_SET_SREGS),
	IOC(KVM_SET_REGS),
	/* vm.pause and vm.resume, on the API thread: the guest's kvmclock */
	IOC(KVM_GET_CLOCK),
	IOC(KVM_SET_CLOCK),
	/* VFIO devices (devices/vfio): container, groups, device, the KVM
	 * VFIO device; capget: whether CAP_IPC_LOCK lifts RLIMIT_MEMLOCK */
	IOC(KVM_CREATE_DEVICE),
	IOC(KVM_SET_DEVICE_ATTR),
	IOC(VFIO_GET_API_VERSION),
	IOC(VFIO_CHECK_EXTENSION),
	IOC(VFIO_SET_IOMMU),
	IOC(VFIO_IOMMU_GET_INFO),
	IOC(VFIO_IOMMU_MAP_DMA),
	IOC(VFIO_GROUP_GET_STATUS),
	IOC(VFIO_GROUP_SET_CONTAINER),
	IOC(VFIO_GROUP_UNSET_CONTAINER),
	IOC(VFIO_GROUP_GET_DEVICE_FD),
	IOC(VFIO_DEVICE_GET_INFO),
	IOC(VFIO_DEVICE_GET_REGION_INFO),
	IOC(VFIO_DEVICE_GET_IRQ_INFO),
	IOC(VFIO_DEVICE_RESET),
	ALLOW(capget),
	/* disks, TAPs, the terminal and pty of the serial back end */
	IOC(BLKGETSIZE64),
	IOC(TUNSETIFF),
	IOC(TUNGETIFF),
	IOC(TUNSETVNETHDRSZ),
	IOC(TUNSETPERSIST),
	IOC(TUNGETFEATURES),
	IOC(SIOCSIFADDR),
	IOC(SIOCSIFNETMASK),
	IOC(SIOCSIFHWADDR),
	IOC(SIOCGIFHWADDR), /* host_mac=: the TAP's MAC read first (net/tap.c) */
	IOC(SIOCSIFMTU),
	IOC(SIOCGIFMTU),
	IOC(SIOCGIFFLAGS),
	IOC(SIOCSIFFLAGS),
	IOC(SIOCGIFINDEX),
	IOC(TCGETS),
	IOC(TCSETS),
	IOC(TCSETSW),
	IOC(TCSETSF),
	IOC(TIOCGWINSZ),
	IOC(TIOCGPTN),
	IOC(TIOCSPTLCK),
	IOC(TIOCGPTPEER),
	IOC(FIONBIO),
	IOC(FIOCLEX),
};

/* vm.snapshot (the API thread) and a restore (the VM thread, before the
 * vCPUs run): every vCPU's and the irqchip's state out of KVM and back in,
 * the memory file written sparse (mincore: which pages were ever touched) */
static const struct sc_rule snapshot[] = {
	IOC(KVM_GET_MSR_INDEX_LIST),
	IOC(KVM_GET_MSRS),
	IOC(KVM_GET_CPUID2),
	IOC(KVM_GET_LAPIC),
	IOC(KVM_SET_LAPIC),
	IOC(KVM_GET_VCPU_EVENTS),
	IOC(KVM_SET_VCPU_EVENTS),
	IOC(KVM_GET_MP_STATE),
	IOC(KVM_SET_MP_STATE),
	IOC(KVM_GET_DEBUGREGS),
	IOC(KVM_SET_DEBUGREGS),
	IOC(KVM_GET_XSAVE),
	IOC(KVM_SET_XSAVE),
	IOC(KVM_GET_FPU),
	IOC(KVM_SET_FPU),
	IOC(KVM_GET_XCRS),
	IOC(KVM_SET_XCRS),
	IOC(KVM_GET_IRQCHIP),
	IOC(KVM_SET_IRQCHIP),
	IOC(KVM_GET_PIT2),
	IOC(KVM_SET_PIT2),
	ALLOW(mincore),
};

#ifdef SC_SANITIZER
/* What the ASan/UBSan runtimes call on any thread: fake stacks and shadow
 * (mmap, base), alternate signal stacks, writing a report (/proc/self/maps).
 * (LeakSanitizer's check at exit, a ptrace-ing clone, is why sanitizer
 * builds run the process in log mode: sc_set_mode.) */
static const struct sc_rule sanitizer_extra[] = {
	ALLOW(sigaltstack), ALLOW(sched_yield), ALLOW(getpid),
	ALLOW(gettid),	    ALLOW(prctl),	ALLOW(rt_sigaction),
	ALLOW(readlink),    ALLOW(openat),	ALLOW(close),
	ALLOW(read),	    ALLOW(fstat),	ALLOW(newfstatat),
	ALLOW(tgkill),	    ALLOW(nanosleep),	ALLOW(sched_getaffinity),
};
#endif

struct sc_kind {
	const char *name;
	struct sc_set sets[16]; /* NULL-terminated: at most 15 */
};

#define DEVICE(n, own)                                     \
	{                                                  \
		n,                                         \
		{                                          \
			SET(base), SET(dev_loop), SET(own) \
		}                                          \
	}
#define DEVICES SET(dev_loop), SET(blk), SET(net), SET(vsock)

static const struct sc_kind kinds[SC_NKINDS] = {
	/* vmm starts the serial thread, the vCPUs and the devmgr, so it holds
	 * their lists */
	[SC_VMM] = { "vmm",
		     { SET(base), SET(spawn), SET(vmm), SET(serial), SET(vcpu), SET(activate),
		       DEVICES, SET(metrics), SET(snapshot) } },
	/* a vCPU starts nothing: activation and reset are the devmgr's */
	[SC_VCPU] = { "vcpu", { SET(base), SET(vcpu) } },
	/* the devmgr starts the device threads (activation): their lists too */
	[SC_DEVMGR] = { "devmgr", { SET(base), SET(spawn), SET(activate), SET(unplug), DEVICES } },
	[SC_SERIAL] = { "serial", { SET(base), SET(serial) } },
	[SC_BLK] = DEVICE("blk", blk),
	[SC_NET] = DEVICE("net", net),
	[SC_VSOCK] = DEVICE("vsock", vsock),
	[SC_FS] = { "fs", { SET(base), SET(dev_loop) } },
	[SC_RNG] = { "rng", { SET(base), SET(dev_loop) } },
	[SC_METRICS] = { "metrics", { SET(base), SET(metrics) } },
};

static enum sc_mode the_mode = SC_OFF;
static _Thread_local int cur_kind = -1;
#define MAX_NR 512
static const char *names[MAX_NR];

const char *sc_thread_name(enum sc_thread kind)
{
	return (unsigned int)kind < SC_NKINDS ? kinds[kind].name : "?";
}

int sc_mode_parse(const char *s, enum sc_mode *out)
{
	static const char *const words[] = {
		[SC_OFF] = "false", [SC_KILL] = "true", [SC_LOG] = "log", [SC_ERRNO] = "errno"
	};

	for (unsigned int i = 0; s && i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i])) {
			*out = (enum sc_mode)i;
			return 0;
		}
	return -EINVAL;
}

void sc_for_each_rule(enum sc_thread kind, sc_rule_fn *fn, void *ctx)
{
	if ((unsigned int)kind >= SC_NKINDS)
		return;
	for (const struct sc_set *s = kinds[kind].sets; s->r; s++)
		for (size_t i = 0; i < s->n; i++)
			fn(ctx, &s->r[i]);
#ifdef SC_SANITIZER
	for (size_t i = 0; i < sizeof(sanitizer_extra) / sizeof(sanitizer_extra[0]); i++)
		fn(ctx, &sanitizer_extra[i]);
#endif
}

struct counter {
	uint8_t seen[MAX_NR];
	unsigned int n;
};

static void count_one(void *ctx, const struct sc_rule *r)
{
	struct counter *c = ctx;

	if (!r->err && r->nr >= 0 && r->nr < MAX_NR && !c->seen[r->nr]) {
		c->seen[r->nr] = 1;
		c->n++;
	}
}

unsigned int sc_allowed_count(enum sc_thread kind)
{
	struct counter c = { .n = 0 };

	sc_for_each_rule(kind, count_one, &c);
	return c.n;
}

/* Async-signal-safe: the line in one write(), then the same call again,
 * which traps again with SIGSYS blocked: the kernel then kills the process
 * with SIGSYS (as SCMP_ACT_KILL_PROCESS would). */
static void on_sigsys(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;
	greg_t *g = uc->uc_mcontext.gregs;
	char line[160], num[12];
	size_t n = 0;
	int nr = si->si_syscall;
	unsigned int u = nr < 0 ? 0 : (unsigned int)nr, k = sizeof(num);
	const char *kind = cur_kind >= 0 ? kinds[cur_kind].name : "?";
	const char *name = nr >= 0 && nr < MAX_NR && names[nr] ? names[nr] : "?";

	(void)sig;
	do
		num[--k] = (char)('0' + u % 10);
	while ((u /= 10) && k);
#define PUT(s, len)                            \
	do {                                   \
		size_t l_ = (len);             \
		if (n + l_ > sizeof(line))     \
			l_ = sizeof(line) - n; \
		memcpy(line + n, (s), l_);     \
		n += l_;                       \
	} while (0)
	PUT("svmm: seccomp: thread ", 22);
	PUT(kind, strlen(kind));
	PUT(": syscall ", 10);
	PUT(num + k, sizeof(num) - k);
	PUT(" (", 2);
	PUT(name, strlen(name));
	PUT(") not allowed\n", 14);
#undef PUT
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nothing left to tell */
	}
	syscall(nr, g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9]);
	_exit(128 + SIGSYS); /* not reached */
}

void sc_set_mode(enum sc_mode m)
{
#ifdef SC_SANITIZER
	/* LeakSanitizer's exit-time check clones a tracer (no CLONE_THREAD) that
	 * ptraces every thread, under the filters: sanitizer builds log what a
	 * filter refuses instead of dying of it (tests install in kill mode). */
	the_mode = m == SC_KILL ? SC_LOG : m;
#else
	the_mode = m;
#endif
	if (m == SC_OFF)
		return;
	/* libseccomp probes the kernel once; do it before any filter */
	seccomp_api_get();
	for (int nr = 0; nr < MAX_NR; nr++)
		if (!names[nr])
			names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSYS, &sa, NULL);
}

enum sc_mode sc_get_mode(void)
{
	return the_mode;
}

struct build {
	scmp_filter_ctx ctx;
	int rc;
};

static void add_one(void *ctx, const struct sc_rule *r)
{
	struct build *b = ctx;
	struct scmp_arg_cmp cmp[SC_MAX_COND];

	if (b->rc)
		return;
	for (unsigned int i = 0; i < r->ncond; i++)
		cmp[i] = (struct scmp_arg_cmp){ r->cond[i].arg, SCMP_CMP_MASKED_EQ, r->cond[i].mask,
						r->cond[i].value };
	int rc = seccomp_rule_add_exact_array(
		b->ctx, r->err ? SCMP_ACT_ERRNO(r->err) : SCMP_ACT_ALLOW, r->nr, r->ncond, cmp);
	if (rc && rc != -EEXIST)
		b->rc = rc;
}

int sc_install_mode(enum sc_thread kind, enum sc_mode mode)
{
	uint32_t def = mode == SC_KILL	? SCMP_ACT_TRAP
		       : mode == SC_LOG ? SCMP_ACT_LOG
					: SCMP_ACT_ERRNO(EPERM);
	struct build b = { .rc = 0 };

	if (mode == SC_OFF)
		return 0;
	if ((unsigned int)kind >= SC_NKINDS)
		return -EINVAL;
	b.ctx = seccomp_init(def);
	if (!b.ctx)
		return -ENOMEM;
	seccomp_attr_set(b.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	sc_for_each_rule(kind, add_one, &b);
	if (!b.rc) {
		cur_kind = (int)kind; /* before: the load itself may be reported */
		b.rc = seccomp_load(b.ctx);
	}
	seccomp_release(b.ctx);
	return b.rc;
}

int sc_install(enum sc_thread kind)
{
	return sc_install_mode(kind, the_mode);
}
