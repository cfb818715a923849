// SPDX-License-Identifier: Apache-2.0
/* Container images: verification, unpacking and the cache (see oci.h). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guest-agent/common.h"
#include "images/oci.h"
#include "vmm/kvm/log.h"

/* snprintf that reports truncation (-ENAMETOOLONG) instead of hiding it. */
static int pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static void progress(const struct image_opts *o, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	if (!o->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_msg(LV_NOTE, "image", "%s", line);
}

/* rm -rf that never follows symbolic links. */
static int remove_all(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? -errno : 0;
	DIR *d = opendir(path);
	struct dirent *de;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char p[PATH_MAX];
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		pathf(p, sizeof(p), "%s/%s", path, de->d_name);
		remove_all(p);
	}
	closedir(d);
	return rmdir(path) < 0 ? -errno : 0;
}

/* --- digests ------------------------------------------------------------------------- */

static bool hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == 0;
}

/* "sha256:HEX" -> HEX (validated, so it is safe in a path). */
static int digest_hex(const char *digest, const char **hex, struct err *err)
{
	if (!digest)
		return err_set(err, -EINVAL, "a descriptor has no digest");
	if (strncmp(digest, "sha256:", 7))
		return err_set(err, -ENOTSUP, "digest '%s': only sha256 is supported", digest);
	if (!hex64(digest + 7))
		return err_set(err, -EINVAL, "digest '%s' is not 64 lowercase hex digits", digest);
	*hex = digest + 7;
	return 0;
}

static int sha256_file(const char *file, char out[65])
{
	unsigned char buf[1 << 16], md[32];
	unsigned int mdlen = 0;
	int fd = open(file, O_RDONLY | O_CLOEXEC), r = 0;
	if (fd < 0)
		return -errno;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		EVP_DigestUpdate(ctx, buf, n);
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	for (unsigned i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return r;
}

int image_verify_blob(const char *file, const char *digest, struct err *err)
{
	const char *hex;
	char got[65];
	int r = digest_hex(digest, &hex, err);
	if (r < 0)
		return r;
	r = sha256_file(file, got);
	if (r < 0)
		return err_set(err, r, "blob %s: cannot read %s: %s", digest, file, strerror(-r));
	if (strcmp(got, hex))
		return err_set(err, -EBADMSG,
			       "blob %s is corrupt: its content hashes to sha256:%s (%s)", digest,
			       got, file);
	return 0;
}

/* --- layers -------------------------------------------------------------------------- */

/* "./a//b/" -> "a/b"; -1 on ".." or an empty result. */
static int clean_path(const char *in, char *out, size_t len)
{
	size_t n = 0;
	const char *p = in;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchrnul(p, '/');
		size_t l = e - p;
		if (l == 0)
			break;
		if (l == 2 && !strncmp(p, "..", 2))
			return -1;
		if (!(l == 1 && *p == '.')) {
			if (n + l + 2 > len)
				return -1;
			if (n)
				out[n++] = '/';
			memcpy(out + n, p, l);
			n += l;
		}
		p = e;
	}
	out[n] = 0;
	return n ? 0 : -1;
}

/* Is the real location of rootfs/rel's parent inside rootfs? */
static bool inside(const char *rootfs, const char *rel)
{
	char path[PATH_MAX], real[PATH_MAX], rroot[PATH_MAX];
	pathf(path, sizeof(path), "%s/%s", rootfs, rel);
	char *slash = strrchr(path, '/');
	*slash = 0;
	if (!realpath(path, real) || !realpath(rootfs, rroot))
		return false;
	size_t l = strlen(rroot);
	return !strncmp(real, rroot, l) && (real[l] == 0 || real[l] == '/');
}

/* Opaque directory: removes what this layer did not write (in set). */
static void opaque_clean(const char *rootfs, const char *rel, json_t *set)
{
	char path[PATH_MAX];
	pathf(path, sizeof(path), "%s/%s", rootfs, rel);
	DIR *d = opendir(path);
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		char crel[PATH_MAX], cpath[PATH_MAX];
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		pathf(crel, sizeof(crel), "%s/%s", rel, de->d_name);
		pathf(cpath, sizeof(cpath), "%s/%s", rootfs, crel);
		if (!json_object_get(set, crel))
			remove_all(cpath);
		else if (lstat(cpath, &st) == 0 && S_ISDIR(st.st_mode))
			opaque_clean(rootfs, crel, set);
	}
	closedir(d);
}

int image_apply_layer(const char *layer, const char *rootfs, struct err *err)
{
	struct archive *a = archive_read_new(), *w = archive_write_disk_new();
	struct archive_entry *e;
	json_t *set = json_object();
	int r = 0;

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_write_disk_set_options(
		w, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER |
			   ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_FFLAGS |
			   ARCHIVE_EXTRACT_UNLINK | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
			   ARCHIVE_EXTRACT_SECURE_SYMLINKS);
	archive_write_disk_set_standard_lookup(w);
	if (archive_read_open_filename(a, layer, 1 << 16) != ARCHIVE_OK) {
		r = err_set(err, -EINVAL, "layer %s: %s", layer, archive_error_string(a));
		goto out;
	}
	for (;;) {
		int ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar < ARCHIVE_WARN) {
			r = err_set(err, -EINVAL, "layer %s: %s", layer, archive_error_string(a));
			goto out;
		}
		char rel[PATH_MAX], full[PATH_MAX];
		const char *name = archive_entry_pathname(e);
		if (!name || clean_path(name, rel, sizeof(rel) - 1) < 0) {
			if (name && (!strcmp(name, "./") || !strcmp(name, ".")))
				continue; /* the root itself */
			r = err_set(err, -EINVAL, "layer %s: entry '%s' escapes the root", layer,
				    name ? name : "(no name)");
			goto out;
		}
		const char *base = strrchr(rel, '/');
		base = base ? base + 1 : rel;
		if (!strncmp(base, ".wh.", 4)) {
			char target[PATH_MAX];
			size_t dl = base - rel;
			if (!inside(rootfs, rel)) {
				r = err_set(err, -EINVAL,
					    "layer %s: whiteout '%s' resolves outside the root",
					    layer, name);
				goto out;
			}
			const char *victim = base + 4;
			if (strcmp(base, ".wh..wh..opq") &&
			    (!*victim || !strcmp(victim, ".") || !strcmp(victim, ".."))) {
				r = err_set(
					err, -EINVAL,
					"layer %s: whiteout '%s' names no file in its directory",
					layer, name);
				goto out;
			}
			if (!strcmp(base, ".wh..wh..opq")) {
				pathf(target, sizeof(target), "%.*s", dl ? (int)dl - 1 : 0, rel);
				if (dl)
					opaque_clean(rootfs, target, set);
				else
					opaque_clean(rootfs, ".", set);
			} else {
				pathf(target, sizeof(target), "%s/%.*s%s", rootfs, (int)dl, rel,
				      base + 4);
				remove_all(target);
			}
			continue;
		}
		/* Device nodes would be real ones in the host's cache; the guest
		 * has its own devtmpfs. */
		if (archive_entry_filetype(e) == AE_IFCHR ||
		    archive_entry_filetype(e) == AE_IFBLK) {
			r = err_set(err, -EPERM,
				    "layer %s: '%s' is a device node; images may not carry them",
				    layer, name);
			goto out;
		}
		json_object_set_new(set, rel, json_true());
		pathf(full, sizeof(full), "%s/%s", rootfs, rel);
		archive_entry_set_pathname(e, full);
		const char *hl = archive_entry_hardlink(e);
		if (hl) {
			char hrel[PATH_MAX], hfull[PATH_MAX];
			if (clean_path(hl, hrel, sizeof(hrel) - 1) < 0) {
				r = err_set(err, -EINVAL,
					    "layer %s: hard link '%s' escapes the root", layer, hl);
				goto out;
			}
			pathf(hfull, sizeof(hfull), "%s/%s", rootfs, hrel);
			archive_entry_set_hardlink(e, hfull);
		}
		ar = archive_write_header(w, e);
		if (ar >= ARCHIVE_WARN && archive_entry_size(e) > 0 && !hl) {
			const void *buf;
			size_t size;
			la_int64_t off;
			while ((ar = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK)
				if (archive_write_data_block(w, buf, size, off) < ARCHIVE_WARN)
					break;
			if (ar < ARCHIVE_WARN && ar != ARCHIVE_EOF) {
				r = err_set(err, -EIO, "layer %s: %s: %s", layer, rel,
					    archive_error_string(a));
				goto out;
			}
		}
		if (ar < ARCHIVE_WARN && ar != ARCHIVE_EOF) {
			r = err_set(err, -EIO, "layer %s: %s: %s", layer, rel,
				    archive_error_string(w));
			goto out;
		}
		if (archive_write_finish_entry(w) < ARCHIVE_WARN) {
			r = err_set(err, -EIO, "layer %s: %s: %s", layer, rel,
				    archive_error_string(w));
			goto out;
		}
	}
out:
	archive_read_free(a);
	archive_write_free(w);
	json_decref(set);
	return r;
}

/* --- layouts ------------------------------------------------------------------------- */

static json_t *load_json(const char *file, struct err *err)
{
	json_error_t je;
	json_t *j = json_load_file(file, 0, &je);
	if (!j)
		err_set(err, -EINVAL, "%s: %s (line %d)", file, je.text, je.line);
	return j;
}

/* Loads the blob of descriptor desc from layout, verified. */
static json_t *load_blob_json(const char *layout, json_t *desc, struct err *err)
{
	const char *digest = json_string_value(json_object_get(desc, "digest")), *hex;
	char file[PATH_MAX];
	if (digest_hex(digest, &hex, err) < 0)
		return NULL;
	pathf(file, sizeof(file), "%s/blobs/sha256/%s", layout, hex);
	if (image_verify_blob(file, digest, err) < 0)
		return NULL;
	return load_json(file, err);
}

static bool is_index(json_t *desc)
{
	const char *mt = json_string_value(json_object_get(desc, "mediaType"));
	return mt && (strstr(mt, "image.index") || strstr(mt, "manifest.list"));
}

/* Picks a manifest descriptor in an index: by tag, else linux/amd64, else
 * the only one. */
static json_t *pick_manifest(json_t *index, const char *tag, struct err *err)
{
	json_t *ms = json_object_get(index, "manifests"), *m, *pick = NULL;
	size_t i;
	json_array_foreach(ms, i, m)
	{
		const char *name = json_string_value(json_object_get(
			json_object_get(m, "annotations"), "org.opencontainers.image.ref.name"));
		json_t *plat = json_object_get(m, "platform");
		const char *arch = json_string_value(json_object_get(plat, "architecture"));
		const char *os = json_string_value(json_object_get(plat, "os"));
		if (tag) {
			if (name && !strcmp(name, tag))
				return m;
			continue;
		}
		if (!plat || (arch && os && !strcmp(arch, "amd64") && !strcmp(os, "linux"))) {
			pick = m;
			break;
		}
	}
	if (!pick && !tag && json_array_size(ms) == 1)
		pick = json_array_get(ms, 0);
	if (!pick)
		err_set(err, -ENOENT,
			tag ? "index.json has no manifest named '%s'"
			    : "index.json has no linux/amd64 manifest%s",
			tag ? tag : "");
	return pick;
}

static int cache_lock(const char *cache, const char *hex)
{
	char path[PATH_MAX];
	pathf(path, sizeof(path), "%s/%s.lock", cache, hex);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		flock(fd, LOCK_EX);
	return fd;
}

/* The unpacking common to both formats: layer files in order. */
static int unpack(const struct image_opts *o, const char *dir, char **layers, const char **digests,
		  size_t n, json_t *config, struct err *err)
{
	char tmp[PATH_MAX], rootfs[PATH_MAX], cfg[PATH_MAX];
	int r;
	pathf(tmp, sizeof(tmp), "%s.tmp.%d", dir, getpid());
	remove_all(tmp);
	pathf(rootfs, sizeof(rootfs), "%s/rootfs", tmp);
	if ((r = mkdir_p(rootfs, 0755)) < 0)
		return err_set(err, r, "cannot create %s: %s", rootfs, strerror(-r));
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		stat(layers[i], &st);
		progress(o, "layer %zu/%zu %.19s (%.1f MB): applying", i + 1, n, digests[i],
			 st.st_size / 1e6);
		if ((r = image_apply_layer(layers[i], rootfs, err)) < 0) {
			remove_all(tmp);
			return r;
		}
	}
	pathf(cfg, sizeof(cfg), "%s/image-config.json", tmp);
	if (json_dump_file(config, cfg, JSON_INDENT(2)) < 0) {
		remove_all(tmp);
		return err_set(err, -EIO, "cannot write %s", cfg);
	}
	remove_all(dir);
	if (rename(tmp, dir) < 0) {
		r = -errno;
		remove_all(tmp);
		return err_set(err, r, "cannot move %s to %s: %s", tmp, dir, strerror(-r));
	}
	return 0;
}

/* Unpacks the verified layers (when r is 0) into img's cache entry, and
 * frees the lists either way. */
static int unpack_into(const struct image_opts *o, struct image *img, int r, char **files,
		       const char **digests, size_t n, json_t *config, struct err *err)
{
	if (!r)
		r = unpack(o, img->dir, files, digests, n, config, err);
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
	free(digests);
	if (!r) {
		img->config = json_incref(config);
		pathf(img->rootfs, sizeof(img->rootfs), "%s/rootfs", img->dir);
	}
	return r;
}

static int cache_hit(struct image *img)
{
	char cfg[PATH_MAX];
	pathf(cfg, sizeof(cfg), "%s/image-config.json", img->dir);
	pathf(img->rootfs, sizeof(img->rootfs), "%s/rootfs", img->dir);
	if (access(cfg, R_OK) < 0)
		return 0;
	img->config = json_load_file(cfg, 0, NULL);
	img->cached = img->config != NULL;
	return img->cached;
}

static int prepare_layout(const char *layout, const char *tag, const struct image_opts *o,
			  struct image *img, struct err *err)
{
	char file[PATH_MAX];
	int r = -EINVAL;
	json_t *index, *manifest = NULL, *config = NULL, *desc;
	const char *hex;

	pathf(file, sizeof(file), "%s/index.json", layout);
	index = load_json(file, err);
	if (!index)
		return -EINVAL;
	desc = pick_manifest(index, tag, err);
	/* A nested index (multi-platform): one level down. */
	while (desc && is_index(desc)) {
		json_t *sub = load_blob_json(layout, desc, err);
		json_decref(index);
		index = sub;
		desc = index ? pick_manifest(index, NULL, err) : NULL;
	}
	if (!desc)
		goto out;
	const char *mdigest = json_string_value(json_object_get(desc, "digest"));
	if (digest_hex(mdigest, &hex, err) < 0)
		goto out;
	pathf(img->key, sizeof(img->key), "%s", mdigest);
	pathf(img->dir, sizeof(img->dir), "%s/%s", o->cache, hex);
	int lock = cache_lock(o->cache, hex);
	if (cache_hit(img)) {
		progress(o, "image %.19s: unpacked already", mdigest);
		r = 0;
		goto unlock;
	}
	manifest = load_blob_json(layout, desc, err);
	if (!manifest)
		goto unlock;
	config = load_blob_json(layout, json_object_get(manifest, "config"), err);
	if (!config)
		goto unlock;
	json_t *ls = json_object_get(manifest, "layers"), *l;
	size_t n = json_array_size(ls), i;
	char **files = calloc(n + 1, sizeof(*files));
	const char **digests = calloc(n + 1, sizeof(*digests));
	r = 0;
	json_array_foreach(ls, i, l)
	{
		const char *d = json_string_value(json_object_get(l, "digest")), *lh;
		const char *mt = json_string_value(json_object_get(l, "mediaType"));
		if ((r = digest_hex(d, &lh, err)) < 0)
			break;
		if (mt && strstr(mt, "nondistributable") == NULL && !strstr(mt, "tar") &&
		    !strstr(mt, "layer")) {
			r = err_set(err, -ENOTSUP, "layer %s: media type %s is not a tar layer", d,
				    mt);
			break;
		}
		files[i] = malloc(PATH_MAX);
		digests[i] = d;
		pathf(files[i], PATH_MAX, "%s/blobs/sha256/%s", layout, lh);
		progress(o, "layer %zu/%zu %.19s: verifying", i + 1, n, d);
		if ((r = image_verify_blob(files[i], d, err)) < 0)
			break;
	}
	r = unpack_into(o, img, r, files, digests, n, config, err);
unlock:
	if (lock >= 0)
		close(lock);
out:
	json_decref(index);
	json_decref(manifest);
	json_decref(config);
	return r;
}

/* Legacy `docker save`: manifest.json names the config and layer files; the
 * config's file name is its digest, and rootfs.diff_ids are the layers'. */
static int prepare_docker(const char *dir, const struct image_opts *o, struct image *img,
			  struct err *err)
{
	char file[PATH_MAX], cdigest[80];
	int r = -EINVAL;
	pathf(file, sizeof(file), "%s/manifest.json", dir);
	json_t *m = load_json(file, err), *config = NULL;
	if (!m)
		return -EINVAL;
	json_t *e = json_array_get(m, 0);
	const char *cfgname = json_string_value(json_object_get(e, "Config"));
	if (!cfgname || strstr(cfgname, "..")) {
		r = err_set(err, -EINVAL, "%s: no Config file", file);
		goto out;
	}
	/* "HEX.json" or "blobs/sha256/HEX" */
	const char *b = strrchr(cfgname, '/');
	b = b ? b + 1 : cfgname;
	pathf(cdigest, sizeof(cdigest), "sha256:%.64s", b);
	pathf(file, sizeof(file), "%s/%s", dir, cfgname);
	if ((r = image_verify_blob(file, cdigest, err)) < 0)
		goto out;
	config = load_json(file, err);
	if (!config) {
		r = -EINVAL;
		goto out;
	}
	pathf(img->key, sizeof(img->key), "%s", cdigest);
	pathf(img->dir, sizeof(img->dir), "%s/%s", o->cache, cdigest + 7);
	int lock = cache_lock(o->cache, cdigest + 7);
	if (cache_hit(img)) {
		r = 0;
		goto unlock;
	}
	json_t *ls = json_object_get(e, "Layers");
	json_t *ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	size_t n = json_array_size(ls), i;
	if (n != json_array_size(ids)) {
		r = err_set(err, -EINVAL, "%s: %zu layers but %zu diff_ids", cfgname, n,
			    json_array_size(ids));
		goto unlock;
	}
	char **files = calloc(n + 1, sizeof(*files));
	const char **digests = calloc(n + 1, sizeof(*digests));
	r = 0;
	for (i = 0; i < n && !r; i++) {
		const char *lf = json_string_value(json_array_get(ls, i));
		digests[i] = json_string_value(json_array_get(ids, i));
		files[i] = malloc(PATH_MAX);
		if (!lf || strstr(lf, "..")) {
			r = err_set(err, -EINVAL, "manifest.json: bad layer name");
			break;
		}
		pathf(files[i], PATH_MAX, "%s/%s", dir, lf);
		/* diff_ids are of the uncompressed tar: docker save writes those. */
		r = image_verify_blob(files[i], digests[i], err);
	}
	r = unpack_into(o, img, r, files, digests, n, config, err);
unlock:
	if (lock >= 0)
		close(lock);
out:
	json_decref(m);
	json_decref(config);
	return r;
}

/* Extracts a tarball (not a layer: no whiteouts) into dir. */
static int extract_tarball(const char *file, const char *dir, struct err *err)
{
	struct archive *a = archive_read_new(), *w = archive_write_disk_new();
	struct archive_entry *e;
	int r = 0;
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_SECURE_NODOTDOT |
						  ARCHIVE_EXTRACT_SECURE_SYMLINKS |
						  ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
	if (archive_read_open_filename(a, file, 1 << 16) != ARCHIVE_OK) {
		r = err_set(err, -EINVAL, "%s: %s", file, archive_error_string(a));
		goto out;
	}
	int cwd = open(".", O_RDONLY | O_CLOEXEC);
	if (chdir(dir) < 0) {
		r = err_set(err, -errno, "chdir %s: %s", dir, strerror(errno));
		close(cwd);
		goto out;
	}
	int ar;
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (archive_write_header(w, e) < ARCHIVE_WARN ||
		    (archive_entry_size(e) > 0 && ({
			     const void *buf;
			     size_t size;
			     la_int64_t off;
			     int x;
			     while ((x = archive_read_data_block(a, &buf, &size, &off)) ==
				    ARCHIVE_OK)
				     archive_write_data_block(w, buf, size, off);
			     x != ARCHIVE_EOF;
		     }))) {
			r = err_set(err, -EIO, "%s: %s", file, archive_error_string(w));
			break;
		}
		archive_write_finish_entry(w);
	}
	if (!r && ar != ARCHIVE_EOF)
		r = err_set(err, -EINVAL, "%s: %s", file, archive_error_string(a));
	if (fchdir(cwd) < 0)
		r = r ? r : -errno;
	close(cwd);
out:
	archive_read_free(a);
	archive_write_free(w);
	return r;
}

static bool exists_in(const char *dir, const char *name)
{
	char p[PATH_MAX];
	pathf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

int image_prepare(const char *ref, const struct image_opts *opts, struct image *img,
		  struct err *err)
{
	struct image_opts o = *opts;
	struct stat st;
	char path[PATH_MAX];
	const char *tag = NULL;
	int r;

	memset(img, 0, sizeof(*img));
	if (!o.cache)
		o.cache = IMAGE_DEFAULT_CACHE;
	if ((r = mkdir_p(o.cache, 0700)) < 0)
		return err_set(err, r, "cannot create the image cache %s: %s", o.cache,
			       strerror(-r));
	/* Unpacked roots keep their setuid files and owners (the guest's root
	 * disk needs them): only the cache's owner may reach them. */
	if (chmod(o.cache, 0700) < 0)
		return err_set(err, -errno, "image cache %s: %s", o.cache, strerror(errno));
	pathf(path, sizeof(path), "%s", ref);
	if (stat(path, &st) < 0) {
		char *colon = strrchr(path, ':');
		if (colon) {
			*colon = 0;
			tag = colon + 1 - path + ref;
		}
		if (!colon || stat(path, &st) < 0)
			return err_set(err, -ENOENT,
				       "image '%s': no such directory or file (an OCI layout "
				       "directory, DIR:TAG, or a docker-save tarball)",
				       ref);
	}
	if (S_ISDIR(st.st_mode)) {
		if (exists_in(path, "index.json"))
			return prepare_layout(path, tag, &o, img, err);
		if (exists_in(path, "manifest.json"))
			return prepare_docker(path, &o, img, err);
		return err_set(err, -EINVAL,
			       "image '%s': a directory without index.json or manifest.json", ref);
	}
	/* A tarball: extracted to a scratch directory first. */
	char tmp[PATH_MAX];
	pathf(tmp, sizeof(tmp), "%s/tarball.%d", o.cache, getpid());
	remove_all(tmp);
	if ((r = mkdir_p(tmp, 0700)) < 0)
		return err_set(err, r, "cannot create %s", tmp);
	progress(&o, "image %s: reading the tarball", ref);
	r = extract_tarball(path, tmp, err);
	if (!r) {
		if (exists_in(tmp, "index.json"))
			r = prepare_layout(tmp, tag, &o, img, err);
		else if (exists_in(tmp, "manifest.json"))
			r = prepare_docker(tmp, &o, img, err);
		else
			r = err_set(err, -EINVAL,
				    "image '%s': the tarball has no index.json or manifest.json",
				    ref);
	}
	remove_all(tmp);
	return r;
}

void image_release(struct image *img)
{
	json_decref(img->config);
	img->config = NULL;
}
