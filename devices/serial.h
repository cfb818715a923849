/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A 16550A UART (COM1: port 0x3f8, IRQ 4): the registers Linux's 8250
 * driver probes (IER, IIR with FIFO bits, LCR, MCR with loopback, LSR,
 * MSR, SCR, the divisor latch), a transmit-empty interrupt, and a receive
 * FIFO fed from the chardev by an input thread.
 *
 * on_line, when set, is called with each complete output line (the VMM
 * watches for the kernel's panic and power-off messages), its control
 * bytes and DEL written as "\xNN" so that it is safe to print.
 *
 * The device drives its interrupt line through set_irq (required), given at
 * init with its opaque: level 1 raises GSI irq, 0 lowers it (the VMM wires it
 * to KVM_IRQ_LINE). It is called only when the level changes, with the
 * device's lock held.
 */
#ifndef SVMM_DEVICES_SERIAL_H
#define SVMM_DEVICES_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/kvm/snapshot.h"

struct bus;
struct chardev;

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_IRQ	 4
#define SERIAL_RX_FIFO	 64

struct serial {
	pthread_mutex_t lock;
	pthread_cond_t rx_room;
	void (*set_irq)(void *opaque, uint32_t irq, int level);
	void *irq_opaque;
	struct chardev *cd;
	uint32_t irq;
	int irq_level;

	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thri; /* transmit-empty interrupt pending */
	uint8_t rx[SERIAL_RX_FIFO];
	unsigned int rx_head, rx_count;

	char line[256]; /* the output line so far */
	unsigned int line_len;
	void (*on_line)(void *ctx, const char *line);
	void *ctx;

	pthread_t input;
	bool input_running;
	bool paused; /* vm.pause: no input taken in, under lock */
	int stop_fd; /* eventfd that ends the input thread */
};

int serial_init(struct serial *s, struct chardev *cd, uint32_t irq,
		void (*set_irq)(void *opaque, uint32_t irq, int level), void *opaque);
int serial_register(struct serial *s, struct bus *pio, uint16_t base);
/* Start feeding input from the chardev (when it has any). */
int serial_start(struct serial *s);
/* vm.pause: from its return until serial_resume no input byte reaches the
 * receive FIFO and the input thread raises no interrupt (what it read in
 * the meantime waits in its buffer; the rest stays in the back end). */
void serial_pause(struct serial *s);
void serial_resume(struct serial *s);
/* Stop the input thread and free what init took. */
void serial_destroy(struct serial *s);
/* Snapshot: the registers, the receive FIFO and the interrupt ("serial"). */
extern const struct snap_ops serial_snap_ops;

#endif
