// SPDX-License-Identifier: Apache-2.0
/* svmm as cloud-hypervisor: set up, serve the API, wait for the end. */
#include "vmm/cli/ch_main.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/api/events.h"
#include "vmm/api/metrics.h"
#include "vmm/cli/cli.h"
#include "vmm/kvm/log.h"
#include "vmm/kvm/seccomp.h"

/* A build without a VMM core: everything but boot is unreachable. */
static int novmm_boot(void *ctx, const struct vm_config *cfg, struct err *err)
{
	(void)ctx;
	(void)cfg;
	return err_set(err, -ENOSYS, "this svmm build has no VMM core: vm.boot is not available");
}

static int novmm_op(void *ctx, struct err *err)
{
	(void)ctx;
	return err_set(err, -ENOSYS, "no VM");
}

static int novmm_counters(void *ctx, json_t **out, struct err *err)
{
	(void)out;
	return novmm_op(ctx, err);
}

static const struct vmm_ops novmm_ops = {
	.boot = novmm_boot,
	.shutdown = novmm_op,
	.reboot = novmm_op,
	.power_button = novmm_op,
	.pause = novmm_op,
	.resume = novmm_op,
	.counters = novmm_counters,
};

bool ch_invoked(int argc, char **argv)
{
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	base = base ? base + 1 : (argc > 0 ? argv[0] : "");
	if (!strcmp(base, "cloud-hypervisor"))
		return true;
	if (argc < 2 || argv[1][0] != '-')
		return false;
	return strcmp(argv[1], "--help") && strcmp(argv[1], "-h") && strcmp(argv[1], "--version") &&
	       strcmp(argv[1], "-V");
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cloud-hypervisor [--api-socket PATH|path=PATH|fd=N] [--kernel PATH]\n"
		"         [--initramfs PATH] [--cmdline STR] [--firmware PATH]\n"
		"         [--cpus boot=N,max=N,...] [--memory size=SZ,shared=on,...]\n"
		"         [--disk path=P,readonly=on,direct=on,...]... [--net tap=T,ip=A,...]...\n"
		"         [--rng src=P] [--fs tag=T,socket=S]... [--pmem file=P]...\n"
		"         [--vsock cid=N,socket=P] [--serial off|null|pty|tty|file=P|socket=P]\n"
		"         [--device path=/sys/bus/pci/devices/DDDD:BB:DD.F,id=ID]...\n"
		"         [--console off|null|pty|tty|file=P] [--event-monitor path=P|fd=N]\n"
		"         [--log-file P] [--log-format json] [-v...] [--no-shutdown]\n"
		"         [--seccomp true|false|log|errno] [--metrics "
		"path=P|addr=IPV4:PORT[,id=ID]]\n"
		"         [--landlock] [--landlock-rules path=P,access=r|rw]...\n"
		"svmm %s, speaking cloud-hypervisor's command line and REST API.\n",
		SVMM_VERSION);
}

/* Route stderr to --log-file, as cloud-hypervisor's logger writes there
 * (File::create: a new file, or an old one truncated). */
static int open_log(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (dup2(fd, STDERR_FILENO) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	close(fd);
	return 0;
}

int ch_main(int argc, char **argv, const struct vmm_ops *ops, void *ops_ctx)
{
	struct err err = { 0 };
	struct event_monitor events, *em = NULL;
	struct api_server api;
	struct metrics_server metrics = { 0 };
	char vm_id[32];
	bool api_up = false;
	struct ch_args args;
	char *sock_path = NULL;
	int listen_fd = -1, sfd = -1, status = 1, rc;
	sigset_t mask;

	if (!ops)
		ops = &novmm_ops;
	if (ch_args_parse(&args, argc, argv, &err) < 0) {
		fprintf(stderr, "cloud-hypervisor: error: %s\n", err.msg);
		ch_args_free(&args);
		return 1;
	}
	if (args.help || args.version) {
		if (args.help)
			usage(stdout);
		else
			printf("cloud-hypervisor v%s (svmm)\n", SVMM_VERSION);
		ch_args_free(&args);
		return 0;
	}
	if (args.log_file && (rc = open_log(args.log_file)) < 0) {
		fprintf(stderr, "cloud-hypervisor: error: --log-file %s: %s\n", args.log_file,
			strerror(-rc));
		goto out;
	}
	/* -v info lines, -vv debug lines (cloud-hypervisor's -v counts) */
	log_set_level(args.verbosity >= 2 ? LV_DEBUG : args.verbosity ? LV_INFO : LV_NOTE);
	snprintf(vm_id, sizeof(vm_id), "%d", (int)getpid()); /* the vm label: this VMM */
	if (args.log_format && !strcmp(args.log_format, "json"))
		log_set_sink(log_json, vm_id);
	enum sc_mode scm = SC_KILL; /* cloud-hypervisor's default: --seccomp true */
	if (args.seccomp)
		sc_mode_parse(args.seccomp, &scm); /* the parser took only the four words */
	sc_set_mode(scm);
	if (args.verbosity)
		fprintf(stderr, "svmm: seccomp %s: every thread runs under its filter\n",
			args.seccomp ? args.seccomp : "true");
	if (!args.api_socket && !args.has_payload) {
		fprintf(stderr, "cloud-hypervisor: error: nothing to do: give --api-socket, or a "
				"payload with --kernel or --firmware\n");
		goto out;
	}
	if (args.vm_flags && !args.has_payload) {
		fprintf(stderr, "cloud-hypervisor: error: VM flags need a payload (--kernel or "
				"--firmware); or send the config with vm.create\n");
		goto out;
	}
	if (args.event_monitor) {
		if ((rc = event_monitor_open(&events, args.event_monitor, &err)) < 0) {
			fprintf(stderr, "cloud-hypervisor: error: %s\n", err.msg);
			goto out;
		}
		em = &events;
	}
	event_monitor_emit(em, "vmm", "starting", NULL);

	/* Signals go to a signalfd: block them before any thread starts. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "cloud-hypervisor: error: signalfd: %s\n", strerror(errno));
		goto out;
	}

	if (args.api_socket) {
		listen_fd = ch_api_socket_open(args.api_socket, &sock_path, &err);
		if (listen_fd < 0) {
			fprintf(stderr, "cloud-hypervisor: error: %s\n", err.msg);
			goto out;
		}
	}
	if ((rc = api_server_init(&api, listen_fd, sock_path, ops, ops_ctx, em)) < 0) {
		fprintf(stderr, "cloud-hypervisor: error: API server: %s\n", strerror(-rc));
		if (listen_fd >= 0)
			close(listen_fd);
		if (sock_path)
			unlink(sock_path);
		goto out;
	}
	api_up = true;
	if (args.metrics && (rc = metrics_server_open(&metrics, args.metrics, vm_id, ops->collect,
						      ops_ctx, &err)) < 0) {
		fprintf(stderr, "cloud-hypervisor: error: %s\n", err.msg);
		goto out;
	}
	/* The process filter, inherited by every thread from here on. */
	if ((rc = sc_install(SC_VMM)) < 0) {
		fprintf(stderr, "cloud-hypervisor: error: seccomp: %s\n", strerror(-rc));
		goto out;
	}
	if (metrics.inited && (rc = metrics_server_start(&metrics)) < 0) {
		fprintf(stderr, "cloud-hypervisor: error: metrics thread: %s\n", strerror(-rc));
		goto out;
	}
	if ((rc = api_server_start(&api)) < 0) {
		fprintf(stderr, "cloud-hypervisor: error: API thread: %s\n", strerror(-rc));
		goto out;
	}

	if (args.restore_url && args.has_payload) {
		fprintf(stderr, "cloud-hypervisor: error: --restore: the VM comes from the "
				"snapshot: give no --kernel or --firmware with it\n");
		goto out;
	}
	if (args.restore_url) {
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if ((rc = api_vm_restore(&api, args.restore_url, args.restore_prefault, &err)) >=
		    300) {
			fprintf(stderr, "cloud-hypervisor: error: --restore: %s\n", err.msg);
			goto out;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		log_msg(LV_INFO, "vmm", "restored from %s in %lld ms: paused", args.restore_url,
			(long long)((t1.tv_sec - t0.tv_sec) * 1000 +
				    (t1.tv_nsec - t0.tv_nsec) / 1000000));
	}
	if (args.has_payload) {
		if ((rc = api_vm_create(&api, &args.vm, &err)) >= 300 ||
		    (rc = api_vm_boot(&api, &err)) >= 300) {
			fprintf(stderr, "cloud-hypervisor: error: %s\n", err.msg);
			goto out;
		}
	}

	int guest_fd = ops->exit_fd ? ops->exit_fd(ops_ctx) : -1;
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = api_server_exit_fd(&api), .events = POLLIN },
			{ .fd = guest_fd, .events = POLLIN },
		};
		if (poll(p, guest_fd >= 0 ? 3 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "cloud-hypervisor: error: poll: %s\n", strerror(errno));
			goto out;
		}
		if (p[0].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				fprintf(stderr, "svmm: %s: shutting down\n",
					strsignal(si.ssi_signo));
			event_monitor_emit(em, "vmm", "shutdown", NULL);
			break;
		}
		if (p[1].revents)
			break; /* vmm.shutdown answered; it emitted the event */
		if (guest_fd >= 0 && p[2].revents) {
			api_vm_guest_exited(&api);
			if (!args.no_shutdown) {
				event_monitor_emit(em, "vmm", "shutdown", NULL);
				break;
			}
			guest_fd = ops->exit_fd(ops_ctx);
		}
	}
	status = 0;
out:
	metrics_server_close(&metrics);
	if (api_up)
		api_server_destroy(&api);
	log_set_sink(log_stderr, NULL); /* vm_id goes with this frame */
	if (sfd >= 0)
		close(sfd);
	if (em)
		event_monitor_close(em);
	free(sock_path);
	ch_args_free(&args);
	return status;
}
