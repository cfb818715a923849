/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container images on the host: an OCI image layout directory, a tarball of
 * one (what `docker save` writes since Docker 25), a legacy `docker save`
 * tarball (manifest.json), each verified blob by blob (sha256, openssl)
 * before use, and unpacked layer by layer (libarchive: tar, tar+gzip,
 * tar+zstd; whiteouts and opaque directories applied) into a cache keyed by
 * the manifest's digest, so a second run starts at once.
 *
 * A reference is a path: DIR (an OCI layout), DIR:TAG (its manifest named
 * TAG by org.opencontainers.image.ref.name) or FILE (a tarball).
 */
#ifndef SVMM_IMAGES_OCI_H
#define SVMM_IMAGES_OCI_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include "guest-agent/err.h"

#define IMAGE_DEFAULT_CACHE "/var/cache/svmm/images"

struct image {
	char key[80];	       /* "sha256:HEX": the manifest (or docker image id) */
	char dir[PATH_MAX];    /* the cache entry */
	char rootfs[PATH_MAX]; /* dir/rootfs: the unpacked layers */
	json_t *config;	       /* the image config blob (parsed), owned */
	bool cached;	       /* found unpacked: nothing was done */
};

struct image_opts {
	const char *cache; /* cache directory; IMAGE_DEFAULT_CACHE when NULL */
	bool progress;	   /* one line per step on stderr */
};

/* Verifies and unpacks ref into the cache (or finds it there). 0, or
 * negative errno with err naming the file, blob digest or field at fault. */
int image_prepare(const char *ref, const struct image_opts *o, struct image *img, struct err *err);
void image_release(struct image *img);

/* Checks that file's sha256 is digest ("sha256:HEX"). -EBADMSG naming both
 * digests when it is not, -ENOTSUP for another algorithm. */
int image_verify_blob(const char *file, const char *digest, struct err *err);

/* Applies the tar layer (any compression libarchive reads) onto rootfs:
 * ".wh.NAME" deletes NAME from the layers below, ".wh..wh..opq" empties its
 * directory of what the layers below put there. Paths escaping rootfs are
 * refused. */
int image_apply_layer(const char *layer, const char *rootfs, struct err *err);

#endif
