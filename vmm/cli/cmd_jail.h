/* SPDX-License-Identifier: Apache-2.0 */
/* `svmm jail`: run svmm in a jail, as Firecracker's jailer (vmm/run/jail.h). */
#ifndef SVMM_VMM_CLI_CMD_JAIL_H
#define SVMM_VMM_CLI_CMD_JAIL_H

int cmd_jail(int argc, char **argv);

#endif
