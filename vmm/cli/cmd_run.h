/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svmm run: boot a kernel with cloud-hypervisor's command-line syntax.
 *
 *   svmm run --kernel K [--initramfs I] [--cmdline C] [--cpus boot=N]
 *            [--memory size=S,shared=on|off,hugepages=on|off]
 *            [--serial MODE] [--console MODE] [--no-reboot] [-v]...
 */
#ifndef SVMM_VMM_CLI_CMD_RUN_H
#define SVMM_VMM_CLI_CMD_RUN_H

int cmd_run(int argc, char **argv);

#endif
