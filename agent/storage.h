/* A DigitalOcean block-storage volume for Redis' data ([storage] volume): the names
 * that follow from its own, what a device holds (libblkid), formatting one that holds
 * nothing, mounting it through its .mount unit, Redis' directory on it, and the record
 * of where it stands (volume.json in the state directory, for doagent --status). */
#ifndef DOAGENT_STORAGE_H
#define DOAGENT_STORAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "macro.h"

#define STORAGE_DEVICE_PREFIX "/dev/disk/by-id/scsi-0DO_Volume_"
#define STORAGE_MOUNT_OPTIONS "nofail,discard,noatime"
#define STORAGE_UNIT_PATH "doagent-volume.path"
#define STORAGE_UNIT_SERVICE "doagent-volume.service"
#define STORAGE_NAME_MAX 64

/* Everything that follows from a volume's name and [storage] filesystem. */
struct storage_volume {
	char name[STORAGE_NAME_MAX + 1];
	const char *filesystem;		/* "ext4" or "xfs": what a blank volume is given */
	char device[sizeof(STORAGE_DEVICE_PREFIX) + STORAGE_NAME_MAX];
	char mountpoint[5 + STORAGE_NAME_MAX + 1];	/* /mnt/<name, '-' as '_'> */
	char mount_unit[4 + STORAGE_NAME_MAX + 7];	/* mnt-<name, '-' as '_'>.mount */
	char redis_dir[5 + STORAGE_NAME_MAX + 6 + 1];	/* <mountpoint>/redis */
	char label[17];			/* the name, cut to the filesystem's label limit */
	bool label_cut;			/* it had to be cut: ext4 takes 16 characters, xfs 12 */
};

/* Fill v from a volume name (DigitalOcean's rule: a-z first, then a-z, 0-9 and '-',
 * at most 64 characters) and a filesystem ("ext4" or "xfs"). 0, or -EINVAL. */
int storage_volume_init(struct storage_volume *v, const char *name, const char *filesystem);

enum storage_content {
	STORAGE_BLANK,		/* libblkid finds no signature at all: the only one formatted */
	STORAGE_FILESYSTEM,	/* a filesystem on the whole device */
	STORAGE_PARTITIONED,	/* a partition table */
	STORAGE_OTHER,		/* another signature: RAID member, LUKS, LVM, swap, ... */
	STORAGE_AMBIVALENT,	/* several signatures that contradict each other */
};

struct storage_probe {
	enum storage_content content;
	char type[32];		/* TYPE, or PTTYPE for a partition table; "" when blank */
	char uuid[64];		/* the filesystem's UUID, or the partition table's ID */
	char label[64];
	unsigned long long size;	/* bytes */
	bool bad_checksum;	/* the superblock's checksum is wrong: still not blank */
};

/*
 * What path (a block device or an image file) holds, by libblkid's superblock and
 * partition-table probing, with superblocks whose checksum is wrong and GPTs without a
 * protective MBR counted too. Returns 0, -ENOENT when path does not exist, -ELIBACC
 * when libblkid cannot be loaded, or -errno; *ret_cause says why.
 */
int storage_probe(const char *path, struct storage_probe *ret, char **ret_cause);

enum storage_decision {
	STORAGE_FORMAT,		/* blank: make the filesystem, then mount it */
	STORAGE_MOUNT,		/* a filesystem: mount it as it is */
	STORAGE_REFUSE,		/* anything else: leave it alone, and Redis off */
};

/* What the storage step does with a device that holds p. */
enum storage_decision storage_decide(const struct storage_probe *p);

/* "nothing (blank)", "an ext4 filesystem", "a gpt partition table", ... for messages.
 * Returns a malloc'd string or NULL on ENOMEM. */
char *storage_probe_describe(const struct storage_probe *p);

/*
 * Make v's filesystem, labelled v->label, on path, and only if storage_probe finds
 * path blank right before: otherwise -EEXIST, with the cause saying what it holds.
 * mkfs.ext4 or mkfs.xfs runs through process_run, never with its force flag (it
 * refuses a device it finds anything on by itself too) and without discarding. The
 * device is probed again afterwards: *ret (when not NULL) is what it holds then.
 * Returns 0, -EEXIST, -EIO (mkfs failed) or -errno.
 */
int storage_format(const struct storage_volume *v, const char *path, struct storage_probe *ret,
		   char **ret_cause);

/*
 * Redis' directory dir inside mountpoint, made 0750 and owned by uid:gid; when it
 * exists and belongs to another owner (a volume from another droplet), everything in
 * it is given to uid:gid. -EXDEV when mountpoint is not a mount point: nothing is ever
 * made on the disk below it. -ENOTDIR when dir is not a directory (a symlink, say).
 */
int storage_prepare_dir(const char *mountpoint, const char *dir, uid_t uid, gid_t gid, char **ret_cause);

/* Where a volume stands, as volume.json in the state directory records it. */
struct storage_record {
	char *droplet_id;
	char *volume;
	char *device;
	char *mountpoint;
	char *redis_dir;
	char *state;		/* "waiting", "mounted", "ready" or "failed" */
	char *message;		/* a sentence for a person; never a secret */
	char *filesystem;	/* what the device holds, when known */
	char *uuid;
	char *formatted_uuid;	/* the filesystem doagent made, when it made one */
	int64_t since;		/* when state was entered (realtime seconds) */
	int64_t formatted_at;
};

/* Read volume.json in dir: 0, -ENOENT when there is none, -EBADMSG when damaged. */
int storage_record_load(const char *dir, struct storage_record *ret, char **ret_cause);
/* Write it atomically, 0644. */
int storage_record_save(const char *dir, const struct storage_record *r, char **ret_cause);
/* Remove it: 0 or -errno (-ENOENT is 0). */
int storage_record_remove(const char *dir);
void storage_record_done(struct storage_record *r);
json_object *storage_record_to_json(const struct storage_record *r);
void storage_record_print(const struct storage_record *r, FILE *f);

/*
 * Bring the volume in: when v's device exists, probe it, format it if (and only if)
 * it is blank, start its .mount unit and wait for it, and make Redis' directory on it
 * for the redis user; with start_redis, start redis-server too and wait until it is
 * active. The outcome is recorded in state_dir/volume.json for droplet_id.
 * Returns 1 when the device is not there (recorded as waiting), 0 when the volume is
 * mounted (and Redis on it, with start_redis), or -errno with *ret_cause (recorded as
 * failed, when the record can be written); *ret_cause is a sentence saying what was
 * done in every case.
 */
int storage_attach(sd_bus *bus, const struct storage_volume *v, const char *state_dir,
		   const char *droplet_id, bool start_redis, char **ret_cause);

#endif
