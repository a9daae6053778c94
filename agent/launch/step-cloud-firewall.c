/*
 * --cloud-firewall: a DigitalOcean firewall for the run's tag, mirroring the user data:
 * the Redis and TLS ports doagent opens to [firewall] allow, SSH to ssh-allow, ICMP from
 * anywhere (as doagent's own rules), and every outbound packet (a cloud firewall without
 * outbound rules drops them all). A cloud firewall cannot name a VPC, so "vpc" becomes
 * the private ranges: only the droplet's VPC (and peered ones) reach its private
 * interface, and doagent's own firewall narrows it to the VPC's network.
 * It comes before the droplets, so that no droplet is ever up without it; so before the
 * tags it names exist (a droplet's create makes its tags), and DigitalOcean refuses a
 * firewall that names a tag that does not exist: it makes them first.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "doagent.h"
#include "group.h"
#include "netaddr.h"
#include "paths.h"
#include "plan.h"
#include "saga.h"
#include "strv.h"

static const char *const private_ranges[] = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", NULL };
static const char *const anywhere[] = { "0.0.0.0/0", "::/0", NULL };

struct cloud_fw {
	char name[80];
	char **allow, **ssh_allow;	/* addresses */
	char ports[4][8];		/* ssh, redis, tls, sentinel */
	struct doapi_fw_rule in[5], out[3];
	const char *tags[2];
	char *group_tags[2];		/* a group's own tag, the sources of its ports */
	struct doapi_firewall_create req;
};

static void cloud_fw_done(struct cloud_fw *f)
{
	strv_free(f->allow);
	strv_free(f->ssh_allow);
	free(f->group_tags[0]);
}

static int addrlist_strv(const struct config_addrlist *l, char ***ret)
{
	if (l->vpc)
		for (const char *const *p = private_ranges; *p; p++)
			if (strv_extend(ret, *p) < 0)
				return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		char buf[NETADDR_STRLEN];

		netaddr_format(&l->items[i].addr, buf);
		if (!strv_contains(*ret, buf) && strv_extend(ret, buf) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The firewall's name: the tag, with the '_' a firewall name cannot hold as '-'. A
 * group's nodes (tagged doagent-group:NAME) reach each other's TLS port and Sentinel
 * port, as their own firewalls let the VPC do: the TLS rule gets the group's tag as a
 * source, and Sentinel's port is open to the group's tag and, as "vpc" is, to the private
 * ranges (Sentinel-aware clients in the VPC). */
static int cloud_fw_init(struct cloud_fw *f, const struct config *c, const char *tag, const char *group)
{
	unsigned open[2];
	size_t n = 0;

	*f = (struct cloud_fw){};
	snprintf(f->name, sizeof f->name, "%s", tag);
	for (char *p = f->name; *p; p++)
		if (*p == '_')
			*p = '-';
	if (addrlist_strv(&c->firewall_allow, &f->allow) < 0 ||
	    addrlist_strv(&c->firewall_ssh_allow, &f->ssh_allow) < 0)
		return -ENOMEM;
	plan_open_ports(c, open);
	snprintf(f->ports[0], sizeof f->ports[0], "%u", c->firewall_ssh_port);
	snprintf(f->ports[1], sizeof f->ports[1], "%u", open[0]);
	snprintf(f->ports[2], sizeof f->ports[2], "%u", open[1]);
	snprintf(f->ports[3], sizeof f->ports[3], "%u", SENTINEL_PORT);
	if (group && !(f->group_tags[0] = group_tag(group)))
		return -ENOMEM;

	if (f->ssh_allow)
		f->in[n++] = (struct doapi_fw_rule){ "tcp", f->ports[0], (const char *const *)f->ssh_allow, NULL };
	if (open[0] && f->allow)
		f->in[n++] = (struct doapi_fw_rule){ "tcp", f->ports[1], (const char *const *)f->allow, NULL };
	if ((open[1] && f->allow) || group)
		f->in[n++] = (struct doapi_fw_rule){ "tcp", f->ports[2], open[1] ? (const char *const *)f->allow : NULL,
						     (const char *const *)f->group_tags };
	if (group)
		f->in[n++] = (struct doapi_fw_rule){ "tcp", f->ports[3], private_ranges,
						     (const char *const *)f->group_tags };
	f->in[n++] = (struct doapi_fw_rule){ "icmp", "0", anywhere, NULL };
	f->out[0] = (struct doapi_fw_rule){ "tcp", "0", anywhere, NULL };
	f->out[1] = (struct doapi_fw_rule){ "udp", "0", anywhere, NULL };
	f->out[2] = (struct doapi_fw_rule){ "icmp", "0", anywhere, NULL };
	f->tags[0] = tag;
	f->req = (struct doapi_firewall_create){
		.name = f->name,
		.inbound = f->in,
		.n_inbound = n,
		.outbound = f->out,
		.n_outbound = ELEMENTSOF(f->out),
		.tags = f->tags,
	};
	return 0;
}

static bool wanted(const struct saga *s)
{
	return s->opt->cloud_firewall;
}

/* Make the tags f names (the launch tag; a group's tag). Undo leaves them: a tag on
 * nothing is harmless, the droplets of this run or a rerun may carry it, and deleting a
 * tag would untag whatever else carries it. */
static int make_tags(struct saga *s, const struct cloud_fw *f)
{
	const char *const names[] = { f->tags[0], f->group_tags[0] };

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		_cleanup_free_ char *cause = NULL;
		int r;

		if (!names[i])
			continue;
		r = doapi_tag_create(s->api, names[i], &cause);
		if (r < 0) {
			launch_err("%s", launch_cause_or(cause, r));
			return launch_api_exit(r);
		}
	}
	return 0;
}

/* Create the firewall f, once: after an ambiguous answer, look for it by name. */
static int create(struct saga *s, const struct cloud_fw *f)
{
	_cleanup_free_ char *cause = NULL;
	struct backoff b;
	int r = doapi_firewall_create(s->api, &f->req, &s->fw_id, &cause);

	if (r == -EAGAIN) {
		fprintf(stderr, "the firewall's create answer was lost (%s); looking for it by name %s\n",
			launch_cause_or(cause, r), f->name);
		backoff_init(&b, 1000, 3000, 10000);
		do {
			_cleanup_free_ char *c2 = NULL;

			if (doapi_firewall_find(s->api, f->name, &s->fw_id, &c2) >= 0 && s->fw_id)
				break;
		} while (backoff_wait(&b, 0));
		if (!s->fw_id) {
			launch_err("creating the firewall failed (%s) and no firewall is named %s; re-run with the same --launch-id to retry safely",
				   launch_cause_or(cause, r), f->name);
			s->unsettled = true;
			return DOAGENT_EXIT_FAILURE;
		}
	} else if (r < 0) {
		launch_err("%s", launch_cause_or(cause, r));
		return r == -EACCES || r == -EINVAL ? DOAGENT_EXIT_FAILURE : launch_api_exit(r);
	}
	s->fw_made = true;
	fprintf(stderr, "firewall %s (%s) created\n", s->fw_id, f->name);
	return 0;
}

/* Adopt the firewall named after the tag, or create it. */
static int run(struct saga *s)
{
	_cleanup_free_ char *cause = NULL;
	struct cloud_fw f;
	int r, ex = 0;

	if (cloud_fw_init(&f, s->config, s->tag, s->group) < 0) {
		cloud_fw_done(&f);
		launch_err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	r = doapi_firewall_find(s->api, f.name, &s->fw_id, &cause);
	if (r < 0) {
		launch_err("%s", launch_cause_or(cause, r));
		ex = launch_api_exit(r);
	} else if (s->fw_id) {
		fprintf(stderr, "firewall %s (%s) exists: adopting it\n", s->fw_id, f.name);
	} else if (!(ex = make_tags(s, &f))) {
		ex = create(s, &f);
	}
	cloud_fw_done(&f);
	return ex;
}

/* The firewall this run made; never the tags make_tags made (see there). */
static void undo(struct saga *s, bool keep)
{
	_cleanup_free_ char *cause = NULL;
	int r;

	if (!s->fw_made)
		return;
	if (keep) {
		launch_err("firewall %s kept (--keep-on-failure)", s->fw_id);
		return;
	}
	r = doapi_firewall_delete(s->api, s->fw_id, &cause);
	if (r < 0)
		launch_err("deleting firewall %s failed: %s; delete it by hand", s->fw_id, launch_cause_or(cause, r));
	else
		launch_err("deleted firewall %s", s->fw_id);
}

static int plan(const struct saga *s, json_object *requests)
{
	struct cloud_fw f;
	json_object *body = NULL;
	int r = -ENOMEM;

	if (cloud_fw_init(&f, s->config, s->tag, s->group) == 0) {
		const char *const names[] = { f.tags[0], f.group_tags[0] };

		r = 0;
		for (size_t i = 0; r == 0 && i < ELEMENTSOF(names) && names[i]; i++) {
			json_object *tag = doapi_tag_body(names[i]);

			r = tag ? saga_plan_add(requests, "POST", "/v2/tags", tag) : -ENOMEM;
		}
		if (r == 0 && !(body = doapi_firewall_body(&f.req)))
			r = -ENOMEM;
	}
	cloud_fw_done(&f);
	if (r < 0)
		return r;
	return saga_plan_add(requests, "POST", "/v2/firewalls", body);
}

const struct saga_step step_cloud_firewall = {
	.name = "cloud-firewall",
	.wanted = wanted,
	.run = run,
	.undo = undo,
	.plan = plan,
};
