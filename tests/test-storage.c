/*
 * storage.c: the names a volume's name gives; what libblkid finds on sparse image
 * files (blank, ext4, xfs, an MBR, a GPT whose protective MBR is gone, a superblock
 * with a wrong checksum, swap) and that only a blank one is ever formatted, with the
 * real mkfs.ext4 and mkfs.xfs; Redis' directory only on a mount point; the record.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "blkidlib.h"
#include "fileio.h"
#include "macro.h"
#include "process.h"
#include "storage.h"

#define MIB (1024 * 1024)
#define MISSING "libdoagent-test-no-such-library.so.0"

static char tmpdir[] = "/tmp/doagent-test-storage.XXXXXX";

static char *image(const char *name, off_t size)
{
	char *path;
	int fd;

	assert_true(asprintf(&path, "%s/%s", tmpdir, name) > 0);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
	return path;
}

static void write_at(const char *path, off_t offset, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, len, offset), (ssize_t)len);
	close(fd);
}

/* The first bytes of an image, to show that a refused device was not written to. */
static char *head(const char *path)
{
	char *buf = malloc(MIB);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_non_null(buf);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, MIB, 0), MIB);
	close(fd);
	return buf;
}

static void probe(const char *path, struct storage_probe *p)
{
	_cleanup_free_ char *cause = NULL;

	assert_int_equal(storage_probe(path, p, &cause), 0);
}

static bool mapped(const char *name)
{
	_cleanup_free_ char *maps = NULL;
	size_t len;

	assert_int_equal(fileio_read_file("/proc/self/maps", 16 * 1024 * 1024, &maps, &len), 0);
	return strstr(maps, name) != NULL;
}

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	const char *argv[] = { "/bin/rm", "-rf", tmpdir, NULL };
	const char *envp[] = { NULL };
	int status;

	return process_run(argv, envp, 10000, &status, NULL) == 0 && status == 0 ? 0 : -1;
}

/* ---- names ---- */

static void test_names(void **state)
{
	struct storage_volume v;

	assert_int_equal(storage_volume_init(&v, "redis-1-data", "ext4"), 0);
	assert_string_equal(v.name, "redis-1-data");
	assert_string_equal(v.filesystem, "ext4");
	assert_string_equal(v.device, "/dev/disk/by-id/scsi-0DO_Volume_redis-1-data");
	assert_string_equal(v.mountpoint, "/mnt/redis_1_data");
	assert_string_equal(v.mount_unit, "mnt-redis_1_data.mount");
	assert_string_equal(v.redis_dir, "/mnt/redis_1_data/redis");
	assert_string_equal(v.label, "redis-1-data");
	assert_false(v.label_cut);

	/* Labels: ext4 takes 16 characters, xfs 12. */
	assert_int_equal(storage_volume_init(&v, "redis-1-data-volume", "ext4"), 0);
	assert_string_equal(v.label, "redis-1-data-vol");
	assert_true(v.label_cut);
	assert_int_equal(storage_volume_init(&v, "redis-1-data-volume", "xfs"), 0);
	assert_string_equal(v.label, "redis-1-data");
	assert_true(v.label_cut);
	assert_int_equal(storage_volume_init(&v, "redis-1-data", "xfs"), 0);
	assert_false(v.label_cut);

	/* The longest name fits every field. */
	assert_int_equal(storage_volume_init(&v, "abcdefghijklmnopqrstuvwxyz0123456789-abcdefghijklmnopqrstuvwxyz0",
					     "ext4"),
			 0);
	assert_string_equal(v.redis_dir, "/mnt/abcdefghijklmnopqrstuvwxyz0123456789_abcdefghijklmnopqrstuvwxyz0/redis");
	assert_string_equal(v.mount_unit, "mnt-abcdefghijklmnopqrstuvwxyz0123456789_abcdefghijklmnopqrstuvwxyz0.mount");

	assert_int_equal(storage_volume_init(&v, "", "ext4"), -EINVAL);
	assert_int_equal(storage_volume_init(&v, "../etc", "ext4"), -EINVAL);
	assert_int_equal(storage_volume_init(&v, "Redis", "ext4"), -EINVAL);
	assert_int_equal(storage_volume_init(&v, "1-data", "ext4"), -EINVAL);
	assert_int_equal(storage_volume_init(&v, "a_b", "ext4"), -EINVAL);
	assert_int_equal(storage_volume_init(&v, "redis", "btrfs"), -EINVAL);
	assert_int_equal(storage_volume_init(&v, "abcdefghijklmnopqrstuvwxyz0123456789-abcdefghijklmnopqrstuvwxyz01",
					     "ext4"),
			 -EINVAL);
}

/* ---- libblkid, loaded when first needed ---- */

static void test_not_linked(void **state)
{
	assert_false(mapped("libblkid"));
}

static void test_missing_library(void **state)
{
	_cleanup_free_ char *path = image("blank-nolib.img", 8 * MIB), *cause = NULL;
	struct storage_probe p;

	blkidlib_set_soname(MISSING);
	assert_int_equal(storage_probe(path, &p, &cause), -ELIBACC);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "cannot load " MISSING ": "));
	assert_false(mapped("libblkid"));
	blkidlib_set_soname(NULL);
}

static void test_missing_device(void **state)
{
	_cleanup_free_ char *cause = NULL;
	struct storage_probe p;

	assert_int_equal(storage_probe("/dev/disk/by-id/scsi-0DO_Volume_doagent-test-absent", &p, &cause), -ENOENT);
	assert_non_null(strstr(cause, "scsi-0DO_Volume_doagent-test-absent"));
}

/* ---- what a device holds, and formatting only a blank one ---- */

static void test_blank(void **state)
{
	_cleanup_free_ char *path = image("blank.img", 64 * MIB), *what = NULL;
	struct storage_probe p;

	probe(path, &p);
	assert_true(mapped("libblkid"));
	assert_int_equal(p.content, STORAGE_BLANK);
	assert_int_equal(storage_decide(&p), STORAGE_FORMAT);
	assert_string_equal(p.type, "");
	assert_int_equal(p.size, 64 * MIB);
	what = storage_probe_describe(&p);
	assert_non_null(strstr(what, "nothing"));
}

static void test_format_ext4(void **state)
{
	_cleanup_free_ char *path = image("ext4.img", 64 * MIB), *cause = NULL, *what = NULL;
	struct storage_probe made, again;
	struct storage_volume v;

	assert_int_equal(storage_volume_init(&v, "redis-1-data-volume", "ext4"), 0);
	assert_int_equal(storage_format(&v, path, &made, &cause), 0);
	assert_int_equal(made.content, STORAGE_FILESYSTEM);
	assert_string_equal(made.type, "ext4");
	assert_string_equal(made.label, "redis-1-data-vol");
	assert_int_equal(strlen(made.uuid), 36);
	assert_false(made.bad_checksum);
	probe(path, &again);
	assert_string_equal(again.uuid, made.uuid);
	assert_int_equal(storage_decide(&again), STORAGE_MOUNT);

	/* Never again: a device that holds a filesystem keeps it. */
	free(cause);
	cause = NULL;
	assert_int_equal(storage_format(&v, path, NULL, &cause), -EEXIST);
	assert_non_null(strstr(cause, "holds an ext4 filesystem (UUID "));
	assert_non_null(strstr(cause, "never formats"));
	probe(path, &again);
	assert_string_equal(again.uuid, made.uuid);
	what = storage_probe_describe(&again);
	assert_non_null(strstr(what, made.uuid));
}

static void test_format_xfs(void **state)
{
	/* xfs needs 300 MiB at least. */
	_cleanup_free_ char *path = image("xfs.img", 320 * MIB), *cause = NULL;
	struct storage_probe made, again;
	struct storage_volume v, ext4;

	assert_int_equal(storage_volume_init(&v, "redis-1-data-volume", "xfs"), 0);
	assert_int_equal(storage_format(&v, path, &made, &cause), 0);
	assert_int_equal(made.content, STORAGE_FILESYSTEM);
	assert_string_equal(made.type, "xfs");
	assert_string_equal(made.label, "redis-1-data");

	/* [storage] filesystem says ext4: the xfs is kept all the same. */
	assert_int_equal(storage_volume_init(&ext4, "redis-1-data-volume", "ext4"), 0);
	free(cause);
	cause = NULL;
	assert_int_equal(storage_format(&ext4, path, NULL, &cause), -EEXIST);
	assert_non_null(strstr(cause, "holds an xfs filesystem"));
	probe(path, &again);
	assert_string_equal(again.type, "xfs");
	assert_string_equal(again.uuid, made.uuid);
	assert_int_equal(storage_decide(&again), STORAGE_MOUNT);
}

/* An MBR with one Linux partition: a partition table, never formatted. */
static void test_dos_partition_table(void **state)
{
	_cleanup_free_ char *path = image("mbr.img", 64 * MIB), *cause = NULL, *before = NULL, *after = NULL;
	unsigned char mbr[512] = { 0 };
	struct storage_probe p;
	struct storage_volume v;
	uint32_t start = 2048, count = 64 * 2048 - 2048;

	mbr[446 + 4] = 0x83;		/* Linux */
	memcpy(&mbr[446 + 8], &start, 4);	/* little endian, as x86 is */
	memcpy(&mbr[446 + 12], &count, 4);
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	write_at(path, 0, mbr, sizeof(mbr));
	before = head(path);

	probe(path, &p);
	assert_int_equal(p.content, STORAGE_PARTITIONED);
	assert_string_equal(p.type, "dos");
	assert_int_equal(storage_decide(&p), STORAGE_REFUSE);
	assert_int_equal(storage_volume_init(&v, "redis-1-data", "ext4"), 0);
	assert_int_equal(storage_format(&v, path, NULL, &cause), -EEXIST);
	assert_non_null(strstr(cause, "holds a dos partition table"));
	after = head(path);
	assert_memory_equal(before, after, MIB);
}

static uint32_t crc32(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t crc = 0xffffffff;
	int k;

	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0xedb88320 : crc >> 1;
	}
	return ~crc;
}

/* A GPT whose protective MBR was wiped: libblkid finds it only when told to look
 * (BLKID_PARTS_FORCE_GPT), and it still counts. */
static void test_gpt_without_protective_mbr(void **state)
{
	const uint64_t sectors = 64 * 2048;
	_cleanup_free_ char *path = image("gpt.img", (off_t)sectors * 512), *cause = NULL;
	unsigned char hdr[512] = { 0 }, entries[128 * 128] = { 0 };
	static const unsigned char linux_fs[16] = { 0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47,
						     0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4 };
	uint64_t u64;
	uint32_t u32;
	struct storage_probe p;
	struct storage_volume v;

	/* One partition entry: type, unique GUID, first and last LBA. */
	memcpy(entries, linux_fs, 16);
	memset(entries + 16, 0x5a, 16);
	u64 = 2048;
	memcpy(entries + 32, &u64, 8);
	u64 = sectors - 34;
	memcpy(entries + 40, &u64, 8);

	memcpy(hdr, "EFI PART", 8);
	u32 = 0x00010000;
	memcpy(hdr + 8, &u32, 4);		/* revision */
	u32 = 92;
	memcpy(hdr + 12, &u32, 4);		/* header size */
	u64 = 1;
	memcpy(hdr + 24, &u64, 8);		/* this header's LBA */
	u64 = sectors - 1;
	memcpy(hdr + 32, &u64, 8);		/* the backup's */
	u64 = 34;
	memcpy(hdr + 40, &u64, 8);		/* first usable */
	u64 = sectors - 34;
	memcpy(hdr + 48, &u64, 8);		/* last usable */
	memset(hdr + 56, 0xa5, 16);		/* disk GUID */
	u64 = 2;
	memcpy(hdr + 72, &u64, 8);		/* entries' LBA */
	u32 = 128;
	memcpy(hdr + 80, &u32, 4);		/* number of entries */
	memcpy(hdr + 84, &u32, 4);		/* size of an entry */
	u32 = crc32(entries, sizeof(entries));
	memcpy(hdr + 88, &u32, 4);
	u32 = crc32(hdr, 92);
	memcpy(hdr + 16, &u32, 4);
	write_at(path, 512, hdr, sizeof(hdr));
	write_at(path, 1024, entries, sizeof(entries));

	probe(path, &p);
	assert_int_equal(p.content, STORAGE_PARTITIONED);
	assert_string_equal(p.type, "gpt");
	assert_int_equal(storage_decide(&p), STORAGE_REFUSE);
	assert_int_equal(storage_volume_init(&v, "redis-1-data", "ext4"), 0);
	assert_int_equal(storage_format(&v, path, NULL, &cause), -EEXIST);
	assert_non_null(strstr(cause, "gpt partition table"));
}

/* A damaged filesystem (its superblock's checksum wrong) is not a blank device. */
static void test_bad_checksum(void **state)
{
	_cleanup_free_ char *path = image("badcsum.img", 64 * MIB), *cause = NULL, *what = NULL;
	struct storage_probe made, p;
	struct storage_volume v;
	unsigned char csum[4];
	int fd;

	assert_int_equal(storage_volume_init(&v, "redis-1-data", "ext4"), 0);
	assert_int_equal(storage_format(&v, path, &made, &cause), 0);
	/* s_checksum, the last 4 bytes of the superblock at 1024 (metadata_csum is on
	 * by default since e2fsprogs 1.43). */
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, csum, 4, 1024 + 1020), 4);
	csum[0] ^= 0xff;
	assert_int_equal(pwrite(fd, csum, 4, 1024 + 1020), 4);
	close(fd);

	/* libblkid versions that check ext4's superblock checksum (util-linux 2.39 and
	 * later) drop such a superblock unless asked not to (BLKID_SUBLKS_BADCSUM, which
	 * storage_probe sets) and then say so; older ones do not check it. Either way the
	 * filesystem is found. */
	probe(path, &p);
	assert_int_equal(p.content, STORAGE_FILESYSTEM);
	assert_string_equal(p.type, "ext4");
	assert_string_equal(p.uuid, made.uuid);
	what = storage_probe_describe(&p);
	if (p.bad_checksum)
		assert_non_null(strstr(what, "checksum is wrong"));
	free(cause);
	cause = NULL;
	assert_int_equal(storage_format(&v, path, NULL, &cause), -EEXIST);
}

/* Something that is not a filesystem: swap. */
static void test_other_signature(void **state)
{
	_cleanup_free_ char *path = image("swap.img", 64 * MIB), *cause = NULL, *out = NULL;
	const char *argv[] = { "/sbin/mkswap", path, NULL };
	const char *envp[] = { "LC_ALL=C", NULL };
	struct storage_probe p;
	struct storage_volume v;
	int status;

	assert_int_equal(process_run(argv, envp, 30000, &status, &out), 0);
	assert_int_equal(status, 0);
	probe(path, &p);
	assert_int_equal(p.content, STORAGE_OTHER);
	assert_string_equal(p.type, "swap");
	assert_int_equal(storage_decide(&p), STORAGE_REFUSE);
	assert_int_equal(storage_volume_init(&v, "redis-1-data", "xfs"), 0);
	assert_int_equal(storage_format(&v, path, NULL, &cause), -EEXIST);
	assert_non_null(strstr(cause, "a swap signature"));
}

/* The judgement is libblkid's: a filesystem whose superblock is wiped (what wipefs
 * does) leaves a device doagent may format. */
static void test_wiped(void **state)
{
	_cleanup_free_ char *path = image("wiped.img", 64 * MIB), *cause = NULL;
	static const unsigned char zero[1024];
	struct storage_probe p, made;
	struct storage_volume v;

	assert_int_equal(storage_volume_init(&v, "redis-1-data", "ext4"), 0);
	assert_int_equal(storage_format(&v, path, &made, &cause), 0);
	write_at(path, 1024, zero, sizeof(zero));
	probe(path, &p);
	assert_int_equal(p.content, STORAGE_BLANK);
	assert_int_equal(storage_decide(&p), STORAGE_FORMAT);
	assert_int_equal(storage_format(&v, path, &p, &cause), 0);
	assert_string_not_equal(p.uuid, made.uuid);
}

/* Signatures that contradict each other are never formatted either. */
static void test_decide_ambivalent(void **state)
{
	const struct storage_probe p = { .content = STORAGE_AMBIVALENT };
	_cleanup_free_ char *what = storage_probe_describe(&p);

	assert_int_equal(storage_decide(&p), STORAGE_REFUSE);
	assert_non_null(strstr(what, "contradict"));
}

/* ---- Redis' directory ---- */

static void test_dir_not_a_mount_point(void **state)
{
	_cleanup_free_ char *mp = NULL, *dir = NULL, *cause = NULL;
	struct stat st;

	assert_true(asprintf(&mp, "%s/mnt-not-mounted", tmpdir) > 0);
	assert_true(asprintf(&dir, "%s/redis", mp) > 0);
	assert_int_equal(mkdir(mp, 0755), 0);
	assert_int_equal(storage_prepare_dir(mp, dir, getuid(), getgid(), &cause), -EXDEV);
	assert_non_null(strstr(cause, "is not a mount point"));
	assert_int_equal(lstat(dir, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* On a tmpfs mounted in a mount namespace of this test's own (root only). */
static void test_dir_on_mount_point(void **state)
{
	_cleanup_free_ char *mp = NULL, *dir = NULL, *file = NULL, *sub = NULL, *cause = NULL, *mp2 = NULL,
			    *link = NULL;
	struct stat st;
	int fd;

	if (geteuid() != 0) {
		/* Needs mount(2): counted as skipped, never as passed. */
		skip();
	}
	assert_int_equal(unshare(CLONE_NEWNS), 0);
	/* The type is ignored for a change of propagation (valgrind wants one). */
	assert_int_equal(mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL), 0);
	assert_true(asprintf(&mp, "%s/mnt-volume", tmpdir) > 0);
	assert_true(asprintf(&dir, "%s/redis", mp) > 0);
	assert_true(asprintf(&sub, "%s/appendonlydir", dir) > 0);
	assert_true(asprintf(&file, "%s/dump.rdb", sub) > 0);
	assert_int_equal(mkdir(mp, 0755), 0);
	assert_int_equal(mount("doagent-test", mp, "tmpfs", 0, "size=1m,mode=0755"), 0);

	assert_int_equal(storage_prepare_dir(mp, dir, 4242, 4243, &cause), 0);
	assert_int_equal(lstat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_uid, 4242);
	assert_int_equal(st.st_gid, 4243);

	/* A volume from another droplet, whose redis user had other ids: all of it is
	 * given to this one's. */
	assert_int_equal(chown(dir, 1111, 1112), 0);
	assert_int_equal(chmod(dir, 0700), 0);
	assert_int_equal(mkdir(sub, 0750), 0);
	assert_int_equal(chown(sub, 1111, 1112), 0);
	fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
	assert_true(fd >= 0);
	assert_int_equal(fchown(fd, 1111, 1112), 0);
	close(fd);
	assert_int_equal(storage_prepare_dir(mp, dir, 4242, 4243, &cause), 0);
	assert_int_equal(lstat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_uid, 4242);
	assert_int_equal(lstat(sub, &st), 0);
	assert_int_equal(st.st_uid, 4242);
	assert_int_equal(st.st_gid, 4243);
	assert_int_equal(lstat(file, &st), 0);
	assert_int_equal(st.st_uid, 4242);
	assert_int_equal(st.st_mode & 07777, 0640);

	/* A symlink where the directory should be is refused, not followed. */
	assert_true(asprintf(&mp2, "%s/mnt-volume2", tmpdir) > 0);
	assert_true(asprintf(&link, "%s/redis", mp2) > 0);
	assert_int_equal(mkdir(mp2, 0755), 0);
	assert_int_equal(mount("doagent-test", mp2, "tmpfs", 0, "size=1m,mode=0755"), 0);
	assert_int_equal(symlink("/etc", link), 0);
	free(cause);
	cause = NULL;
	assert_int_equal(storage_prepare_dir(mp2, link, 4242, 4243, &cause), -ENOTDIR);
	assert_int_equal(lstat("/etc", &st), 0);
	assert_int_not_equal(st.st_uid, 4242);

	assert_int_equal(umount(mp2), 0);
	assert_int_equal(umount(mp), 0);
}

/* ---- the record ---- */

static void test_record(void **state)
{
	_cleanup_free_ char *dir = NULL, *path = NULL, *cause = NULL;
	struct storage_record r = {
		.droplet_id = (char *)"5001", .volume = (char *)"redis-1-data",
		.device = (char *)"/dev/disk/by-id/scsi-0DO_Volume_redis-1-data",
		.mountpoint = (char *)"/mnt/redis_1_data", .redis_dir = (char *)"/mnt/redis_1_data/redis",
		.state = (char *)"waiting", .message = (char *)"waiting for it", .since = 1234567890,
	};
	struct storage_record back = { 0 };
	json_object *o, *v;
	struct stat st;

	assert_true(asprintf(&dir, "%s/state", tmpdir) > 0);
	assert_true(asprintf(&path, "%s/volume.json", dir) > 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(storage_record_load(dir, &back, &cause), -ENOENT);
	assert_int_equal(storage_record_save(dir, &r, &cause), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(storage_record_load(dir, &back, &cause), 0);
	assert_string_equal(back.droplet_id, "5001");
	assert_string_equal(back.device, r.device);
	assert_string_equal(back.state, "waiting");
	assert_string_equal(back.message, "waiting for it");
	assert_null(back.uuid);
	assert_int_equal(back.since, 1234567890);
	o = storage_record_to_json(&back);
	assert_true(json_object_object_get_ex(o, "device", &v));
	assert_string_equal(json_object_get_string(v), r.device);
	json_object_put(o);
	storage_record_done(&back);

	write_at(path, 0, "[1, 2", 5);
	assert_int_equal(truncate(path, 5), 0);
	free(cause);
	cause = NULL;
	assert_int_equal(storage_record_load(dir, &back, &cause), -EBADMSG);
	assert_non_null(cause);
	assert_int_equal(storage_record_remove(dir), 0);
	assert_int_equal(storage_record_remove(dir), 0);
	assert_int_equal(storage_record_load(dir, &back, NULL), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_not_linked),
		cmocka_unit_test(test_missing_library),
		cmocka_unit_test(test_missing_device),
		cmocka_unit_test(test_blank),
		cmocka_unit_test(test_format_ext4),
		cmocka_unit_test(test_format_xfs),
		cmocka_unit_test(test_dos_partition_table),
		cmocka_unit_test(test_gpt_without_protective_mbr),
		cmocka_unit_test(test_bad_checksum),
		cmocka_unit_test(test_other_signature),
		cmocka_unit_test(test_wiped),
		cmocka_unit_test(test_decide_ambivalent),
		cmocka_unit_test(test_dir_not_a_mount_point),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_dir_on_mount_point),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
