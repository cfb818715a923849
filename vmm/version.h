/* SPDX-License-Identifier: Apache-2.0 */
/* svmm's version: printed by the CLI, reported by the API (vmm.ping). */
#ifndef SVMM_VMM_VERSION_H
#define SVMM_VMM_VERSION_H

#define SVMM_VERSION "0.1.0"

#endif
