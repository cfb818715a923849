// SPDX-License-Identifier: Apache-2.0
/*
 * The OCI layer unpacker (images/oci.c, image_apply_layer) on a hostile
 * layer: the input is the layer's bytes (tar, maybe compressed), written to
 * a file and applied onto a fresh, empty root. Nothing may change outside
 * that root: a listing of everything around it (sentinel files in the
 * directories above it included) must be the same before and after.
 *
 * So that a bug cannot touch the host, the target runs in a mount namespace
 * of its own where every mount is read-only but a tmpfs for the scratch
 * tree (next to the binary: oci-scratch/) and the directories libFuzzer
 * writes (its corpus and artifact directories from the command line). A
 * write that escapes the scratch tree gets EROFS, which is a finding too.
 * Without the privilege for that (CAP_SYS_ADMIN) the target skips.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/fs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/oci.h"

static bool ready;
static char scratch[PATH_MAX]; /* the tmpfs */
static char parent[PATH_MAX];  /* scratch/p/q: the layer file and the roots go here */

/* Bind-mount path onto itself so that it stays writable (a new mount). */
static int keep_writable(const char *path, char list[][PATH_MAX], int *n)
{
	char real[PATH_MAX];
	struct stat st;
	if (!realpath(path, real) || stat(real, &st) < 0)
		return 0; /* libFuzzer makes it later, or it is a file prefix */
	if (!S_ISDIR(st.st_mode)) {
		char *d = dirname(real);
		memmove(real, d, strlen(d) + 1);
	}
	if (*n >= 32 || mount(real, real, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	snprintf(list[(*n)++], PATH_MAX, "%s", real);
	return 0;
}

static bool listed(char list[][PATH_MAX], int n, const char *mnt)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(list[i], mnt) || !strncmp(mnt, list[i], strlen(list[i])))
			return true;
	return false;
}

static int sandbox(int argc, char **argv)
{
	static char rw[32][PATH_MAX];
	int n = 0;
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return -1;
	exe[len] = 0;
	snprintf(scratch, sizeof(scratch), "%s/oci-scratch", dirname(exe));
	if (mkdir(scratch, 0700) < 0 && errno != EEXIST)
		return -1;
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -1;
	if (mount("fuzz-oci", scratch, "tmpfs", 0, "size=256m,mode=0700") < 0)
		return -1;
	snprintf(rw[n++], PATH_MAX, "%s", scratch);
	bool have_artifact = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strncmp(a, "-artifact_prefix=", 17)) {
			have_artifact = true;
			if (keep_writable(a + 17, rw, &n) < 0)
				return -1;
		} else if (a[0] != '-' && keep_writable(a, rw, &n) < 0) {
			return -1;
		}
	}
	if (!have_artifact && keep_writable(".", rw, &n) < 0)
		return -1;
	/* Every other mount read-only; the kernel's own file systems stay. */
	FILE *f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return -1;
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		if (listed(rw, n, mnt) || !strncmp(mnt, "/proc", 5) || !strncmp(mnt, "/sys", 4) ||
		    !strcmp(mnt, "/dev") || !strncmp(mnt, "/dev/pts", 8))
			continue;
		mount(NULL, mnt, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
	}
	fclose(f);
	if (access("/", W_OK) == 0 && mkdir("/.fuzz-oci-probe", 0700) == 0) {
		rmdir("/.fuzz-oci-probe");
		return -1; /* / is still writable: do not run */
	}
	return 0;
}

static void put(const char *dir, const char *name, const char *text)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f || fputs(text, f) < 0 || fclose(f))
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (sandbox(*argc, *argv) < 0) {
		fprintf(stderr, "FUZZ-SKIP: fuzz_oci: no private read-only mount namespace (%s)\n",
			strerror(errno));
		return 0;
	}
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/p", scratch);
	snprintf(parent, sizeof(parent), "%s/p/q", scratch);
	if (mkdir(p, 0755) < 0 || mkdir(parent, 0755) < 0)
		abort();
	put(scratch, "sentinel", "top\n");
	put(p, "sentinel", "middle\n");
	put(parent, "sentinel", "bottom\n");
	ready = true;
	return 0;
}

/* Clear attributes such as immutable a layer may have set, then remove. */
static void remove_tree(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		int zero = 0;
		ioctl(fd, FS_IOC_SETFLAGS, &zero);
		close(fd);
	}
	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		chmod(path, 0700);
		DIR *d = opendir(path);
		struct dirent *de;
		while (d && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char c[PATH_MAX];
			snprintf(c, sizeof(c), "%s/%s", path, de->d_name);
			remove_tree(c);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

/* Everything under dir but skip: name, mode, size and the start of each file. */
static void listing(const char *dir, const char *skip, FILE *f)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char c[PATH_MAX], buf[64] = "";
		struct stat st;
		snprintf(c, sizeof(c), "%s/%s", dir, de->d_name);
		if (!strcmp(c, skip) || lstat(c, &st) < 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			int fd = open(c, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				ssize_t n = read(fd, buf, sizeof(buf) - 1);
				buf[n > 0 ? n : 0] = 0;
				close(fd);
			}
		}
		fprintf(f, "%s %o %lld %s|", c, st.st_mode, (long long)st.st_size, buf);
		if (S_ISDIR(st.st_mode))
			listing(c, skip, f);
	}
	if (d)
		closedir(d);
}

static char *snapshot(const char *skip)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	if (!f)
		abort();
	listing(scratch, skip, f);
	fclose(f);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		return 0;
	char layer[PATH_MAX], root[PATH_MAX];
	struct err err = { 0 };
	snprintf(layer, sizeof(layer), "%s/layer.tar", parent);
	snprintf(root, sizeof(root), "%s/root-XXXXXX", parent);
	if (!mkdtemp(root))
		abort();
	FILE *f = fopen(layer, "w");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f))
		abort();
	char *before = snapshot(root);
	int rc = image_apply_layer(layer, root, &err);
	char *after = snapshot(root);
	if (strcmp(before, after)) {
		fprintf(stderr,
			"image_apply_layer changed files outside its root (rc %d: %s)\n"
			"before: %s\nafter:  %s\n",
			rc, err.msg, before, after);
		abort();
	}
	if (rc < 0 && strstr(err.msg, strerror(EROFS))) {
		fprintf(stderr, "image_apply_layer wrote outside the scratch tree: %s\n", err.msg);
		abort();
	}
	if (rc < 0 && !err.code)
		abort();
	free(before);
	free(after);
	remove_tree(root);
	unlink(layer);
	return 0;
}
