/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Debug subcommand: "svmm acpi-dump [--cpus N] [--memory SIZE] DIR" writes
 * each table the VMM would build to DIR/<SIG>.dat (RSDP, XSDT, FACP, APIC,
 * MCFG, DSDT), for iasl -d.
 */
#ifndef SVMM_VMM_CLI_CMD_ACPI_DUMP_H
#define SVMM_VMM_CLI_CMD_ACPI_DUMP_H

int cmd_acpi_dump(int argc, char **argv);

#endif
