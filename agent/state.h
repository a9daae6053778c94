/* What doagent remembers between runs, under <root>/var/lib/doagent:
 *
 *   state.json       the last run: droplet id, times, each step's result, the error;
 *                    which droplet was last configured successfully (0644: no secret)
 *   secrets/         0700: secrets made on this droplet, each 0600, and droplet-id,
 *                    the droplet they belong to
 */
#ifndef DOAGENT_STATE_H
#define DOAGENT_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

struct state_step {
	char *name;
	char *result;		/* "ok", "failed", "skipped" */
	char *message;		/* NULL or a sentence; never a secret */
	uint64_t duration_ms;
};

struct state {
	char *droplet_id;	/* the droplet of the last run; NULL when none */
	char *configured;	/* the droplet last configured successfully; NULL when none */
	char *result;		/* "success", "failed", "running"; NULL when no run yet */
	char *error;		/* the failed run's error; NULL otherwise */
	int exit_status;
	int64_t started;	/* realtime seconds */
	int64_t finished;
	struct state_step *steps;
	size_t n_steps;
};

/* The state directory under root ("" or NULL for /): created 0755 when missing (state.json is for
 * everyone to read; secrets/ is 0700);
 * refused when it is a symlink, not a directory, or writable by group or others.
 * Returns 0 and a malloc'd path, or -errno with *ret_cause. */
int state_dir(const char *root, char **ret_path, char **ret_cause);

/* Read state.json in dir; a missing file is an empty state. -EBADMSG for a damaged
 * file (with *ret_cause). */
int state_load(const char *dir, struct state *ret, char **ret_cause);

/* Write state.json atomically, mode 0644. */
int state_save(const char *dir, const struct state *s, char **ret_cause);

/* Append a step's outcome (copies the strings). */
int state_add_step(struct state *s, const char *name, const char *result, const char *message,
		   uint64_t duration_ms);

/* The secret called name for droplet_id: read it when it was made for this droplet,
 * else (new droplet: every old secret is removed first) make it with make() and store
 * it, 0600, before returning it. *ret is malloc'd: erase it (_cleanup_erase_). */
int state_secret(const char *dir, const char *droplet_id, const char *name,
		 int (*make)(char **ret), char **ret, char **ret_cause);

/* Store value as the secret called name for droplet_id (0600; the same directory
 * rules). Returns 1 when it was written, 0 when it was there already, or -errno. */
int state_secret_put(const char *dir, const char *droplet_id, const char *name, const char *value,
		     char **ret_cause);

void state_done(struct state *s);

#endif
