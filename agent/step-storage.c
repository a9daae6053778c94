/* Step 8: the volume that holds Redis' data ([storage] volume), before Redis starts.
 *
 * When the volume's device is there: probe it, format it only if it is blank, mount
 * it through its .mount unit and make Redis' directory on it (storage.c). When it is
 * not: record that this droplet waits for it and go on; the units step then leaves
 * Redis stopped and starts doagent-volume.path, which runs "doagent --attach-volume"
 * (the same code, and Redis started) within moments of the device appearing. Without
 * a volume, an earlier volume's record is removed. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "doagent.h"
#include "fileio.h"
#include "log.h"
#include "paths.h"
#include "sdlib.h"
#include "storage.h"
#include "strutil.h"
#include "systemd.h"

static int run(struct boot *b, char **ret_cause)
{
	const struct config *c = &b->config;
	struct storage_volume v;
	int r;

	if (!c->storage_volume) {
		r = storage_record_remove(b->state_dir);
		if (r < 0) {
			strutil_cause(ret_cause, 0, "%s/volume.json: %s", b->state_dir, strerror(-r));
			return DOAGENT_EXIT_FAILURE;
		}
		strutil_cause(ret_cause, 0, "no volume: Redis' data stays in " PATH_REDIS_DIR);
		return 0;
	}
	if (storage_volume_init(&v, c->storage_volume, config_filesystems[c->storage_filesystem]) < 0) {
		strutil_cause(ret_cause, 0, "[storage] volume: not a volume name");
		return DOAGENT_EXIT_DATAERR;
	}
	if (!b->bus && systemd_open(&b->bus, ret_cause) < 0)
		return DOAGENT_EXIT_FAILURE;
	/* The files step may just have written the volume's .mount unit. */
	if (systemd_reload(b->bus, ret_cause) < 0)
		return DOAGENT_EXIT_FAILURE;
	r = storage_attach(b->bus, &v, b->state_dir, b->md->droplet_id, false, ret_cause);
	if (r < 0)
		return DOAGENT_EXIT_FAILURE;
	b->storage_waiting = r == 1;
	return 0;
}

const struct boot_step step_storage = { "storage", run, true };

int boot_attach_volume(const char *name, const char *filesystem)
{
	_cleanup_(sdlib_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_free_ char *dir = NULL, *cause = NULL, *droplet_id = NULL;
	struct storage_volume v;
	size_t len;
	int r;

	if (storage_volume_init(&v, name, filesystem) < 0) {
		log_error("--attach-volume %s --filesystem %s: not a volume name, or not ext4 or xfs", name, filesystem);
		return DOAGENT_EXIT_USAGE;
	}
	/* Only on a boot where doagent has configured this droplet: its first-boot run
	 * comes first (this unit is ordered after it), and one that failed (invalid user
	 * data, a refused volume) leaves the volume alone. */
	r = fileio_read_file(PATH_CONFIGURED_FLAG, 64, &droplet_id, &len);
	if (r < 0) {
		log_error("volume %s: doagent has not configured this droplet on this boot (%s: %s; doagent --status); "
			  "the volume is left alone",
			  v.name, PATH_CONFIGURED_FLAG, strerror(-r));
		return DOAGENT_EXIT_FAILURE;
	}
	if (state_dir(NULL, &dir, &cause) < 0 || systemd_open(&bus, &cause) < 0) {
		log_error("%s", cause ? cause : "cannot start");
		return DOAGENT_EXIT_FAILURE;
	}
	r = storage_attach(bus, &v, dir, droplet_id, true, &cause);
	if (r < 0) {
		log_error("volume %s: %s", v.name, cause ? cause : strerror(-r));
		return DOAGENT_EXIT_FAILURE;
	}
	if (r == 1) {
		/* Gone again since doagent-volume.path saw it: fail, so that the path unit
		 * starts this again when it comes back. */
		log_error("volume %s: %s", v.name, cause ? cause : "not there");
		return DOAGENT_EXIT_FAILURE;
	}
	log_notice("volume %s: %s", v.name, cause ? cause : "attached");
	return 0;
}
