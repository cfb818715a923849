/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "svmm metrics [--state-dir DIR]... [--socket PATH]...": one Prometheus
 * exposition of every svmm VM it finds, on stdout. A VM is found by its
 * metrics socket: STATE/vmm/metrics.sock of each run under a state
 * directory (default /run/svmm/containers: svmm run --image ... --metrics
 * path=P serves there), each *.sock in /run/svmm/metrics (a VMM started
 * with --metrics path=/run/svmm/metrics/NAME.sock), and each --socket.
 * Each answers GET /metrics; the texts are merged family by family
 * (vmm/api/metrics.h metrics_merge), every sample keeping its vm label. A
 * socket that does not answer is named on stderr and skipped; the exit
 * status is 0 when every one found answered (none found is no error).
 */
#ifndef SVMM_VMM_CLI_CMD_METRICS_H
#define SVMM_VMM_CLI_CMD_METRICS_H

#define METRICS_REGISTRY "/run/svmm/metrics"

int cmd_metrics(int argc, char **argv);

#endif
