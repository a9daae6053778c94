/* The launcher's saga: see saga.h for the rules. */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "saga.h"

static bool wanted(const struct saga_step *st, const struct saga *s)
{
	return !st->wanted || st->wanted(s);
}

int saga_run(struct saga *s, const struct saga_step *const *steps, size_t n)
{
	size_t i;
	int ex = 0;

	for (i = 0; i < n && ex == 0; i++)
		if (wanted(steps[i], s))
			ex = steps[i]->run(s);
	if (ex == 0)
		return 0;
	if (s->unsettled)
		return ex;
	/* Undoing gets a minute per request, whatever the steps used. */
	if (s->api)
		s->api->deadline_ms = 60000;
	while (i-- > 0)
		if (steps[i]->undo && wanted(steps[i], s))
			steps[i]->undo(s, s->opt->keep_on_failure);
	return ex;
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
	    json_object_object_add(o, "body", body) < 0)
		return -ENOMEM;
	return 0;
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

		printf("%s %s\n%s\n", json_object_get_string(json_object_object_get(o, "method")),
		       json_object_get_string(json_object_object_get(o, "path")),
		       json_object_to_json_string_ext(json_object_object_get(o, "body"),
						      JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	return 0;
}

void saga_done(struct saga *s)
{
	for (size_t i = 0; i < s->n_droplets; i++)
		doapi_droplet_free(s->droplets[i].d);
	free(s->droplets);
	s->droplets = NULL;
	s->n_droplets = 0;
	free(s->fw_id);
	s->fw_id = NULL;
	launch_progress_done(&s->progress);
}
