/* SPDX-License-Identifier: Apache-2.0 */
/* `svmm seed`: build FAT images, cloud-init NoCloud seeds and service disks. */
#ifndef SVMM_VMM_CLI_CMD_SEED_H
#define SVMM_VMM_CLI_CMD_SEED_H

int cmd_seed(int argc, char **argv);

#endif
