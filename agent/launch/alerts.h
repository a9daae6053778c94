/*
 * The monitoring alert policies of a launch (create --alerts): one of each kind in
 * alerts_kinds, on the launch tag (entities empty, tags [launch tag]), mailing the
 * addresses given. A policy is the launch's when it carries the launch tag and its
 * description starts with "doagent <launch id> (": so a rerun adopts it (by its kind
 * too), destroy finds it, and a policy made by hand on the same tag is left alone.
 */
#ifndef DOAGENT_ALERTS_H
#define DOAGENT_ALERTS_H

#include <stdbool.h>

#include "doapi.h"

#define ALERTS_N 4
#define ALERTS_WINDOW "5m"

struct alerts_kind {
	const char *type;	/* the API's policy type */
	const char *what;	/* in the description: "memory above 90%" */
	unsigned value;		/* GreaterThan this; 0: the droplet's vCPUs */
};

extern const struct alerts_kind alerts_kinds[ALERTS_N];

/* Is s an email address: local@domain, each part of the characters allowed there, the
 * domain of at least two labels? */
bool alerts_email_valid(const char *s);

/* The description of kind k's policy for launch lid (of droplets named name):
 * "doagent LID (NAME): WHAT for 5m". malloc'd, NULL on ENOMEM. */
char *alerts_description(const struct alerts_kind *k, const char *lid, const char *name);

/* Is a a policy of launch lid (see above)? */
bool alerts_of_launch(const struct doapi_alert *a, const char *lid);

/* destroy: delete the launch's policies and print each, once the droplets destroyed (a
 * NULL-terminated list of ids, or NULL) are gone. With tag (the droplet's launch tag) those of that launch, kept (and said)
 * while another droplet carries the tag; with tag NULL (the droplet was gone already),
 * those whose description names the droplets name and whose launch tag no droplet
 * carries. 0, or an exit status after reporting why. */
int alerts_destroy(struct doapi *api, const char *tag, const char *name, char *const *destroyed);

#endif
