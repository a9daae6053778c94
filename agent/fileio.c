/*
 * File I/O.
 *
 * MUST rules for this file:
 * - Every file doagent writes goes through fileio_write_atomic: a reader sees the old
 *   file or the new one, never a part of either, also across a crash.
 * - Mode and owner are set on the temporary file before its contents are written,
 *   so a secret is never readable by anyone it is not meant for, even briefly.
 * - Nothing follows a symlink at the target: the temporary file is created with
 *   O_EXCL|O_NOFOLLOW and renamed over whatever is there.
 * - Reads are bounded: a file larger than its limit is refused, not truncated.
 * - A temporary file a crash left behind (it may hold a secret) is removed by the
 *   next successful write of the same file; one writer per file at a time.
 * - Deferred durability (fileio_defer_sync) skips only the fsyncs: the temporary file,
 *   its mode and owner before any byte, and the rename stay as they are. Whoever turns
 *   it on must call fileio_sync_deferred before anything relies on those files
 *   surviving a power loss, and must write that record itself with deferral off.
 *
 * Power loss and deferred writes. A crash of doagent alone (SIGKILL) loses nothing
 * that was written: the page cache holds it, and readers see every renamed file
 * whole. A power loss (or a kernel crash) before fileio_sync_deferred may leave a
 * deferred file as it was before the write, or absent, or renamed into place but empty
 * (or, on some filesystems, its length in NUL bytes): the rename's metadata and the
 * file's data reach the disk independently. Metadata changes (create, rename, unlink)
 * do reach it in the order they were made, as the journal of ext4, XFS and btrfs
 * commits them. So the first boot (boot.c) defers only what its commit record,
 * state.json written with full fsyncs after fileio_sync_deferred, vouches for: until
 * that record says this droplet is configured, the next boot runs the first boot again
 * and rewrites every file, and every reader of doagent's own earlier output (state.c's
 * secrets and their owner file, the certificate, the rendered files compared before
 * rewriting) takes an empty or invalid file for an absent one. syncfs(2) reports
 * writeback errors since Linux 5.8; earlier kernels return 0 regardless.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fileio.h"
#include "macro.h"

int fileio_read_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	char chunk[8192];
	int r = 0;

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max)
			r = -E2BIG;
		else
			r = buf_append(&b, chunk, (size_t)n);
		if (r < 0)
			break;
	}
	/* What was read may be a secret (user data, a key): leave no copy behind. */
	explicit_bzero(chunk, sizeof(chunk));
	if (r < 0)
		return r;
	*ret = buf_steal(&b, ret_len);
	return *ret ? 0 : -ENOMEM;
}

int fileio_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;

	if (strcmp(path, "-") == 0)
		return fileio_read_fd(STDIN_FILENO, max, ret, ret_len);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	return fileio_read_fd(fd, max, ret, ret_len);
}

static int split_path(const char *path, char **ret_dir, const char **ret_base)
{
	const char *slash = strrchr(path, '/');
	char *dir;

	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	*ret_base = slash ? slash + 1 : path;
	if (!**ret_base || strcmp(*ret_base, ".") == 0 || strcmp(*ret_base, "..") == 0) {
		free(dir);
		return -EINVAL;
	}
	*ret_dir = dir;
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int create_temp(int dirfd, const char *base, char *name, size_t size)
{
	unsigned attempt;

	for (attempt = 0; attempt < 16; attempt++) {
		unsigned long long rnd;
		int fd;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			return -EIO;
		if ((size_t)snprintf(name, size, ".#%.64s.%016llx", base, rnd) >= size)
			return -ENAMETOOLONG;
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* name is a temporary file create_temp made for the file whose names start with prefix. */
static bool is_temp_of(const char *name, const char *prefix, size_t n)
{
	if (strncmp(name, prefix, n) != 0 || strlen(name + n) != 16)
		return false;
	return strspn(name + n, "0123456789abcdef") == 16;
}

/* Remove the temporary files of earlier writes of base that a crash left in dirfd. */
static void remove_stale_temps(int dirfd, const char *base)
{
	char prefix[NAME_MAX + 1];
	struct dirent *e;
	size_t n;
	DIR *d;
	int fd;

	if ((size_t)snprintf(prefix, sizeof(prefix), ".#%.64s.", base) >= sizeof(prefix))
		return;
	n = strlen(prefix);
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((e = readdir(d)))
		if (is_temp_of(e->d_name, prefix, n))
			unlinkat(dirfd, e->d_name, 0);
	closedir(d);
}

/* Deferred durability: a directory on each filesystem written to since the last sync. */
#define DEFER_MAX 8
static struct {
	bool on;
	size_t n;
	dev_t dev[DEFER_MAX];
	int fd[DEFER_MAX];
} deferred;

void fileio_defer_sync(bool on)
{
	deferred.on = on;
}

/* Remember the filesystem of directory dirfd for fileio_sync_deferred. -ENOSPC when
 * DEFER_MAX others are remembered already. */
static int defer_add(int dirfd)
{
	struct stat st;
	size_t i;
	int fd;

	if (fstat(dirfd, &st) < 0)
		return -errno;
	for (i = 0; i < deferred.n; i++)
		if (deferred.dev[i] == st.st_dev)
			return 0;
	if (deferred.n == DEFER_MAX)
		return -ENOSPC;
	fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	deferred.dev[deferred.n] = st.st_dev;
	deferred.fd[deferred.n++] = fd;
	return 0;
}

int fileio_defer_note(const char *path)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int fd = -1;
	const char *base;
	int r;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno != ENOTDIR && errno != ENOENT)
		return -errno;
	if (fd < 0) {
		r = split_path(path, &dir, &base);
		if (r < 0)
			return r;
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return errno == ENOENT ? 0 : -errno;
	}
	r = defer_add(fd);
	if (r == -ENOSPC && syncfs(fd) < 0)
		return -errno;
	return r == -ENOSPC ? 0 : r;
}

int fileio_sync_deferred(void)
{
	int r = 0, n = (int)deferred.n;
	size_t i;

	for (i = 0; i < deferred.n; i++) {
		if (syncfs(deferred.fd[i]) < 0 && r == 0)
			r = -errno;
		close(deferred.fd[i]);
	}
	deferred.n = 0;
	return r < 0 ? r : n;
}

int fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
			gid_t gid)
{
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dirfd = -1, fd = -1;
	char tmp[NAME_MAX + 1];
	const char *base;
	bool defer;
	int r;

	r = split_path(path, &dir, &base);
	if (r < 0)
		return r;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	/* Deferred, unless its filesystem cannot be remembered: then synced as usual. */
	defer = deferred.on && defer_add(dirfd) == 0;
	fd = create_temp(dirfd, base, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	if (uid != (uid_t)-1 && fchown(fd, uid, gid) < 0)
		goto fail_errno;
	if (fchmod(fd, mode) < 0)
		goto fail_errno;
	r = write_all(fd, data, len);
	if (r < 0)
		goto fail;
	if (!defer && fsync(fd) < 0)
		goto fail_errno;
	if (renameat(dirfd, tmp, dirfd, base) < 0)
		goto fail_errno;
	if (!defer && fsync(dirfd) < 0)
		return -errno;
	remove_stale_temps(dirfd, base);
	return 0;
fail_errno:
	r = -errno;
fail:
	unlinkat(dirfd, tmp, 0);
	return r;
}

int fileio_mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *copy = strdup(path);
	struct stat st;
	char *p;

	if (!copy)
		return -ENOMEM;
	if (strspn(copy, "/") == strlen(copy))
		return 0;
	for (p = copy + 1;; p++) {
		bool last = *p == '\0';

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(copy, mode) == 0) {
			/* Exactly mode, whatever the umask (doagent.service runs with 0077). */
			if (chmod(copy, mode) < 0)
				return -errno;
		} else if (errno != EEXIST)
			return -errno;
		if (stat(copy, &st) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		if (last)
			break;
		*p = '/';
	}
	return 0;
}
