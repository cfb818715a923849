/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svmm as `cloud-hypervisor`: its command line and its process lifecycle.
 *
 *   cloud-hypervisor --api-socket PATH            wait for API calls
 *   cloud-hypervisor --kernel K --cmdline ... ... create and boot at once
 *
 * ch_args_parse() turns cloud-hypervisor's flags into a vm_config plus the
 * process options; ch_main() runs the API server and waits for the end:
 * vmm.shutdown, SIGTERM/SIGINT, or the guest powering off (the VMM's
 * vmm_ops.exit_fd; the process then ends unless --no-shutdown).
 */
#ifndef SVMM_VMM_CLI_CH_MAIN_H
#define SVMM_VMM_CLI_CH_MAIN_H

#include <stdbool.h>

#include "vmm/api/server.h"
#include "vmm/config/config.h"
#include "guest-agent/err.h"

struct ch_args {
	struct vm_config vm;
	bool has_payload;	   /* --kernel or --firmware given: boot at once */
	bool vm_flags;		   /* any VM flag given (cpus, disks, ...) */
	const char *api_socket;	   /* --api-socket value, NULL when absent */
	const char *event_monitor; /* --event-monitor value */
	const char *log_file;
	const char *log_format; /* --log-format: "json", or cloud-hypervisor's tokens (ignored) */
	const char *metrics;	/* --metrics path=P|addr=A:P[,id=ID] (vmm/api/metrics.h) */
	const char *seccomp;	/* true|false|log|errno, NULL: true (vmm/kvm/seccomp.h) */
	unsigned int verbosity;
	bool no_shutdown;
	/* --restore source_url=file:///DIR[,prefault=on]: NULL when absent */
	char *restore_url;
	bool restore_prefault;
	bool help, version;
	/* The argv index each --net value came from, in vm.net's order ("--net=V"
	 * or a bare value), so a launcher can rewrite one (svmm jail: tap= to fd=). */
	int *net_argi;
};

/* argv[0] is the program name. -EINVAL with a message naming the flag in
 * err; -ENOMEM. args->vm is initialised here and
 * must be freed with ch_args_free() even on failure. */
int ch_args_parse(struct ch_args *args, int argc, char **argv, struct err *err);
void ch_args_free(struct ch_args *args);

/* --api-socket: "path=P" | "fd=N" | "P". Returns the listening fd and sets
 * *path (into a static-lifetime copy owned by the caller: free it) for a
 * socket file we created, NULL for fd=. -errno with err. */
int ch_api_socket_open(const char *spec, char **path, struct err *err);

/* true when svmm was invoked so it should behave as cloud-hypervisor:
 * argv[0]'s base name is "cloud-hypervisor", or argv[1] is a flag other
 * than svmm's own --help/--version. */
bool ch_invoked(int argc, char **argv);

/* Run as cloud-hypervisor with the VMM behind ops (NULL: a build without a
 * VMM core, whose vm.boot answers 500 saying so). Returns the exit status. */
int ch_main(int argc, char **argv, const struct vmm_ops *ops, void *ops_ctx);

#endif
