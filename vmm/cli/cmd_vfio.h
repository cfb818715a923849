/* SPDX-License-Identifier: Apache-2.0 */
/* `svmm vfio`: PCI devices to vfio-pci and back, for passthrough. */
#ifndef SVMM_VMM_CLI_CMD_VFIO_H
#define SVMM_VMM_CLI_CMD_VFIO_H

/* svmm vfio bind|unbind|ls ... (argv[0] is "vfio"). */
int cmd_vfio(int argc, char **argv);

#endif
