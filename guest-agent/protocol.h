/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The svmm host <-> guest agent protocol, version 1 (guest-agent/PROTOCOL.md
 * is the full description). Shared by the agent (guest-agent/) and the host
 * client (vmm/run/agent_client.c); header-only so both build it without a
 * common library.
 *
 * A stream connection (vsock, or a Unix socket for the hybrid vsock scheme)
 * carries frames: a 12-byte little-endian header and a payload of at most
 * AGENT_MAX_PAYLOAD bytes. Control payloads are JSON objects; data payloads
 * (stdin, stdout, stderr) are raw bytes; SIGNAL and RESIZE are small binary
 * payloads.
 */
#ifndef SVMM_GUEST_AGENT_PROTOCOL_H
#define SVMM_GUEST_AGENT_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define AGENT_PROTO_VERSION 1
#define AGENT_VSOCK_PORT    1024
#define AGENT_HDR_LEN	    12
#define AGENT_MAX_PAYLOAD   (1u << 20)
#define AGENT_DATA_CHUNK    (64u << 10) /* largest data payload a side sends */

/* The workload's process id in the protocol (EXEC'd processes use others). */
#define AGENT_ID_MAIN 1

enum agent_msg_type {
	AGENT_HELLO = 1,    /* both ways: {"version":1,...} */
	AGENT_START = 2,    /* host: {"spec":{OCI config},"rootfs":{...},...} */
	AGENT_EXEC = 3,	    /* host: {"process":{OCI process}} */
	AGENT_STARTED = 4,  /* agent: {"pid":N} */
	AGENT_ERROR = 5,    /* agent: {"message":"...","exit":125|126|127} */
	AGENT_STDIN = 6,    /* host: bytes; an empty payload closes stdin */
	AGENT_STDOUT = 7,   /* agent: bytes (the pty's output with a terminal) */
	AGENT_STDERR = 8,   /* agent: bytes */
	AGENT_SIGNAL = 9,   /* host: u32 signal number */
	AGENT_RESIZE = 10,  /* host: u16 rows, u16 columns */
	AGENT_EXIT = 11,    /* agent: {"status":N,"signal":S,"lost_bytes":L} */
	AGENT_PING = 12,    /* host: any payload */
	AGENT_PONG = 13,    /* agent: {"uptime_ms":N,"processes":N,"echo":"..."} */
	AGENT_POWEROFF = 14 /* host: stop every process and power off */
};

struct agent_hdr {
	uint16_t type;
	uint16_t flags; /* 0 in version 1; receivers ignore it */
	uint32_t id;	/* process id in the protocol; 0 when none applies */
	uint32_t len;	/* payload bytes that follow */
};

static inline void agent_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static inline void agent_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static inline uint16_t agent_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t agent_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline void agent_hdr_encode(uint8_t out[AGENT_HDR_LEN], const struct agent_hdr *h)
{
	agent_put_le16(out, h->type);
	agent_put_le16(out + 2, h->flags);
	agent_put_le32(out + 4, h->id);
	agent_put_le32(out + 8, h->len);
}

/* Decodes a header; -1 when its length is over AGENT_MAX_PAYLOAD. */
static inline int agent_hdr_decode(struct agent_hdr *h, const uint8_t in[AGENT_HDR_LEN])
{
	h->type = agent_get_le16(in);
	h->flags = agent_get_le16(in + 2);
	h->id = agent_get_le32(in + 4);
	h->len = agent_get_le32(in + 8);
	return h->len > AGENT_MAX_PAYLOAD ? -1 : 0;
}

#endif
