/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The OCI runtime spec (config.json) the guest agent runs: made from an
 * image config's defaults (Entrypoint, Cmd, Env, WorkingDir, User) with the
 * command line's overrides applied as docker applies them, or a bundle's
 * own config.json with the same overrides.
 */
#ifndef SVMM_IMAGES_SPEC_H
#define SVMM_IMAGES_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "guest-agent/err.h"

/* A volume: a host directory shared with the guest under tag. */
struct spec_volume {
	const char *host, *guest, *tag;
	bool ro;
};

struct spec_overrides {
	char **cmd;	  /* replaces Cmd (Entrypoint stays), NULL-terminated; NULL: none */
	const char **env; /* "K=V" entries that replace or add, count nenv */
	size_t nenv;
	const char *workdir; /* -w */
	const char *user;    /* -u USER[:GROUP], names looked up in the rootfs */
	const char *hostname;
	bool tty;
	bool readonly; /* --read-only */
	const struct spec_volume *vols;
	size_t nvols;
	unsigned short rows, cols; /* the terminal's size with tty */
};

/* A new spec from image config imgcfg (the whole config blob) for the
 * unpacked root rootfs (used to resolve user names). NULL with err set. */
json_t *spec_from_image(json_t *imgcfg, const char *rootfs, const struct spec_overrides *o,
			struct err *err);

/* Applies o to spec (a bundle's config.json). 0 or -EINVAL with err. */
int spec_apply(json_t *spec, const char *rootfs, const struct spec_overrides *o, struct err *err);

/* Resolves "USER[:GROUP]" (names or numbers) with rootfs/etc/passwd and
 * /etc/group: uid, gid and the user's additional groups. */
int spec_resolve_user(const char *rootfs, const char *user, json_t **out, struct err *err);

#endif
