/*
 * The replication guard (doagent --guard, redis-server's ExecStartPre on a node of a
 * replication group).
 *
 * Sentinel does the failing over; this only keeps a primary that lost its data from
 * serving. Redis' replicas resynchronise from whatever their primary holds: a primary
 * restarted without its data files, before Sentinel has noticed it gone, would hand
 * them an empty dataset. So such a primary does not start while Sentinel still names
 * it; once Sentinel has promoted a replica (its sentinel.conf on this node records the
 * new primary), it starts as that one's replica and copies the data back.
 *
 * MUST rules for this file:
 * - Decide from local files only (redis.conf, sentinel.conf, the data directory): the
 *   guard runs at boot, before the network may be up.
 * - Never touch a replica's configuration, nor start a primary that has replicas and
 *   no data while this node's Sentinel names it the primary.
 * - Messages carry addresses and file names, never a directive's other values
 *   (masterauth, requirepass hold the password).
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/stat.h>

#include "buf.h"
#include "fileio.h"
#include "guard.h"
#include "macro.h"
#include "strutil.h"
#include "strv.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char **guard_split_line(const char *line)
{
	_cleanup_strv_ char **words = NULL;
	const char *p = line;
	char **empty;

	for (;;) {
		struct buf w = { 0 };
		char quote = 0, *s;

		while (*p && is_blank(*p))
			p++;
		if (!*p || (*p == '#' && !words))
			break;
		for (;;) {
			if (!quote) {
				if (!*p || is_blank(*p))
					break;
				if (*p == '"' || *p == '\'') {
					quote = *p++;
					continue;
				}
				if (buf_putc(&w, *p++) < 0)
					goto nomem;
				continue;
			}
			if (!*p) {	/* unbalanced */
				buf_free(&w);
				errno = EINVAL;
				return NULL;
			}
			if (*p == quote) {
				p++;
				/* A closing quote must end the word. */
				if (*p && !is_blank(*p)) {
					buf_free(&w);
					errno = EINVAL;
					return NULL;
				}
				break;
			}
			if (quote == '"' && *p == '\\' && p[1]) {
				char c = p[1];
				int hi, lo;

				p += 2;
				switch (c) {
				case 'n': c = '\n'; break;
				case 'r': c = '\r'; break;
				case 't': c = '\t'; break;
				case 'b': c = '\b'; break;
				case 'a': c = '\a'; break;
				case 'x':
					if ((hi = hexval(p[0])) >= 0 && (lo = hexval(p[1])) >= 0) {
						c = (char)(hi * 16 + lo);
						p += 2;
					}
					break;
				}
				if (buf_putc(&w, c) < 0)
					goto nomem;
				continue;
			}
			if (quote == '\'' && *p == '\\' && p[1] == '\'') {
				p += 2;
				if (buf_putc(&w, '\'') < 0)
					goto nomem;
				continue;
			}
			if (buf_putc(&w, *p++) < 0)
				goto nomem;
		}
		s = buf_steal(&w, NULL);
		if (!s || strv_extend(&words, s) < 0) {
			free(s);
			goto nomem;
		}
		free(s);
	}
	if (words)
		return TAKE_PTR(words);
	empty = calloc(1, sizeof(*empty));
	if (!empty)
		errno = ENOMEM;
	return empty;
nomem:
	errno = ENOMEM;
	return NULL;
}

char **guard_directive(const char *text, const char *name)
{
	const char *line = text;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		_cleanup_free_ char *copy = end ? strndup(line, (size_t)(end - line)) : strdup(line);
		_cleanup_strv_ char **w = NULL;

		line = end ? end + 1 : NULL;
		if (!copy)
			return NULL;
		w = guard_split_line(copy);
		if (w && w[0] && strcasecmp(w[0], name) == 0) {
			char **rest = NULL;

			for (size_t i = 1; w[i]; i++)
				if (strv_extend(&rest, w[i]) < 0) {
					strv_free(rest);
					return NULL;
				}
			return rest ? rest : calloc(1, sizeof(char *));
		}
	}
	return NULL;
}

/* Every "sentinel <what> ..." line's words after <what>, for the one group named in
 * the monitor line: calls fn for each. */
struct sentinel_view {
	char *group;
	char *primary_ip;
	unsigned primary_port;
	size_t n_replicas;
};

static int parse_port(const char *s, unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > 65535)
		return -EBADMSG;
	*ret = (unsigned)v;
	return 0;
}

static int read_sentinel(const char *text, struct sentinel_view *v, char **ret_cause)
{
	const char *line = text;

	*v = (struct sentinel_view){ 0 };
	while (line && *line) {
		const char *end = strchr(line, '\n');
		_cleanup_free_ char *copy = end ? strndup(line, (size_t)(end - line)) : strdup(line);
		_cleanup_strv_ char **w = NULL;

		line = end ? end + 1 : NULL;
		if (!copy)
			return -ENOMEM;
		w = guard_split_line(copy);
		if (!w)
			return errno == ENOMEM ? -ENOMEM
					       : strutil_cause(ret_cause, -EBADMSG, "sentinel.conf: unbalanced quotes");
		if (!w[0] || strcasecmp(w[0], "sentinel") != 0 || !w[1])
			continue;
		if (strcasecmp(w[1], "monitor") == 0) {
			if (strv_length(w) != 6 || parse_port(w[4], &v->primary_port) < 0)
				return strutil_cause(ret_cause, -EBADMSG, "sentinel.conf: a monitor line that is not 'sentinel monitor NAME IP PORT QUORUM'");
			if (v->group)
				return strutil_cause(ret_cause, -EBADMSG, "sentinel.conf: more than one group is monitored");
			v->group = strdup(w[2]);
			v->primary_ip = strdup(w[3]);
			if (!v->group || !v->primary_ip)
				return -ENOMEM;
		} else if ((strcasecmp(w[1], "known-replica") == 0 || strcasecmp(w[1], "known-slave") == 0) && w[2])
			v->n_replicas++;
	}
	if (!v->group)
		return strutil_cause(ret_cause, -EBADMSG, "sentinel.conf: no 'sentinel monitor' line");
	return 0;
}

static void sentinel_view_done(struct sentinel_view *v)
{
	free(v->group);
	free(v->primary_ip);
}

int guard_decide(const char *redis_conf, const char *sentinel_conf, int data_present, struct guard_result *ret)
{
	_cleanup_strv_ char **replicaof = NULL, **announce = NULL;
	struct sentinel_view v;
	int r;

	*ret = (struct guard_result){ .decision = GUARD_START };
	replicaof = guard_directive(redis_conf, "replicaof");
	if (!replicaof)
		replicaof = guard_directive(redis_conf, "slaveof");
	if (replicaof && strv_length(replicaof) == 2)
		return strutil_cause(&ret->cause, 0, "a replica of %s:%s: starting it", replicaof[0], replicaof[1]);
	if (data_present)
		return strutil_cause(&ret->cause, 0, "a primary with its data: starting it");
	r = read_sentinel(sentinel_conf, &v, &ret->cause);
	if (r < 0)
		return r;
	announce = guard_directive(redis_conf, "replica-announce-ip");
	if (!announce || strv_length(announce) != 1) {
		sentinel_view_done(&v);
		return strutil_cause(&ret->cause, -EBADMSG, "redis.conf: no replica-announce-ip: this node's own address is unknown");
	}
	if (v.n_replicas == 0)
		r = strutil_cause(&ret->cause, 0, "a primary without data and without replicas (a new group): starting it");
	else if (strcmp(v.primary_ip, announce[0]) != 0) {
		ret->decision = GUARD_START_AS_REPLICA;
		snprintf(ret->ip, sizeof(ret->ip), "%s", v.primary_ip);
		ret->port = v.primary_port;
		r = strutil_cause(&ret->cause, 0,
				  "no data here, and Sentinel names %s:%u the primary of %s: starting as its replica",
				  v.primary_ip, v.primary_port, v.group);
	} else {
		ret->decision = GUARD_REFUSE;
		r = strutil_cause(&ret->cause, 0,
				  "this primary of %s lost its data and has %zu replica(s): not starting it, so that they "
				  "keep theirs; Sentinel promotes one of them, and this node then starts as its replica",
				  v.group, v.n_replicas);
	}
	sentinel_view_done(&v);
	return r;
}

static char *under(const char *root, const char *path)
{
	char *s;

	return asprintf(&s, "%s%s", root ? root : "", path) < 0 ? NULL : s;
}

int guard_data_present(const char *redis_conf, const char *root)
{
	_cleanup_strv_ char **dir = guard_directive(redis_conf, "dir");
	_cleanup_strv_ char **rdb = guard_directive(redis_conf, "dbfilename");
	_cleanup_strv_ char **aof = guard_directive(redis_conf, "appenddirname");
	_cleanup_strv_ char **aof_name = guard_directive(redis_conf, "appendfilename");
	_cleanup_free_ char *base = NULL, *p = NULL;
	struct stat st;

	if (!dir || strv_length(dir) != 1 || dir[0][0] != '/')
		return 0;	/* no absolute dir: nothing we can vouch for */
	base = under(root, dir[0]);
	if (!base)
		return 0;
	if (asprintf(&p, "%s/%s", base, rdb && rdb[0] ? rdb[0] : "dump.rdb") >= 0 && stat(p, &st) == 0 &&
	    S_ISREG(st.st_mode) && st.st_size > 0)
		return 1;
	free(p);
	p = NULL;
	if (asprintf(&p, "%s/%s/%s.manifest", base, aof && aof[0] ? aof[0] : "appendonlydir",
		     aof_name && aof_name[0] ? aof_name[0] : "appendonly.aof") >= 0 &&
	    stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		return 1;
	return 0;
}

#define CONF_MAX (1024 * 1024)

int guard_run(const char *root, char **ret_cause)
{
	_cleanup_free_ char *rpath = under(root, "/etc/redis/redis.conf");
	_cleanup_free_ char *spath = under(root, "/etc/redis/sentinel.conf");
	_cleanup_erase_ char *redis = NULL, *sentinel = NULL, *out = NULL;
	struct guard_result g;
	struct stat st;
	size_t len, slen;
	int r;

	if (!rpath || !spath)
		return 1;
	r = fileio_read_file(rpath, CONF_MAX, &redis, &len);
	if (r < 0)
		return strutil_cause(ret_cause, 1, "%s: %s", rpath, strerror(-r));
	r = fileio_read_file(spath, CONF_MAX, &sentinel, &slen);
	if (r < 0)
		return strutil_cause(ret_cause, 1, "%s: %s", spath, strerror(-r));
	r = guard_decide(redis, sentinel, guard_data_present(redis, root), &g);
	if (r < 0) {
		*ret_cause = TAKE_PTR(g.cause);
		return 1;
	}
	*ret_cause = TAKE_PTR(g.cause);
	if (g.decision == GUARD_START)
		return 0;
	if (g.decision == GUARD_REFUSE)
		return 1;
	if (stat(rpath, &st) < 0 ||
	    asprintf(&out, "%s%s# Added by doagent --guard: this node lost its data; Sentinel names %s:%u the primary.\n"
			   "replicaof %s %u\n", redis, len && redis[len - 1] != '\n' ? "\n" : "", g.ip, g.port, g.ip,
		     g.port) < 0)
		return 1;
	r = fileio_write_atomic(rpath, out, strlen(out), st.st_mode & 07777, st.st_uid, st.st_gid);
	if (r < 0) {
		free(*ret_cause);
		return strutil_cause(ret_cause, 1, "%s: %s", rpath, strerror(-r));
	}
	return 0;
}
