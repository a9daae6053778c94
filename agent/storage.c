/*
 * A DigitalOcean volume for Redis' data.
 *
 * MUST rules for this file:
 * - A device is formatted only when libblkid, probing for superblocks (those with a
 *   wrong checksum too) and for partition tables (a GPT without its protective MBR
 *   too), finds no signature at all on it, probed right before mkfs runs. mkfs never
 *   gets its force flag, so it refuses by itself a device it finds anything on. A
 *   device that holds anything is never written to.
 * - Nothing is made under a mount point that is not a mount point: Redis' directory
 *   is created only on the volume's own filesystem, never on the disk below it.
 * - Programs run through process_run: execve, an argument array, a fixed environment.
 *   Every argument comes from a checked volume name.
 * - volume.json holds no secret.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blkidlib.h"
#include "fileio.h"
#include "paths.h"
#include "process.h"
#include "storage.h"
#include "strutil.h"
#include "systemd.h"

#define RECORD_FILE "volume.json"
#define RECORD_MAX (64 * 1024)
#define MKFS_TIMEOUT_MS (10 * 60 * 1000)
#define JOB_TIMEOUT_MS (90 * 1000)
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789-"

static const struct {
	const char *name;
	size_t label_max;	/* mkfs refuses a longer label */
} filesystems[] = {
	{ "ext4", 16 },
	{ "xfs", 12 },
};

int storage_volume_init(struct storage_volume *v, const char *name, const char *filesystem)
{
	size_t len = strlen(name), i, f;
	char under[STORAGE_NAME_MAX + 1];

	*v = (struct storage_volume){ 0 };
	if (len == 0 || len > STORAGE_NAME_MAX || name[0] < 'a' || name[0] > 'z' ||
	    strspn(name, NAME_CHARS) != len)
		return -EINVAL;
	for (f = 0; f < ELEMENTSOF(filesystems); f++)
		if (strcmp(filesystem, filesystems[f].name) == 0)
			break;
	if (f == ELEMENTSOF(filesystems))
		return -EINVAL;
	memcpy(v->name, name, len + 1);
	v->filesystem = filesystems[f].name;
	/* DigitalOcean's own convention for the mount point: '-' becomes '_'. That is
	 * also a path systemd's unit names need no escaping for. */
	for (i = 0; i <= len; i++)
		under[i] = name[i] == '-' ? '_' : name[i];
	snprintf(v->device, sizeof(v->device), STORAGE_DEVICE_PREFIX "%s", name);
	snprintf(v->mountpoint, sizeof(v->mountpoint), "/mnt/%s", under);
	snprintf(v->mount_unit, sizeof(v->mount_unit), "mnt-%s.mount", under);
	snprintf(v->redis_dir, sizeof(v->redis_dir), "%s/redis", v->mountpoint);
	v->label_cut = len > filesystems[f].label_max;
	memcpy(v->label, name, v->label_cut ? filesystems[f].label_max : len);
	v->label[v->label_cut ? filesystems[f].label_max : len] = '\0';
	return 0;
}

/* ---- what a device holds ---- */

static void copy_value(const struct blkidlib *b, blkid_probe pr, const char *name, char *buf, size_t size)
{
	const char *val = NULL;

	buf[0] = '\0';
	if (b->blkid_probe_lookup_value(pr, name, &val, NULL) == 0 && val)
		snprintf(buf, size, "%s", val);
}

static bool has_value(const struct blkidlib *b, blkid_probe pr, const char *name)
{
	return b->blkid_probe_lookup_value(pr, name, NULL, NULL) == 0;
}

int storage_probe(const char *path, struct storage_probe *ret, char **ret_cause)
{
	_cleanup_(blkidlib_free_probep) blkid_probe pr = NULL;
	struct storage_probe p = { 0 };
	const struct blkidlib *b;
	char usage[32];
	blkid_loff_t size;
	int r;

	r = blkidlib_load(&b, ret_cause);
	if (r < 0)
		return r;
	errno = 0;
	pr = b->blkid_new_probe_from_filename(path);
	if (!pr) {
		r = errno > 0 ? -errno : -EIO;
		return strutil_cause(ret_cause, r, "%s: %s", path, strerror(-r));
	}
	/* Every superblock, also one whose checksum does not match (a damaged filesystem
	 * is not a blank device), and every partition table, also a GPT whose protective
	 * MBR is gone. */
	if (b->blkid_probe_enable_superblocks(pr, 1) < 0 ||
	    b->blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID | BLKID_SUBLKS_TYPE |
							 BLKID_SUBLKS_USAGE | BLKID_SUBLKS_BADCSUM) < 0 ||
	    b->blkid_probe_enable_partitions(pr, 1) < 0 ||
	    b->blkid_probe_set_partitions_flags(pr, BLKID_PARTS_FORCE_GPT) < 0)
		return strutil_cause(ret_cause, -EIO, "%s: libblkid cannot set up a probe", path);
	r = b->blkid_do_safeprobe(pr);
	size = b->blkid_probe_get_size(pr);
	p.size = size > 0 ? (unsigned long long)size : 0;
	if (r == -2) {
		p.content = STORAGE_AMBIVALENT;
	} else if (r < 0) {
		return strutil_cause(ret_cause, -EIO, "%s: libblkid cannot probe it", path);
	} else if (r == 1) {
		p.content = STORAGE_BLANK;
	} else if (has_value(b, pr, "PTTYPE")) {
		p.content = STORAGE_PARTITIONED;
		copy_value(b, pr, "PTTYPE", p.type, sizeof(p.type));
		copy_value(b, pr, "PTUUID", p.uuid, sizeof(p.uuid));
	} else if (has_value(b, pr, "TYPE")) {
		copy_value(b, pr, "TYPE", p.type, sizeof(p.type));
		copy_value(b, pr, "UUID", p.uuid, sizeof(p.uuid));
		copy_value(b, pr, "LABEL", p.label, sizeof(p.label));
		copy_value(b, pr, "USAGE", usage, sizeof(usage));
		p.bad_checksum = has_value(b, pr, "SBBADCSUM");
		p.content = strcmp(usage, "filesystem") == 0 ? STORAGE_FILESYSTEM : STORAGE_OTHER;
	} else {
		/* Found, but neither named: still something. */
		p.content = STORAGE_OTHER;
	}
	*ret = p;
	return 0;
}

enum storage_decision storage_decide(const struct storage_probe *p)
{
	switch (p->content) {
	case STORAGE_BLANK:
		return STORAGE_FORMAT;
	case STORAGE_FILESYSTEM:
		return STORAGE_MOUNT;
	default:
		return STORAGE_REFUSE;
	}
}

char *storage_probe_describe(const struct storage_probe *p)
{
	char *s = NULL;
	int r = -1;

	switch (p->content) {
	case STORAGE_BLANK:
		return strdup("nothing (no filesystem, no partition table, no other signature)");
	case STORAGE_FILESYSTEM:
		r = asprintf(&s, "an %s filesystem%s%s%s", p->type, p->uuid[0] ? " (UUID " : "", p->uuid,
			     p->uuid[0] ? ")" : "");
		break;
	case STORAGE_PARTITIONED:
		r = asprintf(&s, "a %s partition table", p->type);
		break;
	case STORAGE_OTHER:
		r = p->type[0] ? asprintf(&s, "a %s signature (not a filesystem)", p->type)
			       : asprintf(&s, "a signature libblkid does not name");
		break;
	case STORAGE_AMBIVALENT:
		return strdup("several signatures that contradict each other");
	}
	if (r >= 0 && p->bad_checksum) {
		char *t = NULL;

		r = asprintf(&t, "%s whose superblock checksum is wrong", s);
		free(s);
		s = t;
	}
	return r < 0 ? NULL : s;
}

int storage_format(const struct storage_volume *v, const char *path, struct storage_probe *ret,
		   char **ret_cause)
{
	_cleanup_free_ char *what = NULL, *out = NULL;
	const char *ext4[] = { "/sbin/mkfs.ext4", "-q", "-L", v->label, "-E", "nodiscard", path, NULL };
	const char *xfs[] = { "/sbin/mkfs.xfs", "-q", "-K", "-L", v->label, path, NULL };
	const char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	const char **argv = strcmp(v->filesystem, "xfs") == 0 ? xfs : ext4;
	struct storage_probe p;
	int status, r;

	r = storage_probe(path, &p, ret_cause);
	if (r < 0)
		return r;
	if (p.content != STORAGE_BLANK) {
		what = storage_probe_describe(&p);
		return strutil_cause(ret_cause, -EEXIST,
				     "%s holds %s: doagent never formats a device that holds anything", path,
				     what ? what : "something");
	}
	r = process_run(argv, envp, MKFS_TIMEOUT_MS, &status, &out);
	if (r < 0)
		return strutil_cause(ret_cause, r, "%s: %s", argv[0], strerror(-r));
	if (status != 0) {
		out[strcspn(out, "\n")] = '\0';
		return strutil_cause(ret_cause, -EIO, "%s %s failed (exit status %d): %s", argv[0], path, status,
				     out[0] ? out : "no message");
	}
	r = storage_probe(path, &p, ret_cause);
	if (r < 0)
		return r;
	if (p.content != STORAGE_FILESYSTEM || strcmp(p.type, v->filesystem) != 0) {
		what = storage_probe_describe(&p);
		return strutil_cause(ret_cause, -EIO, "after %s, %s holds %s", argv[0], path, what ? what : "something else");
	}
	if (ret)
		*ret = p;
	return 0;
}

/* ---- Redis' directory ---- */

/* nftw has no user data: the owner to give, for the one walk at a time. */
static uid_t walk_uid;
static gid_t walk_gid;
static int walk_errno;

static int give(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if ((st->st_uid != walk_uid || st->st_gid != walk_gid) && lchown(path, walk_uid, walk_gid) < 0 &&
	    !walk_errno)
		walk_errno = errno;
	return 0;
}

int storage_prepare_dir(const char *mountpoint, const char *dir, uid_t uid, gid_t gid, char **ret_cause)
{
	_cleanup_free_ char *parent = NULL;
	_cleanup_close_ int fd = -1;
	struct stat mp, up, st;

	if (asprintf(&parent, "%s/..", mountpoint) < 0)
		return -ENOMEM;
	if (stat(mountpoint, &mp) < 0 || stat(parent, &up) < 0)
		return strutil_cause(ret_cause, -errno, "%s: %s", mountpoint, strerror(errno));
	if (mp.st_dev == up.st_dev)
		return strutil_cause(ret_cause, -EXDEV,
				     "%s is not a mount point: the volume is not mounted there, and nothing "
				     "is made on the disk below it",
				     mountpoint);
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return strutil_cause(ret_cause, -errno, "%s: %s", dir, strerror(errno));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR))
		return strutil_cause(ret_cause, -ENOTDIR, "%s: not a directory (a symlink?); refusing it", dir);
	if (fd < 0 || fstat(fd, &st) < 0)
		return strutil_cause(ret_cause, -errno, "%s: %s", dir, strerror(errno));
	if (st.st_dev != mp.st_dev)
		return strutil_cause(ret_cause, -EXDEV, "%s: not on the volume mounted at %s", dir, mountpoint);
	if (st.st_uid != uid || st.st_gid != gid) {
		/* A volume from another droplet, whose redis user may have had other ids. */
		walk_uid = uid;
		walk_gid = gid;
		walk_errno = 0;
		if (nftw(dir, give, 16, FTW_PHYS | FTW_MOUNT) < 0 && !walk_errno)
			walk_errno = errno;
		if (walk_errno)
			return strutil_cause(ret_cause, -walk_errno, "%s: cannot give it to uid %u: %s", dir,
					     (unsigned)uid, strerror(walk_errno));
	}
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, 0750) < 0)
		return strutil_cause(ret_cause, -errno, "%s: %s", dir, strerror(errno));
	return 0;
}

/* ---- the record ---- */

static int dup_field(json_object *o, const char *key, char **ret)
{
	json_object *v;

	*ret = NULL;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -EBADMSG;
	*ret = strdup(json_object_get_string(v));
	return *ret ? 0 : -ENOMEM;
}

static int64_t get_time(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

int storage_record_load(const char *dir, struct storage_record *ret, char **ret_cause)
{
	_cleanup_free_ char *path = NULL, *text = NULL;
	_cleanup_json_ json_object *o = NULL;
	struct storage_record rec = { 0 };
	size_t len;
	int r;

	if (asprintf(&path, "%s/" RECORD_FILE, dir) < 0)
		return -ENOMEM;
	r = fileio_read_file(path, RECORD_MAX, &text, &len);
	if (r == -ENOENT)
		return r;
	if (r < 0)
		return strutil_cause(ret_cause, r, "%s: %s", path, strerror(-r));
	o = json_tokener_parse(text);
	if (!o || !json_object_is_type(o, json_type_object))
		return strutil_cause(ret_cause, -EBADMSG, "%s: not a volume record", path);
	r = dup_field(o, "droplet_id", &rec.droplet_id);
	if (r >= 0)
		r = dup_field(o, "volume", &rec.volume);
	if (r >= 0)
		r = dup_field(o, "device", &rec.device);
	if (r >= 0)
		r = dup_field(o, "mountpoint", &rec.mountpoint);
	if (r >= 0)
		r = dup_field(o, "redis_dir", &rec.redis_dir);
	if (r >= 0)
		r = dup_field(o, "state", &rec.state);
	if (r >= 0)
		r = dup_field(o, "message", &rec.message);
	if (r >= 0)
		r = dup_field(o, "filesystem", &rec.filesystem);
	if (r >= 0)
		r = dup_field(o, "uuid", &rec.uuid);
	if (r >= 0)
		r = dup_field(o, "formatted_uuid", &rec.formatted_uuid);
	if (r >= 0 && (!rec.state || !rec.volume))
		r = -EBADMSG;
	if (r < 0) {
		storage_record_done(&rec);
		return r == -ENOMEM ? r : strutil_cause(ret_cause, r, "%s: damaged", path);
	}
	rec.since = get_time(o, "since");
	rec.formatted_at = get_time(o, "formatted_at");
	*ret = rec;
	return 0;
}

static void add(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, value ? json_object_new_string(value) : NULL);
}

json_object *storage_record_to_json(const struct storage_record *r)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	add(o, "droplet_id", r->droplet_id);
	add(o, "volume", r->volume);
	add(o, "device", r->device);
	add(o, "mountpoint", r->mountpoint);
	add(o, "redis_dir", r->redis_dir);
	add(o, "state", r->state);
	add(o, "message", r->message);
	add(o, "filesystem", r->filesystem);
	add(o, "uuid", r->uuid);
	add(o, "formatted_uuid", r->formatted_uuid);
	json_object_object_add(o, "since", json_object_new_int64(r->since));
	json_object_object_add(o, "formatted_at", json_object_new_int64(r->formatted_at));
	return o;
}

int storage_record_save(const char *dir, const struct storage_record *rec, char **ret_cause)
{
	_cleanup_json_ json_object *o = storage_record_to_json(rec);
	_cleanup_free_ char *path = NULL;
	const char *text;
	int r;

	if (!o || asprintf(&path, "%s/" RECORD_FILE, dir) < 0)
		return -ENOMEM;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return -ENOMEM;
	r = fileio_write_atomic(path, text, strlen(text), 0644, (uid_t)-1, (gid_t)-1);
	if (r < 0)
		return strutil_cause(ret_cause, r, "%s: %s", path, strerror(-r));
	return 0;
}

int storage_record_remove(const char *dir)
{
	_cleanup_free_ char *path = NULL;

	if (asprintf(&path, "%s/" RECORD_FILE, dir) < 0)
		return -ENOMEM;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

void storage_record_done(struct storage_record *r)
{
	free(r->droplet_id);
	free(r->volume);
	free(r->device);
	free(r->mountpoint);
	free(r->redis_dir);
	free(r->state);
	free(r->message);
	free(r->filesystem);
	free(r->uuid);
	free(r->formatted_uuid);
	*r = (struct storage_record){ 0 };
}

void storage_record_print(const struct storage_record *r, FILE *f)
{
	char when[64] = "";
	struct tm tm;
	time_t t = (time_t)r->since;

	if (r->since && gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(f, "storage:    %s%s%s: %s\n", r->state, when[0] ? " since " : "", when,
		r->message ? r->message : "");
}

/* ---- bringing the volume in ---- */

static int set_string(char **field, const char *value)
{
	char *s = value ? strdup(value) : NULL;

	if (value && !s)
		return -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

/* Record state and message for v, keeping what an earlier record knew of the
 * filesystem doagent made. 0, or -errno with *ret_cause. */
static int record(const struct storage_volume *v, const char *state_dir, const char *droplet_id,
		  const char *state, const char *message, const struct storage_probe *p, bool formatted,
		  char **ret_cause)
{
	struct storage_record rec = { 0 }, prev = { 0 };
	bool have_prev = storage_record_load(state_dir, &prev, NULL) == 0;
	int r;

	r = set_string(&rec.droplet_id, droplet_id);
	if (r >= 0)
		r = set_string(&rec.volume, v->name);
	if (r >= 0)
		r = set_string(&rec.device, v->device);
	if (r >= 0)
		r = set_string(&rec.mountpoint, v->mountpoint);
	if (r >= 0)
		r = set_string(&rec.redis_dir, v->redis_dir);
	if (r >= 0)
		r = set_string(&rec.state, state);
	if (r >= 0)
		r = set_string(&rec.message, message);
	if (r >= 0 && p && p->content == STORAGE_FILESYSTEM) {
		r = set_string(&rec.filesystem, p->type);
		if (r >= 0)
			r = set_string(&rec.uuid, p->uuid);
	}
	rec.since = (int64_t)time(NULL);
	if (have_prev && prev.state && strcmp(prev.state, state) == 0 && prev.volume &&
	    strcmp(prev.volume, v->name) == 0)
		rec.since = prev.since;
	if (r >= 0 && formatted) {
		r = set_string(&rec.formatted_uuid, p->uuid);
		rec.formatted_at = (int64_t)time(NULL);
	} else if (r >= 0 && have_prev && prev.formatted_uuid && p && strcmp(prev.formatted_uuid, p->uuid) == 0) {
		r = set_string(&rec.formatted_uuid, prev.formatted_uuid);
		rec.formatted_at = prev.formatted_at;
	}
	if (r >= 0)
		r = storage_record_save(state_dir, &rec, ret_cause);
	else
		strutil_cause(ret_cause, r, "out of memory");
	storage_record_done(&rec);
	storage_record_done(&prev);
	return r;
}

static int lookup_redis(uid_t *ret_uid, gid_t *ret_gid)
{
	struct passwd *pw = getpwnam("redis");
	struct group *gr = getgrnam("redis");

	if (!pw || !gr)
		return -ENOENT;
	*ret_uid = pw->pw_uid;
	*ret_gid = gr->gr_gid;
	return 0;
}

static int unit_active(sd_bus *bus, const char *unit, char **ret_cause)
{
	_cleanup_free_ char *state = NULL;
	int r;

	r = systemd_active_state(bus, unit, &state, ret_cause);
	if (r < 0)
		return r;
	if (strcmp(state, "active") != 0)
		return strutil_cause(ret_cause, -EIO, "%s is %s after its start job (journalctl -u %s)", unit, state,
				     unit);
	return 0;
}

static int attach(sd_bus *bus, const struct storage_volume *v, bool start_redis, struct storage_probe *p,
		  bool *formatted, bool *redis_started, char **ret_cause)
{
	_cleanup_free_ char *what = NULL;
	uid_t uid;
	gid_t gid;
	int r;

	r = storage_probe(v->device, p, ret_cause);
	if (r < 0)
		return r;
	switch (storage_decide(p)) {
	case STORAGE_FORMAT:
		r = storage_format(v, v->device, p, ret_cause);
		if (r < 0)
			return r;
		*formatted = true;
		break;
	case STORAGE_MOUNT:
		break;
	case STORAGE_REFUSE:
		what = storage_probe_describe(p);
		return strutil_cause(ret_cause, -EMEDIUMTYPE,
				     "%s holds %s: doagent mounts only a filesystem on the whole device and "
				     "never formats a device that holds anything; Redis stays off",
				     v->device, what ? what : "something");
	}
	r = systemd_unit_action(bus, SYSTEMD_START, v->mount_unit, JOB_TIMEOUT_MS, ret_cause);
	if (r >= 0)
		r = unit_active(bus, v->mount_unit, ret_cause);
	if (r < 0)
		return r;
	if (lookup_redis(&uid, &gid) < 0)
		return strutil_cause(ret_cause, -ENOENT, "no user or group redis on this system");
	r = storage_prepare_dir(v->mountpoint, v->redis_dir, uid, gid, ret_cause);
	if (r < 0 || !start_redis)
		return r;
	r = systemd_unit_action(bus, SYSTEMD_START, UNIT_REDIS, JOB_TIMEOUT_MS, ret_cause);
	if (r >= 0)
		r = unit_active(bus, UNIT_REDIS, ret_cause);
	*redis_started = r >= 0;
	return r;
}

int storage_attach(sd_bus *bus, const struct storage_volume *v, const char *state_dir,
		   const char *droplet_id, bool start_redis, char **ret_cause)
{
	_cleanup_free_ char *cause = NULL, *message = NULL, *what = NULL;
	struct storage_probe p = { 0 };
	bool formatted = false, redis_started = false;
	struct stat st;
	int r;

	if (stat(v->device, &st) < 0) {
		if (errno != ENOENT)
			return strutil_cause(ret_cause, -errno, "%s: %s", v->device, strerror(errno));
		if (asprintf(&message, "waiting for %s (the volume %s, attached to this droplet): Redis starts on it "
				       "when it appears",
			     v->device, v->name) < 0)
			return -ENOMEM;
		r = record(v, state_dir, droplet_id, "waiting", message, NULL, false, ret_cause);
		if (r < 0)
			return r;
		*ret_cause = TAKE_PTR(message);
		return 1;
	}
	r = attach(bus, v, start_redis, &p, &formatted, &redis_started, &cause);
	if (r < 0) {
		/* The record's own failure would hide why: the cause stays the volume's. */
		record(v, state_dir, droplet_id, "failed", cause ? cause : strerror(-r), NULL, false, NULL);
		*ret_cause = TAKE_PTR(cause);
		return r;
	}
	what = storage_probe_describe(&p);
	if (asprintf(&message, "%s%s mounted at %s (%s), Redis' data in %s%s",
		     formatted ? "formatted (it was blank): " : "", what ? what : v->device, v->mountpoint,
		     v->mount_unit, v->redis_dir, redis_started ? "; Redis runs on it" : "") < 0)
		return -ENOMEM;
	r = record(v, state_dir, droplet_id, redis_started ? "ready" : "mounted", message, &p, formatted, ret_cause);
	if (r < 0)
		return r;
	*ret_cause = TAKE_PTR(message);
	return 0;
}
