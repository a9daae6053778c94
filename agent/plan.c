/*
 * The plan: decide every change from the configuration and the metadata, render
 * every file in memory, and only then let anyone write anything.
 *
 * MUST rules for this file:
 * - Templates from /etc/doagent/templates (or --templates) are trusted only when
 *   they are regular files not writable by group or others.
 * - What is printed comes from the redacted rendering; only plan_write_tree writes
 *   the real contents, and only with each file's own mode.
 * - Redis always listens on loopback too: the readiness check and stunnel use it.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fileio.h"
#include "netaddr.h"
#include "paths.h"
#include "plan.h"
#include "render.h"
#include "strv.h"

#define TEMPLATE_MAX (256 * 1024)

struct template_spec {
	const char *name;
	const char *path;
	mode_t mode;
	const char *owner;
	const char *group;
	enum render_escape escape;
	bool sensitive;
};

static const struct template_spec spec_redis = {
	"redis.conf", PATH_REDIS_CONF, 0640, "root", "redis", RENDER_REDIS, true,
};
/* In a replication group Redis rewrites redis.conf (Sentinel's REPLICAOF, then CONFIG
 * REWRITE) and Sentinel rewrites sentinel.conf: both belong to redis then. */
static const struct template_spec spec_redis_group = {
	"redis.conf", PATH_REDIS_CONF, 0640, "redis", "redis", RENDER_REDIS, true,
};
static const struct template_spec spec_sentinel = {
	"sentinel.conf", PATH_SENTINEL_CONF, 0640, "redis", "redis", RENDER_REDIS, true,
};
static const struct template_spec spec_redis_group_dropin = {
	"redis-group.conf", PATH_REDIS_GROUP_DROPIN, 0644, "root", "root", RENDER_TEXT, false,
};
static const struct template_spec spec_stunnel = {
	"stunnel.conf", PATH_STUNNEL_CONF, 0644, "root", "root", RENDER_STUNNEL, false,
};
static const struct template_spec spec_firewall = {
	"firewall.nft", PATH_FIREWALL_NFT, 0600, "root", "root", RENDER_NFT, false,
};
static const struct template_spec spec_connection = {
	"connection.txt", PATH_CONNECTION, 0600, "root", "root", RENDER_TEXT, true,
};
static const struct template_spec spec_motd = {
	"motd", PATH_MOTD, 0644, "root", "root", RENDER_TEXT, false,
};
/* With [storage] volume. The mount unit is named for its mount point. */
static const struct template_spec spec_volume_mount = {
	"volume.mount", NULL, 0644, "root", "root", RENDER_TEXT, false,
};
static const struct template_spec spec_volume_path = {
	"volume.path", PATH_VOLUME_PATH_UNIT, 0644, "root", "root", RENDER_TEXT, false,
};
static const struct template_spec spec_volume_service = {
	"volume.service", PATH_VOLUME_SERVICE, 0644, "root", "root", RENDER_TEXT, false,
};
static const struct template_spec spec_redis_volume = {
	"redis-volume.conf", PATH_REDIS_VOLUME_DROPIN, 0644, "root", "root", RENDER_TEXT, false,
};
/* Without it: what a volume left (a snapshot of a droplet that had one). The mount
 * unit, wanted by nothing else, is left alone. */
static const char *const volume_files[] = {
	PATH_REDIS_VOLUME_DROPIN, PATH_VOLUME_PATH_WANTS, PATH_VOLUME_PATH_UNIT, PATH_VOLUME_SERVICE, NULL,
};

#ifndef SBINDIR
#define SBINDIR "/usr/local/sbin"
#endif

/* The CIDR blocks a source list in the user data stands for, vpc resolved. */
struct sources {
	char **v4;
	char **v6;
	bool vpc;	/* the first of v4 is the VPC network */
};

struct builder {
	const struct plan_input *in;
	struct plan *plan;
	struct render_vars *vars;
	struct sources allow, ssh_allow, group;
	char *cause;
	const struct metadata_ipv4 *private_ipv4;
	const struct metadata_interface *public_if;
	char *mount_unit_path;		/* where the volume's .mount unit goes */
};

static int fail(struct builder *b, int r, const char *fmt, ...) _printf_(3, 4);

static int fail(struct builder *b, int r, const char *fmt, ...)
{
	va_list ap;

	free(b->cause);
	va_start(ap, fmt);
	if (vasprintf(&b->cause, fmt, ap) < 0)
		b->cause = NULL;
	va_end(ap);
	return r;
}

/* ---- templates ---- */

static int template_open(const char *dir, const char *name, char **ret_path)
{
	_cleanup_free_ char *path = NULL;
	int fd;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	*ret_path = TAKE_PTR(path);
	return fd;
}

/* Read a template: the override directory first, then the shipped ones. */
static int template_load(struct builder *b, const char *name, char **ret, size_t *ret_len,
			 char **ret_path)
{
	const char *dirs[] = {
		b->in->templates_dir ? b->in->templates_dir : PATH_ETC_TEMPLATES,
		b->in->shipped_dir,
	};
	size_t i;

	for (i = 0; i < ELEMENTSOF(dirs); i++) {
		_cleanup_free_ char *path = NULL;
		_cleanup_close_ int fd = -1;
		struct stat st;
		int r;

		if (!dirs[i])
			continue;
		fd = template_open(dirs[i], name, &path);
		if (fd == -ENOENT)
			continue;
		if (fd == -ENOMEM)
			return fail(b, fd, "out of memory");
		if (fd < 0)
			return fail(b, fd, "template %s/%s: %s", dirs[i], name, strerror(-fd));
		if (fstat(fd, &st) < 0)
			return fail(b, -errno, "template %s: %s", path, strerror(errno));
		if (!S_ISREG(st.st_mode))
			return fail(b, -EINVAL, "template %s: not a regular file", path);
		if (st.st_mode & (S_IWGRP | S_IWOTH))
			return fail(b, -EPERM, "template %s: writable by group or others; refusing it", path);
		r = fileio_read_fd(fd, TEMPLATE_MAX, ret, ret_len);
		if (r == -E2BIG)
			return fail(b, r, "template %s: larger than %d bytes", path, TEMPLATE_MAX);
		if (r < 0)
			return fail(b, r, "template %s: %s", path, strerror(-r));
		*ret_path = TAKE_PTR(path);
		return 0;
	}
	return fail(b, -ENOENT, "template %s: not found in %s%s%s", name, dirs[0],
		    dirs[1] ? " nor in " : "", dirs[1] ? dirs[1] : "");
}

static int add_file_at(struct builder *b, const struct template_spec *spec, const char *path)
{
	_cleanup_free_ char *tmpl = NULL, *source = NULL, *cause = NULL;
	struct plan *p = b->plan;
	struct plan_file *f, *v;
	size_t len;
	int r;

	r = template_load(b, spec->name, &tmpl, &len, &source);
	if (r < 0)
		return r;
	v = realloc(p->files, (p->n_files + 1) * sizeof(*v));
	if (!v)
		return fail(b, -ENOMEM, "out of memory");
	p->files = v;
	f = &v[p->n_files];
	*f = (struct plan_file){
		.mode = spec->mode, .owner = spec->owner, .group = spec->group,
		.sensitive = spec->sensitive,
	};
	p->n_files++;
	f->path = strdup(path);
	if (!f->path)
		return fail(b, -ENOMEM, "out of memory");
	f->template = TAKE_PTR(source);
	r = render_template(tmpl, len, f->template, spec->escape, b->vars, 0, &f->content, &f->len, &cause);
	if (r >= 0)
		r = render_template(tmpl, len, f->template, spec->escape, b->vars, RENDER_REDACT,
				    &f->shown, NULL, &cause);
	if (r == -ENOMEM)
		return fail(b, r, "out of memory");
	if (r < 0)
		return fail(b, r, "%s", cause ? cause : "template does not render");
	return 0;
}

static int add_file(struct builder *b, const struct template_spec *spec)
{
	return add_file_at(b, spec, spec->path);
}

/* ---- addresses ---- */

/* The concrete addresses a listener in scope is reachable at on this droplet: loopback,
 * then the private, public, anchor and public IPv6 addresses as the scope reaches
 * (for "all", the same addresses as for "public"; the listener binds the wildcard). */
static int scope_concrete(struct builder *b, int scope, char ***ret)
{
	const struct metadata_interface *pub = b->public_if;
	char **l = NULL;
	int r;

	r = strv_extend(&l, "127.0.0.1");
	if (r >= 0 && scope >= CONFIG_SCOPE_PRIVATE && b->private_ipv4)
		r = strv_extend(&l, b->private_ipv4->address);
	if (r >= 0 && scope >= CONFIG_SCOPE_PUBLIC && pub) {
		if (pub->ipv4.present)
			r = strv_extend(&l, pub->ipv4.address);
		if (r >= 0 && pub->anchor_ipv4.present)
			r = strv_extend(&l, pub->anchor_ipv4.address);
		if (r >= 0 && pub->ipv6.present)
			r = strv_extend(&l, pub->ipv6.address);
	}
	if (r < 0) {
		strv_free(l);
		return r;
	}
	*ret = l;
	return 0;
}

/* The addresses a listener in scope binds, in Redis' form ("-" marks optional ones). */
static int scope_addresses(struct builder *b, int scope, const char *list, bool redis)
{
	struct render_vars *v = b->vars;
	const struct metadata_interface *pub = b->public_if;
	_cleanup_strv_ char **l = NULL;
	int r;

	r = render_vars_list_add(v, list, NULL);
	if (r < 0)
		return r;
	if (scope == CONFIG_SCOPE_ALL) {
		r = render_vars_list_add(v, list, redis ? "*" : "0.0.0.0");
		if (r >= 0 && redis)
			r = render_vars_list_add(v, list, "-::*");
		else if (r >= 0 && pub && pub->ipv6.present)
			r = render_vars_list_add(v, list, pub->ipv6.address);
		return r;
	}
	r = scope_concrete(b, scope, &l);
	for (char **a = l; r >= 0 && a && *a; a++) {
		r = render_vars_list_add(v, list, *a);
		if (r >= 0 && redis && a == l)
			r = render_vars_list_add(v, list, "-::1");
	}
	return r;
}

/* The readiness check's endpoints for a listener in scope on port, and the addresses
 * it needs on an interface. */
static int add_endpoints(struct builder *b, int scope, unsigned port, bool tls, bool sentinel)
{
	struct plan *p = b->plan;
	_cleanup_strv_ char **l = NULL;
	int r;

	r = scope_concrete(b, scope, &l);
	for (char **a = l; r >= 0 && a && *a; a++) {
		struct plan_endpoint *e = realloc(p->endpoints, (p->n_endpoints + 1) * sizeof(*e));

		if (!e)
			return -ENOMEM;
		p->endpoints = e;
		e[p->n_endpoints] = (struct plan_endpoint){ .host = strdup(*a), .port = port, .tls = tls, .sentinel = sentinel };
		if (!e[p->n_endpoints++].host)
			return -ENOMEM;
		if (a != l && !strv_contains(p->addresses, *a))
			r = strv_extend(&p->addresses, *a);
	}
	return r;
}

/* Where a client should connect for a listener in scope. */
static const char *scope_host(struct builder *b, int scope)
{
	if (scope == CONFIG_SCOPE_PRIVATE && b->private_ipv4)
		return b->private_ipv4->address;
	if (scope >= CONFIG_SCOPE_PUBLIC && b->public_if && b->public_if->ipv4.present)
		return b->public_if->ipv4.address;
	if (scope >= CONFIG_SCOPE_PUBLIC && b->private_ipv4)
		return b->private_ipv4->address;
	return "127.0.0.1";
}

static void sources_done(struct sources *s)
{
	strv_free(s->v4);
	strv_free(s->v6);
	*s = (struct sources){ 0 };
}

static int resolve_sources(struct builder *b, const char *key, const struct config_addrlist *l,
			   struct sources *ret)
{
	char text[NETADDR_STRLEN];
	size_t i;
	int r = 0;

	if (l->vpc && !b->private_ipv4)
		r = strv_extendf(&b->plan->notices,
				 "[firewall] %s: vpc stands for nothing: this droplet has no private interface", key);
	else if (l->vpc) {
		struct netaddr net;

		if (netaddr_from_ipv4_netmask(b->private_ipv4->address, b->private_ipv4->netmask, &net) < 0)
			return fail(b, -EBADMSG, "metadata: the private interface's address or netmask is not usable for vpc");
		netaddr_format(&net, text);
		r = strv_extend(&ret->v4, text);
		ret->vpc = true;
	}
	for (i = 0; r >= 0 && i < l->n; i++) {
		netaddr_format(&l->items[i].addr, text);
		r = strv_extend(l->items[i].addr.family == AF_INET ? &ret->v4 : &ret->v6, text);
		if (r >= 0 && l->items[i].normalized)
			r = strv_extendf(&b->plan->notices,
					 "[firewall] %s: an entry had host bits set under its prefix; normalized to %s",
					 key, text);
	}
	if (r >= 0 && !ret->v4 && !ret->v6)
		r = strv_extendf(&b->plan->notices, "[firewall] %s lets nobody in", key);
	return r < 0 ? fail(b, r, "out of memory") : 0;
}

static int set_list(struct render_vars *v, const char *name, char **items)
{
	int r = render_vars_list_add(v, name, NULL);

	for (; r >= 0 && items && *items; items++)
		r = render_vars_list_add(v, name, *items);
	return r;
}

/* ---- the decisions ---- */

/* [storage] volume: the names that follow from it, and what the user should know. */
static int decide_storage(struct builder *b)
{
	const struct config *c = b->in->config;
	struct storage_volume *v;

	if (!c->storage_volume) {
		if (c->line[CONFIG_STORAGE_FILESYSTEM] &&
		    strv_extend(&b->plan->notices, "[storage] filesystem has no effect without [storage] volume") < 0)
			return fail(b, -ENOMEM, "out of memory");
		return 0;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return fail(b, -ENOMEM, "out of memory");
	b->plan->storage = v;
	if (storage_volume_init(v, c->storage_volume, config_filesystems[c->storage_filesystem]) < 0)
		return fail(b, -EINVAL, "[storage] volume: not a volume name");
	if (asprintf(&b->mount_unit_path, PATH_UNIT_DIR "/%s", v->mount_unit) < 0)
		return fail(b, -ENOMEM, "out of memory");
	if (v->label_cut &&
	    strv_extendf(&b->plan->notices,
			 "[storage] volume: %s labels hold %zu characters: a blank volume is labelled '%s', its name cut",
			 v->filesystem, strlen(v->label), v->label) < 0)
		return fail(b, -ENOMEM, "out of memory");
	if (c->line[CONFIG_REDIS_APPENDONLY] && !c->redis_appendonly &&
	    strv_extend(&b->plan->notices,
			"[redis] appendonly = no with a volume: a crash loses the writes since the last snapshot") < 0)
		return fail(b, -ENOMEM, "out of memory");
	return 0;
}

static int resolve_maxmemory(struct builder *b)
{
	const struct config_memory *m = &b->in->config->redis_maxmemory;
	unsigned long long bytes = 0;

	switch (m->kind) {
	case CONFIG_MEMORY_UNLIMITED:
		break;
	case CONFIG_MEMORY_BYTES:
		bytes = m->value;
		if (b->in->mem_total && bytes > b->in->mem_total &&
		    strv_extendf(&b->plan->notices, "[redis] maxmemory is more than this droplet's RAM (%llu MiB)",
				 b->in->mem_total >> 20) < 0)
			return -ENOMEM;
		break;
	case CONFIG_MEMORY_PERCENT:
		if (b->in->mem_total == 0)
			return fail(b, -EINVAL, "[redis] maxmemory is a percentage but the RAM size is unknown");
		bytes = b->in->mem_total / 100 * m->value + b->in->mem_total % 100 * m->value / 100;
		if (bytes < (1ULL << 20))
			bytes = 1ULL << 20;
		break;
	}
	b->plan->maxmemory = bytes;
	return render_vars_setf(b->vars, "maxmemory", 0, "%llu", bytes);
}

static bool scope_exposed(int scope)
{
	return scope != CONFIG_SCOPE_LOOPBACK;
}

/* A [replication] group: who is primary at first, Sentinel's settings, the VPC that
 * replicas and Sentinels reach each other through. */
static int set_group_vars(struct builder *b)
{
	const struct config *c = b->in->config;
	struct render_vars *v = b->vars;
	const char *own;
	int r;

	/* Every template variable exists, group or not: the templates are checked whole. */
	r = render_vars_set_bool(v, "group", c->replication_group != NULL);
	if (r >= 0)
		r = render_vars_setf(v, "min_replicas_to_write", 0, "%u", CONFIG_GROUP_MIN_REPLICAS_TO_WRITE);
	if (r >= 0 && !c->replication_group) {
		if ((r = render_vars_set(v, "group_name", "", 0)) < 0 ||
		    (r = render_vars_set(v, "private_ip", b->private_ipv4 ? b->private_ipv4->address : "", 0)) < 0 ||
		    (r = render_vars_set_bool(v, "replica", false)) < 0 ||
		    (r = render_vars_set(v, "primary_ip", "", 0)) < 0 ||
		    (r = render_vars_setf(v, "quorum", 0, "%u", c->replication_quorum)) < 0 ||
		    (r = render_vars_setf(v, "sentinel_port", 0, "%u", SENTINEL_PORT)) < 0 ||
		    (r = render_vars_set(v, "sentinel_down_after", "5000", 0)) < 0 ||
		    (r = render_vars_list_add(v, "sentinels", NULL)) < 0)
			return r;
		return render_vars_set(v, "doagent", SBINDIR "/doagent", 0);
	}
	if (r < 0)
		return r;
	if (!b->private_ipv4)
		return fail(b, -EBADMSG, "[replication] group: this droplet has no private interface; "
					 "the nodes of a group reach each other on their private network");
	own = b->private_ipv4->address;
	if ((r = render_vars_set(v, "group_name", c->replication_group, 0)) < 0 ||
	    (r = render_vars_set(v, "private_ip", own, 0)) < 0 ||
	    (r = render_vars_set_bool(v, "replica", !config_replication_self(c, own))) < 0 ||
	    (r = render_vars_set(v, "primary_ip", config_replication_self(c, own) ? own : c->replication_primary, 0)) < 0 ||
	    (r = render_vars_setf(v, "quorum", 0, "%u", c->replication_quorum)) < 0 ||
	    (r = render_vars_setf(v, "sentinel_port", 0, "%u", SENTINEL_PORT)) < 0 ||
	    (r = render_vars_set(v, "sentinel_down_after", "5000", 0)) < 0 ||
	    (r = render_vars_set(v, "doagent", SBINDIR "/doagent", 0)) < 0)
		return r;
	/* The Sentinels this node knows of at its first boot: its own, and the first
	 * primary's (doagent-launch knows them all). */
	{
		char item[64];

		r = render_vars_list_add(v, "sentinels", NULL);
		snprintf(item, sizeof(item), "%s:%u", own, SENTINEL_PORT);
		if (r >= 0)
			r = render_vars_list_add(v, "sentinels", item);
		snprintf(item, sizeof(item), "%s:%u", c->replication_primary, SENTINEL_PORT);
		if (r >= 0 && !config_replication_self(c, own))
			r = render_vars_list_add(v, "sentinels", item);
		if (r < 0)
			return r;
	}
	if (c->firewall_backend != CONFIG_FW_NONE) {
		struct config_addrlist vpc = { .vpc = true };

		r = resolve_sources(b, "[replication] group", &vpc, &b->group);
	}
	return r;
}

static bool tls_native(const struct config *c)
{
	return c->tls_enabled && c->tls_engine == CONFIG_TLS_REDIS;
}

/* Redis' plaintext TCP port, or 0: Redis' own TLS listens on the addresses its
 * plaintext port does, so with plaintext = loopback and a wider bind it has none. */
unsigned plan_plaintext_port(const struct config *c)
{
	return !tls_native(c) || c->tls_plaintext == c->redis_bind ? c->redis_port : 0;
}

void plan_open_ports(const struct config *c, unsigned ret[static 2])
{
	int redis_scope = c->tls_enabled ? c->tls_plaintext : c->redis_bind;

	ret[0] = scope_exposed(redis_scope) ? c->redis_port : 0;
	ret[1] = c->tls_enabled && scope_exposed(c->redis_bind) ? c->tls_port : 0;
}

static int set_vars(struct builder *b)
{
	const struct config *c = b->in->config;
	const struct metadata *md = b->in->metadata;
	struct render_vars *v = b->vars;
	int redis_scope = c->tls_enabled ? c->tls_plaintext : c->redis_bind;
	int r = 0;

#define CHECK(x)                         \
	do {                             \
		if ((r = (x)) < 0)       \
			return r;        \
	} while (0)

	CHECK(render_vars_set(v, "version", PACKAGE_VERSION, 0));
	CHECK(render_vars_set(v, "droplet_id", md->droplet_id, 0));
	CHECK(render_vars_set(v, "hostname", md->hostname, 0));
	CHECK(render_vars_set(v, "region", md->region, 0));
	CHECK(render_vars_setf(v, "redis_port", 0, "%u", c->redis_port));
	CHECK(render_vars_set(v, "password", b->in->password, RENDER_SENSITIVE));
	CHECK(render_vars_set_bool(v, "password_generated", b->in->password_generated));
	CHECK(render_vars_set(v, "maxmemory_policy", config_policies[c->redis_maxmemory_policy], 0));
	CHECK(render_vars_set(v, "appendonly", config_appendonly(c) ? "yes" : "no", 0));
	CHECK(render_vars_set(v, "redis_dir", b->plan->storage ? b->plan->storage->redis_dir : PATH_REDIS_DIR, 0));
	if (b->plan->storage) {
		const struct storage_volume *s = b->plan->storage;

		CHECK(render_vars_set(v, "volume", s->name, 0));
		CHECK(render_vars_set(v, "volume_device", s->device, 0));
		CHECK(render_vars_set(v, "volume_mountpoint", s->mountpoint, 0));
		CHECK(render_vars_set(v, "volume_mount_unit", s->mount_unit, 0));
		CHECK(render_vars_set(v, "volume_mount_options", STORAGE_MOUNT_OPTIONS, 0));
		CHECK(render_vars_set(v, "volume_filesystem", s->filesystem, 0));
		CHECK(render_vars_set(v, "doagent", SBINDIR "/doagent", 0));
	}
	CHECK(render_vars_set_bool(v, "snapshots", c->redis_snapshots));
	CHECK(resolve_maxmemory(b));
	CHECK(scope_addresses(b, tls_native(c) ? c->redis_bind : redis_scope, "bind", true));
	CHECK(render_vars_set_bool(v, "plaintext_tcp", plan_plaintext_port(c) != 0));
	CHECK(render_vars_set(v, "redis_socket", PATH_REDIS_SOCKET, 0));
	CHECK(render_vars_set(v, "host", scope_host(b, c->redis_bind), 0));
	CHECK(render_vars_set(v, "redis_host", scope_host(b, redis_scope), 0));
	CHECK(render_vars_set_bool(v, "redis_exposed", scope_exposed(redis_scope)));

	CHECK(render_vars_set_bool(v, "tls", c->tls_enabled));
	CHECK(render_vars_set_bool(v, "tls_stunnel", c->tls_enabled && !tls_native(c)));
	CHECK(render_vars_set_bool(v, "tls_redis", tls_native(c)));
	CHECK(render_vars_set(v, "tls_engine", config_tls_engines[c->tls_engine], 0));
	CHECK(render_vars_setf(v, "tls_port", 0, "%u", c->tls_port));
	CHECK(scope_addresses(b, c->redis_bind, "tls_accept", false));
	CHECK(render_vars_set_bool(v, "tls_exposed", c->tls_enabled && scope_exposed(c->redis_bind)));
	CHECK(render_vars_set(v, "tls_cert", PATH_TLS_CERT, 0));
	CHECK(render_vars_set(v, "tls_key", PATH_TLS_KEY, 0));
	CHECK(render_vars_set(v, "tls_key_redis", PATH_TLS_KEY_REDIS, 0));
	CHECK(render_vars_set(v, "tls_fingerprint",
			      b->in->tls_fingerprint ? b->in->tls_fingerprint : "(made on the droplet's first boot)", 0));
	CHECK(render_vars_set_bool(v, "tls_self_signed", !c->tls_certificate));

	CHECK(render_vars_set_bool(v, "redis_tls_files", config_redis_uses_tls(c)));
	CHECK(set_group_vars(b));

	CHECK(render_vars_setf(v, "ssh_port", 0, "%u", c->firewall_ssh_port));
	CHECK(render_vars_set_bool(v, "metadata_root_only", c->firewall_metadata == CONFIG_METADATA_ROOT_ONLY));
	if (c->firewall_backend != CONFIG_FW_NONE) {
		CHECK(resolve_sources(b, "allow", &c->firewall_allow, &b->allow));
		CHECK(resolve_sources(b, "ssh-allow", &c->firewall_ssh_allow, &b->ssh_allow));
	}
	CHECK(set_list(v, "group4", b->group.v4));
	CHECK(set_list(v, "allow4", b->allow.v4));
	CHECK(set_list(v, "allow6", b->allow.v6));
	CHECK(set_list(v, "ssh_allow4", b->ssh_allow.v4));
	CHECK(set_list(v, "ssh_allow6", b->ssh_allow.v6));
	CHECK(render_vars_set(v, "state_dir", PATH_STATE_DIR, 0));
	CHECK(render_vars_set(v, "connection_file", PATH_CONNECTION, 0));
#undef CHECK
	return 0;
}

/* "accept tcp port P (what) from X" for every block of a source list. */
static int add_port_rules(struct builder *b, const char *port, const char *what, const struct sources *src)
{
	char **l[] = { src->v4, src->v6 };
	size_t i;
	int r = 0;

	for (i = 0; i < ELEMENTSOF(l); i++)
		for (char **a = l[i]; r >= 0 && a && *a; a++)
			r = strv_extendf(&b->plan->rules, "accept tcp port %s%s from %s%s", port, what, *a,
					 src->vpc && i == 0 && a == l[0] ? " (vpc)" : "");
	return r;
}

static int add_rule_lines(struct builder *b)
{
	const struct config *c = b->in->config;
	struct plan *p = b->plan;
	char port[8];
	int r;

	if (c->firewall_backend == CONFIG_FW_NONE) {
		r = strv_extend(&p->rules, "none: the firewall is left as it is");
		if (r >= 0 && c->firewall_metadata == CONFIG_METADATA_ROOT_ONLY)
			r = strv_extend(&p->notices, "[firewall] metadata = root-only has no effect with backend = none");
		return r;
	}
	r = strv_extend(&p->rules, "accept established and related traffic, loopback, and the ICMP/ICMPv6 that IP needs");
	snprintf(port, sizeof(port), "%u", c->firewall_ssh_port);
	if (r >= 0)
		r = add_port_rules(b, port, " (ssh)", &b->ssh_allow);
	plan_open_ports(c, p->open_ports);
	snprintf(port, sizeof(port), "%u", p->open_ports[0]);
	if (r >= 0 && p->open_ports[0])
		r = add_port_rules(b, port, " (redis)", &b->allow);
	snprintf(port, sizeof(port), "%u", p->open_ports[1]);
	if (r >= 0 && p->open_ports[1])
		r = add_port_rules(b, port, " (tls)", &b->allow);
	if (r >= 0 && c->replication_group && b->group.v4) {
		p->group_ports[0] = c->tls_port;
		p->group_ports[1] = SENTINEL_PORT;
		snprintf(port, sizeof(port), "%u", c->tls_port);
		r = add_port_rules(b, port, " (tls: the group's replicas and Sentinels)", &b->group);
		snprintf(port, sizeof(port), "%u", SENTINEL_PORT);
		if (r >= 0)
			r = add_port_rules(b, port, " (sentinel)", &b->group);
	}
	if (r >= 0 && c->firewall_metadata == CONFIG_METADATA_ROOT_ONLY)
		r = strv_extend(&p->rules, "drop output to 169.254.169.254 from every user but root");
	if (r >= 0)
		r = strv_extend(&p->rules, "drop every other inbound packet");
	return r;
}

static int add_actions(struct builder *b)
{
	const struct config *c = b->in->config;
	struct plan *p = b->plan;
	int r;

	r = strv_extend(&p->actions, b->in->password_generated
					     ? "generate the Redis password (32 random bytes) once for this droplet"
					     : "use the Redis password from the user data");
	if (r >= 0 && c->tls_enabled)
		r = strv_extendf(&p->actions,
				 c->tls_certificate ? "install the user data's TLS certificate and key"
						    : "create a self-signed TLS certificate for this droplet's addresses and hostname");
	if (r >= 0 && config_redis_uses_tls(c))
		r = strv_extend(&p->actions, "copy the TLS key for redis-server to " PATH_TLS_KEY_REDIS " (0640 root:redis)");
	else if (r >= 0)
		r = strv_extend(&p->remove, PATH_TLS_KEY_REDIS);
	if (r >= 0 && c->replication_group)
		r = strv_extendf(&p->actions,
				 "join the replication group %s as %s: replication and Sentinel over TLS, each node "
				 "trusting the group's certificate; redis-sentinel on port %u, monitoring %s",
				 c->replication_group,
				 config_replication_self(c, b->private_ipv4 ? b->private_ipv4->address : NULL)
					 ? "its first primary" : "a replica",
				 SENTINEL_PORT,
				 config_replication_self(c, b->private_ipv4 ? b->private_ipv4->address : NULL)
					 ? "this node" : c->replication_primary);
	if (r >= 0 && c->firewall_backend != CONFIG_FW_NONE)
		r = strv_extendf(&p->actions, "apply the firewall rules (%s)", p->firewall_backend);
	if (r >= 0 && p->storage)
		r = strv_extendf(&p->actions,
				 "the volume %s: format it with %s only if it is blank, mount it at %s, and make "
				 "Redis' directory %s on it; when it is not attached yet, go on and let "
				 "%s start Redis once it appears",
				 p->storage->name, p->storage->filesystem, p->storage->mountpoint, p->storage->redis_dir,
				 STORAGE_UNIT_PATH);
	/* With a volume, Redis is started (not enabled) once the volume is mounted. */
	if (r >= 0 && !p->storage)
		r = strv_extend(&p->units, UNIT_REDIS);
	if (r >= 0 && c->tls_enabled && !tls_native(c))
		r = strv_extend(&p->units, UNIT_STUNNEL);
	else if (r >= 0) {
		r = strv_extend(&p->units_off, UNIT_STUNNEL);
		if (r >= 0)
			r = strv_extend(&p->remove, PATH_STUNNEL_CONF);
	}
	/* Every node of a group runs a Sentinel; a droplet on its own runs none (a
	 * snapshot of a group's node may have left it enabled). */
	if (r >= 0 && c->replication_group)
		r = strv_extend(&p->units, UNIT_SENTINEL);
	else if (r >= 0)
		r = strv_extend(&p->units_off, UNIT_SENTINEL);
	if (r >= 0 && p->storage)
		r = strv_extend(&p->units, STORAGE_UNIT_PATH);
	if (r >= 0 && p->addresses) {
		_cleanup_free_ char *list = strv_join(p->addresses, ", ");

		r = list ? strv_extendf(&p->actions, "wait until %s %s on an interface",
					list, p->addresses[1] ? "are" : "is") : -ENOMEM;
	}
	if (r >= 0 && !p->storage)
		r = strv_extendf(&p->actions, "reload systemd, enable and start %s%s%s", UNIT_REDIS,
				 c->tls_enabled && !tls_native(c) ? " and " UNIT_STUNNEL : "",
				 c->replication_group ? " and " UNIT_SENTINEL : "");
	else if (r >= 0)
		r = strv_extendf(&p->actions,
				 "reload systemd, enable and start %s%s; start %s (not enabled: nothing starts it at "
				 "boot before its volume is mounted) once the volume is mounted",
				 c->tls_enabled && !tls_native(c) ? UNIT_STUNNEL " and " : "", STORAGE_UNIT_PATH, UNIT_REDIS);
	for (size_t i = 0; r >= 0 && i < p->n_endpoints; i++) {
		const struct plan_endpoint *e = &p->endpoints[i];

		r = strv_extendf(&p->actions, "check that %s answers an authenticated PING at %s%s%s:%u%s",
				 e->sentinel ? "Sentinel" : "Redis", strchr(e->host, ':') ? "[" : "", e->host,
				 strchr(e->host, ':') ? "]" : "", e->port,
				 !e->tls ? "" : e->sentinel || tls_native(c) ? " through TLS (Redis' own)" : " through TLS (stunnel)");
	}
	if (r >= 0)
		r = strv_extendf(&p->actions, "record success for droplet %s in %s", p->droplet_id, PATH_STATE_DIR);
	return r;
}


int plan_build(const struct plan_input *in, struct plan **ret, char **ret_cause)
{
	struct builder b = { .in = in };
	const struct config *c = in->config;
	const char *const *n;
	int r;

	b.plan = calloc(1, sizeof(*b.plan));
	b.vars = render_vars_new();
	if (!b.plan || !b.vars || !(b.plan->droplet_id = strdup(in->metadata->droplet_id))) {
		r = -ENOMEM;
		goto out;
	}
	b.private_ipv4 = metadata_private_ipv4(in->metadata);
	b.public_if = metadata_public_if(in->metadata);
	b.plan->firewall_backend = config_keys[CONFIG_FIREWALL_BACKEND].choices[c->firewall_backend];
	for (n = in->notices; n && *n; n++)
		if ((r = strv_extend(&b.plan->notices, *n)) < 0)
			goto out;
	if (!b.private_ipv4 && (c->redis_bind == CONFIG_SCOPE_PRIVATE ||
				(c->tls_enabled && c->tls_plaintext == CONFIG_SCOPE_PRIVATE))) {
		r = strv_extend(&b.plan->notices,
				"this droplet has no private interface: what should listen on the private address listens on loopback only");
		if (r < 0)
			goto out;
	}
	r = decide_storage(&b);
	if (r < 0)
		goto out;
	r = set_vars(&b);
	if (r < 0)
		goto out;
	r = add_file(&b, c->replication_group ? &spec_redis_group : &spec_redis);
	if (r >= 0 && c->replication_group) {
		r = add_file(&b, &spec_sentinel);
		if (r >= 0)
			r = add_file(&b, &spec_redis_group_dropin);
	} else if (r >= 0)
		r = strv_extend(&b.plan->remove, PATH_REDIS_GROUP_DROPIN);
	if (r >= 0 && c->tls_enabled && !tls_native(c))
		r = add_file(&b, &spec_stunnel);
	if (r >= 0 && (c->firewall_backend == CONFIG_FW_AUTO || c->firewall_backend == CONFIG_FW_NFTABLES))
		r = add_file(&b, &spec_firewall);
	if (r >= 0)
		r = add_file(&b, &spec_connection);
	if (r >= 0)
		r = add_file(&b, &spec_motd);
	if (r >= 0 && b.plan->storage) {
		r = add_file_at(&b, &spec_volume_mount, b.mount_unit_path);
		if (r >= 0)
			r = add_file(&b, &spec_volume_path);
		if (r >= 0)
			r = add_file(&b, &spec_volume_service);
		if (r >= 0)
			r = add_file(&b, &spec_redis_volume);
	} else
		for (size_t i = 0; r >= 0 && volume_files[i]; i++)
			r = strv_extend(&b.plan->remove, volume_files[i]);
	if (r >= 0)
		r = add_rule_lines(&b);
	if (r >= 0 && c->tls_enabled)
		r = add_endpoints(&b, c->redis_bind, c->tls_port, true, false);
	/* Plaintext wherever Redis listens for it on TCP (nowhere with Redis' own TLS and
	 * plaintext = loopback under a wider bind: the Unix socket is not advertised). */
	if (r >= 0 && plan_plaintext_port(c))
		r = add_endpoints(&b, c->tls_enabled ? c->tls_plaintext : c->redis_bind, c->redis_port, false, false);
	if (r >= 0 && c->replication_group)
		r = add_endpoints(&b, CONFIG_SCOPE_PRIVATE, SENTINEL_PORT, true, true);
	if (r >= 0)
		r = add_actions(&b);
	b.plan->group4 = TAKE_PTR(b.group.v4);
	b.plan->ssh4 = TAKE_PTR(b.ssh_allow.v4);
	b.plan->ssh6 = TAKE_PTR(b.ssh_allow.v6);
	b.plan->allow4 = TAKE_PTR(b.allow.v4);
	b.plan->allow6 = TAKE_PTR(b.allow.v6);
	b.plan->ssh_port = c->firewall_ssh_port;
	b.plan->metadata_root_only = c->firewall_metadata == CONFIG_METADATA_ROOT_ONLY;
out:
	render_vars_free(b.vars);
	free(b.mount_unit_path);
	sources_done(&b.allow);
	sources_done(&b.ssh_allow);
	sources_done(&b.group);
	if (r < 0) {
		if (ret_cause)
			*ret_cause = b.cause ? b.cause : strdup(r == -ENOMEM ? "out of memory" : strerror(-r));
		else
			free(b.cause);
		plan_free(b.plan);
		return r;
	}
	free(b.cause);
	*ret = b.plan;
	return 0;
}

/* ---- output ---- */

static int print_list(FILE *f, const char *title, char **l)
{
	if (!l)
		return 0;
	fprintf(f, "%s:\n", title);
	for (; *l; l++)
		fprintf(f, "  - %s\n", *l);
	return 0;
}

int plan_print(const struct plan *p, FILE *f)
{
	size_t i;

	fprintf(f, "doagent plan for droplet %s\n\n", p->droplet_id);
	print_list(f, "notices", p->notices);
	fprintf(f, "files:\n");
	for (i = 0; i < p->n_files; i++)
		fprintf(f, "  - %s  %04o %s:%s%s\n", p->files[i].path, (unsigned)p->files[i].mode,
			p->files[i].owner, p->files[i].group, p->files[i].sensitive ? "  (holds secrets)" : "");
	print_list(f, "files to remove (left by an earlier configuration)", p->remove);
	print_list(f, "units to enable and start", p->units);
	print_list(f, "units to stop and disable (left by an earlier configuration)", p->units_off);
	if (p->storage) {
		const struct storage_volume *v = p->storage;

		fprintf(f, "storage (the volume %s):\n", v->name);
		fprintf(f, "  - device: %s\n", v->device);
		fprintf(f, "  - mount: %s at %s, options %s\n", v->mount_unit, v->mountpoint, STORAGE_MOUNT_OPTIONS);
		fprintf(f, "  - format: only if blank (libblkid finds no filesystem, no partition table and no other "
			   "signature on it): %s, label '%s'; a device that holds anything is never formatted\n",
			v->filesystem, v->label);
		fprintf(f, "  - Redis' dir: %s (redis:redis, 0750)\n", v->redis_dir);
		fprintf(f, "  - %s: started once the volume is mounted, never before (not enabled; "
			   "RequiresMountsFor=%s)\n", UNIT_REDIS, v->redis_dir);
		fprintf(f, "  - until %s appears: Redis does not start; %s starts it on the volume when it does\n",
			v->device, STORAGE_UNIT_PATH);
	}
	fprintf(f, "firewall (%s%s):\n", p->firewall_backend,
		strcmp(p->firewall_backend, "auto") == 0 ? ": ufw when it is active, else nftables" : "");
	for (char **r = p->rules; r && *r; r++)
		fprintf(f, "  - %s\n", *r);
	print_list(f, "steps", p->actions);
	for (i = 0; i < p->n_files; i++) {
		const char *s = p->files[i].shown;
		size_t len = strlen(s);

		fprintf(f, "\n==> %s (%04o %s:%s, from %s) <==\n%s%s", p->files[i].path,
			(unsigned)p->files[i].mode, p->files[i].owner, p->files[i].group,
			p->files[i].template, s, len && s[len - 1] != '\n' ? "\n" : "");
	}
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

static json_object *strv_to_json(char **l)
{
	json_object *a = json_object_new_array();

	for (; a && l && *l; l++)
		if (json_object_array_add(a, json_object_new_string(*l)) < 0) {
			json_object_put(a);
			return NULL;
		}
	return a;
}

json_object *plan_to_json(const struct plan *p)
{
	_cleanup_json_ json_object *o = json_object_new_object(), *files = json_object_new_array();
	size_t i;
	char mode[8];

	if (!o || !files)
		return NULL;
	for (i = 0; i < p->n_files; i++) {
		json_object *f = json_object_new_object();

		if (!f || json_object_array_add(files, f) < 0) {
			json_object_put(f);
			return NULL;
		}
		snprintf(mode, sizeof(mode), "%04o", (unsigned)p->files[i].mode);
		json_object_object_add(f, "path", json_object_new_string(p->files[i].path));
		json_object_object_add(f, "mode", json_object_new_string(mode));
		json_object_object_add(f, "owner", json_object_new_string(p->files[i].owner));
		json_object_object_add(f, "group", json_object_new_string(p->files[i].group));
		json_object_object_add(f, "template", json_object_new_string(p->files[i].template));
		json_object_object_add(f, "sensitive", json_object_new_boolean(p->files[i].sensitive));
		json_object_object_add(f, "content", json_object_new_string(p->files[i].shown));
	}
	json_object_object_add(o, "droplet_id", json_object_new_string(p->droplet_id));
	json_object_object_add(o, "notices", strv_to_json(p->notices));
	json_object_object_add(o, "files", TAKE_PTR(files));
	json_object_object_add(o, "remove", strv_to_json(p->remove));
	json_object_object_add(o, "units", strv_to_json(p->units));
	json_object_object_add(o, "units_off", strv_to_json(p->units_off));
	json_object_object_add(o, "firewall_backend", json_object_new_string(p->firewall_backend));
	json_object_object_add(o, "firewall_rules", strv_to_json(p->rules));
	json_object_object_add(o, "steps", strv_to_json(p->actions));
	if (p->storage) {
		json_object *st = json_object_new_object();

		if (!st)
			return NULL;
		json_object_object_add(o, "storage", st);
		json_object_object_add(st, "volume", json_object_new_string(p->storage->name));
		json_object_object_add(st, "device", json_object_new_string(p->storage->device));
		json_object_object_add(st, "mountpoint", json_object_new_string(p->storage->mountpoint));
		json_object_object_add(st, "mount_unit", json_object_new_string(p->storage->mount_unit));
		json_object_object_add(st, "mount_options", json_object_new_string(STORAGE_MOUNT_OPTIONS));
		json_object_object_add(st, "format", json_object_new_string("only if blank"));
		json_object_object_add(st, "filesystem", json_object_new_string(p->storage->filesystem));
		json_object_object_add(st, "label", json_object_new_string(p->storage->label));
		json_object_object_add(st, "redis_dir", json_object_new_string(p->storage->redis_dir));
	} else
		json_object_object_add(o, "storage", NULL);
	json_object_object_add(o, "maxmemory", json_object_new_uint64(p->maxmemory));
	json_object_object_add(o, "addresses", strv_to_json(p->addresses));
	{
		json_object *eps = json_object_new_array();

		for (i = 0; eps && i < p->n_endpoints; i++) {
			json_object *e = json_object_new_object();

			if (!e || json_object_array_add(eps, e) < 0) {
				json_object_put(e);
				json_object_put(eps);
				return NULL;
			}
			json_object_object_add(e, "host", json_object_new_string(p->endpoints[i].host));
			json_object_object_add(e, "port", json_object_new_int((int)p->endpoints[i].port));
			json_object_object_add(e, "tls", json_object_new_boolean(p->endpoints[i].tls));
			json_object_object_add(e, "service", json_object_new_string(p->endpoints[i].sentinel ? "sentinel" : "redis"));
		}
		if (!eps)
			return NULL;
		json_object_object_add(o, "endpoints", eps);
	}
	return TAKE_PTR(o);
}

int plan_write_tree(const struct plan *p, const char *dir, char **ret_cause)
{
	size_t i;

	for (i = 0; i < p->n_files; i++) {
		_cleanup_free_ char *path = NULL;
		char *slash;
		int r;

		if (asprintf(&path, "%s%s", dir, p->files[i].path) < 0)
			return -ENOMEM;
		slash = strrchr(path, '/');
		*slash = '\0';
		r = fileio_mkdir_p(path, 0755);
		*slash = '/';
		if (r >= 0)
			r = fileio_write_atomic(path, p->files[i].content, p->files[i].len,
						p->files[i].mode, (uid_t)-1, (gid_t)-1);
		if (r < 0) {
			if (ret_cause && asprintf(ret_cause, "%s: %s", path, strerror(-r)) < 0)
				*ret_cause = NULL;
			return r;
		}
	}
	return 0;
}

int plan_parse_meminfo(const char *text, unsigned long long *ret)
{
	const char *p = strstr(text, "MemTotal:");
	unsigned long long kib;
	char unit[4];

	if (!p || (p != text && p[-1] != '\n'))
		return -EINVAL;
	if (sscanf(p, "MemTotal: %llu %3s", &kib, unit) != 2 || strcmp(unit, "kB") != 0)
		return -EINVAL;
	if (kib == 0 || kib > (~0ULL >> 10))
		return -EINVAL;
	*ret = kib << 10;
	return 0;
}

void plan_free(struct plan *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_files; i++) {
		free(p->files[i].path);
		free(p->files[i].template);
		erase_and_freep(&p->files[i].content);
		free(p->files[i].shown);
	}
	free(p->files);
	free(p->droplet_id);
	strv_free(p->units);
	strv_free(p->units_off);
	strv_free(p->remove);
	strv_free(p->actions);
	strv_free(p->rules);
	strv_free(p->notices);
	free(p->storage);
	strv_free(p->ssh4);
	strv_free(p->ssh6);
	strv_free(p->group4);
	strv_free(p->allow4);
	strv_free(p->allow6);
	for (i = 0; i < p->n_endpoints; i++)
		free(p->endpoints[i].host);
	free(p->endpoints);
	strv_free(p->addresses);
	free(p);
}
