/* SPDX-License-Identifier: Apache-2.0 */
/* `svmm net`: the host side of VM networking from the command line. */
#ifndef SVMM_VMM_CLI_CMD_NET_H
#define SVMM_VMM_CLI_CMD_NET_H

/* svmm net up|down|gc|lease|ls ... (argv[0] is "net"). */
int cmd_net(int argc, char **argv);

#endif
