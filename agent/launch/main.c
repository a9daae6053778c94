/* doagent-launch: create, list, get and destroy droplets running doagent, through the
 * DigitalOcean API (doapi.h). See DESIGN.md, "The launcher". */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "config.h"
#include "doagent.h"
#include "doapi.h"
#include "eviction.h"
#include "fileio.h"
#include "macro.h"
#include "netaddr.h"
#include "plan.h"
#include "secret.h"
#include "strutil.h"
#include "strv.h"
#include "tls.h"
#include "userdata.h"

#define LAUNCH_TAG "doagent"
#define LAUNCH_TAG_PREFIX "doagent-launch-"

static struct {
	const char *api_url;
	const char *token_file;
	const char *image, *region, *size, *user_data_file, *vpc_uuid, *launch_id;
	char **ssh_keys;
	char **tags;
	bool no_wait, keep_on_failure, dry_run, force, json, cloud_firewall;
	unsigned long long wait_timeout;
} arg = { .wait_timeout = 300 };

static void err(const char *fmt, ...) _printf_(1, 2);
static void err(const char *fmt, ...)
{
	va_list ap;
	fputs("doagent-launch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const char *cause_or(const char *cause, int r)
{
	return cause ? cause : strerror(-r);
}

static bool all_digits(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* ---- the token ---- */

static int read_token(char **ret)
{
	const char *env = getenv("DIGITALOCEAN_ACCESS_TOKEN");
	if (!env || !*env)
		env = getenv("DIGITALOCEAN_TOKEN");
	if (arg.token_file) {
		struct stat st;
		if (stat(arg.token_file, &st) < 0) {
			err("--token-file %s: %s", arg.token_file, strerror(errno));
			return -DOAGENT_EXIT_USAGE;
		}
		if (st.st_mode & 077) {
			err("--token-file %s: readable by group or others (mode %04o); refusing it (chmod 600)",
			    arg.token_file, (unsigned)(st.st_mode & 07777));
			return -DOAGENT_EXIT_USAGE;
		}
		char *t = NULL;
		size_t n = 0;
		int r = fileio_read_file(arg.token_file, 4096, &t, &n);
		if (r < 0) {
			err("--token-file %s: %s", arg.token_file, strerror(-r));
			return -DOAGENT_EXIT_USAGE;
		}
		while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ' || t[n - 1] == '\t'))
			t[--n] = 0;
		if (n == 0 || strlen(t) != n || !strutil_is_printable_ascii(t)) {
			explicit_bzero(t, n);
			free(t);
			err("--token-file %s: not a token", arg.token_file);
			return -DOAGENT_EXIT_USAGE;
		}
		*ret = t;
		return 0;
	}
	if (!env || !*env) {
		err("no API token: set DIGITALOCEAN_ACCESS_TOKEN or use --token-file FILE");
		return -DOAGENT_EXIT_USAGE;
	}
	*ret = strdup(env);
	return *ret ? 0 : -DOAGENT_EXIT_FAILURE;
}

static struct doapi *open_api(void)
{
	_cleanup_erase_ char *token = NULL;
	if (read_token(&token) < 0)
		return NULL;
	const char *url = arg.api_url;
	if (!url)
		url = getenv("DIGITALOCEAN_API_URL");
	if (!url || !*url)
		url = DOAPI_DEFAULT_URL;
	struct doapi *api = doapi_new(url, token);
	if (!api) {
		err("out of memory");
		return NULL;
	}
	api->deadline_ms = 15000;
	return api;
}

/* Exit status for an API error. */
static int api_exit(int r)
{
	return r == -ETIMEDOUT ? DOAGENT_EXIT_UNAVAILABLE : DOAGENT_EXIT_FAILURE;
}

/* ---- user data ---- */

/* Validate data; print the diagnostics (errors, and notices unless quiet). 0, or an exit status. */
static int check_userdata(const char *what, const char *data, size_t len, struct config *c,
			  enum userdata_kind *ret_kind, bool quiet)
{
	struct userdata_report rep = { 0 };
	int r = config_init(c);
	if (r < 0) {
		err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	r = userdata_parse(data, len, c, &rep);
	for (size_t i = 0; i < rep.n_diags; i++) {
		if (quiet && rep.diags[i].severity != USERDATA_ERROR)
			continue;
		_cleanup_free_ char *m = userdata_diag_format(&rep, &rep.diags[i]);
		fprintf(stderr, "%s: %s\n", what, m ? m : "(out of memory)");
	}
	if (ret_kind)
		*ret_kind = rep.kind;
	userdata_report_done(&rep);
	if (r >= 0) {
		/* The user data's own certificate and key must be a pair, as doagent --check says. */
		_cleanup_free_ char *cause = NULL;
		if (tls_check_config(c, &cause) < 0) {
			fprintf(stderr, "%s: %s\n", what, cause ? cause : "bad TLS certificate or key");
			r = -EBADMSG;
		}
	}
	if (r == -EBADMSG || r == -E2BIG) {
		err("%s: invalid user data, nothing was sent", what);
		return DOAGENT_EXIT_DATAERR;
	}
	if (r < 0) {
		err("%s: %s", what, strerror(-r));
		return DOAGENT_EXIT_FAILURE;
	}
	return 0;
}

static int read_userdata(const char *path, char **ret, size_t *ret_len)
{
	int r = fileio_read_file(path, DOAGENT_USERDATA_MAX, ret, ret_len);
	if (r == -E2BIG) {
		err("%s: user data larger than %d bytes (DigitalOcean's limit)", path, DOAGENT_USERDATA_MAX);
		return DOAGENT_EXIT_DATAERR;
	}
	if (r < 0) {
		err("%s: %s", path, strerror(-r));
		return DOAGENT_EXIT_DATAERR;
	}
	if (strlen(*ret) != *ret_len) {
		err("%s: user data holds NUL bytes", path);
		return DOAGENT_EXIT_DATAERR;
	}
	return 0;
}

static bool looks_mime(const char *d)
{
	while (*d == ' ' || *d == '\t' || *d == '\r' || *d == '\n')
		d++;
	return strncasecmp(d, "Content-Type:", 13) == 0 || strncasecmp(d, "MIME-Version:", 13) == 0;
}

/* Is line [s, e) a "[redis]" header? */
static bool is_redis_header(const char *s, const char *e)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	return e - s == 7 && strncasecmp(s, "[redis]", 7) == 0;
}

/* A copy of data with "password = pw" in its [redis] section. */
static char *add_password(const char *data, const char *pw)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	if (!f)
		return NULL;
	bool done = false;
	const char *p = data;
	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *e = nl ? nl : p + strlen(p);
		fwrite(p, 1, e - p, f);
		if (!done && is_redis_header(p, e)) {
			fprintf(f, "\npassword = %s", pw);
			done = true;
		}
		if (nl)
			fputc('\n', f);
		p = nl ? nl + 1 : e;
	}
	if (!done) {
		if (outlen > 0 || ftell(f) > 0) {
			fflush(f);
			if (outlen > 0 && out[outlen - 1] != '\n')
				fputc('\n', f);
			fputc('\n', f);
		}
		fprintf(f, "[redis]\npassword = %s\n", pw);
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* A copy of data with the values of the secret keys, "password" and "key" (with the
 * indented continuation lines of a PEM block), replaced by "(redacted)". */
static char *redact(const char *data)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	if (!f)
		return NULL;
	const char *p = data;
	bool in_secret = false;
	while (*p) {
		const char *nl = strchr(p, '\n');
		const char *e = nl ? nl : p + strlen(p);
		const char *k = p;
		while (k < e && (*k == ' ' || *k == '\t'))
			k++;
		if (in_secret && k > p && k < e) {
			/* a continuation line of the secret's value */
			p = nl ? nl + 1 : e;
			continue;
		}
		const char *eq = memchr(k, '=', e - k);
		const char *ke = eq;
		while (ke && ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
			ke--;
		in_secret = eq && ((ke - k == 8 && strncasecmp(k, "password", 8) == 0) ||
					     (ke - k == 3 && strncasecmp(k, "key", 3) == 0));
		if (in_secret)
			fprintf(f, "%.*s= (redacted)", (int)(eq - p), p);
		else
			fwrite(p, 1, e - p, f);
		if (nl)
			fputc('\n', f);
		p = nl ? nl + 1 : e;
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* ---- output ---- */

static void print_droplet(const struct doapi_droplet *d, const char *conn, const char *fw_id)
{
	if (arg.json) {
		_cleanup_json_ json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(d->id));
		json_object_object_add(o, "name", json_object_new_string(d->name ? d->name : ""));
		json_object_object_add(o, "status", json_object_new_string(d->status ? d->status : ""));
		json_object_object_add(o, "public_ipv4", d->public_ipv4 ? json_object_new_string(d->public_ipv4) : NULL);
		json_object_object_add(o, "private_ipv4", d->private_ipv4 ? json_object_new_string(d->private_ipv4) : NULL);
		json_object_object_add(o, "public_ipv6", d->public_ipv6 ? json_object_new_string(d->public_ipv6) : NULL);
		if (fw_id)
			json_object_object_add(o, "firewall_id", json_object_new_string(fw_id));
		if (conn)
			json_object_object_add(o, "connection", json_object_new_string(conn));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		if (conn) {
			/* the string held the password: erase json-c's copy */
			json_object *c = json_object_object_get(o, "connection");
			json_object_set_string(c, "");
		}
		return;
	}
	printf("id:           %s\n", d->id);
	printf("name:         %s\n", d->name ? d->name : "");
	printf("status:       %s\n", d->status ? d->status : "");
	printf("public ipv4:  %s\n", d->public_ipv4 ? d->public_ipv4 : "-");
	printf("private ipv4: %s\n", d->private_ipv4 ? d->private_ipv4 : "-");
	if (fw_id)
		printf("firewall:     %s\n", fw_id);
	if (conn)
		printf("connection:   %s\n", conn);
}

/* ---- progress ---- */

static uint64_t t_start;
static char *last_status;

static void progress(const char *id, const char *status)
{
	unsigned secs = (unsigned)((backoff_now_ms() - t_start) / 1000);
	if (isatty(STDERR_FILENO)) {
		fprintf(stderr, "\r[%3us] droplet %s: %-12s", secs, id, status);
		fflush(stderr);
	} else if (!last_status || strcmp(last_status, status) != 0) {
		fprintf(stderr, "[%3us] droplet %s: %s\n", secs, id, status);
	}
	free(last_status);
	last_status = strdup(status);
}

static void progress_end(void)
{
	if (isatty(STDERR_FILENO) && last_status)
		fputc('\n', stderr);
}

/* ---- the cloud firewall ---- */

/*
 * A DigitalOcean firewall for the launch tag, mirroring the user data: the Redis and
 * TLS ports doagent opens to [firewall] allow, SSH to ssh-allow, ICMP from anywhere
 * (as doagent's own rules), and every outbound packet (a cloud firewall without
 * outbound rules drops them all). A cloud firewall cannot name a VPC, so "vpc" becomes
 * the private ranges: only the droplet's VPC (and peered ones) reach its private
 * interface, and doagent's own firewall narrows it to the VPC's network.
 */
static const char *const private_ranges[] = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", NULL };
static const char *const anywhere[] = { "0.0.0.0/0", "::/0", NULL };

struct cloud_fw {
	char name[80];
	char **allow, **ssh_allow;	/* addresses */
	char ports[3][8];		/* ssh, redis, tls */
	struct doapi_fw_rule in[4], out[3];
	const char *tags[2];
	struct doapi_firewall_create req;
};

static void cloud_fw_done(struct cloud_fw *f)
{
	strv_free(f->allow);
	strv_free(f->ssh_allow);
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

/* The firewall's name: the launch tag, with the '_' a firewall name cannot hold as '-'. */
static int cloud_fw_init(struct cloud_fw *f, const struct config *c, const char *launch_tag)
{
	unsigned open[2];

	*f = (struct cloud_fw){};
	snprintf(f->name, sizeof f->name, "%s", launch_tag);
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

	size_t n = 0;
	if (f->ssh_allow)
		f->in[n++] = (struct doapi_fw_rule){ "tcp", f->ports[0], (const char *const *)f->ssh_allow, NULL };
	for (int i = 0; i < 2; i++)
		if (open[i] && f->allow)
			f->in[n++] = (struct doapi_fw_rule){ "tcp", f->ports[1 + i], (const char *const *)f->allow, NULL };
	f->in[n++] = (struct doapi_fw_rule){ "icmp", "0", anywhere, NULL };
	f->out[0] = (struct doapi_fw_rule){ "tcp", "0", anywhere, NULL };
	f->out[1] = (struct doapi_fw_rule){ "udp", "0", anywhere, NULL };
	f->out[2] = (struct doapi_fw_rule){ "icmp", "0", anywhere, NULL };
	f->tags[0] = launch_tag;
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

/* Adopt the firewall named f->name, or create it. 0 with *ret_id (and *ret_made), or an
 * exit status. */
static int cloud_fw_ensure(struct doapi *api, const struct cloud_fw *f, char **ret_id, bool *ret_made)
{
	_cleanup_free_ char *cause = NULL;
	int r = doapi_firewall_find(api, f->name, ret_id, &cause);

	*ret_made = false;
	if (r < 0) {
		err("%s", cause_or(cause, r));
		return api_exit(r);
	}
	if (*ret_id) {
		fprintf(stderr, "firewall %s (%s) exists: adopting it\n", *ret_id, f->name);
		return 0;
	}
	r = doapi_firewall_create(api, &f->req, ret_id, &cause);
	if (r == -EAGAIN) {
		fprintf(stderr, "the firewall's create answer was lost (%s); looking for it by name %s\n",
			cause_or(cause, r), f->name);
		struct backoff b;
		backoff_init(&b, 1000, 3000, 10000);
		do {
			_cleanup_free_ char *c2 = NULL;
			if (doapi_firewall_find(api, f->name, ret_id, &c2) >= 0 && *ret_id)
				break;
		} while (backoff_wait(&b, 0));
		if (!*ret_id) {
			err("creating the firewall failed (%s) and no firewall is named %s; re-run with the same --launch-id to retry safely",
			    cause_or(cause, r), f->name);
			return DOAGENT_EXIT_FAILURE;
		}
	} else if (r < 0) {
		err("%s", cause_or(cause, r));
		return r == -EACCES || r == -EINVAL ? DOAGENT_EXIT_FAILURE : api_exit(r);
	}
	*ret_made = true;
	fprintf(stderr, "firewall %s (%s) created\n", *ret_id, f->name);
	return 0;
}

/* Undo what this run made: the droplet (when droplet_id) and the firewall (when fw_id). */
static void compensate(struct doapi *api, const char *droplet_id, const char *fw_id)
{
	api->deadline_ms = 60000;
	if (arg.keep_on_failure) {
		if (droplet_id)
			err("droplet %s kept (--keep-on-failure)", droplet_id);
		if (fw_id)
			err("firewall %s kept (--keep-on-failure)", fw_id);
		return;
	}
	if (droplet_id) {
		_cleanup_free_ char *c = NULL;
		int r = doapi_droplet_delete(api, droplet_id, &c);
		if (r < 0)
			err("destroying droplet %s failed: %s; destroy it by hand", droplet_id, cause_or(c, r));
		else
			err("destroyed droplet %s (use --keep-on-failure to keep it)", droplet_id);
	}
	if (fw_id) {
		_cleanup_free_ char *c = NULL;
		int r = doapi_firewall_delete(api, fw_id, &c);
		if (r < 0)
			err("deleting firewall %s failed: %s; delete it by hand", fw_id, cause_or(c, r));
		else
			err("deleted firewall %s", fw_id);
	}
}

/* --dry-run: each request the create would send, its secrets redacted (see redact()):
 * "POST PATH" and the pretty body per request, or one JSON array with -o json. */
static int print_requests(const struct doapi_create *req, const struct cloud_fw *fw)
{
	static const char *const paths[] = { "/v2/firewalls", "/v2/droplets" };
	_cleanup_free_ char *red = redact(req->user_data), *summary = NULL;
	_cleanup_json_ json_object *all = json_object_new_array();
	struct doapi_create shown = *req;

	if (!red || !all)
		return -ENOMEM;
	shown.user_data = red;
	/* A base64 part would show its secrets encoded: leave such user data out whole. */
	if (looks_mime(req->user_data) && strcasestr(req->user_data, "base64")) {
		if (asprintf(&summary, "(redacted: MIME user data with a base64 part, %zu bytes)",
			     strlen(req->user_data)) < 0)
			return -ENOMEM;
		shown.user_data = summary;
	}
	for (int i = fw ? 0 : 1; i < 2; i++) {
		json_object *body = i == 0 ? doapi_firewall_body(&fw->req) : doapi_droplet_body(&shown);
		if (!body)
			return -ENOMEM;
		if (!arg.json) {
			printf("POST %s\n%s\n", paths[i],
			       json_object_to_json_string_ext(body, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(body);
			continue;
		}
		json_object *o = json_object_new_object();
		if (!o || json_object_array_add(all, o) < 0) {
			json_object_put(body);
			json_object_put(o);
			return -ENOMEM;
		}
		json_object_object_add(o, "method", json_object_new_string("POST"));
		json_object_object_add(o, "path", json_object_new_string(paths[i]));
		json_object_object_add(o, "body", body);
	}
	if (arg.json)
		puts(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}

/* ---- create ---- */

/* Find the droplet tagged tag: 0 with *ret (NULL when none), or a negative errno. */
static int find_by_tag(struct doapi *api, const char *tag, struct doapi_droplet **ret, char **cause)
{
	struct doapi_droplet **l = NULL;
	size_t n = 0;
	int r = doapi_droplets_by_tag(api, tag, &l, &n, cause);
	if (r < 0)
		return r;
	*ret = NULL;
	if (n > 0) {
		*ret = l[0];
		l[0] = NULL;
		if (n > 1)
			err("warning: %zu droplets carry tag %s; using %s", n, tag, (*ret)->id);
	}
	doapi_droplets_free(l, n);
	return 0;
}

static bool documentation_address(const char *ip)
{
	return strncmp(ip, "192.0.2.", 8) == 0 || strncmp(ip, "198.51.100.", 11) == 0 ||
	       strncmp(ip, "203.0.113.", 10) == 0;
}

/* Try a TCP connect to ip:port for at most timeout_ms: 1 answered, 0 not, -1 not tried. */
static int probe(const char *ip, unsigned port, int timeout_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1 || documentation_address(ip))
		return -1;
	uint64_t end = backoff_now_ms() + timeout_ms;
	while (backoff_now_ms() < end) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
		if (r < 0 && errno == EINPROGRESS) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			uint64_t now = backoff_now_ms();
			r = poll(&pfd, 1, now < end ? (int)(end - now) : 0);
			int e = 0;
			socklen_t el = sizeof e;
			if (r == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0)
				r = 0;
			else {
				errno = e ? e : ETIMEDOUT;
				r = -1;
			}
		}
		int e = errno;
		close(fd);
		if (r == 0)
			return 1;
		if (e == ENETUNREACH || e == EHOSTUNREACH)
			return -1;
		usleep(500000);
	}
	return 0;
}

/* Poll the droplet until active with a public IPv4. 0 with *ret, or an exit status.
 * Polls at most 1.5 s apart, so the launcher notices "active" within 2 s: 40
 * requests a minute, well under the API's 250. */
static int wait_active(struct doapi *api, const char *id, struct doapi_droplet **ret)
{
	struct backoff b;
	backoff_init(&b, 500, 1500, arg.wait_timeout * 1000);
	uint64_t t0 = backoff_now_ms();
	for (;;) {
		struct doapi_droplet *d = NULL;
		_cleanup_free_ char *cause = NULL;
		uint64_t left = backoff_remaining_ms(&b);
		api->deadline_ms = left < 1000 ? 1000 : left;
		int r = doapi_droplet_get(api, id, &d, &cause);
		if (r == -ENOENT && backoff_now_ms() - t0 < 30000) {
			progress(id, "not visible yet");
		} else if (r < 0) {
			progress_end();
			err("droplet %s: %s", id, cause_or(cause, r));
			return DOAGENT_EXIT_FAILURE;
		} else {
			progress(id, d->status ? d->status : "?");
			if (d->status && strcmp(d->status, "active") == 0 && d->public_ipv4) {
				progress_end();
				*ret = d;
				return 0;
			}
			if (d->status && (strcmp(d->status, "errored") == 0 || strcmp(d->status, "archive") == 0 ||
					  strcmp(d->status, "off") == 0)) {
				progress_end();
				err("droplet %s is %s", id, d->status);
				doapi_droplet_free(d);
				return DOAGENT_EXIT_FAILURE;
			}
			doapi_droplet_free(d);
		}
		if (!backoff_wait(&b, 0)) {
			progress_end();
			err("droplet %s did not become active with a public address within %llus", id,
			    arg.wait_timeout);
			return DOAGENT_EXIT_FAILURE;
		}
	}
}

static char *random_id(void)
{
	_cleanup_erase_ char *pw = NULL;
	if (secret_generate_password(&pw) < 0)
		return NULL;
	return strndup(pw, 12);
}

/* The API part of create: adopt or create the firewall and the droplet, wait, print. */
static int create_run(const char *name, const char *data, const char *password, bool tls,
		      unsigned port, const char *lid, const char *launch_tag, char **tags,
		      const struct cloud_fw *fw)
{
	struct doapi_create req = {
		.name = name,
		.region = arg.region,
		.size = arg.size,
		.image = arg.image,
		.user_data = data,
		.ssh_keys = (const char *const *)arg.ssh_keys,
		.tags = (const char *const *)tags,
		.vpc_uuid = arg.vpc_uuid,
	};
	if (arg.dry_run) {
		if (print_requests(&req, fw) < 0) {
			err("out of memory");
			return DOAGENT_EXIT_FAILURE;
		}
		return 0;
	}

	struct doapi *api = open_api();
	if (!api)
		return DOAGENT_EXIT_USAGE;
	t_start = backoff_now_ms();
	struct doapi_droplet *d = NULL;
	bool made = false, made_fw = false;
	_cleanup_free_ char *cause = NULL, *fw_id = NULL;
	int ex;
	int r = find_by_tag(api, launch_tag, &d, &cause);
	if (r < 0) {
		err("listing droplets tagged %s: %s; nothing was created", launch_tag, cause_or(cause, r));
		doapi_free(api);
		return api_exit(r);
	}
	if (d)
		fprintf(stderr, "droplet %s already carries tag %s: adopting it (no new droplet)\n", d->id,
			launch_tag);
	/* The firewall first, so the droplet is never up without it. */
	if (fw && (ex = cloud_fw_ensure(api, fw, &fw_id, &made_fw)) != 0) {
		doapi_droplet_free(d);
		doapi_free(api);
		return ex;
	}
	if (!d) {
		free(cause);
		cause = NULL;
		r = doapi_droplet_create(api, &req, &d, &cause);
		if (r == -EAGAIN) {
			fprintf(stderr, "the create's answer was lost (%s); looking for the droplet by tag %s\n",
				cause_or(cause, r), launch_tag);
			struct backoff b;
			backoff_init(&b, 1000, 3000, 10000);
			int lr;
			do {
				_cleanup_free_ char *c2 = NULL;
				lr = find_by_tag(api, launch_tag, &d, &c2);
				if (lr < 0)
					fprintf(stderr, "listing: %s\n", cause_or(c2, lr));
				if (d)
					break;
			} while (backoff_wait(&b, 0));
			if (!d) {
				/* The droplet may still appear: keep its firewall for the re-run. */
				err("the create failed (%s) and no droplet carries tag %s; re-run with --launch-id %s to retry safely",
				    cause_or(cause, r), launch_tag, lid);
				doapi_free(api);
				return lr == -ETIMEDOUT ? DOAGENT_EXIT_UNAVAILABLE : DOAGENT_EXIT_FAILURE;
			}
			fprintf(stderr, "found droplet %s by its launch tag\n", d->id);
		} else if (r < 0) {
			err("create: %s", cause_or(cause, r));
			compensate(api, NULL, made_fw ? fw_id : NULL);
			doapi_free(api);
			return r == -ETIMEDOUT ? DOAGENT_EXIT_UNAVAILABLE : DOAGENT_EXIT_FAILURE;
		}
		made = true;
		fprintf(stderr, "droplet %s created (launch id %s)\n", d->id, lid);
	}

	if (arg.no_wait) {
		print_droplet(d, NULL, fw_id);
		doapi_droplet_free(d);
		doapi_free(api);
		return 0;
	}

	struct doapi_droplet *a = NULL;
	ex = wait_active(api, d->id, &a);
	if (ex) {
		compensate(api, made ? d->id : NULL, made_fw ? fw_id : NULL);
		doapi_droplet_free(d);
		doapi_free(api);
		return ex;
	}
	doapi_droplet_free(d);

	int pr = probe(a->public_ipv4, port, 10000);
	fprintf(stderr, "port %u on %s: %s\n", port, a->public_ipv4,
		pr > 0 ? "answered" : pr == 0 ? "no answer yet (doagent may still be starting)" : "not probed (not reachable from here)");

	_cleanup_erase_ char *conn = NULL;
	if (asprintf(&conn, "%s://default:%s@%s:%u", tls ? "rediss" : "redis", password, a->public_ipv4, port) < 0)
		conn = NULL;
	print_droplet(a, conn, fw_id);
	doapi_droplet_free(a);
	doapi_free(api);
	return 0;
}

static int cmd_create(const char *name)
{
	if (!arg.image || !arg.size || !arg.user_data_file) {
		err("create: --image, --size and --user-data-file are required");
		return DOAGENT_EXIT_USAGE;
	}
	if (arg.launch_id && (!*arg.launch_id || strlen(arg.launch_id) > 48 ||
			      strspn(arg.launch_id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
				      strlen(arg.launch_id))) {
		err("--launch-id: letters, digits, '-' and '_' only, at most 48");
		return DOAGENT_EXIT_USAGE;
	}

	_cleanup_erase_ char *data = NULL;
	size_t len = 0;
	int ex = read_userdata(arg.user_data_file, &data, &len);
	if (ex)
		return ex;
	struct config c;
	enum userdata_kind kind;
	ex = check_userdata(arg.user_data_file, data, len, &c, &kind, false);
	if (ex) {
		config_done(&c);
		return ex;
	}
	if (kind == USERDATA_FOREIGN) {
		config_done(&c);
		err("%s: not doagent's user data; doagent-launch only launches with doagent's INI user data",
		    arg.user_data_file);
		return DOAGENT_EXIT_DATAERR;
	}
	_cleanup_erase_ char *password = NULL;
	if (c.redis_password) {
		password = strdup(c.redis_password);
	} else {
		if (looks_mime(data)) {
			config_done(&c);
			err("%s: MIME user data without a password: put \"password = ...\" in its [redis] section",
			    arg.user_data_file);
			return DOAGENT_EXIT_DATAERR;
		}
		_cleanup_erase_ char *pw = NULL;
		if (secret_generate_password(&pw) < 0) {
			config_done(&c);
			err("cannot generate a password");
			return DOAGENT_EXIT_FAILURE;
		}
		char *nd = add_password(data, pw);
		if (!nd) {
			config_done(&c);
			err("out of memory");
			return DOAGENT_EXIT_FAILURE;
		}
		explicit_bzero(data, len);
		free(data);
		data = nd;
		len = strlen(nd);
		config_done(&c);
		ex = check_userdata(arg.user_data_file, data, len, &c, NULL, true);
		if (ex) {
			config_done(&c);
			return ex;
		}
		password = TAKE_PTR(pw);
	}
	bool tls = c.tls_enabled;
	unsigned port = tls ? c.tls_port : c.redis_port;
	if (!password) {
		config_done(&c);
		err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}

	_cleanup_free_ char *lid = arg.launch_id ? strdup(arg.launch_id) : random_id();
	_cleanup_free_ char *launch_tag = NULL;
	if (!lid || asprintf(&launch_tag, LAUNCH_TAG_PREFIX "%s", lid) < 0) {
		config_done(&c);
		err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	_cleanup_strv_ char **tags = NULL;
	bool oom = strv_extend(&tags, LAUNCH_TAG) < 0 || strv_extend(&tags, launch_tag) < 0;
	for (char **t = arg.tags; !oom && t && *t; t++)
		oom = !strv_contains(tags, *t) && strv_extend(&tags, *t) < 0;
	struct cloud_fw fw = {};
	if (!oom && arg.cloud_firewall)
		oom = cloud_fw_init(&fw, &c, launch_tag) < 0;
	config_done(&c);
	if (oom) {
		cloud_fw_done(&fw);
		err("out of memory");
		return DOAGENT_EXIT_FAILURE;
	}
	ex = create_run(name, data, password, tls, port, lid, launch_tag, tags,
			arg.cloud_firewall ? &fw : NULL);
	cloud_fw_done(&fw);
	return ex;
}

/* ---- list, get, destroy ---- */

static int resolve(struct doapi *api, const char *what, struct doapi_droplet **ret)
{
	_cleanup_free_ char *cause = NULL;
	int r;
	if (all_digits(what)) {
		r = doapi_droplet_get(api, what, ret, &cause);
		if (r == -ENOENT) {
			*ret = NULL;
			return 0;
		}
		if (r < 0) {
			err("droplet %s: %s", what, cause_or(cause, r));
			return -api_exit(r);
		}
		return 0;
	}
	struct doapi_droplet **l = NULL;
	size_t n = 0;
	r = doapi_droplets_by_tag(api, LAUNCH_TAG, &l, &n, &cause);
	if (r < 0) {
		err("listing droplets: %s", cause_or(cause, r));
		return -api_exit(r);
	}
	*ret = NULL;
	size_t found = 0;
	for (size_t i = 0; i < n; i++)
		if (l[i]->name && strcmp(l[i]->name, what) == 0) {
			found++;
			if (!*ret) {
				*ret = l[i];
				l[i] = NULL;
			}
		}
	doapi_droplets_free(l, n);
	if (found > 1) {
		err("%zu droplets are named %s: use the id", found, what);
		doapi_droplet_free(*ret);
		*ret = NULL;
		return -DOAGENT_EXIT_FAILURE;
	}
	return 0;
}

static int cmd_list(void)
{
	struct doapi *api = open_api();
	if (!api)
		return DOAGENT_EXIT_USAGE;
	struct doapi_droplet **l = NULL;
	size_t n = 0;
	_cleanup_free_ char *cause = NULL;
	int r = doapi_droplets_by_tag(api, LAUNCH_TAG, &l, &n, &cause);
	doapi_free(api);
	if (r < 0) {
		err("listing droplets: %s", cause_or(cause, r));
		return api_exit(r);
	}
	if (arg.json) {
		_cleanup_json_ json_object *a = json_object_new_array();
		for (size_t i = 0; i < n; i++) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "id", json_object_new_string(l[i]->id));
			json_object_object_add(o, "name", json_object_new_string(l[i]->name ? l[i]->name : ""));
			json_object_object_add(o, "status", json_object_new_string(l[i]->status ? l[i]->status : ""));
			json_object_object_add(o, "public_ipv4", l[i]->public_ipv4 ? json_object_new_string(l[i]->public_ipv4) : NULL);
			json_object_object_add(o, "private_ipv4", l[i]->private_ipv4 ? json_object_new_string(l[i]->private_ipv4) : NULL);
			json_object_array_add(a, o);
		}
		puts(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	} else {
		printf("%-12s %-24s %-8s %-16s %s\n", "ID", "NAME", "STATUS", "PUBLIC IPV4", "PRIVATE IPV4");
		for (size_t i = 0; i < n; i++)
			printf("%-12s %-24s %-8s %-16s %s\n", l[i]->id, l[i]->name ? l[i]->name : "",
			       l[i]->status ? l[i]->status : "", l[i]->public_ipv4 ? l[i]->public_ipv4 : "-",
			       l[i]->private_ipv4 ? l[i]->private_ipv4 : "-");
	}
	doapi_droplets_free(l, n);
	return 0;
}

static int cmd_get(const char *what)
{
	struct doapi *api = open_api();
	if (!api)
		return DOAGENT_EXIT_USAGE;
	struct doapi_droplet *d = NULL;
	int r = resolve(api, what, &d);
	doapi_free(api);
	if (r < 0)
		return -r;
	if (!d) {
		err("no droplet %s", what);
		return DOAGENT_EXIT_FAILURE;
	}
	print_droplet(d, NULL, NULL);
	doapi_droplet_free(d);
	return 0;
}

static int cmd_destroy(const char *what)
{
	if (!arg.force) {
		if (!isatty(STDIN_FILENO)) {
			err("destroy: not asking on a non-terminal; use --force");
			return DOAGENT_EXIT_USAGE;
		}
	}
	struct doapi *api = open_api();
	if (!api)
		return DOAGENT_EXIT_USAGE;
	struct doapi_droplet *d = NULL;
	int r = resolve(api, what, &d);
	if (r < 0) {
		doapi_free(api);
		return -r;
	}
	if (!d) {
		printf("droplet %s: already gone\n", what);
		doapi_free(api);
		return 0;
	}
	if (!arg.force) {
		fprintf(stderr, "Destroy droplet %s (%s)? [y/N] ", d->id, d->name ? d->name : "");
		char line[16] = "";
		if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
			fprintf(stderr, "not destroyed\n");
			doapi_droplet_free(d);
			doapi_free(api);
			return DOAGENT_EXIT_FAILURE;
		}
	}
	_cleanup_free_ char *cause = NULL;
	r = doapi_droplet_delete(api, d->id, &cause);
	doapi_free(api);
	if (r < 0) {
		err("destroying droplet %s: %s", d->id, cause_or(cause, r));
		doapi_droplet_free(d);
		return api_exit(r);
	}
	printf("droplet %s destroyed\n", d->id);
	doapi_droplet_free(d);
	return 0;
}

static int cmd_validate(const char *path)
{
	_cleanup_erase_ char *data = NULL;
	size_t len = 0;
	int ex = read_userdata(path, &data, &len);
	if (ex)
		return ex;
	struct config c;
	enum userdata_kind kind;
	ex = check_userdata(path, data, len, &c, &kind, false);
	if (!ex) {
		printf("%s: %s\n", path, kind == USERDATA_DOAGENT ? "valid" : kind == USERDATA_ABSENT ? "empty (defaults apply)" : "not doagent's user data (defaults apply)");
		eviction_print(&c, stdout);
	}
	config_done(&c);
	return ex;
}

static void usage(FILE *f)
{
	fputs("Usage: doagent-launch [--api-url URL] [--token-file FILE] COMMAND ...\n"
	      "  create NAME --image ID --region SLUG --size SLUG --user-data-file FILE\n"
	      "         [--ssh-key ID]... [--tag T]... [--vpc-uuid U] [--cloud-firewall] [--no-wait]\n"
	      "         [--wait-timeout SEC] [--launch-id ID] [--keep-on-failure] [--dry-run]\n"
	      "         [-o text|json]\n"
	      "  list [-o text|json]\n"
	      "  get ID|NAME [-o text|json]\n"
	      "  destroy ID|NAME [--force]\n"
	      "  validate FILE\n"
	      "The token comes from DIGITALOCEAN_ACCESS_TOKEN, DIGITALOCEAN_TOKEN or --token-file.\n",
	      f);
}

int main(int argc, char **argv)
{
	enum { O_API = 256, O_TOKFILE, O_IMAGE, O_REGION, O_SIZE, O_UDF, O_SSHKEY, O_TAG, O_VPC,
	       O_NOWAIT, O_WAITTO, O_LID, O_KEEP, O_DRY, O_FORCE, O_CLOUDFW };
	static const struct option opts[] = {
		{ "api-url", required_argument, NULL, O_API },
		{ "token-file", required_argument, NULL, O_TOKFILE },
		{ "image", required_argument, NULL, O_IMAGE },
		{ "region", required_argument, NULL, O_REGION },
		{ "size", required_argument, NULL, O_SIZE },
		{ "user-data-file", required_argument, NULL, O_UDF },
		{ "ssh-key", required_argument, NULL, O_SSHKEY },
		{ "tag", required_argument, NULL, O_TAG },
		{ "vpc-uuid", required_argument, NULL, O_VPC },
		{ "no-wait", no_argument, NULL, O_NOWAIT },
		{ "wait-timeout", required_argument, NULL, O_WAITTO },
		{ "launch-id", required_argument, NULL, O_LID },
		{ "keep-on-failure", no_argument, NULL, O_KEEP },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "force", no_argument, NULL, O_FORCE },
		{ "cloud-firewall", no_argument, NULL, O_CLOUDFW },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (ch) {
		case O_API: arg.api_url = optarg; break;
		case O_TOKFILE: arg.token_file = optarg; break;
		case O_IMAGE: arg.image = optarg; break;
		case O_REGION: arg.region = optarg; break;
		case O_SIZE: arg.size = optarg; break;
		case O_UDF: arg.user_data_file = optarg; break;
		case O_SSHKEY:
			if (strv_extend(&arg.ssh_keys, optarg) < 0)
				return DOAGENT_EXIT_FAILURE;
			break;
		case O_TAG:
			if (strv_extend(&arg.tags, optarg) < 0)
				return DOAGENT_EXIT_FAILURE;
			break;
		case O_VPC: arg.vpc_uuid = optarg; break;
		case O_NOWAIT: arg.no_wait = true; break;
		case O_WAITTO:
			if (strutil_parse_u64(optarg, 1, 86400, &arg.wait_timeout) < 0) {
				err("--wait-timeout: seconds, 1 to 86400");
				return DOAGENT_EXIT_USAGE;
			}
			break;
		case O_LID: arg.launch_id = optarg; break;
		case O_KEEP: arg.keep_on_failure = true; break;
		case O_DRY: arg.dry_run = true; break;
		case O_FORCE: arg.force = true; break;
		case O_CLOUDFW: arg.cloud_firewall = true; break;
		case 'o':
			if (strcmp(optarg, "json") == 0)
				arg.json = true;
			else if (strcmp(optarg, "text") == 0)
				arg.json = false;
			else {
				err("-o: text or json");
				return DOAGENT_EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return DOAGENT_EXIT_USAGE;
		}
	}
	int n = argc - optind;
	if (n < 1) {
		usage(stderr);
		return DOAGENT_EXIT_USAGE;
	}
	const char *cmd = argv[optind];
	int ex;
	if (strcmp(cmd, "list") == 0 && n == 1)
		ex = cmd_list();
	else if (strcmp(cmd, "create") == 0 && n == 2)
		ex = cmd_create(argv[optind + 1]);
	else if (strcmp(cmd, "get") == 0 && n == 2)
		ex = cmd_get(argv[optind + 1]);
	else if (strcmp(cmd, "destroy") == 0 && n == 2)
		ex = cmd_destroy(argv[optind + 1]);
	else if (strcmp(cmd, "validate") == 0 && n == 2)
		ex = cmd_validate(argv[optind + 1]);
	else {
		usage(stderr);
		ex = DOAGENT_EXIT_USAGE;
	}
	strv_free(arg.ssh_keys);
	strv_free(arg.tags);
	free(last_status);
	return ex;
}
