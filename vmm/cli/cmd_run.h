/* SPDX-License-Identifier: Apache-2.0 */
/*
 * svmm run: boot a kernel with cloud-hypervisor's command-line syntax.
 *
 *   svmm run --kernel K [--initramfs I] [--cmdline C] [--cpus boot=N,...]
 *            [--memory size=S,shared=on|off,hugepages=on|off,...]
 *            [--disk ...] [--net ...] [--rng ...] [--fs ...] [--vsock ...]
 *            [--serial MODE] [--console MODE] [--no-reboot] [-v]...
 *   svmm run --config FILE [--no-reboot] [-v]...
 *
 * Every VM flag is read by cloud-hypervisor's reader of that flag
 * (vmm/config/config.h) into one vm_config, which vm_config_validate()
 * checks before the kernel is read or /dev/kvm opened; --config FILE gives
 * the whole vm_config as cloud-hypervisor's JSON instead. --image/--bundle
 * are svmm-host's (vmm/run/exe.h), which runs cmd_run_image.
 */
#ifndef SVMM_VMM_CLI_CMD_RUN_H
#define SVMM_VMM_CLI_CMD_RUN_H

int cmd_run(int argc, char **argv);

#endif
