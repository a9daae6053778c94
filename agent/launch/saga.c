/* The launcher's saga: see saga.h for the rules. */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act.h"
#include "backoff.h"
#include "doagent.h"
#include "saga.h"

static bool wanted(const struct saga_step *st, const struct saga *s)
{
	return !st->wanted || st->wanted(s);
}

int saga_run(struct saga *s, const struct saga_step *const *steps, size_t n)
{
	uint64_t ran = 0;	/* the steps that ran: those undone on a failure */
	bool committed = false;
	size_t i;
	int ex = 0;

	if (n > 64)
		return DOAGENT_EXIT_FAILURE;
	for (i = 0; i < n && ex == 0; i++) {
		if (!wanted(steps[i], s))
			continue;
		ran |= UINT64_C(1) << i;
		ex = steps[i]->run(s);
		if (ex == 0 && steps[i]->commit)
			committed = true;
	}
	if (ex == 0)
		return 0;
	if (s->unsettled || committed)
		return ex;
	/* Undoing gets a minute per request, whatever the steps used. */
	if (s->api)
		s->api->deadline_ms = 60000;
	while (i-- > 0)
		if (steps[i]->undo && (ran & (UINT64_C(1) << i)))
			steps[i]->undo(s, s->opt->keep_on_failure);
	return ex;
}

static bool status_is(const struct doapi_droplet *d, const char *status)
{
	return d->status && strcmp(d->status, status) == 0;
}

int saga_wait_active(struct saga *s, struct backoff *b, const char *id, bool need_private,
		     struct doapi_droplet **ret)
{
	uint64_t t0 = backoff_now_ms();

	for (;;) {
		struct doapi_droplet *d = NULL;
		_cleanup_free_ char *cause = NULL;
		uint64_t left = backoff_remaining_ms(b);
		int r;

		s->api->deadline_ms = left < 1000 ? 1000 : left;
		r = doapi_droplet_get(s->api, id, &d, &cause);
		if (r == -ENOENT && backoff_now_ms() - t0 < 30000) {
			launch_progress_show(&s->progress, "droplet", id, "not visible yet");
		} else if (r < 0) {
			launch_progress_end(&s->progress);
			launch_err("droplet %s: %s", id, launch_cause_or(cause, r));
			return DOAGENT_EXIT_FAILURE;
		} else {
			launch_progress_show(&s->progress, "droplet", id, d->status ? d->status : "?");
			if (status_is(d, "active") && d->public_ipv4 && (d->private_ipv4 || !need_private)) {
				launch_progress_end(&s->progress);
				*ret = d;
				return 0;
			}
			if (status_is(d, "errored") || status_is(d, "archive") || status_is(d, "off")) {
				launch_progress_end(&s->progress);
				launch_err("droplet %s is %s", id, d->status);
				doapi_droplet_free(d);
				return DOAGENT_EXIT_FAILURE;
			}
			doapi_droplet_free(d);
		}
		if (!backoff_wait(b, 0)) {
			launch_progress_end(&s->progress);
			launch_err("droplet %s did not become active with a public%s address within %llus", id,
				   need_private ? " and a private" : "", s->opt->wait_timeout);
			return DOAGENT_EXIT_FAILURE;
		}
	}
}

int saga_plan_add(json_object *requests, const char *method, const char *path, json_object *body)
{
	json_object *o = json_object_new_object();

	if (!o || json_object_array_add(requests, o) < 0) {
		json_object_put(o);
		json_object_put(body);
		return -ENOMEM;
	}
	if (json_object_object_add(o, "method", json_object_new_string(method)) < 0 ||
	    json_object_object_add(o, "path", json_object_new_string(path)) < 0 ||
	    (body && json_object_object_add(o, "body", body) < 0))
		return -ENOMEM;
	return 0;
}

int saga_plan_action(json_object *requests, const char *type, const char *droplet,
		     const char *region, const char *path_fmt, ...)
{
	_cleanup_free_ char *path = NULL;
	json_object *body = json_object_new_object();
	va_list ap;
	int r;

	va_start(ap, path_fmt);
	r = vasprintf(&path, path_fmt, ap);
	va_end(ap);
	if (r < 0 || !body) {
		path = NULL;
		json_object_put(body);
		return -ENOMEM;
	}
	json_object_object_add(body, "type", json_object_new_string(type));
	if (droplet) {
		bool digits = strspn(droplet, "0123456789") == strlen(droplet);

		json_object_object_add(body, "droplet_id", digits ? json_object_new_int64(strtoll(droplet, NULL, 10)) :
								     json_object_new_string(droplet));
		if (region)
			json_object_object_add(body, "region", json_object_new_string(region));
	}
	return saga_plan_add(requests, "POST", path, body);
}

int saga_plan(const struct saga *s, const struct saga_step *const *steps, size_t n)
{
	_cleanup_json_ json_object *all = json_object_new_array();
	int r;

	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (steps[i]->plan && wanted(steps[i], s) && (r = steps[i]->plan(s, all)) < 0)
			return r;
	if (s->opt->json) {
		puts(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		return 0;
	}
	for (size_t i = 0; i < json_object_array_length(all); i++) {
		json_object *o = json_object_array_get_idx(all, i);

		json_object *body = json_object_object_get(o, "body");

		printf("%s %s\n", json_object_get_string(json_object_object_get(o, "method")),
		       json_object_get_string(json_object_object_get(o, "path")));
		if (body)
			printf("%s\n", json_object_to_json_string_ext(body, JSON_C_TO_STRING_PRETTY |
									       JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	return 0;
}

int saga_add_volume(struct saga *s, struct doapi_volume *v, bool made)
{
	struct saga_volume *l = reallocarray(s->volumes, s->n_volumes + 1, sizeof *l);

	if (!l) {
		doapi_volume_free(v);
		return -ENOMEM;
	}
	s->volumes = l;
	s->volumes[s->n_volumes++] = (struct saga_volume){ .v = v, .made = made };
	return 0;
}

int saga_add_droplet(struct saga *s, struct doapi_droplet *d, bool made)
{
	struct saga_droplet *l = reallocarray(s->droplets, s->n_droplets + 1, sizeof *l);

	if (!l) {
		doapi_droplet_free(d);
		return -ENOMEM;
	}
	s->droplets = l;
	s->droplets[s->n_droplets++] = (struct saga_droplet){ .d = d, .made = made };
	return 0;
}

bool saga_has_droplet(const struct saga *s, const char *id)
{
	for (size_t i = 0; i < s->n_droplets; i++)
		if (strcmp(s->droplets[i].d->id, id) == 0)
			return true;
	return false;
}

static const char *const moves[] = { "attach", "detach" };
static const char *const moved[] = { "attached to", "detached from" };

int saga_move_volumes(struct saga *s, enum saga_move m, const char *id)
{
	struct backoff b;

	backoff_init(&b, 500, 1500, s->opt->wait_timeout * 1000);
	for (size_t i = 0; i < s->n_volumes; i++) {
		struct saga_volume *sv = &s->volumes[i];
		int ex = act_volume(s->api, &sv->v, moves[m], id, &b, &sv->asked[m]);

		if (ex)
			return ex;
	}
	return 0;
}

void saga_unmove_volumes(struct saga *s, enum saga_move m, const char *id, bool keep)
{
	enum saga_move back = m == SAGA_ATTACH ? SAGA_DETACH : SAGA_ATTACH;
	struct backoff b;

	for (size_t i = s->n_volumes; i-- > 0;) {
		struct saga_volume *sv = &s->volumes[i];

		if (!sv->asked[m])
			continue;
		if (keep) {
			launch_err("volume %s left %s droplet %s (--keep-on-failure)", sv->v->name, moved[m], id);
			continue;
		}
		backoff_init(&b, 500, 1500, 120000);
		if (act_volume(s->api, &sv->v, moves[back], id, &b, NULL) == 0)
			launch_err("volume %s is %s droplet %s", sv->v->name, moved[back], id);
		else
			launch_err("volume %s (%s) could not be %s droplet %s: do it by hand", sv->v->name,
				   sv->v->id, moved[back], id);
	}
}

void saga_print(const struct saga *s, const char *conn)
{
	_cleanup_free_ struct doapi_volume **volumes = calloc(s->n_volumes + 1, sizeof *volumes);

	for (size_t i = 0; volumes && i < s->n_volumes; i++)
		volumes[i] = s->volumes[i].v;
	launch_print_droplet(s->opt, &(struct launch_shown){
					     .d = s->droplets[0].d,
					     .conn = conn,
					     .fw_id = s->fw_id,
					     .volumes = s->n_volumes ? volumes : NULL,
					     .n_volumes = s->n_volumes,
					     .replaced = s->old ? s->old->id : NULL,
					     .downtime_known = s->t_down && s->t_up >= s->t_down,
					     .downtime = (double)(s->t_up - s->t_down) / 1000.0,
				     });
}

void saga_done(struct saga *s)
{
	for (size_t i = 0; i < s->n_volumes; i++)
		doapi_volume_free(s->volumes[i].v);
	free(s->volumes);
	s->volumes = NULL;
	s->n_volumes = 0;
	doapi_droplet_free(s->old);
	s->old = NULL;
	for (size_t i = 0; i < s->n_droplets; i++)
		doapi_droplet_free(s->droplets[i].d);
	free(s->droplets);
	s->droplets = NULL;
	s->n_droplets = 0;
	free(s->fw_id);
	s->fw_id = NULL;
	for (size_t i = 0; i < s->n_alerts; i++)
		free(s->alerts[i].uuid);
	free(s->alerts);
	s->alerts = NULL;
	s->n_alerts = 0;
	launch_progress_done(&s->progress);
}
