/* The monitoring alert policies of a launch: see alerts.h. */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "doagent.h"
#include "launch.h"
#include "strutil.h"
#include "strv.h"

const struct alerts_kind alerts_kinds[ALERTS_N] = {
	{ "v1/insights/droplet/memory_utilization_percent", "memory above 90%", 90 },
	{ "v1/insights/droplet/disk_utilization_percent", "disk above 80%", 80 },
	{ "v1/insights/droplet/cpu", "CPU above 90%", 90 },
	{ "v1/insights/droplet/load_5", "load_5 above the vCPUs", 0 },
};

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/* RFC 5322's dot-atom: atext runs joined by single dots. */
static bool local_valid(const char *s, size_t n)
{
	static const char atext[] = ALNUM "!#$%&'*+/=?^_`{|}~-";

	if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' ? s[i + 1] == '.' : !strchr(atext, s[i]))
			return false;
	}
	return true;
}

/* Host names: labels of letters, digits and '-' (not at either end), 1 to 63 each, at
 * least two, the last not all digits. */
static bool domain_valid(const char *s)
{
	size_t labels = 0, len = strlen(s);

	if (len == 0 || len > 253)
		return false;
	for (const char *p = s;;) {
		size_t n = strspn(p, ALNUM "-");

		if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
			return false;
		labels++;
		if (p[n] == '\0')
			return labels >= 2 && strspn(p, "0123456789") != n;
		if (p[n] != '.')
			return false;
		p += n + 1;
	}
}

bool alerts_email_valid(const char *s)
{
	const char *at = strchr(s, '@');

	return at && strlen(s) <= 254 && local_valid(s, (size_t)(at - s)) && domain_valid(at + 1);
}

char *alerts_description(const struct alerts_kind *k, const char *lid, const char *name)
{
	char *s;

	if (asprintf(&s, "doagent %s (%s): %s for " ALERTS_WINDOW, lid, name, k->what) < 0)
		return NULL;
	return s;
}

/* "doagent LID (": how every description of launch lid starts. */
static bool described(const char *description, const char *lid)
{
	size_t n = strlen(lid);

	return strncmp(description, "doagent ", 8) == 0 && strncmp(description + 8, lid, n) == 0 &&
	       strncmp(description + 8 + n, " (", 2) == 0;
}

bool alerts_of_launch(const struct doapi_alert *a, const char *lid)
{
	char tag[sizeof LAUNCH_TAG_PREFIX + 64];

	snprintf(tag, sizeof tag, LAUNCH_TAG_PREFIX "%s", lid);
	return strv_contains(a->tags, tag) && described(a->description, lid);
}

/* The launch id a's description names, when the droplets it names are called name and
 * a carries that launch's tag: a copy, or NULL. */
static char *launch_of(const struct doapi_alert *a, const char *name)
{
	_cleanup_free_ char *lid = NULL;
	const char *d = a->description, *end;

	if (strncmp(d, "doagent ", 8) != 0 || !(end = strstr(d + 8, " (")))
		return NULL;
	lid = strndup(d + 8, (size_t)(end - d - 8));
	if (!lid || !launch_id_valid(lid) || strncmp(end + 2, name, strlen(name)) != 0 ||
	    strncmp(end + 2 + strlen(name), "): ", 3) != 0 || !alerts_of_launch(a, lid))
		return NULL;
	return TAKE_PTR(lid);
}

/* The droplets but those in except (a NULL-terminated list, or NULL) that carry tag: 0
 * when none, 1 (with the first's id in other) when some, or -(exit status). */
static int others_tagged(struct doapi *api, const char *tag, char *const *except, char other[24])
{
	_cleanup_free_ char *cause = NULL;
	struct doapi_droplet **l = NULL;
	size_t n = 0;
	int r = doapi_droplets_by_tag(api, tag, &l, &n, &cause), found = 0;

	if (r < 0) {
		launch_err("listing droplets tagged %s: %s", tag, launch_cause_or(cause, r));
		return -launch_api_exit(r);
	}
	for (size_t i = 0; i < n && !found; i++)
		if (!except || !strv_contains(except, l[i]->id)) {
			snprintf(other, 24, "%s", l[i]->id);
			found = 1;
		}
	doapi_droplets_free(l, n);
	return found;
}

static int delete(struct doapi *api, const struct doapi_alert *a)
{
	_cleanup_free_ char *cause = NULL, *what = strutil_quote(a->description, 160);
	int r = doapi_alert_delete(api, a->uuid, &cause);

	if (r < 0) {
		launch_err("deleting alert policy %s: %s", a->uuid, launch_cause_or(cause, r));
		return launch_api_exit(r);
	}
	printf("alert policy %s (%s) deleted\n", a->uuid, what ? what : "?");
	return 0;
}

int alerts_destroy(struct doapi *api, const char *tag, const char *name, char *const *destroyed)
{
	_cleanup_free_ char *cause = NULL;
	_cleanup_strv_ char **kept = NULL, **orphaned = NULL;
	struct doapi_alert **l = NULL;
	size_t n = 0;
	char other[24];
	int r, ex = 0;

	r = doapi_alerts_list(api, &l, &n, &cause);
	if (r < 0) {
		launch_err("listing alert policies: %s", launch_cause_or(cause, r));
		return launch_api_exit(r);
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *lid = NULL, *t = NULL;
		int k;

		if (tag) {
			if (!alerts_of_launch(l[i], tag + strlen(LAUNCH_TAG_PREFIX)))
				continue;
			t = strdup(tag);
		} else {
			if (!name || !(lid = launch_of(l[i], name)))
				continue;
			if (asprintf(&t, LAUNCH_TAG_PREFIX "%s", lid) < 0)
				t = NULL;
		}
		if (!t) {
			launch_err("out of memory");
			ex = DOAGENT_EXIT_FAILURE;
			break;
		}
		/* Asked once per launch tag: its droplets do not change while this runs. */
		if (strv_contains(kept, t))
			continue;
		if (!strv_contains(orphaned, t)) {
			k = others_tagged(api, t, destroyed, other);
			if (k < 0) {
				ex = -k;
				break;
			}
			if (k > 0) {
				printf("alert policies of %s kept: droplet %s still carries the tag\n", t, other);
				if (strv_extend(&kept, t) < 0)
					ex = DOAGENT_EXIT_FAILURE;
				continue;
			}
			if (strv_extend(&orphaned, t) < 0) {
				ex = DOAGENT_EXIT_FAILURE;
				break;
			}
		}
		if ((k = delete(api, l[i])) != 0)
			ex = k;
	}
	doapi_alerts_free(l, n);
	return ex;
}
