/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `svmm api-selftest [cloud-hypervisor flags]`: a hidden subcommand for the
 * API tests. It runs the real cloud-hypervisor front end (ch_main: flags,
 * socket, HTTP server, state machine, events) with a TEST DOUBLE in place of
 * the VMM: its vmm_ops boot nothing, they record each call (readable through
 * vm.counters as {"api-selftest": {"boot": N, ...}} and on stderr), boot
 * fails when the kernel file cannot be opened, and power-button behaves like
 * a guest that powers itself off in response (its exit_fd fires). Only tests
 * about the API layer use it; real guests come with the VMM core.
 */
#ifndef SVMM_VMM_API_SELFTEST_H
#define SVMM_VMM_API_SELFTEST_H

int cmd_api_selftest(int argc, char **argv);

#endif
