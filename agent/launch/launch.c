/* What doagent-launch's commands share: see launch.h. */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backoff.h"
#include "doagent.h"
#include "fileio.h"
#include "launch.h"
#include "strutil.h"

void launch_err(const char *fmt, ...)
{
	va_list ap;

	fputs("doagent-launch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *launch_cause_or(const char *cause, int r)
{
	return cause ? cause : strerror(-r);
}

int launch_api_exit(int r)
{
	return r == -ETIMEDOUT ? DOAGENT_EXIT_UNAVAILABLE : DOAGENT_EXIT_FAILURE;
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

/* The token from --token-file (which others must not be able to read) or the
 * environment: 0 with *ret, or -(exit status) after reporting why. */
static int read_token(const struct launch_options *o, char **ret)
{
	const char *env = getenv("DIGITALOCEAN_ACCESS_TOKEN");
	struct stat st;
	char *t = NULL;
	size_t n = 0;
	int r;

	if (!env || !*env)
		env = getenv("DIGITALOCEAN_TOKEN");
	if (!o->token_file) {
		if (!env || !*env) {
			launch_err("no API token: set DIGITALOCEAN_ACCESS_TOKEN or use --token-file FILE");
			return -DOAGENT_EXIT_USAGE;
		}
		*ret = strdup(env);
		return *ret ? 0 : -DOAGENT_EXIT_FAILURE;
	}
	if (stat(o->token_file, &st) < 0) {
		launch_err("--token-file %s: %s", o->token_file, strerror(errno));
		return -DOAGENT_EXIT_USAGE;
	}
	if (st.st_mode & 077) {
		launch_err("--token-file %s: readable by group or others (mode %04o); refusing it (chmod 600)",
			   o->token_file, (unsigned)(st.st_mode & 07777));
		return -DOAGENT_EXIT_USAGE;
	}
	r = fileio_read_file(o->token_file, 4096, &t, &n);
	if (r < 0) {
		launch_err("--token-file %s: %s", o->token_file, strerror(-r));
		return -DOAGENT_EXIT_USAGE;
	}
	while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ' || t[n - 1] == '\t'))
		t[--n] = 0;
	if (n == 0 || strlen(t) != n || !strutil_is_printable_ascii(t)) {
		explicit_bzero(t, n);
		free(t);
		launch_err("--token-file %s: not a token", o->token_file);
		return -DOAGENT_EXIT_USAGE;
	}
	*ret = t;
	return 0;
}

struct doapi *launch_api_open(const struct launch_options *o)
{
	_cleanup_erase_ char *token = NULL;
	const char *url = o->api_url;
	struct doapi *api;

	if (read_token(o, &token) < 0)
		return NULL;
	if (!url)
		url = getenv("DIGITALOCEAN_API_URL");
	if (!url || !*url)
		url = DOAPI_DEFAULT_URL;
	api = doapi_new(url, token);
	if (!api) {
		launch_err("out of memory");
		return NULL;
	}
	api->deadline_ms = 15000;
	return api;
}

int launch_resolve(struct doapi *api, const char *what, struct doapi_droplet **ret)
{
	_cleanup_free_ char *cause = NULL;
	struct doapi_droplet **l = NULL;
	size_t n = 0, found = 0;
	int r;

	if (all_digits(what)) {
		r = doapi_droplet_get(api, what, ret, &cause);
		if (r == -ENOENT) {
			*ret = NULL;
			return 0;
		}
		if (r < 0) {
			launch_err("droplet %s: %s", what, launch_cause_or(cause, r));
			return -launch_api_exit(r);
		}
		return 0;
	}
	r = doapi_droplets_by_tag(api, LAUNCH_TAG, &l, &n, &cause);
	if (r < 0) {
		launch_err("listing droplets: %s", launch_cause_or(cause, r));
		return -launch_api_exit(r);
	}
	*ret = NULL;
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
		launch_err("%zu droplets are named %s: use the id", found, what);
		doapi_droplet_free(*ret);
		*ret = NULL;
		return -DOAGENT_EXIT_FAILURE;
	}
	return 0;
}

bool launch_id_valid(const char *id)
{
	return *id && strlen(id) <= 48 &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == strlen(id);
}

const char *launch_tag_of(const struct doapi_droplet *d)
{
	for (char **t = d->tags; *t; t++)
		if (strncmp(*t, LAUNCH_TAG_PREFIX, strlen(LAUNCH_TAG_PREFIX)) == 0 &&
		    launch_id_valid(*t + strlen(LAUNCH_TAG_PREFIX)))
			return *t;
	return NULL;
}

static json_object *volumes_json(struct doapi_volume *const *volumes, size_t n)
{
	json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++) {
		json_object *v = json_object_new_object();

		json_object_object_add(v, "id", json_object_new_string(volumes[i]->id));
		json_object_object_add(v, "name", json_object_new_string(volumes[i]->name));
		json_object_object_add(v, "region", json_object_new_string(volumes[i]->region));
		json_object_object_add(v, "size_gigabytes", json_object_new_int64((int64_t)volumes[i]->size_gib));
		json_object_array_add(a, v);
	}
	return a;
}

char *launch_connection(bool tls, const char *password, const char *ip, unsigned port)
{
	char *conn = NULL;

	if (asprintf(&conn, "%s://default:%s@%s:%u", tls ? "rediss" : "redis", password, ip, port) < 0)
		return NULL;
	return conn;
}

void launch_print_droplet(const struct launch_options *o, const struct launch_shown *sh)
{
	const struct doapi_droplet *d = sh->d;
	const char *text;

	if (o->json) {
		_cleanup_json_ json_object *j = json_object_new_object();

		json_object_object_add(j, "id", json_object_new_string(d->id));
		json_object_object_add(j, "name", json_object_new_string(d->name ? d->name : ""));
		json_object_object_add(j, "status", json_object_new_string(d->status ? d->status : ""));
		json_object_object_add(j, "public_ipv4", d->public_ipv4 ? json_object_new_string(d->public_ipv4) : NULL);
		json_object_object_add(j, "private_ipv4", d->private_ipv4 ? json_object_new_string(d->private_ipv4) : NULL);
		json_object_object_add(j, "public_ipv6", d->public_ipv6 ? json_object_new_string(d->public_ipv6) : NULL);
		if (sh->fw_id)
			json_object_object_add(j, "firewall_id", json_object_new_string(sh->fw_id));
		if (sh->volumes)
			json_object_object_add(j, "volumes", volumes_json(sh->volumes, sh->n_volumes));
		if (sh->replaced) {
			json_object_object_add(j, "replaced", json_object_new_string(sh->replaced));
			json_object_object_add(j, "downtime_seconds",
					       sh->downtime_known ? json_object_new_double(sh->downtime) : NULL);
		}
		if (sh->conn)
			json_object_object_add(j, "connection", json_object_new_string(sh->conn));
		text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		puts(text);
		if (sh->conn) {
			/* they held the password: erase json-c's copies */
			json_object *c = json_object_object_get(j, "connection");

			explicit_bzero((char *)text, strlen(text));
			explicit_bzero((char *)json_object_get_string(c), (size_t)json_object_get_string_len(c));
		}
		return;
	}
	printf("id:           %s\n", d->id);
	printf("name:         %s\n", d->name ? d->name : "");
	printf("status:       %s\n", d->status ? d->status : "");
	printf("public ipv4:  %s\n", d->public_ipv4 ? d->public_ipv4 : "-");
	printf("private ipv4: %s\n", d->private_ipv4 ? d->private_ipv4 : "-");
	if (sh->fw_id)
		printf("firewall:     %s\n", sh->fw_id);
	for (size_t i = 0; sh->volumes && i < sh->n_volumes; i++)
		printf("volume:       %s (%s, %llu GiB, %s)\n", sh->volumes[i]->name, sh->volumes[i]->id,
		       sh->volumes[i]->size_gib, sh->volumes[i]->region);
	if (sh->replaced) {
		printf("replaced:     %s\n", sh->replaced);
		if (sh->downtime_known)
			printf("downtime:     %.1f s\n", sh->downtime);
		else
			printf("downtime:     unknown (the old droplet was off already)\n");
	}
	if (sh->conn)
		printf("connection:   %s\n", sh->conn);
}

void launch_progress_show(struct launch_progress *p, const char *what, const char *id,
			  const char *status)
{
	unsigned secs = (unsigned)((backoff_now_ms() - p->t_start) / 1000);

	if (isatty(STDERR_FILENO)) {
		fprintf(stderr, "\r[%3us] %s %s: %-12s", secs, what, id, status);
		fflush(stderr);
	} else if (!p->last || strcmp(p->last, status) != 0) {
		fprintf(stderr, "[%3us] %s %s: %s\n", secs, what, id, status);
	}
	free(p->last);
	p->last = strdup(status);
}

void launch_progress_end(struct launch_progress *p)
{
	if (isatty(STDERR_FILENO) && p->last)
		fputc('\n', stderr);
	free(p->last);
	p->last = NULL;
}

void launch_progress_done(struct launch_progress *p)
{
	free(p->last);
	p->last = NULL;
}

static bool documentation_address(const char *ip)
{
	return strncmp(ip, "192.0.2.", 8) == 0 || strncmp(ip, "198.51.100.", 11) == 0 ||
	       strncmp(ip, "203.0.113.", 10) == 0;
}

int launch_probe(const char *ip, unsigned port, int timeout_ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	uint64_t end = backoff_now_ms() + timeout_ms;

	if (!ip || inet_pton(AF_INET, ip, &sa.sin_addr) != 1 || documentation_address(ip))
		return -1;
	while (backoff_now_ms() < end) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), r, e;

		if (fd < 0)
			return -1;
		r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
		if (r < 0 && errno == EINPROGRESS) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			uint64_t now = backoff_now_ms();
			socklen_t el = sizeof e;

			e = 0;
			r = poll(&pfd, 1, now < end ? (int)(end - now) : 0);
			if (r == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0)
				r = 0;
			else {
				errno = e ? e : ETIMEDOUT;
				r = -1;
			}
		}
		e = errno;
		close(fd);
		if (r == 0)
			return 1;
		if (e == ENETUNREACH || e == EHOSTUNREACH)
			return -1;
		usleep(500000);
	}
	return 0;
}
