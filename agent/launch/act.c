/* Actions on droplets and volumes, and waiting for what they do: see act.h. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "act.h"
#include "doagent.h"
#include "strv.h"

/* Each GET may retry until the deadline, and never less than a second. */
static void bound(struct doapi *api, const struct backoff *b)
{
	uint64_t left = backoff_remaining_ms(b);

	api->deadline_ms = left < 1000 ? 1000 : left;
}

/* Report a failed request about what; its exit status. */
static int failed(const char *what, const char *cause, int r)
{
	launch_err("%s: %s", what, launch_cause_or(cause, r));
	return r == -EACCES || r == -EINVAL || r == -EBUSY ? DOAGENT_EXIT_FAILURE : launch_api_exit(r);
}

/* The action a (when known) errored: report it. */
static bool errored(struct doapi *api, const struct doapi_action *a, const char *what,
		    int (*get)(struct doapi *, const char *, const char *, struct doapi_action *, char **),
		    const char *owner)
{
	_cleanup_free_ char *cause = NULL;
	struct doapi_action now;

	if (!a->id[0] || get(api, owner, a->id, &now, &cause) < 0 || strcmp(now.status, "errored") != 0)
		return false;
	launch_err("%s: action %s errored", what, a->id);
	return true;
}

int act_power(struct doapi *api, const char *id, const char *type, const char *want,
	      struct backoff *b, struct launch_progress *p)
{
	_cleanup_free_ char *what = NULL;
	struct doapi_action a = { .id = "" };
	bool asked = false;
	int r;

	if (asprintf(&what, "%s of droplet %s", type, id) < 0) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	for (;;) {
		_cleanup_free_ char *cause = NULL;
		struct doapi_droplet *d = NULL;
		bool done;

		bound(api, b);
		r = doapi_droplet_get(api, id, &d, &cause);
		if (r < 0)
			return failed(what, cause, r);
		launch_progress_show(p, "droplet", id, d->status);
		done = strcmp(d->status, want) == 0;
		doapi_droplet_free(d);
		if (done) {
			launch_progress_end(p);
			return 0;
		}
		if (!asked) {
			asked = true;
			r = doapi_droplet_action(api, id, type, &a, &cause);
			if (r == -EAGAIN) {
				launch_progress_end(p);
				fprintf(stderr, "%s: the answer was lost (%s); watching the droplet\n", what,
					launch_cause_or(cause, r));
			} else if (r < 0) {
				launch_progress_end(p);
				return failed(what, cause, r);
			}
		} else if (errored(api, &a, what, doapi_droplet_action_get, id)) {
			launch_progress_end(p);
			return DOAGENT_EXIT_FAILURE;
		}
		if (!backoff_wait(b, 0)) {
			launch_progress_end(p);
			launch_err("%s: the droplet is not %s yet, and time is up", what, want);
			return DOAGENT_EXIT_FAILURE;
		}
	}
}

static bool volume_is(const struct doapi_volume *v, const char *type, const char *id)
{
	bool on = strv_contains(v->droplet_ids, id);

	return strcmp(type, "attach") == 0 ? on : !on;
}

/* GET *v again. */
static int refresh(struct doapi *api, struct doapi_volume **v, const char *what, struct backoff *b)
{
	_cleanup_free_ char *cause = NULL;
	struct doapi_volume *n = NULL;
	int r;

	bound(api, b);
	r = doapi_volume_get(api, (*v)->id, &n, &cause);
	if (r < 0)
		return failed(what, cause, r);
	doapi_volume_free(*v);
	*v = n;
	return 0;
}

int act_volume(struct doapi *api, struct doapi_volume **v, const char *type, const char *id,
	       struct backoff *b, bool *ret_asked)
{
	_cleanup_free_ char *what = NULL, *cause = NULL;
	struct doapi_action a = { .id = "" };
	int r, ex;

	if (asprintf(&what, "%s volume %s (%s), droplet %s", type, (*v)->name, (*v)->id, id) < 0) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	if ((ex = refresh(api, v, what, b)) != 0)
		return ex;
	if (volume_is(*v, type, id))
		return 0;
	if (ret_asked)
		*ret_asked = true;
	r = doapi_volume_action(api, (*v)->id, type, id, (*v)->region, &a, &cause);
	if (r == -EAGAIN)
		fprintf(stderr, "%s: the answer was lost (%s); watching the volume\n", what,
			launch_cause_or(cause, r));
	else if (r < 0 && ((ex = refresh(api, v, what, b)) != 0 || !volume_is(*v, type, id)))
		/* refused (e.g. attached already): fine only if it already is as asked */
		return ex ? ex : failed(what, cause, r);
	for (;;) {
		if ((ex = refresh(api, v, what, b)) != 0)
			return ex;
		if (volume_is(*v, type, id)) {
			fprintf(stderr, "%s: done\n", what);
			return 0;
		}
		if (errored(api, &a, what, doapi_volume_action_get, (*v)->id))
			return DOAGENT_EXIT_FAILURE;
		if (!backoff_wait(b, 0)) {
			launch_err("%s: not done yet, and time is up", what);
			return DOAGENT_EXIT_FAILURE;
		}
	}
}

int act_volume_delete(struct doapi *api, const struct doapi_volume *v, struct backoff *b)
{
	_cleanup_free_ char *what = NULL;

	if (asprintf(&what, "deleting volume %s (%s)", v->name, v->id) < 0) {
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	for (;;) {
		_cleanup_free_ char *cause = NULL;
		struct doapi_volume *now = NULL;
		bool attached;
		int r;

		bound(api, b);
		r = doapi_volume_get(api, v->id, &now, &cause);
		if (r == -ENOENT)
			return 0;
		if (r < 0)
			return failed(what, cause, r);
		attached = now->droplet_ids[0] != NULL;
		doapi_volume_free(now);
		if (!attached) {
			free(cause);
			cause = NULL;
			r = doapi_volume_delete(api, v->id, &cause);
			if (r == 0)
				return 0;
			if (r != -EBUSY)
				return failed(what, cause, r);
		}
		if (!backoff_wait(b, 0)) {
			launch_err("%s: it is still attached, and time is up", what);
			return DOAGENT_EXIT_FAILURE;
		}
	}
}
