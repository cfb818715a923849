// SPDX-License-Identifier: Apache-2.0
/* 16550A UART. */
#include "devices/serial.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devices/chardev.h"
#include "vmm/kvm/bus.h"
#include "vmm/kvm/log.h"
#include "vmm/kvm/seccomp.h"

enum { RBR_THR_DLL, IER_DLM, IIR_FCR, LCR, MCR, LSR, MSR, SCR };

#define IER_RDI	    0x01
#define IER_THRI    0x02
#define IIR_NO_INT  0x01
#define IIR_THRI    0x02
#define IIR_RDI	    0x04
#define IIR_FIFO    0xc0
#define FCR_FIFO_EN 0x01
#define FCR_CLR_RX  0x02
#define LCR_DLAB    0x80
#define MCR_LOOP    0x10
#define LSR_DR	    0x01
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define MSR_DEFAULT 0xb0 /* DCD, DSR, CTS */

/* Raise or drop the IRQ line to match the pending interrupts. */
static void update_irq(struct serial *s)
{
	bool rdi = (s->ier & IER_RDI) && s->rx_count;
	bool thri = (s->ier & IER_THRI) && s->thri;
	int level = rdi || thri;

	if (level != s->irq_level) {
		s->irq_level = level;
		s->set_irq(s->irq_opaque, s->irq, level);
	}
}

static void rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_count < SERIAL_RX_FIFO) {
		s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = c;
		s->rx_count++;
	}
}

/*
 * Collect the output line; returns true when one is complete. The guest
 * writes what it likes: control bytes and DEL are kept as "\xNN", so the
 * line can be printed on the host's terminal as it is.
 */
static bool line_add(struct serial *s, uint8_t c)
{
	size_t room = sizeof(s->line) - 1 - s->line_len;

	if (c != '\n') {
		if (c == '\r' || !room)
			return false;
		if (c >= 0x20 && c != 0x7f)
			s->line[s->line_len++] = (char)c;
		else if (room >= 4)
			s->line_len +=
				(unsigned int)snprintf(s->line + s->line_len, 5, "\\x%02x", c);
		return false;
	}
	s->line[s->line_len] = 0;
	s->line_len = 0;
	return true;
}

static void serial_read(void *opaque, uint64_t off, void *data, unsigned int size)
{
	struct serial *s = opaque;
	uint8_t v = 0;

	if (size != 1) {
		memset(data, 0xff, size);
		return;
	}
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case RBR_THR_DLL:
		if (s->lcr & LCR_DLAB) {
			v = s->dll;
		} else if (s->rx_count) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
			s->rx_count--;
			pthread_cond_signal(&s->rx_room);
		}
		break;
	case IER_DLM:
		v = s->lcr & LCR_DLAB ? s->dlm : s->ier;
		break;
	case IIR_FCR:
		if ((s->ier & IER_RDI) && s->rx_count) {
			v = IIR_RDI;
		} else if ((s->ier & IER_THRI) && s->thri) {
			v = IIR_THRI;
			s->thri = false; /* reading IIR acknowledges THRE */
		} else {
			v = IIR_NO_INT;
		}
		if (s->fcr & FCR_FIFO_EN)
			v |= IIR_FIFO;
		break;
	case LCR:
		v = s->lcr;
		break;
	case MCR:
		v = s->mcr;
		break;
	case LSR:
		v = LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
		break;
	case MSR:
		if (s->mcr & MCR_LOOP) /* RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD */
			v = (uint8_t)(((s->mcr & 0x02) << 3) | ((s->mcr & 0x01) << 5) |
				      ((s->mcr & 0x04) << 4) | ((s->mcr & 0x08) << 4));
		else
			v = MSR_DEFAULT;
		break;
	case SCR:
		v = s->scr;
		break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	*(uint8_t *)data = v;
}

static void serial_write(void *opaque, uint64_t off, const void *data, unsigned int size)
{
	struct serial *s = opaque;
	uint8_t v = *(const uint8_t *)data;
	bool out = false, line = false;
	char done[sizeof(s->line)];

	if (size != 1)
		return;
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case RBR_THR_DLL:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
		} else if (s->mcr & MCR_LOOP) {
			rx_push(s, v);
			s->thri = true;
		} else {
			out = true;
			line = s->on_line && line_add(s, v);
			if (line)
				memcpy(done, s->line, sizeof(done));
			s->thri = true; /* sent at once: THR is empty again */
		}
		break;
	case IER_DLM:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
		} else {
			/* Enabling THRE while THR is empty raises it at once. */
			if ((v & IER_THRI) && !(s->ier & IER_THRI))
				s->thri = true;
			s->ier = v & 0x0f;
		}
		break;
	case IIR_FCR:
		s->fcr = v & 0xc9;
		if (v & FCR_CLR_RX) {
			s->rx_count = 0;
			pthread_cond_signal(&s->rx_room);
		}
		break;
	case LCR:
		s->lcr = v;
		break;
	case MCR:
		s->mcr = v & 0x1f;
		break;
	case SCR:
		s->scr = v;
		break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	/* Outside the lock: a slow terminal must not stall the input thread. */
	if (out)
		chardev_write(s->cd, &v, 1);
	if (line)
		s->on_line(s->ctx, done);
}

static const struct bus_ops serial_ops = { .read = serial_read, .write = serial_write };

int serial_init(struct serial *s, struct chardev *cd, uint32_t irq,
		void (*set_irq)(void *opaque, uint32_t irq, int level), void *opaque)
{
	memset(s, 0, sizeof(*s));
	s->set_irq = set_irq;
	s->irq_opaque = opaque;
	s->cd = cd;
	s->irq = irq;
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (s->stop_fd < 0)
		return -errno;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->rx_room, NULL);
	return 0;
}

int serial_register(struct serial *s, struct bus *pio, uint16_t base)
{
	return bus_register(pio, base, 8, &serial_ops, s, "serial");
}

static void *input_thread(void *arg)
{
	struct serial *s = arg;
	uint8_t buf[SERIAL_RX_FIFO];
	int rc = sc_install(SC_SERIAL);

	if (rc) {
		log_msg(LV_ERROR, "serial", "serial input thread: seccomp filter: %s",
			strerror(-rc));
		return NULL; /* no input; output goes on */
	}
	for (;;) {
		/* Wait for room in the FIFO: the guest reads at its pace. */
		pthread_mutex_lock(&s->lock);
		while ((s->rx_count == SERIAL_RX_FIFO || s->paused) && s->input_running)
			pthread_cond_wait(&s->rx_room, &s->lock);
		unsigned int room = SERIAL_RX_FIFO - s->rx_count;
		bool running = s->input_running;
		pthread_mutex_unlock(&s->lock);
		if (!running)
			break;

		struct pollfd p[2] = { { .fd = s->stop_fd, .events = POLLIN },
				       { .fd = chardev_poll_fd(s->cd), .events = POLLIN } };
		if (poll(p, p[1].fd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		if (!p[1].revents)
			continue;
		int n = chardev_read(s->cd, buf, room);
		if (n < 0)
			break; /* input over (stdin closed): output goes on */
		pthread_mutex_lock(&s->lock);
		while (s->paused && s->input_running) /* read just before a pause */
			pthread_cond_wait(&s->rx_room, &s->lock);
		for (int i = 0; i < n; i++)
			rx_push(s, buf[i]);
		update_irq(s);
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

int serial_start(struct serial *s)
{
	if (chardev_poll_fd(s->cd) < 0)
		return 0;
	s->input_running = true;
	int ret = pthread_create(&s->input, NULL, input_thread, s);
	if (ret) {
		s->input_running = false;
		return -ret;
	}
	return 0;
}

void serial_pause(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	s->paused = true;
	pthread_mutex_unlock(&s->lock);
}

void serial_resume(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	s->paused = false;
	pthread_cond_broadcast(&s->rx_room); /* the input thread waits on it */
	pthread_mutex_unlock(&s->lock);
}

void serial_destroy(struct serial *s)
{
	if (s->input_running) {
		uint64_t one = 1;
		pthread_mutex_lock(&s->lock);
		s->input_running = false;
		pthread_cond_signal(&s->rx_room);
		pthread_mutex_unlock(&s->lock);
		if (write(s->stop_fd, &one, sizeof(one)) < 0) {
			/* an eventfd write cannot fail with a count of 1 */
		}
		pthread_join(s->input, NULL);
	}
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	s->stop_fd = -1;
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->rx_room);
}

/* --- snapshot ------------------------------------------------------------ */

struct serial_state {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm, thri;
	uint8_t rx[SERIAL_RX_FIFO];
	uint32_t rx_head, rx_count;
} __attribute__((packed));

static int serial_save(void *opaque, struct snap_w *w, struct err *err)
{
	struct serial *s = opaque;
	struct serial_state st;

	(void)err;
	pthread_mutex_lock(&s->lock);
	st = (struct serial_state){ .ier = s->ier,
				    .lcr = s->lcr,
				    .mcr = s->mcr,
				    .scr = s->scr,
				    .fcr = s->fcr,
				    .dll = s->dll,
				    .dlm = s->dlm,
				    .thri = s->thri,
				    .rx_head = s->rx_head,
				    .rx_count = s->rx_count };
	memcpy(st.rx, s->rx, sizeof(st.rx));
	pthread_mutex_unlock(&s->lock);
	return snap_put(w, &st, sizeof(st), "serial");
}

static int serial_restore(void *opaque, const struct snap_r *r, struct err *err)
{
	struct serial *s = opaque;
	struct serial_state st;
	int rc = snap_get_exact(r, &st, sizeof(st), err, "serial");

	if (rc)
		return rc;
	if (st.rx_head >= SERIAL_RX_FIFO || st.rx_count > SERIAL_RX_FIFO || st.thri > 1)
		return err_set(err, EINVAL, "snapshot: serial: receive FIFO at %u with %u bytes",
			       st.rx_head, st.rx_count);
	pthread_mutex_lock(&s->lock);
	s->ier = st.ier & 0x0f;
	s->lcr = st.lcr;
	s->mcr = st.mcr & 0x1f;
	s->scr = st.scr;
	s->fcr = st.fcr;
	s->dll = st.dll;
	s->dlm = st.dlm;
	s->thri = st.thri;
	memcpy(s->rx, st.rx, sizeof(s->rx));
	s->rx_head = st.rx_head;
	s->rx_count = st.rx_count;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

const struct snap_ops serial_snap_ops = { "serial", serial_save, serial_restore };
