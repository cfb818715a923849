/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cloud-hypervisor's REST API (/api/v1/...) over vmm/api/http.c.
 *
 * This layer owns the VM's configuration and lifecycle state (none, Created,
 * Running, Paused), answers every endpoint with cloud-hypervisor's status
 * codes and JSON shapes (errors: a JSON array of strings), and emits the
 * --event-monitor events. The VM itself is reached only through struct
 * vmm_ops, which the VMM implements; the API never touches KVM or devices.
 *
 * Threading: the HTTP loop runs on its own thread (api_server_start). Every
 * endpoint and the api_vm_* calls below take the server's lock and call the
 * ops under it, so ops are never called concurrently. An op may block (boot
 * returns once the vCPUs run); other clients then wait, as they do with
 * cloud-hypervisor, whose API thread also waits for the VMM thread. The VMM
 * must not call api_* functions from inside an op, nor from a thread an op
 * waits for (that would deadlock): guest-initiated events go through
 * vmm_ops.exit_fd instead, which ch_main() watches.
 */
#ifndef SVMM_VMM_API_SERVER_H
#define SVMM_VMM_API_SERVER_H

#include <pthread.h>
#include <stdbool.h>

#include <jansson.h>

#include "vmm/api/events.h"
#include "vmm/kvm/counters.h"
#include "vmm/api/http.h"
#include "vmm/config/config.h"
#include "guest-agent/err.h"

/*
 * What the VMM implements. Each op returns 0 or a negative errno and then
 * leaves a one-line reason in err; the API turns it
 * into a 500 answer (cloud-hypervisor's code for a VMM-side failure).
 * Optional ops may be NULL.
 */
struct vmm_ops {
	/* vm.create (optional): prepare what cloud-hypervisor prepares at create
	 * time: a serial/console File is created (truncated); a Pty is opened and
	 * its /dev/pts/N path written into cfg->serial.file / console.file. */
	int (*create)(void *ctx, struct vm_config *cfg, struct err *err);
	/* vm.boot: build the VM from cfg (validated already: memory, devices,
	 * TAPs created, configured and up, vsock bound, payload loaded) and start
	 * its vCPUs. Return once it runs. cfg stays valid and unchanged until
	 * shutdown returns. */
	int (*boot)(void *ctx, const struct vm_config *cfg, struct err *err);
	/* vm.shutdown / vm.delete / vmm.shutdown / guest exit: stop the vCPUs and
	 * release everything boot made (TAPs, vsock socket, memory). Called in
	 * the Running or Paused state; must succeed in the end. */
	int (*shutdown)(void *ctx, struct err *err);
	/* vm.reboot: reset the running VM with the same config. */
	int (*reboot)(void *ctx, struct err *err);
	/* vm.power-button: an ACPI power-button event (GED -> PWRB). */
	int (*power_button)(void *ctx, struct err *err);
	/* vm.pause / vm.resume: stop every vCPU and quiesce the devices; let
	 * them go on. */
	int (*pause)(void *ctx, struct err *err);
	int (*resume)(void *ctx, struct err *err);
	/* vm.add-disk/-net/-fs/-vsock/-device on a running (or paused) VM,
	 * optional: hot-add the entry cfg of kind (in the config, validated,
	 * its id set; a net entry's fds, from the request, are then the
	 * device's); *slot is its PCI slot on bus 0. */
	int (*hot_add)(void *ctx, enum vm_device_kind kind, const void *cfg, unsigned int *slot,
		       struct err *err);
	/* vm.remove-device on a running VM, optional: ask the guest to eject
	 * the device with that id (-ENOENT: none). */
	int (*remove_device)(void *ctx, const char *id, struct err *err);
	/* vm.snapshot (optional): the paused VM into directory dir. */
	int (*snapshot)(void *ctx, const char *dir, struct err *err);
	/* vm.restore (optional): build the VM of cfg (the snapshot's
	 * config.json) from the snapshot in dir; it waits Paused. cfg stays
	 * valid until shutdown, as for boot. */
	int (*restore)(void *ctx, const struct vm_config *cfg, const char *dir, bool prefault,
		       struct err *err);
	/* vm.counters: {"<device id>": {"<counter>": <u64>, ...}, ...}. A new
	 * reference in *out. */
	int (*counters)(void *ctx, json_t **out, struct err *err);
	/* --metrics (optional): the running VM's counter groups
	 * (vmm/kvm/counters.h); -ESRCH when none runs. Called from the
	 * metrics thread, not under the server's lock. */
	int (*collect)(void *ctx, struct ctr_set *out);
	/* vm.nmi (optional): inject an NMI into every vCPU. */
	int (*nmi)(void *ctx, struct err *err);
	/* vm.info's device_tree (optional): {"<id>": {"id", "resources",
	 * "children", "pci_bdf"}}; a new reference, or NULL for {}. */
	json_t *(*device_tree)(void *ctx);
	/* Optional: an fd that becomes readable when the guest stopped itself
	 * (ACPI S5 power-off, or a fatal error). ch_main() polls it, then calls
	 * api_vm_guest_exited(). -1 or NULL: none. */
	int (*exit_fd)(void *ctx);
};

enum vm_state {
	VM_STATE_NONE,	  /* no configuration: vm.info is 404 */
	VM_STATE_CREATED, /* configured, not running */
	VM_STATE_RUNNING,
	VM_STATE_PAUSED,
	VM_STATE_SHUTDOWN, /* not produced today: cloud-hypervisor reports Created */
};

const char *vm_state_name(enum vm_state s);

struct api_server {
	pthread_mutex_t lock;
	enum vm_state state;
	struct vm_config config; /* valid unless state == VM_STATE_NONE */
	const struct vmm_ops *ops;
	void *ops_ctx;
	struct event_monitor *events; /* may be NULL */
	bool has_http;		      /* false: no --api-socket (a VM from the command line) */
	struct http_server http;
	pthread_t thread;
	bool thread_running;
	int exit_fd; /* eventfd: readable once vmm.shutdown has been answered */
};

/*
 * Set up on a listening socket (http_listen_path/fd; taken over), or with
 * listen_fd -1 for no HTTP at all (the api_vm_* calls still work). path is
 * unlinked at destroy (NULL for an inherited fd). events may be NULL.
 * -errno.
 */
int api_server_init(struct api_server *a, int listen_fd, const char *path,
		    const struct vmm_ops *ops, void *ops_ctx, struct event_monitor *events);
/* Start the HTTP thread. -errno. */
int api_server_start(struct api_server *a);
/* Readable (an eventfd) once a vmm.shutdown request has been answered: the
 * process should then end (the VM is already deleted). */
int api_server_exit_fd(struct api_server *a);
/* Stop the thread, delete the VM if one runs, close every connection, unlink
 * the socket. */
void api_server_destroy(struct api_server *a);

/*
 * The same actions the endpoints take, for the command line (a payload given
 * as flags boots at once) and for ch_main(). Each returns the HTTP status
 * cloud-hypervisor would answer (2xx = success) and, on failure, the reason
 * in err.
 */
/* Takes over *cfg (left empty) on success. */
int api_vm_create(struct api_server *a, struct vm_config *cfg, struct err *err);
int api_vm_boot(struct api_server *a, struct err *err);
/* vm.restore with source_url "file:///DIR" (what --restore source_url=
 * gives): DIR/config.json becomes the VM's configuration, and the VM waits
 * Paused. 204, or 400 (the URL, the configuration), 404 (no snapshot
 * there), 500 (a VM exists already, the restore failed) with err. */
int api_vm_restore(struct api_server *a, const char *source_url, bool prefault, struct err *err);
/* A snapshot URL, "file://" and an absolute path, into its path (a
 * pointer into url), or NULL. */
const char *api_snapshot_url_path(const char *url);
/* vm.delete: shut down if running, drop the config. */
int api_vm_delete(struct api_server *a, struct err *err);
/* The guest stopped itself (exit_fd fired): release the VM (ops.shutdown),
 * state back to Created, event vm/shutdown. */
void api_vm_guest_exited(struct api_server *a);

/* The HTTP handler itself (exposed for tests that drive it directly). */
void api_handle(void *server, const struct http_request *req, struct http_response *resp);

#endif
