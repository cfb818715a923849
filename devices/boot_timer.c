// SPDX-License-Identifier: Apache-2.0
/* Boot-timestamp port (0x80). */
#include "devices/boot_timer.h"

#include <string.h>

#include "vmm/kvm/bus.h"
#include "vmm/kvm/log.h"

static const char *phase(uint8_t code)
{
	static const char *const name[] = { "firmware", "bootloader", "kernel", "userspace" };

	return code < 0x80 ? name[code >> 5] : "other";
}

static void bt_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	(void)opaque;
	(void)off;
	memset(data, 0xff, size);
}

static void bt_write(void *opaque, uint64_t off, const void *data, unsigned int size)
{
	struct boot_timer *t = opaque;
	uint8_t code = *(const uint8_t *)data;
	struct timespec now;

	(void)off;
	if (size != 1)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	uint64_t ns = (uint64_t)(now.tv_sec - t->start.tv_sec) * 1000000000ULL +
		      (uint64_t)now.tv_nsec - (uint64_t)t->start.tv_nsec;
	pthread_mutex_lock(&t->lock);
	if (code != t->last) {
		t->last = code;
		if (code >= 0x60 && code < 0x80 && !t->user_ns)
			t->user_ns = ns;
		if (t->log)
			log_msg(LV_INFO, "boot-timer",
				"boot-timer: code %#04x (%s) at %llu.%03llu ms", code, phase(code),
				(unsigned long long)(ns / 1000000),
				(unsigned long long)(ns / 1000 % 1000));
	}
	pthread_mutex_unlock(&t->lock);
}

static const struct bus_ops bt_ops = { .read = bt_read, .write = bt_write };

void boot_timer_init(struct boot_timer *t, const struct timespec *start, bool log)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->start = *start;
	t->log = log;
	t->last = -1;
}

int boot_timer_register(struct boot_timer *t, struct bus *pio)
{
	return bus_register(pio, BOOT_TIMER_PORT, 1, &bt_ops, t, "boot-timer");
}
