// SPDX-License-Identifier: Apache-2.0
/* CMOS RTC from the host clock. */
#include "devices/rtc.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "vmm/kvm/bus.h"

enum {
	RTC_SEC = 0x00,
	RTC_MIN = 0x02,
	RTC_HOUR = 0x04,
	RTC_WDAY = 0x06,
	RTC_MDAY = 0x07,
	RTC_MON = 0x08,
	RTC_YEAR = 0x09,
	RTC_REG_A = 0x0a,
	RTC_REG_B = 0x0b,
	RTC_REG_C = 0x0c,
	RTC_REG_D = 0x0d,
	RTC_CENTURY = 0x32,
};

#define REG_B_24H 0x02
#define REG_B_BIN 0x04
#define REG_D_VRT 0x80

static uint8_t enc(const struct rtc *r, int v)
{
	if (r->cmos[RTC_REG_B] & REG_B_BIN)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t time_reg(const struct rtc *r, uint8_t idx)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	switch (idx) {
	case RTC_SEC:
		return enc(r, tm.tm_sec);
	case RTC_MIN:
		return enc(r, tm.tm_min);
	case RTC_HOUR:
		if (r->cmos[RTC_REG_B] & REG_B_24H)
			return enc(r, tm.tm_hour);
		/* 12-hour: 12, 1..11, with bit 7 for PM */
		return (uint8_t)(enc(r, tm.tm_hour % 12 ? tm.tm_hour % 12 : 12) |
				 (tm.tm_hour >= 12 ? 0x80 : 0));
	case RTC_WDAY:
		return enc(r, tm.tm_wday + 1);
	case RTC_MDAY:
		return enc(r, tm.tm_mday);
	case RTC_MON:
		return enc(r, tm.tm_mon + 1);
	case RTC_YEAR:
		return enc(r, tm.tm_year % 100);
	default: /* RTC_CENTURY */
		return enc(r, (tm.tm_year + 1900) / 100);
	}
}

static void rtc_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	struct rtc *r = opaque;
	uint8_t v = 0xff;

	if (size == 1) {
		pthread_mutex_lock(&r->lock);
		if (off == 0) {
			v = r->index;
		} else {
			uint8_t i = r->index & 0x7f;
			switch (i) {
			case RTC_SEC:
			case RTC_MIN:
			case RTC_HOUR:
			case RTC_WDAY:
			case RTC_MDAY:
			case RTC_MON:
			case RTC_YEAR:
			case RTC_CENTURY:
				v = time_reg(r, i);
				break;
			case RTC_REG_A:
				v = r->cmos[i] & 0x7f; /* UIP clear: the time is always stable */
				break;
			case RTC_REG_C:
				v = 0; /* no interrupt flags */
				break;
			case RTC_REG_D:
				v = REG_D_VRT;
				break;
			default:
				v = r->cmos[i];
			}
		}
		pthread_mutex_unlock(&r->lock);
	}
	memset(data, v, size);
}

static void rtc_write(void *opaque, uint64_t off, const void *data, unsigned int size)
{
	struct rtc *r = opaque;
	uint8_t v = *(const uint8_t *)data;

	if (size != 1)
		return;
	pthread_mutex_lock(&r->lock);
	if (off == 0) {
		r->index = v; /* bit 7 is NMI disable: kept, ignored */
	} else {
		uint8_t i = r->index & 0x7f;
		/* Setting the clock is ignored: the host's time rules. */
		if (i == RTC_REG_A || i == RTC_REG_B || i > RTC_REG_D)
			r->cmos[i] = v;
	}
	pthread_mutex_unlock(&r->lock);
}

static const struct bus_ops rtc_ops = { .read = rtc_read, .write = rtc_write };

void rtc_init(struct rtc *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->cmos[RTC_REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz rate */
	r->cmos[RTC_REG_B] = REG_B_24H;
}

int rtc_register(struct rtc *r, struct bus *pio)
{
	return bus_register(pio, RTC_PORT, 2, &rtc_ops, r, "rtc");
}

static int rtc_save(void *opaque, struct snap_w *w, struct err *err)
{
	struct rtc *r = opaque;
	uint8_t st[1 + sizeof(r->cmos)];

	(void)err;
	pthread_mutex_lock(&r->lock);
	st[0] = r->index;
	memcpy(st + 1, r->cmos, sizeof(r->cmos));
	pthread_mutex_unlock(&r->lock);
	return snap_put(w, st, sizeof(st), "rtc");
}

static int rtc_restore(void *opaque, const struct snap_r *sr, struct err *err)
{
	struct rtc *r = opaque;
	uint8_t st[1 + sizeof(r->cmos)];
	int rc = snap_get_exact(sr, st, sizeof(st), err, "rtc");

	if (rc)
		return rc;
	pthread_mutex_lock(&r->lock);
	r->index = st[0] & 0x7f;
	memcpy(r->cmos, st + 1, sizeof(r->cmos));
	pthread_mutex_unlock(&r->lock);
	return 0;
}

const struct snap_ops rtc_snap_ops = { "rtc", rtc_save, rtc_restore };
