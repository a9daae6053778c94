/*
 * Live health: Redis' INFO, its numbers and a verdict.
 *
 * MUST rules for this file:
 * - The password comes from redis.conf (what Redis itself requires), goes to Redis
 *   only through resp.c, and is erased with the text that held it. No message, report
 *   or output built here holds it: causes name lines and fields, never values of
 *   redis.conf.
 * - Everything Redis answers is bounded (resp.c: 1 MiB) and checked: numbers parsed
 *   strictly, text printable, the fields the verdict needs present.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eviction.h"
#include "fileio.h"
#include "guard.h"
#include "health.h"
#include "paths.h"
#include "resp.h"
#include "strutil.h"
#include "strv.h"

#define TEXT_MAX 255
#define CONF_MAX (1024 * 1024)

enum field_type { F_U64, F_I64, F_BOOL, F_TEXT, F_PORT };

struct field {
	const char *name;
	enum field_type type;
	size_t offset;
	bool required;
};

#define OFF(f) offsetof(struct health_info, f)
static const struct field fields[] = {
	{ "redis_version", F_TEXT, OFF(redis_version), true },
	{ "role", F_TEXT, OFF(role), true },
	{ "uptime_in_seconds", F_U64, OFF(uptime_in_seconds), true },
	{ "connected_clients", F_U64, OFF(connected_clients), true },
	{ "maxclients", F_U64, OFF(maxclients), false },
	{ "used_memory", F_U64, OFF(used_memory), true },
	{ "maxmemory", F_U64, OFF(maxmemory), true },
	{ "mem_not_counted_for_evict", F_U64, OFF(mem_not_counted_for_evict), false },
	{ "maxmemory_policy", F_TEXT, OFF(maxmemory_policy), true },
	{ "loading", F_BOOL, OFF(loading), true },
	{ "rdb_last_bgsave_status", F_TEXT, OFF(rdb_last_bgsave_status), true },
	{ "rdb_changes_since_last_save", F_U64, OFF(rdb_changes_since_last_save), false },
	{ "aof_enabled", F_BOOL, OFF(aof_enabled), true },
	{ "aof_last_write_status", F_TEXT, OFF(aof_last_write_status), true },
	{ "aof_last_bgrewrite_status", F_TEXT, OFF(aof_last_bgrewrite_status), true },
	{ "rejected_connections", F_U64, OFF(rejected_connections), true },
	{ "evicted_keys", F_U64, OFF(evicted_keys), true },
	{ "expired_keys", F_U64, OFF(expired_keys), true },
	{ "master_host", F_TEXT, OFF(master_host), false },
	{ "master_port", F_PORT, OFF(master_port), false },
	{ "master_link_status", F_TEXT, OFF(master_link_status), false },
	{ "master_last_io_seconds_ago", F_I64, OFF(master_last_io_seconds_ago), false },
	{ "master_link_down_since_seconds", F_I64, OFF(master_link_down_since_seconds), false },
	{ "master_sync_in_progress", F_BOOL, OFF(master_sync_in_progress), false },
	{ "min_slaves_good_slaves", F_I64, OFF(min_slaves_good_slaves), false },
	{ "master_repl_offset", F_I64, OFF(master_repl_offset), false },
};
#undef OFF

void health_info_done(struct health_info *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < ELEMENTSOF(fields); i++)
		if (fields[i].type == F_TEXT)
			free(*(char **)((char *)h + fields[i].offset));
	for (i = 0; i < h->n_replicas; i++) {
		free(h->replicas[i].ip);
		free(h->replicas[i].state);
	}
	free(h->replicas);
	*h = (struct health_info){ 0 };
}

static int parse_i64(const char *s, long long *ret)
{
	unsigned long long v;
	bool neg = s[0] == '-';

	if (strutil_parse_u64(s + neg, 0, neg ? (unsigned long long)INT64_MAX + 1 : INT64_MAX, &v) < 0 ||
	    (neg && v == 0))
		return -EBADMSG;
	*ret = neg ? (v == (unsigned long long)INT64_MAX + 1 ? INT64_MIN : -(long long)v) : (long long)v;
	return 0;
}

static bool printable(const char *s, size_t max)
{
	return strlen(s) <= max && strutil_is_printable_ascii(s);
}

static int set_field(struct health_info *h, const struct field *f, const char *value)
{
	void *p = (char *)h + f->offset;
	unsigned long long u;
	long long i;
	char *s;

	switch (f->type) {
	case F_U64:
		if (strutil_parse_u64(value, 0, UINT64_MAX, &u) < 0)
			return -EBADMSG;
		*(unsigned long long *)p = u;
		return 0;
	case F_I64:
		if (parse_i64(value, &i) < 0)
			return -EBADMSG;
		*(long long *)p = i;
		return 0;
	case F_BOOL:
		if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
			return -EBADMSG;
		*(bool *)p = value[0] == '1';
		return 0;
	case F_PORT:
		if (strutil_parse_u64(value, 1, 65535, &u) < 0)
			return -EBADMSG;
		*(unsigned *)p = (unsigned)u;
		return 0;
	case F_TEXT:
		if (!printable(value, TEXT_MAX))
			return -EBADMSG;
		s = strdup(value);
		if (!s)
			return -ENOMEM;
		free(*(char **)p);
		*(char **)p = s;
		return 0;
	}
	return -EBADMSG;
}

/* The value of name=... among value's comma-separated pairs, copied into buf. */
static int attr(const char *value, const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);
	const char *p = value;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > n && strncmp(p, name, n) == 0 && p[n] == '=') {
			if (len - n - 1 >= size)
				return -EBADMSG;
			memcpy(buf, p + n + 1, len - n - 1);
			buf[len - n - 1] = '\0';
			return 0;
		}
		p = end ? end + 1 : NULL;
	}
	return -ENOENT;
}

static int attr_u64(const char *value, const char *name, unsigned long long *ret)
{
	char buf[32];

	if (attr(value, name, buf, sizeof(buf)) < 0)
		return -EBADMSG;
	return strutil_parse_u64(buf, 0, UINT64_MAX, ret) < 0 ? -EBADMSG : 0;
}

/* "slave0:ip=10.0.0.3,port=6379,state=online,offset=1234,lag=0" */
static int add_replica(struct health_info *h, const char *value)
{
	struct health_replica r = { .lag = -1 };
	struct health_replica *v;
	char ip[64], state[32], num[32];
	unsigned long long port;

	if (attr(value, "ip", ip, sizeof(ip)) < 0 || !printable(ip, sizeof(ip)) ||
	    attr(value, "state", state, sizeof(state)) < 0 || !printable(state, sizeof(state)) ||
	    attr(value, "port", num, sizeof(num)) < 0 || strutil_parse_u64(num, 0, 65535, &port) < 0 ||
	    attr(value, "offset", num, sizeof(num)) < 0 || parse_i64(num, &r.offset) < 0)
		return -EBADMSG;
	/* Redis 7 always says lag; older ones did not. */
	if (attr(value, "lag", num, sizeof(num)) == 0 && parse_i64(num, &r.lag) < 0)
		return -EBADMSG;
	r.port = (unsigned)port;
	v = realloc(h->replicas, (h->n_replicas + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	h->replicas = v;
	r.ip = strdup(ip);
	r.state = strdup(state);
	if (!r.ip || !r.state) {
		free(r.ip);
		free(r.state);
		return -ENOMEM;
	}
	h->replicas[h->n_replicas++] = r;
	return 0;
}

/* "slave0", "db12": prefix and a decimal number. */
static bool numbered(const char *name, size_t len, const char *prefix)
{
	size_t n = strlen(prefix), i;

	if (len <= n || strncmp(name, prefix, n) != 0)
		return false;
	for (i = n; i < len; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	return true;
}

static int parse_line(struct health_info *h, const char *name, const char *value, bool seen[])
{
	size_t i, len = strlen(name);
	unsigned long long keys, expires;
	int r;

	if (numbered(name, len, "slave"))
		return add_replica(h, value);
	if (numbered(name, len, "db")) {
		if (attr_u64(value, "keys", &keys) < 0 || attr_u64(value, "expires", &expires) < 0)
			return -EBADMSG;
		h->keys += keys;
		h->keys_with_ttl += expires;
		return 0;
	}
	if (strcmp(name, "errorstat_OOM") == 0)
		return attr_u64(value, "count", &h->oom_errors);
	if (strcmp(name, "errorstat_NOREPLICAS") == 0)
		return attr_u64(value, "count", &h->noreplicas_errors);
	for (i = 0; i < ELEMENTSOF(fields); i++)
		if (strcmp(fields[i].name, name) == 0) {
			r = set_field(h, &fields[i], value);
			if (r >= 0)
				seen[i] = true;
			return r;
		}
	return 0;
}

int health_parse_info(const char *text, struct health_info *ret, char **ret_cause)
{
	struct health_info h = { .master_last_io_seconds_ago = -1, .master_link_down_since_seconds = -1,
				 .min_slaves_good_slaves = -1, .master_repl_offset = -1 };
	bool seen[ELEMENTSOF(fields)] = { false };
	const char *line = text;
	unsigned lineno = 0;
	size_t i;
	int r;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		_cleanup_free_ char *copy = NULL;
		char *colon;

		lineno++;
		if (len && line[len - 1] == '\r')
			len--;
		copy = strndup(line, len);
		line = end ? end + 1 : NULL;
		if (!copy) {
			health_info_done(&h);
			return -ENOMEM;
		}
		if (copy[0] == '\0' || copy[0] == '#')
			continue;
		colon = strchr(copy, ':');
		if (!colon || colon == copy) {
			health_info_done(&h);
			return strutil_cause(ret_cause, -EBADMSG, "INFO line %u is not \"name:value\"", lineno);
		}
		*colon = '\0';
		r = parse_line(&h, copy, colon + 1, seen);
		if (r < 0) {
			_cleanup_free_ char *name = strutil_quote(copy, 64);

			health_info_done(&h);
			if (r == -ENOMEM)
				return r;
			return strutil_cause(ret_cause, -EBADMSG, "INFO line %u: %s: not a value doagent understands",
					     lineno, name ? name : "?");
		}
	}
	for (i = 0; i < ELEMENTSOF(fields); i++)
		if (fields[i].required && !seen[i]) {
			health_info_done(&h);
			return strutil_cause(ret_cause, -EBADMSG, "INFO has no %s", fields[i].name);
		}
	if (strcmp(h.role, "master") != 0 && strcmp(h.role, "slave") != 0) {
		health_info_done(&h);
		return strutil_cause(ret_cause, -EBADMSG, "INFO: role is neither master nor slave");
	}
	if (strcmp(h.role, "slave") == 0 && (!h.master_host || !h.master_port || !h.master_link_status)) {
		health_info_done(&h);
		return strutil_cause(ret_cause, -EBADMSG, "INFO: a replica without master_host, master_port "
							  "and master_link_status");
	}
	*ret = h;
	return 0;
}

double health_memory_percent(const struct health_info *h)
{
	return h->maxmemory ? (double)h->used_memory * 100.0 / (double)h->maxmemory : 0.0;
}

const char *health_verdict_name(enum health_verdict v)
{
	switch (v) {
	case HEALTH_OK:
		return "ok";
	case HEALTH_WARNING:
		return "warning";
	case HEALTH_FAILING:
		return "failing";
	}
	return "?";
}

/* 1536 -> "1.50 MiB" */
static void human_bytes(unsigned long long n, char *buf, size_t size)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(buf, size, "%llu B", n);
		return;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < ELEMENTSOF(units)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.2f %s", v, units[u]);
}

struct judge {
	enum health_verdict verdict;
	char **failing;		/* the reasons, failing ones apart: they come first */
	char **warning;
	int r;
};

static void judge_add(struct judge *j, enum health_verdict v, const char *fmt, ...) _printf_(3, 4);

static void judge_add(struct judge *j, enum health_verdict v, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	int n;

	if (j->r < 0)
		return;
	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0 || strv_extend(v == HEALTH_FAILING ? &j->failing : &j->warning, s) < 0) {
		j->r = -ENOMEM;
		return;
	}
	if (v > j->verdict)
		j->verdict = v;
}

static void judge_memory(struct judge *j, const struct health_info *h)
{
	const struct eviction_policy *p = eviction_find(h->maxmemory_policy);
	bool primary = strcmp(h->role, "master") == 0;
	bool refuses = p && !p->evicts_any;
	double pct = health_memory_percent(h);
	unsigned long long counted = h->used_memory > h->mem_not_counted_for_evict
					     ? h->used_memory - h->mem_not_counted_for_evict
					     : 0;
	char used[32], max[32];

	if (!h->maxmemory)
		return;
	human_bytes(h->used_memory, used, sizeof(used));
	human_bytes(h->maxmemory, max, sizeof(max));
	if (!primary) {
		if (pct >= HEALTH_MEMORY_WARN_PERCENT)
			judge_add(j, HEALTH_WARNING,
				  "memory at %.1f%% of maxmemory (%s of %s) on a replica, which evicts nothing "
				  "itself (its primary's evictions reach it as deletions)",
				  pct, used, max);
		return;
	}
	if (refuses && counted > h->maxmemory) {
		judge_add(j, HEALTH_FAILING,
			  "writes are refused (OOM): %llu bytes used, over maxmemory (%llu bytes, %s), and %s",
			  h->used_memory, h->maxmemory, max,
			  p->volatile_only ? "no key with a TTL is left to evict" : "noeviction evicts nothing");
		return;
	}
	if (refuses && pct >= HEALTH_MEMORY_WARN_PERCENT)
		judge_add(j, HEALTH_WARNING,
			  "memory at %.1f%% of maxmemory (%s of %s): with %s, writes fail once it is full",
			  pct, used, max, h->maxmemory_policy);
	if (p && p->volatile_only && h->keys > 0 && h->keys_with_ttl == 0)
		judge_add(j, HEALTH_WARNING,
			  "no key has a TTL: %s can evict nothing, so writes will fail once memory is full, "
			  "as with noeviction",
			  h->maxmemory_policy);
}

static void judge_replication(struct judge *j, const struct health_info *h)
{
	size_t i;

	if (strcmp(h->role, "slave") == 0) {
		if (strcmp(h->master_link_status, "up") != 0) {
			if (h->master_link_down_since_seconds >= 0)
				judge_add(j, HEALTH_WARNING, "the link to the primary %s:%u is down, for %lld s",
					  h->master_host, h->master_port, h->master_link_down_since_seconds);
			else
				judge_add(j, HEALTH_WARNING, "the link to the primary %s:%u is down",
					  h->master_host, h->master_port);
		} else if (h->master_last_io_seconds_ago > HEALTH_PRIMARY_SILENT_WARN_S)
			judge_add(j, HEALTH_WARNING, "nothing heard from the primary %s:%u for %lld s",
				  h->master_host, h->master_port, h->master_last_io_seconds_ago);
		if (h->master_sync_in_progress)
			judge_add(j, HEALTH_WARNING, "copying the primary's whole dataset (a full sync)");
		return;
	}
	if (h->min_replicas_to_write && h->min_slaves_good_slaves >= 0 &&
	    h->min_slaves_good_slaves < (long long)h->min_replicas_to_write)
		judge_add(j, HEALTH_FAILING,
			  "writes are refused (NOREPLICAS): min-replicas-to-write asks for %u replica%s within "
			  "min-replicas-max-lag, and %lld %s",
			  h->min_replicas_to_write, h->min_replicas_to_write == 1 ? "" : "s",
			  h->min_slaves_good_slaves, h->min_slaves_good_slaves == 1 ? "is" : "are");
	for (i = 0; i < h->n_replicas; i++) {
		const struct health_replica *r = &h->replicas[i];

		if (strcmp(r->state, "online") != 0)
			judge_add(j, HEALTH_WARNING, "replica %s:%u is not online (%s)", r->ip, r->port, r->state);
		else if (r->lag > HEALTH_REPLICA_LAG_WARN_S)
			judge_add(j, HEALTH_WARNING, "replica %s:%u lags: last acknowledged %lld s ago", r->ip,
				  r->port, r->lag);
	}
}

/* Judge h: the failing reasons first, then the warnings, in one list; *ret_n_failing
 * says how many of them are failing ones. */
static int judge(const struct health_info *h, enum health_verdict *ret, char ***ret_reasons, size_t *ret_n_failing)
{
	struct judge j = { .verdict = HEALTH_OK };
	size_t n_failing;

	if (strcmp(h->rdb_last_bgsave_status, "ok") != 0)
		judge_add(&j, HEALTH_FAILING,
			  "the last RDB save failed (rdb_last_bgsave_status:%s): with save points set, Redis "
			  "refuses writes until a save succeeds (stop-writes-on-bgsave-error)",
			  h->rdb_last_bgsave_status);
	if (h->aof_enabled && strcmp(h->aof_last_write_status, "ok") != 0)
		judge_add(&j, HEALTH_FAILING,
			  "the last write to the append-only file failed (aof_last_write_status:%s): Redis "
			  "refuses writes until it can write it",
			  h->aof_last_write_status);
	judge_memory(&j, h);
	if (h->aof_enabled && strcmp(h->aof_last_bgrewrite_status, "ok") != 0)
		judge_add(&j, HEALTH_WARNING,
			  "the last rewrite of the append-only file failed (aof_last_bgrewrite_status:%s): "
			  "it grows until one succeeds",
			  h->aof_last_bgrewrite_status);
	if (h->loading)
		judge_add(&j, HEALTH_WARNING, "loading its data from disk: until it is done, most commands are answered LOADING");
	if (h->maxclients && h->connected_clients * 100 >= h->maxclients * HEALTH_CLIENTS_WARN_PERCENT)
		judge_add(&j, HEALTH_WARNING, "%llu clients connected of maxclients %llu: more are refused",
			  h->connected_clients, h->maxclients);
	judge_replication(&j, h);
	n_failing = strv_length(j.failing);
	for (char **w = j.warning; j.r >= 0 && w && *w; w++)
		j.r = strv_extend(&j.failing, *w);
	strv_free(j.warning);
	if (j.r < 0) {
		strv_free(j.failing);
		return j.r;
	}
	*ret = j.verdict;
	*ret_reasons = j.failing;
	*ret_n_failing = n_failing;
	return 0;
}

int health_judge(const struct health_info *h, enum health_verdict *ret, char ***ret_reasons)
{
	size_t n_failing;

	return judge(h, ret, ret_reasons, &n_failing);
}

int health_judge_report(struct health_report *r)
{
	enum health_verdict v;
	char **reasons;
	size_t n_failing;
	int k = judge(&r->info, &v, &reasons, &n_failing);

	if (k < 0)
		return k;
	strv_free(r->reasons);
	r->verdict = v;
	r->reasons = reasons;
	r->n_failing = n_failing;
	return 0;
}

void health_conf_done(struct health_conf *c)
{
	if (!c)
		return;
	free(c->unixsocket);
	erase_and_freep(&c->password);
	*c = (struct health_conf){ 0 };
}

static void strv_erase_free(char **l)
{
	for (char **w = l; w && *w; w++)
		explicit_bzero(*w, strlen(*w));
	strv_free(l);
}

int health_parse_conf(const char *text, struct health_conf *ret, char **ret_cause)
{
	struct health_conf c = { .port = 6379 };
	const char *line = text;
	unsigned lineno = 0;
	int r = 0;

	while (line && *line && r >= 0) {
		const char *end = strchr(line, '\n');
		_cleanup_erase_ char *copy = end ? strndup(line, (size_t)(end - line)) : strdup(line);
		char **w;
		unsigned long long port;	/* or another number */

		lineno++;
		line = end ? end + 1 : NULL;
		if (!copy) {
			r = -ENOMEM;
			break;
		}
		w = guard_split_line(copy);
		if (!w) {
			r = errno == ENOMEM ? -ENOMEM
					    : strutil_cause(ret_cause, -EBADMSG, "line %u: unbalanced quotes", lineno);
			break;
		}
		if (!w[0] || !w[1] || w[2])
			;	/* blank, a comment, or not one of the one-word directives below */
		else if (strcasecmp(w[0], "port") == 0) {
			if (strutil_parse_u64(w[1], 0, 65535, &port) < 0)
				r = strutil_cause(ret_cause, -EBADMSG, "line %u: port is not a port number", lineno);
			else
				c.port = (unsigned)port;
		} else if (strcasecmp(w[0], "unixsocket") == 0) {
			free(c.unixsocket);
			c.unixsocket = strdup(w[1]);
			if (!c.unixsocket)
				r = -ENOMEM;
		} else if (strcasecmp(w[0], "min-replicas-to-write") == 0 || strcasecmp(w[0], "min-slaves-to-write") == 0) {
			if (strutil_parse_u64(w[1], 0, INT32_MAX, &port) < 0)
				r = strutil_cause(ret_cause, -EBADMSG, "line %u: min-replicas-to-write is not a number",
						  lineno);
			else
				c.min_replicas_to_write = (unsigned)port;
		} else if (strcasecmp(w[0], "requirepass") == 0) {
			erase_and_freep(&c.password);
			c.password = NULL;
			/* requirepass "" turns the password off. */
			if (w[1][0] && !(c.password = strdup(w[1])))
				r = -ENOMEM;
		}
		strv_erase_free(w);
	}
	if (r < 0) {
		health_conf_done(&c);
		return r;
	}
	*ret = c;
	return 0;
}

void health_report_done(struct health_report *r)
{
	if (!r)
		return;
	free(r->unchecked);
	free(r->address);
	health_info_done(&r->info);
	strv_free(r->reasons);
	*r = (struct health_report){ 0 };
}

int health_unchecked(const char *why, struct health_report *ret)
{
	*ret = (struct health_report){ .unchecked = strdup(why) };
	return ret->unchecked ? 0 : -ENOMEM;
}

int health_fail(struct health_report *r, const char *what, const char *cause)
{
	size_t n = strv_length(r->reasons);
	char *s;
	int k = cause ? strv_extendf(&r->reasons, "%s: %s", what, cause) : strv_extend(&r->reasons, what);

	if (k < 0)
		return -ENOMEM;
	/* failing reasons come before the warnings: the new one moves up to follow them */
	s = r->reasons[n];
	memmove(r->reasons + r->n_failing + 1, r->reasons + r->n_failing, (n - r->n_failing) * sizeof *r->reasons);
	r->reasons[r->n_failing++] = s;
	r->verdict = HEALTH_FAILING;
	return 0;
}

int health_check(const char *root, uint64_t timeout_ms, struct health_report *ret)
{
	_cleanup_free_ char *path = NULL, *cause = NULL, *info = NULL;
	_cleanup_erase_ char *text = NULL;
	struct health_report rep = { .checked = true };
	struct health_conf conf = { 0 };
	struct resp_target t = { .host = "127.0.0.1" };
	size_t len;
	int r;

	if (asprintf(&path, "%s" PATH_REDIS_CONF, root ? root : "") < 0)
		return -ENOMEM;
	r = fileio_read_file(path, CONF_MAX, &text, &len);
	if (r == -ENOENT) {
		_cleanup_free_ char *why = NULL;

		if (asprintf(&why, "no %s: doagent has not configured Redis here", path) < 0)
			return -ENOMEM;
		return health_unchecked(why, ret);
	}
	if (r >= 0)
		r = health_parse_conf(text, &conf, &cause);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		_cleanup_free_ char *why = NULL;

		if (asprintf(&why, "cannot read %s: %s", path, cause ? cause : strerror(-r)) < 0)
			return -ENOMEM;
		return health_unchecked(why, ret);
	}
	if (conf.port)
		t.port = conf.port;
	else if (conf.unixsocket)
		t = (struct resp_target){ .unix_path = conf.unixsocket };
	else {
		health_conf_done(&conf);
		return health_unchecked("redis.conf has neither a TCP port (port 0) nor a unixsocket", ret);
	}
	r = conf.port ? asprintf(&rep.address, "127.0.0.1:%u", conf.port)
		      : ((rep.address = strdup(conf.unixsocket)) ? 0 : -1);
	if (r < 0) {
		health_conf_done(&conf);
		return -ENOMEM;
	}
	r = resp_info(&t, conf.password, HEALTH_INFO_SECTIONS, timeout_ms, &info, &cause);
	rep.info.min_replicas_to_write = conf.min_replicas_to_write;
	health_conf_done(&conf);
	if (r == -ENOMEM)
		goto nomem;
	if (r == -EACCES)
		r = health_fail(&rep, "Redis refuses the password of redis.conf", cause ? cause : "AUTH refused");
	else if (r < 0)
		r = health_fail(&rep, "Redis does not answer", cause ? cause : strerror(-r));
	else {
		free(cause);
		cause = NULL;
		unsigned min = rep.info.min_replicas_to_write;

		r = health_parse_info(info, &rep.info, &cause);
		rep.info.min_replicas_to_write = min;
		if (r == -EBADMSG)
			r = health_fail(&rep, "Redis' INFO cannot be understood", cause ? cause : "bad INFO");
		else if (r >= 0) {
			rep.answered = true;
			r = health_judge_report(&rep);
		}
	}
	if (r < 0)
		goto nomem;
	*ret = rep;
	return 0;
nomem:
	health_report_done(&rep);
	return -ENOMEM;
}

static void print_uptime(unsigned long long s, FILE *f)
{
	if (s >= 86400)
		fprintf(f, "%llu d %llu h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		fprintf(f, "%llu h %llu min", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		fprintf(f, "%llu min %llu s", s / 60, s % 60);
	else
		fprintf(f, "%llu s", s);
}

static void print_replication(const struct health_info *h, const char *in, FILE *f)
{
	size_t i;

	if (strcmp(h->role, "slave") == 0) {
		fprintf(f, "%srole:       replica of %s:%u, link %s", in, h->master_host, h->master_port,
			h->master_link_status);
		if (strcmp(h->master_link_status, "up") == 0 && h->master_last_io_seconds_ago >= 0)
			fprintf(f, ", last heard %lld s ago", h->master_last_io_seconds_ago);
		else if (h->master_link_down_since_seconds >= 0)
			fprintf(f, " for %lld s", h->master_link_down_since_seconds);
		fputc('\n', f);
		return;
	}
	fprintf(f, "%srole:       primary, %zu replica%s", in, h->n_replicas, h->n_replicas == 1 ? "" : "s");
	if (h->min_replicas_to_write && h->min_slaves_good_slaves >= 0)
		fprintf(f, " (%lld following closely; writes need %u)", h->min_slaves_good_slaves,
			h->min_replicas_to_write);
	fputc('\n', f);
	for (i = 0; i < h->n_replicas; i++) {
		const struct health_replica *r = &h->replicas[i];

		fprintf(f, "%sreplica:    %s:%u %s, offset %lld", in, r->ip, r->port, r->state, r->offset);
		if (r->lag >= 0)
			fprintf(f, ", lag %lld s", r->lag);
		fputc('\n', f);
	}
}

void health_print(const struct health_report *r, const char *in, FILE *f)
{
	const struct health_info *h = &r->info;
	const struct eviction_policy *p;
	char used[32], max[32];

	if (!in)
		in = "";
	if (!r->checked) {
		fprintf(f, "%shealth:     not checked: %s\n", in, r->unchecked ? r->unchecked : "unknown");
		return;
	}
	fprintf(f, "%shealth:     %s", in, health_verdict_name(r->verdict));
	for (char **l = r->reasons; l && *l; l++)
		fprintf(f, "%s%s%s\n", l == r->reasons ? ": " : in, l == r->reasons ? "" : "            ", *l);
	if (!r->reasons)
		fputc('\n', f);
	if (!r->answered) {
		fprintf(f, "%sredis:      at %s\n", in, r->address ? r->address : "?");
		return;
	}
	fprintf(f, "%sredis:      %s at %s, up ", in, h->redis_version, r->address);
	print_uptime(h->uptime_in_seconds, f);
	fputc('\n', f);
	print_replication(h, in, f);
	human_bytes(h->used_memory, used, sizeof(used));
	if (h->maxmemory) {
		human_bytes(h->maxmemory, max, sizeof(max));
		fprintf(f, "%smemory:     %s of %s maxmemory (%.1f%%: %llu of %llu bytes), %s\n", in, used, max,
			health_memory_percent(h), h->used_memory, h->maxmemory, h->maxmemory_policy);
	} else
		fprintf(f, "%smemory:     %s, no maxmemory (no limit), %s\n", in, used, h->maxmemory_policy);
	p = eviction_find(h->maxmemory_policy);
	if (p)
		fprintf(f, "%s            %s\n", in, p->full);
	fprintf(f, "%skeys:       %llu (%llu with a TTL); since start: %llu evicted, %llu expired", in, h->keys,
		h->keys_with_ttl, h->evicted_keys, h->expired_keys);
	if (h->oom_errors)
		fprintf(f, ", %llu writes refused (OOM)", h->oom_errors);
	if (h->noreplicas_errors)
		fprintf(f, ", %llu writes refused (NOREPLICAS)", h->noreplicas_errors);
	fputc('\n', f);
	fprintf(f, "%sclients:    %llu connected", in, h->connected_clients);
	if (h->maxclients)
		fprintf(f, " of at most %llu", h->maxclients);
	fprintf(f, "; %llu connections rejected since start\n", h->rejected_connections);
	fprintf(f, "%ssaving:     last RDB save %s", in, h->rdb_last_bgsave_status);
	if (h->aof_enabled)
		fprintf(f, "; AOF on, last write %s, last rewrite %s\n", h->aof_last_write_status,
			h->aof_last_bgrewrite_status);
	else
		fprintf(f, "; AOF off\n");
}

static json_object *u64(unsigned long long v)
{
	return json_object_new_uint64(v);
}

json_object *health_to_json(const struct health_report *r)
{
	const struct health_info *h = &r->info;
	_cleanup_json_ json_object *o = json_object_new_object();
	json_object *reasons, *repl, *replicas;
	size_t i;

	if (!o)
		return NULL;
	json_object_object_add(o, "checked", json_object_new_boolean(r->checked));
	if (!r->checked) {
		json_object_object_add(o, "reason", json_object_new_string(r->unchecked ? r->unchecked : ""));
		return TAKE_PTR(o);
	}
	json_object_object_add(o, "verdict", json_object_new_string(health_verdict_name(r->verdict)));
	reasons = json_object_new_array();
	if (!reasons)
		return NULL;
	for (char **l = r->reasons; l && *l; l++)
		json_object_array_add(reasons, json_object_new_string(*l));
	json_object_object_add(o, "reasons", reasons);
	json_object_object_add(o, "address", r->address ? json_object_new_string(r->address) : NULL);
	json_object_object_add(o, "answered", json_object_new_boolean(r->answered));
	if (!r->answered)
		return TAKE_PTR(o);
	json_object_object_add(o, "redis_version", json_object_new_string(h->redis_version));
	json_object_object_add(o, "role", json_object_new_string(h->role));
	json_object_object_add(o, "uptime_in_seconds", u64(h->uptime_in_seconds));
	json_object_object_add(o, "used_memory", u64(h->used_memory));
	json_object_object_add(o, "maxmemory", u64(h->maxmemory));
	json_object_object_add(o, "used_memory_percent",
			       h->maxmemory ? json_object_new_double(health_memory_percent(h)) : NULL);
	json_object_object_add(o, "maxmemory_policy", json_object_new_string(h->maxmemory_policy));
	if (eviction_find(h->maxmemory_policy))
		json_object_object_add(o, "maxmemory_policy_when_full",
				       json_object_new_string(eviction_find(h->maxmemory_policy)->full));
	json_object_object_add(o, "keys", u64(h->keys));
	json_object_object_add(o, "keys_with_ttl", u64(h->keys_with_ttl));
	json_object_object_add(o, "evicted_keys", u64(h->evicted_keys));
	json_object_object_add(o, "expired_keys", u64(h->expired_keys));
	json_object_object_add(o, "oom_errors", u64(h->oom_errors));
	json_object_object_add(o, "noreplicas_errors", u64(h->noreplicas_errors));
	json_object_object_add(o, "connected_clients", u64(h->connected_clients));
	json_object_object_add(o, "maxclients", h->maxclients ? u64(h->maxclients) : NULL);
	json_object_object_add(o, "rejected_connections", u64(h->rejected_connections));
	json_object_object_add(o, "loading", json_object_new_boolean(h->loading));
	json_object_object_add(o, "rdb_last_bgsave_status", json_object_new_string(h->rdb_last_bgsave_status));
	json_object_object_add(o, "rdb_changes_since_last_save", u64(h->rdb_changes_since_last_save));
	json_object_object_add(o, "aof_enabled", json_object_new_boolean(h->aof_enabled));
	json_object_object_add(o, "aof_last_write_status", json_object_new_string(h->aof_last_write_status));
	json_object_object_add(o, "aof_last_bgrewrite_status", json_object_new_string(h->aof_last_bgrewrite_status));
	repl = json_object_new_object();
	replicas = json_object_new_array();
	if (!repl || !replicas) {
		json_object_put(repl);
		json_object_put(replicas);
		return NULL;
	}
	if (strcmp(h->role, "slave") == 0) {
		json_object_object_add(repl, "master_host", json_object_new_string(h->master_host));
		json_object_object_add(repl, "master_port", json_object_new_int((int)h->master_port));
		json_object_object_add(repl, "master_link_status", json_object_new_string(h->master_link_status));
		json_object_object_add(repl, "master_last_io_seconds_ago",
				       json_object_new_int64(h->master_last_io_seconds_ago));
		json_object_object_add(repl, "master_link_down_since_seconds",
				       json_object_new_int64(h->master_link_down_since_seconds));
		json_object_object_add(repl, "master_sync_in_progress",
				       json_object_new_boolean(h->master_sync_in_progress));
	}
	for (i = 0; i < h->n_replicas; i++) {
		json_object *x = json_object_new_object();

		if (!x)
			break;
		json_object_array_add(replicas, x);
		json_object_object_add(x, "ip", json_object_new_string(h->replicas[i].ip));
		json_object_object_add(x, "port", json_object_new_int((int)h->replicas[i].port));
		json_object_object_add(x, "state", json_object_new_string(h->replicas[i].state));
		json_object_object_add(x, "offset", json_object_new_int64(h->replicas[i].offset));
		json_object_object_add(x, "lag", json_object_new_int64(h->replicas[i].lag));
	}
	json_object_object_add(repl, "replicas", replicas);
	json_object_object_add(repl, "min_slaves_good_slaves",
			       h->min_slaves_good_slaves >= 0 ? json_object_new_int64(h->min_slaves_good_slaves) : NULL);
	json_object_object_add(repl, "master_repl_offset",
			       h->master_repl_offset >= 0 ? json_object_new_int64(h->master_repl_offset) : NULL);
	json_object_object_add(repl, "min_replicas_to_write",
			       h->min_replicas_to_write ? json_object_new_int64(h->min_replicas_to_write) : NULL);
	json_object_object_add(o, "replication", repl);
	return TAKE_PTR(o);
}
