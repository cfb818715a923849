/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-thread seccomp filters (libseccomp): one allow-list per kind of
 * thread, installed by the thread itself just before it serves the guest or
 * clients. Filters stack: a thread runs under its own filter AND every
 * filter of the thread that created it, so each list holds what its
 * children need too (the lists below are built that way):
 *
 *   vmm     the process: main, API and VM threads (set-up, reboot, the API's
 *           vm.boot, vm.pause, vm.resume and vm.snapshot, a restore's
 *           KVM_SET_* of every vCPU and irqchip state). Installed once by the command
 *           line, after start-up and before the first thread, so every
 *           later thread inherits it.
 *   vcpu    KVM_RUN and the exits it dispatches: port and MMIO writes,
 *           irqfd routes and ioeventfds moved by PCI config and MSI-X table
 *           writes, queue kicks. Nothing else: a DRIVER_OK or reset write
 *           only queues the device's activation or reset for the devmgr.
 *   devmgr  the device manager thread (vmm/devices.c): runs the activations
 *           (io_uring_setup, vhost ioctls, vhost-user messages, eventfds,
 *           the device's I/O threads) and resets the vCPUs queued. The
 *           device threads it starts inherit its filter, so it holds every
 *           device thread's needs as well.
 *   serial  the 16550's input thread.
 *   blk, net, vsock, fs, rng: the device I/O threads (devices/virtio/loop.c).
 *   metrics the --metrics endpoint's HTTP thread (vmm/api/metrics.c): its
 *           epoll loop, accepting and answering clients, the process's
 *           rusage and a pread of /proc/self/statm opened before.
 *
 * Arguments are filtered where it matters: ioctl request numbers (KVM,
 * vhost, TUN, terminal; each kind its own), socket families, mmap and
 * mprotect without PROT_EXEC, clone only with CLONE_THREAD (clone3 answers
 * ENOSYS, so glibc falls back to clone, whose flags can be checked).
 *
 * The mode is a process setting, as the log sink is (vmm/kvm/log.h): the
 * command line sets it once, before any thread starts, from --seccomp
 * (cloud-hypervisor's flag, svmm run's too; default true). A process that
 * never sets it (library code, unit tests) installs nothing.
 *   true (SC_KILL)  a call off the list: "svmm: seccomp: thread KIND: syscall
 *                   NR (NAME) not allowed" on stderr, and the process dies of
 *                   SIGSYS (a SIGSYS handler writes the line, then repeats
 *                   the call, which the kernel answers with a forced SIGSYS).
 *   log (SC_LOG)    the call runs and the kernel logs it (audit / dmesg:
 *                   "audit: type=1326 ... syscall=NR"): to find what a new
 *                   feature needs.
 *   errno (SC_ERRNO) the call fails with EPERM.
 *   false (SC_OFF)  no filter.
 * Sanitizer builds (ASan/UBSan, detected by the compiler) add what their
 * runtimes call (sanitizer_extra in seccomp.c) to every list, and run the
 * process's true as log: LeakSanitizer's check at exit clones a tracer that
 * ptraces every thread under the filters. The filter test installs in kill
 * mode explicitly (sc_install_mode), so it checks kill mode there too.
 */
#ifndef SVMM_VMM_KVM_SECCOMP_H
#define SVMM_VMM_KVM_SECCOMP_H

#include <stddef.h>
#include <stdint.h>

enum sc_mode { SC_OFF, SC_KILL, SC_LOG, SC_ERRNO };

enum sc_thread {
	SC_VMM,
	SC_VCPU,
	SC_DEVMGR,
	SC_SERIAL,
	SC_BLK,
	SC_NET,
	SC_VSOCK,
	SC_FS,
	SC_RNG,
	SC_METRICS,
	SC_NKINDS
};

/* "true", "false", "log", "errno". 0, or -EINVAL. */
int sc_mode_parse(const char *s, enum sc_mode *out);
/* Once, before threads start (the SIGSYS handler, libseccomp's probes). */
void sc_set_mode(enum sc_mode m);
enum sc_mode sc_get_mode(void);
/* The calling thread's filter for kind, in the process mode: 0 (also when
 * the mode is off), or -errno (the thread should not go on serving). */
int sc_install(enum sc_thread kind);
/* Same in the given mode (for tests). */
int sc_install_mode(enum sc_thread kind, enum sc_mode mode);
const char *sc_thread_name(enum sc_thread kind);

/* The lists as data (the filter test walks them). A rule allows syscall nr
 * when every condition holds: (argument[arg] & mask) == value; with err set
 * the call is answered -err instead (clone3's ENOSYS), not allowed. */
#define SC_MAX_COND 1
struct sc_cond {
	uint8_t arg;
	uint64_t mask, value;
};
struct sc_rule {
	int nr;
	int err;
	unsigned int ncond;
	struct sc_cond cond[SC_MAX_COND];
};
typedef void sc_rule_fn(void *ctx, const struct sc_rule *r);
void sc_for_each_rule(enum sc_thread kind, sc_rule_fn *fn, void *ctx);
/* How many distinct syscalls kind allows (rules with err not counted). */
unsigned int sc_allowed_count(enum sc_thread kind);

#endif
