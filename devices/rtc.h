/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CMOS RTC (ports 0x70/0x71): the time of day from the host clock in
 * UTC, read when the guest reads a time register, in BCD or binary and
 * 12- or 24-hour form as register B asks; "update in progress" always
 * clear; the other CMOS bytes as plain storage.
 */
#ifndef SVMM_DEVICES_RTC_H
#define SVMM_DEVICES_RTC_H

#include <pthread.h>
#include <stdint.h>

#include "vmm/kvm/snapshot.h"

struct bus;

#define RTC_PORT 0x70

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[128];
};

void rtc_init(struct rtc *r);
int rtc_register(struct rtc *r, struct bus *pio);
/* Snapshot: the index register and CMOS bytes ("rtc"; the time registers
 * read the host's clock, as before). */
extern const struct snap_ops rtc_snap_ops;

#endif
