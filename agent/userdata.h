/* User data: find doagent's INI document (plain or in a MIME multipart message),
 * parse it with inih and check every key against the table in config.c. */
#ifndef DOAGENT_USERDATA_H
#define DOAGENT_USERDATA_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum userdata_kind {
	USERDATA_ABSENT,	/* empty: defaults apply */
	USERDATA_DOAGENT,	/* ours, parsed */
	USERDATA_FOREIGN,	/* cloud-config, a script, ...: not ours, defaults apply */
};

enum userdata_severity { USERDATA_ERROR, USERDATA_NOTICE };

struct userdata_diag {
	enum userdata_severity severity;
	unsigned line;		/* 1-based; 0 = about the document as a whole */
	char *section;		/* NULL when not about a section */
	char *key;		/* NULL when not about a key; printable (escaped) */
	char *message;		/* never contains a value */
	char *suggestion;	/* a likely intended key or section, or NULL */
};

struct userdata_report {
	enum userdata_kind kind;
	const char *format;	/* what the data is when not ours, e.g. "#cloud-config" */
	bool in_part;		/* lines count from the start of a MIME part that was encoded */
	struct userdata_diag *diags;
	size_t n_diags;
	size_t n_errors;
};

/*
 * Parse len bytes of user data. c must hold the defaults (config_init); on success
 * (returns 0) the values the user data sets replace them. Foreign or absent user
 * data is a success that leaves c alone, with a notice in *rep.
 * On -EBADMSG (invalid) or -E2BIG (over DOAGENT_USERDATA_MAX) c is unchanged and
 * rep->diags says why. -ENOMEM. Free rep with userdata_report_done in every case.
 */
int userdata_parse(const char *data, size_t len, struct config *c, struct userdata_report *rep);

/* "line 3: [redis] maxmemory-polcy: unknown key; did you mean 'maxmemory-policy'?"
 * Returns a malloc'd string, or NULL on ENOMEM. */
char *userdata_diag_format(const struct userdata_report *rep, const struct userdata_diag *d);

void userdata_report_done(struct userdata_report *rep);

#endif
