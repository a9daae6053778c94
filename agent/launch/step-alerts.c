/*
 * --alerts EMAIL...: DigitalOcean monitoring alert policies on the run's tag (alerts.h),
 * memory, disk, CPU and the 5-minute load against the droplets' vCPUs, mailing the
 * addresses. It comes after the droplets, whose size gives the vCPUs, and before the
 * wait, so that the policies exist when the droplets come up. Each kind is adopted when
 * a policy of the launch's has it (tag and description), else created with one POST; a
 * create whose answer is lost is looked for again, and when it cannot be found the run
 * stops unsettled. Undo deletes only the policies this run created.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "backoff.h"
#include "doagent.h"
#include "saga.h"
#include "strv.h"

static bool wanted(const struct saga *s)
{
	return s->opt->alerts != NULL;
}

struct request {
	char *description;
	const char *tags[2];
	struct doapi_alert_create req;
};

static int request_init(struct request *r, const struct saga *s, const struct alerts_kind *k,
			unsigned vcpus)
{
	*r = (struct request){ .tags = { s->tag, NULL } };
	r->description = alerts_description(k, s->launch_id, s->name);
	if (!r->description)
		return -ENOMEM;
	r->req = (struct doapi_alert_create){
		.type = k->type,
		.description = r->description,
		.compare = "GreaterThan",
		.value = k->value ? k->value : vcpus,
		.window = ALERTS_WINDOW,
		.tags = r->tags,
		.emails = (const char *const *)s->opt->alerts,
		.enabled = true,
	};
	return 0;
}

/* The launch's policy of kind k in l, NULL when none. */
static const struct doapi_alert *find(struct doapi_alert *const *l, size_t n, const struct saga *s,
				      const struct alerts_kind *k)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i]->type, k->type) == 0 && alerts_of_launch(l[i], s->launch_id))
			return l[i];
	return NULL;
}

static int add(struct saga *s, const char *uuid, const struct alerts_kind *k, bool made)
{
	struct saga_alert *l = reallocarray(s->alerts, s->n_alerts + 1, sizeof *l);
	char *copy = strdup(uuid);

	if (l)
		s->alerts = l;
	if (!l || !copy) {
		free(copy);
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	s->alerts[s->n_alerts++] = (struct saga_alert){ .uuid = copy, .type = k->type, .made = made };
	return 0;
}

static bool same_emails(char *const *a, char *const *b)
{
	if (strv_length(a) != strv_length(b))
		return false;
	for (; a && *a; a++)
		if (!strv_contains(b, *a))
			return false;
	return true;
}

/* The vCPUs of the droplets' size, from the primary droplet (one GET when the answer
 * that gave it had none). 0 with *ret, or an exit status. */
static int vcpus_of(struct saga *s, unsigned *ret)
{
	struct saga_droplet *sd = &s->droplets[0];
	_cleanup_free_ char *cause = NULL;
	struct doapi_droplet *d = NULL;
	int r;

	if (!sd->d->vcpus) {
		r = doapi_droplet_get(s->api, sd->d->id, &d, &cause);
		if (r < 0) {
			launch_err("droplet %s: %s", sd->d->id, launch_cause_or(cause, r));
			return launch_api_exit(r);
		}
		doapi_droplet_free(sd->d);
		sd->d = d;
	}
	if (!sd->d->vcpus) {
		launch_err("droplet %s: the API gave no vcpus: the load alert needs them", sd->d->id);
		return DOAGENT_EXIT_FAILURE;
	}
	*ret = sd->d->vcpus;
	return 0;
}

/* Create the policy r, once; after an ambiguous answer, look for it. */
static int create(struct saga *s, const struct alerts_kind *k, const struct request *r)
{
	_cleanup_free_ char *cause = NULL;
	struct doapi_alert *a = NULL;
	struct backoff b;
	int ret = doapi_alert_create(s->api, &r->req, &a, &cause), ex;

	if (ret == 0) {
		ex = add(s, a->uuid, k, true);
		if (ex == 0)
			fprintf(stderr, "alert policy %s (%s) created\n", a->uuid, r->description);
		doapi_alert_free(a);
		return ex;
	}
	if (ret != -EAGAIN) {
		launch_err("%s: %s", r->description, launch_cause_or(cause, ret));
		return ret == -EACCES || ret == -EINVAL ? DOAGENT_EXIT_FAILURE : launch_api_exit(ret);
	}
	fprintf(stderr, "the alert policy's create answer was lost (%s); looking for it by tag %s and description\n",
		launch_cause_or(cause, ret), s->tag);
	backoff_init(&b, 1000, 3000, 10000);
	do {
		_cleanup_free_ char *c2 = NULL;
		struct doapi_alert **l = NULL;
		const struct doapi_alert *found;
		size_t n = 0;
		int lr = doapi_alerts_list(s->api, &l, &n, &c2);

		if (lr < 0)
			fprintf(stderr, "listing: %s\n", launch_cause_or(c2, lr));
		found = lr < 0 ? NULL : find(l, n, s, k);
		ex = found ? add(s, found->uuid, k, true) : -1;
		if (found && ex == 0)
			fprintf(stderr, "found alert policy %s (%s)\n", found->uuid, r->description);
		doapi_alerts_free(l, n);
		if (ex >= 0)
			return ex;
	} while (backoff_wait(&b, 0));
	launch_err("creating alert policy \"%s\" failed (%s) and none of the launch's has its kind; %s",
		   r->description, launch_cause_or(cause, ret), s->rerun);
	s->unsettled = true;
	return DOAGENT_EXIT_FAILURE;
}

static int run(struct saga *s)
{
	_cleanup_free_ char *cause = NULL;
	struct doapi_alert **l = NULL;
	unsigned vcpus = 0;
	size_t n = 0;
	int r, ex = vcpus_of(s, &vcpus);

	if (ex)
		return ex;
	r = doapi_alerts_list(s->api, &l, &n, &cause);
	if (r < 0) {
		launch_err("%s", launch_cause_or(cause, r));
		return launch_api_exit(r);
	}
	for (size_t i = 0; i < ALERTS_N && ex == 0; i++) {
		const struct alerts_kind *k = &alerts_kinds[i];
		const struct doapi_alert *a = find(l, n, s, k);
		struct request req;

		if (request_init(&req, s, k, vcpus) < 0) {
			launch_err("out of memory");
			ex = DOAGENT_EXIT_FAILURE;
		} else if (a) {
			ex = add(s, a->uuid, k, false);
			fprintf(stderr, "alert policy %s (%s) exists: adopting it\n", a->uuid, req.description);
			if (!same_emails(a->emails, s->opt->alerts))
				launch_err("warning: alert policy %s mails other addresses than --alerts; it is left as it is",
					   a->uuid);
		} else {
			ex = create(s, k, &req);
		}
		free(req.description);
	}
	doapi_alerts_free(l, n);
	return ex;
}

static void undo(struct saga *s, bool keep)
{
	for (size_t i = s->n_alerts; i-- > 0;) {
		const struct saga_alert *sa = &s->alerts[i];
		_cleanup_free_ char *cause = NULL;
		int r;

		if (!sa->made)
			continue;
		if (keep) {
			launch_err("alert policy %s kept (--keep-on-failure)", sa->uuid);
			continue;
		}
		r = doapi_alert_delete(s->api, sa->uuid, &cause);
		if (r < 0)
			launch_err("deleting alert policy %s failed: %s; delete it by hand", sa->uuid,
				   launch_cause_or(cause, r));
		else
			launch_err("deleted alert policy %s", sa->uuid);
	}
}

/* The vCPUs are known once the droplet is: a placeholder stands for them. */
static int plan(const struct saga *s, json_object *requests)
{
	_cleanup_free_ char *vcpus = NULL;

	if (asprintf(&vcpus, "(the vCPUs of size %s)", s->size) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < ALERTS_N; i++) {
		const struct alerts_kind *k = &alerts_kinds[i];
		struct request req;
		json_object *body = NULL;
		int r;

		if (request_init(&req, s, k, 0) < 0)
			return -ENOMEM;
		body = doapi_alert_body(&req.req);
		free(req.description);
		if (!body || (!k->value && json_object_object_add(body, "value", json_object_new_string(vcpus)) < 0)) {
			json_object_put(body);
			return -ENOMEM;
		}
		if ((r = saga_plan_add(requests, "POST", "/v2/monitoring/alerts", body)) < 0)
			return r;
	}
	return 0;
}

const struct saga_step step_alerts = {
	.name = "alerts",
	.wanted = wanted,
	.run = run,
	.undo = undo,
	.plan = plan,
};
