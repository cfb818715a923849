/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A boot-timestamp port, as cloud-hypervisor's debug port 0x80: a byte
 * written to it is a boot-phase code, logged with the time since the VMM
 * started. Codes follow cloud-hypervisor's ranges: 0x00-0x1f firmware,
 * 0x20-0x3f bootloader, 0x40-0x5f kernel, 0x60-0x7f user space. From a
 * guest shell: printf '\x60' | dd of=/dev/port bs=1 seek=128 count=1
 *
 * Linux also writes port 0x80 as an I/O delay (outb_p); only a change of
 * code is logged, so those do not flood the log.
 */
#ifndef SVMM_DEVICES_BOOT_TIMER_H
#define SVMM_DEVICES_BOOT_TIMER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct bus;

#define BOOT_TIMER_PORT 0x80

struct boot_timer {
	pthread_mutex_t lock;
	struct timespec start; /* VMM start, CLOCK_MONOTONIC */
	bool log;	       /* false: record only; true: log at LV_INFO (-v) */
	int last;	       /* last code, -1 before the first */
	uint64_t user_ns;      /* time of the first user-space code, 0 if none */
};

void boot_timer_init(struct boot_timer *t, const struct timespec *start, bool log);
int boot_timer_register(struct boot_timer *t, struct bus *pio);

#endif
