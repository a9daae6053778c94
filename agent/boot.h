/* The first boot: the steps doagent.service runs, one table of them. */
#ifndef DOAGENT_BOOT_H
#define DOAGENT_BOOT_H

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "config.h"
#include "metadata.h"
#include "plan.h"
#include "state.h"
#include "userdata.h"

struct boot_options {
	const char *root;		/* apply under this directory; NULL for / */
	const char *metadata;		/* a file or a URL; NULL: the metadata service */
	const char *user_data;		/* a file ("-" stdin); NULL: the metadata's */
	const char *templates;		/* NULL: /etc/doagent/templates */
	const char *shipped_templates;
	uint64_t deadline_ms;		/* for the metadata service */
	bool force;			/* configure even if this droplet already is */
};

struct boot {
	const struct boot_options *opt;
	char *state_dir;
	struct state prev;		/* what the last run left */
	struct state now;		/* this run */
	struct metadata *md;
	struct config config;
	struct userdata_report report;
	char *password;			/* erased when freed */
	char *tls_cert;			/* PEM, when TLS is on */
	char *tls_fingerprint;		/* its SHA-256, "AB:CD:..." */
	bool password_generated;
	struct plan *plan;
	sd_bus *bus;
	bool configured;		/* this droplet was configured before: render nothing */
	bool changed;			/* a file changed: restart what uses it */
	bool storage_waiting;		/* [storage] volume is not attached yet: Redis waits for it */
	uint64_t started_ms;		/* monotonic: when this run started (the deadline counts from it) */
};

/* What a step returns: 0 to go on, or the exit status to stop with. */
struct boot_step {
	const char *name;
	int (*run)(struct boot *b, char **ret_cause);
	bool system_only;		/* skipped under --root: units, firewall, readiness */
};

extern const struct boot_step step_metadata, step_state, step_userdata, step_secrets, step_tls,
	step_files, step_firewall, step_network, step_storage, step_units, step_ready;

struct fw_policy;
/* The firewall policy the plan decided (pointers into the plan). */
void boot_fw_policy(const struct plan *plan, struct fw_policy *ret);

/* Run every step, record the outcome in the state directory and the login message.
 * Returns the exit status. */
int boot_run(const struct boot_options *opt);

/* doagent --status: print the last run's outcome (as JSON with json); the connection
 * details too when show_secrets. Returns the exit status. */
int boot_status(const char *root, bool json, bool show_secrets);

/* doagent --attach-volume NAME --filesystem FS, as doagent-volume.service runs it
 * when the volume's device appears, once doagent has configured this droplet on
 * this boot: probe, format if blank, mount, Redis' directory, and Redis started on
 * it. Returns the exit status. */
int boot_attach_volume(const char *name, const char *filesystem);

/* path under the root (a malloc'd "<root><path>"). */
char *boot_path(const struct boot *b, const char *path);

/* uid and gid of user and group: from the root's own /etc/passwd and /etc/group under
 * --root, from the system's otherwise. 0, -ENOENT when either is missing, -ENOMEM. */
int boot_lookup_ids(struct boot *b, const char *user, const char *group, uid_t *ret_uid, gid_t *ret_gid);

#endif
