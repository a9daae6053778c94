/* Reading bounded files and writing files atomically: the only way doagent writes. */
#ifndef DOAGENT_FILEIO_H
#define DOAGENT_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Read all of path ("-" = standard input), refusing more than max bytes. The buffer
 * is erased when freed internally; the caller erases *ret if it may hold a secret.
 * Returns 0 with a malloc'd NUL-terminated *ret and its length in *ret_len (the data
 * may hold NUL bytes), -E2BIG when longer than max, or -errno. */
int fileio_read_file(const char *path, size_t max, char **ret, size_t *ret_len);

/* The same from an open file descriptor, read to its end (not closed). */
int fileio_read_fd(int fd, size_t max, char **ret, size_t *ret_len);

/*
 * Replace path with len bytes of data, atomically: a new file is created next to it
 * (O_EXCL, O_NOFOLLOW), given mode and owner before any byte is written, written in
 * full, fsync'ed, renamed over path, and the directory is fsync'ed. uid/gid (uid_t)-1
 * leave the owner alone. On failure the temporary file is removed and path is as it
 * was. A symlink at path is replaced, never followed. Returns 0 or -errno.
 * While durability is deferred (fileio_defer_sync) both fsyncs are skipped and the
 * file's filesystem is remembered for fileio_sync_deferred: readers still see the old
 * file or the new one, but until that sync a power loss may leave either, or an empty
 * file (see fileio.c). A file whose filesystem cannot be remembered is fsync'ed.
 */
int fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode, uid_t uid,
			gid_t gid);

/* Defer the durability of fileio_write_atomic's writes (on), or stop deferring it
 * (off; that syncs nothing: call fileio_sync_deferred first). Off at start. */
void fileio_defer_sync(bool on);

/* Remember the filesystem of path (a directory, or a file's directory) for the next
 * fileio_sync_deferred, as a deferred write does: for a file that an interrupted
 * earlier run wrote, unsynced, and that this run keeps. A path whose directory does
 * not exist is ignored; when no more filesystems can be remembered, path's is synced
 * at once. Returns 0 or -errno. */
int fileio_defer_note(const char *path);

/* Make every write deferred since the last call durable: syncfs(2) once on each
 * filesystem remembered, then forget them. Returns how many filesystems were synced,
 * or the first -errno (every one is still synced). */
int fileio_sync_deferred(void);

/* Create path and its missing parents with mode, exactly (not reduced by the umask);
 * existing ones are left alone.
 * Returns 0 or -errno (-ENOTDIR when a component is not a directory). */
int fileio_mkdir_p(const char *path, mode_t mode);

#endif
