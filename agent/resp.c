/*
 * Redis' protocol (RESP2), only as far as an authenticated PING and INFO need it.
 *
 * MUST rules for this file:
 * - The password is sent as a RESP bulk string, never on a command line; the buffer
 *   that held it is erased as soon as it is sent, and on every error path.
 * - No message built here contains the password: Redis' error text is copied into a
 *   cause only after it is checked not to contain it.
 * - Everything the peer sends is bounded: lengths are parsed strictly, a reply longer
 *   than REPLY_MAX is refused, and all of it happens under one deadline.
 */
#include "autoconfig.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "macro.h"
#include "strutil.h"
#include "resp.h"

/* Redis refuses bulk strings longer than 512 MiB (proto-max-bulk-len). */
#define BULK_MAX (512LL * 1024 * 1024)
#define ARRAY_MAX INT32_MAX
/* A simple string or an error line: Redis' are a few hundred bytes at most. */
#define LINE_MAX_LEN 65536
/* "-9223372036854775808" */
#define NUMBER_MAX_LEN 20
/* All that resp_ping reads; +OK and +PONG are 10 bytes. */
#define REPLY_MAX 65536
/* All that resp_info reads: INFO's sections are a few KiB (5 KiB on Redis 7.0 with
 * none of its 16 databases empty), a line more for each replica. */
#define INFO_MAX (1024 * 1024)
/* How much of Redis' error text goes into a cause. */
#define ERROR_TEXT_MAX 200

static bool is_number_prefix(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!(s[i] >= '0' && s[i] <= '9') && !(i == 0 && s[i] == '-'))
			return false;
	return true;
}

/* A signed decimal with nothing around it: no '+', no leading zeros, no "-0". */
static int parse_number(const char *s, size_t len, long long *ret)
{
	bool neg = len > 0 && s[0] == '-';
	unsigned long long v = 0, limit = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
	size_t i = neg ? 1 : 0;

	if (i == len || len > NUMBER_MAX_LEN || (s[i] == '0' && len > i + 1))
		return -EBADMSG;
	for (; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -EBADMSG;
		d = (unsigned)(s[i] - '0');
		if (v > (limit - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	if (neg && v == 0)
		return -EBADMSG;
	if (neg)
		*ret = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
	else
		*ret = (long long)v;
	return 0;
}

/*
 * The first line of buf (after the type byte): its length without CRLF in *ret_len.
 * Returns 1 when found, 0 when more bytes are needed, -EBADMSG when a line can not
 * follow (a bare CR or LF, or longer than max).
 */
static int find_line(const char *buf, size_t len, size_t max, size_t *ret_len)
{
	size_t i;

	for (i = 1; i < len && i - 1 <= max; i++) {
		if (buf[i] == '\n')
			return -EBADMSG;
		if (buf[i] != '\r')
			continue;
		if (i + 1 == len)
			return 0;
		if (buf[i + 1] != '\n')
			return -EBADMSG;
		*ret_len = i - 1;
		return 1;
	}
	return len - 1 > max ? -EBADMSG : 0;
}

long resp_parse(const char *buf, size_t len, struct resp_reply *ret)
{
	struct resp_reply reply = { 0 };
	size_t line_len = 0, data;
	long long n;
	bool numeric;
	int r;

	if (len == 0)
		return 0;
	switch (buf[0]) {
	case '+':
	case '-':
		numeric = false;
		break;
	case ':':
	case '$':
	case '*':
		numeric = true;
		break;
	default:
		return -EBADMSG;
	}

	r = find_line(buf, len, numeric ? NUMBER_MAX_LEN : LINE_MAX_LEN, &line_len);
	if (r < 0)
		return r;
	if (r == 0) {
		/* Say early that a number is not one, rather than wait for a line end. */
		if (numeric && !is_number_prefix(buf + 1, len - 1 - (buf[len - 1] == '\r')))
			return -EBADMSG;
		return 0;
	}
	data = 1 + line_len + 2;

	if (!numeric) {
		if (memchr(buf + 1, '\0', line_len))
			return -EBADMSG;
		reply.kind = buf[0] == '+' ? RESP_SIMPLE : RESP_ERROR;
		reply.text = strndup(buf + 1, line_len);
		if (!reply.text)
			return -ENOMEM;
		*ret = reply;
		return (long)data;
	}

	if (parse_number(buf + 1, line_len, &n) < 0)
		return -EBADMSG;
	switch (buf[0]) {
	case ':':
		reply.kind = RESP_INTEGER;
		reply.integer = n;
		break;
	case '*':
		if (n == -1)
			reply.kind = RESP_NIL;
		else if (n < 0 || n > ARRAY_MAX)
			return -EBADMSG;
		else {
			reply.kind = RESP_ARRAY;
			reply.integer = n;
		}
		break;
	case '$':
		if (n == -1) {
			reply.kind = RESP_NIL;
			break;
		}
		if (n < 0 || n > BULK_MAX)
			return -EBADMSG;
		if (len - data < (size_t)n + 2) {
			/* What has come of the terminator must be one. */
			if (len - data > (size_t)n && buf[data + n] != '\r')
				return -EBADMSG;
			return 0;
		}
		if (buf[data + n] != '\r' || buf[data + n + 1] != '\n')
			return -EBADMSG;
		reply.kind = RESP_BULK;
		reply.text = malloc((size_t)n + 1);
		if (!reply.text)
			return -ENOMEM;
		memcpy(reply.text, buf + data, (size_t)n);
		reply.text[n] = '\0';
		data += (size_t)n + 2;
		break;
	}
	*ret = reply;
	return (long)data;
}

void resp_reply_done(struct resp_reply *r)
{
	if (!r)
		return;
	free(r->text);
	r->text = NULL;
}

struct peer {
	const char *name;	/* "host:port" for messages */
	int fd;
	uint64_t deadline;	/* CLOCK_MONOTONIC, ns */
	uint64_t timeout_ms;
	size_t max;		/* bytes read in all */
	char **ret_cause;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Wait for events on the peer's socket until its deadline: 0, -ETIMEDOUT or -errno. */
static int peer_wait(struct peer *p, short events, const char *what)
{
	for (;;) {
		struct pollfd pfd = { .fd = p->fd, .events = events };
		uint64_t now = now_ns();
		uint64_t left;
		int n;

		if (now >= p->deadline)
			return strutil_cause(p->ret_cause, -ETIMEDOUT, "%s: no answer within %llu ms (%s)",
				    p->name, (unsigned long long)p->timeout_ms, what);
		left = (p->deadline - now + 999999) / 1000000;
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return strutil_cause(p->ret_cause, -errno, "%s: poll: %s", p->name, strerror(errno));
		if (n > 0)
			return 0;
	}
}

static int peer_connect(struct peer *p, const struct addrinfo *ai)
{
	int err = 0, r;
	socklen_t errlen = sizeof(err);

	p->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       ai->ai_protocol);
	if (p->fd < 0)
		return strutil_cause(p->ret_cause, -errno, "%s: socket: %s", p->name, strerror(errno));
	if (connect(p->fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return strutil_cause(p->ret_cause, -errno, "%s: connect: %s", p->name, strerror(errno));
	r = peer_wait(p, POLLOUT, "connect");
	if (r < 0)
		return r;
	if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
		return strutil_cause(p->ret_cause, -errno, "%s: getsockopt: %s", p->name, strerror(errno));
	if (err != 0)
		return strutil_cause(p->ret_cause, -err, "%s: connect: %s", p->name, strerror(err));
	return 0;
}

static int peer_send(struct peer *p, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(p->fd, data, len, MSG_NOSIGNAL);
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			r = peer_wait(p, POLLOUT, "send");
			if (r < 0)
				return r;
			continue;
		}
		if (n < 0)
			return strutil_cause(p->ret_cause, -errno, "%s: send: %s", p->name, strerror(errno));
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until in holds one whole reply after *pos; parse it into *ret and move *pos. */
static int peer_read_reply(struct peer *p, struct buf *in, size_t *pos, struct resp_reply *ret)
{
	char chunk[4096];

	for (;;) {
		long used = resp_parse(in->data ? in->data + *pos : "", in->len - *pos, ret);
		size_t want;
		ssize_t n;
		int r;

		if (used == -EBADMSG)
			return strutil_cause(p->ret_cause, -EBADMSG, "%s: the answer is not Redis' protocol",
				    p->name);
		if (used < 0)
			return strutil_cause(p->ret_cause, (int)used, "%s: %s", p->name, strerror((int)-used));
		if (used > 0) {
			*pos += (size_t)used;
			return 0;
		}
		if (in->len >= p->max)
			return strutil_cause(p->ret_cause, -EBADMSG, "%s: the answer is longer than %zu bytes",
				    p->name, p->max);
		r = peer_wait(p, POLLIN, "reading the answer");
		if (r < 0)
			return r;
		want = p->max - in->len < sizeof(chunk) ? p->max - in->len : sizeof(chunk);
		n = recv(p->fd, chunk, want, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n < 0)
			return strutil_cause(p->ret_cause, -errno, "%s: recv: %s", p->name, strerror(errno));
		if (n == 0)
			return strutil_cause(p->ret_cause, -ECONNRESET,
				    in->len > *pos ? "%s: the connection was closed in the middle of an answer"
						   : "%s: the connection was closed without an answer",
				    p->name);
		r = buf_append(in, chunk, (size_t)n);
		if (r < 0)
			return strutil_cause(p->ret_cause, r, "%s: %s", p->name, strerror(-r));
	}
}

/*
 * Redis' error text, fit for a message: printable ASCII, bounded, and withheld when it
 * contains the password (Redis never echoes it, but a peer that is not Redis might).
 */
static char *error_text(const char *text, const char *password)
{
	size_t i, n = strlen(text);
	char *s;

	if (*password && strstr(text, password))
		return strdup("(the error text is withheld: it contains the password)");
	if (n > ERROR_TEXT_MAX)
		n = ERROR_TEXT_MAX;
	s = strndup(text, n);
	if (!s)
		return NULL;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			s[i] = '?';
	return s;
}

static const char *reply_kind_name(enum resp_kind kind)
{
	switch (kind) {
	case RESP_SIMPLE:
		return "a status";
	case RESP_ERROR:
		return "an error";
	case RESP_INTEGER:
		return "an integer";
	case RESP_BULK:
		return "a bulk string";
	case RESP_NIL:
		return "nil";
	case RESP_ARRAY:
		return "an array";
	}
	return "?";
}

/* Connect p to t; p->name names it ("host:port", or the socket's path). */
static int peer_open(struct peer *p, const struct resp_target *t, uint64_t timeout_ms, size_t max,
		     char **ret_cause)
{
	const struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *ai = NULL;
	char service[16];
	char *name = NULL;
	int r;

	*p = (struct peer){ .fd = -1, .timeout_ms = timeout_ms, .max = max, .ret_cause = ret_cause };
	p->deadline = now_ns() + (timeout_ms > UINT64_MAX / 2000000 ? UINT64_MAX / 2 : timeout_ms * 1000000);
	if (t->unix_path) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		struct addrinfo un = { .ai_family = AF_UNIX, .ai_socktype = SOCK_STREAM,
				       .ai_addr = (struct sockaddr *)&sa, .ai_addrlen = sizeof(sa) };

		if (t->unix_path[0] != '/' || strlen(t->unix_path) >= sizeof(sa.sun_path))
			return strutil_cause(ret_cause, -EINVAL, "not a Unix socket's path (absolute, at most %zu bytes)",
					     sizeof(sa.sun_path) - 1);
		strcpy(sa.sun_path, t->unix_path);
		p->name = name = strdup(t->unix_path);
		if (!name)
			return strutil_cause(ret_cause, -ENOMEM, "out of memory");
		return peer_connect(p, &un);
	}
	if (!t->host || t->port == 0 || t->port > 65535)
		return strutil_cause(ret_cause, -EINVAL, "no host or port to reach Redis at");
	if (asprintf(&name, strchr(t->host, ':') ? "[%s]:%u" : "%s:%u", t->host, t->port) < 0)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	p->name = name;
	snprintf(service, sizeof(service), "%u", t->port);
	r = getaddrinfo(t->host, service, &hints, &ai);
	if (r != 0)
		return strutil_cause(ret_cause, r == EAI_MEMORY ? -ENOMEM : -EINVAL,
			    "%s: not a numeric address: %s", name, gai_strerror(r));
	r = peer_connect(p, ai);
	freeaddrinfo(ai);
	return r;
}

static void peer_close(struct peer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	free((char *)p->name);
	p->name = NULL;
}

/* A command as a RESP array of bulk strings. */
static int put_command(struct buf *b, const char *const *argv, size_t argc)
{
	size_t i;
	int r;

	r = buf_printf(b, "*%zu\r\n", argc);
	for (i = 0; r >= 0 && i < argc; i++) {
		r = buf_printf(b, "$%zu\r\n", strlen(argv[i]));
		if (r >= 0)
			r = buf_puts(b, argv[i]);
		if (r >= 0)
			r = buf_puts(b, "\r\n");
	}
	return r < 0 ? r : 0;
}

/* Read AUTH's answer: 0 for +OK, else -EACCES (refused) or -EBADMSG with a cause. */
static int read_auth(struct peer *p, struct buf *in, size_t *pos, const char *password)
{
	_cleanup_(resp_reply_done) struct resp_reply auth = { 0 };
	_cleanup_free_ char *text = NULL;
	int r;

	r = peer_read_reply(p, in, pos, &auth);
	if (r < 0)
		return r;
	if (auth.kind == RESP_ERROR) {
		text = error_text(auth.text, password);
		return strutil_cause(p->ret_cause, -EACCES, "%s: AUTH refused: %s", p->name,
				     text ? text : "(no memory)");
	}
	if (auth.kind != RESP_SIMPLE || strcmp(auth.text, "OK") != 0)
		return strutil_cause(p->ret_cause, -EBADMSG, "%s: AUTH answered %s, not +OK", p->name,
			    reply_kind_name(auth.kind));
	return 0;
}

/* AUTH default <password> (when there is one), then argv: sent in one write, and the
 * buffer that held the password erased on every path. */
static int send_commands(struct peer *p, const char *password, const char *const *argv, size_t argc)
{
	_cleanup_buf_ struct buf req = BUF_INIT;
	const char *auth[] = { "AUTH", "default", password };
	int r = 0;

	if (password)
		r = put_command(&req, auth, ELEMENTSOF(auth));
	if (r >= 0)
		r = put_command(&req, argv, argc);
	if (r < 0) {
		if (req.data)
			explicit_bzero(req.data, req.len);
		return strutil_cause(p->ret_cause, -ENOMEM, "out of memory");
	}
	r = peer_send(p, req.data, req.len);
	explicit_bzero(req.data, req.len);
	return r;
}

int resp_ping(const char *host, unsigned port, const char *password, uint64_t timeout_ms,
	      char **ret_cause)
{
	static const char *const ping[] = { "PING" };
	const struct resp_target t = { .host = host, .port = port };
	_cleanup_(resp_reply_done) struct resp_reply pong = { 0 };
	_cleanup_buf_ struct buf in = BUF_INIT;
	_cleanup_free_ char *text = NULL;
	struct peer p = { .fd = -1 };
	size_t pos = 0;
	int r;

	if (!host || !password || port == 0 || port > 65535)
		return strutil_cause(ret_cause, -EINVAL, "no host, port or password to check Redis with");
	r = peer_open(&p, &t, timeout_ms, REPLY_MAX, ret_cause);
	if (r >= 0)
		r = send_commands(&p, password, ping, ELEMENTSOF(ping));
	if (r >= 0)
		r = read_auth(&p, &in, &pos, password);
	if (r >= 0)
		r = peer_read_reply(&p, &in, &pos, &pong);
	if (r < 0)
		goto out;
	if (pong.kind == RESP_ERROR) {
		/* -LOADING, -BUSY, -MASTERDOWN: Redis is there but not ready yet. */
		text = error_text(pong.text, password);
		r = strutil_cause(ret_cause, -EAGAIN, "%s: PING refused: %s", p.name, text ? text : "(no memory)");
	} else if (pong.kind != RESP_SIMPLE || strcmp(pong.text, "PONG") != 0)
		r = strutil_cause(ret_cause, -EBADMSG, "%s: PING answered %s, not +PONG", p.name,
			    reply_kind_name(pong.kind));
out:
	peer_close(&p);
	return r;
}

/* INFO's section names: a-z only. */
static bool section_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 32)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] < 'a' || s[i] > 'z')
			return false;
	return true;
}

int resp_info_argv(char *sections, const char *argv[RESP_INFO_ARGV_MAX], size_t *ret_argc, char **ret_cause)
{
	size_t argc = 1;
	char *save = NULL, *w;

	argv[0] = "INFO";
	for (w = strtok_r(sections, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (!section_name(w, strlen(w)) || argc == RESP_INFO_ARGV_MAX)
			return strutil_cause(ret_cause, -EINVAL, "INFO sections: at most %d words of a-z",
					     RESP_INFO_ARGV_MAX - 1);
		argv[argc++] = w;
	}
	*ret_argc = argc;
	return 0;
}

int resp_info(const struct resp_target *t, const char *password, const char *sections, uint64_t timeout_ms,
	      char **ret_info, char **ret_cause)
{
	_cleanup_(resp_reply_done) struct resp_reply info = { 0 };
	_cleanup_buf_ struct buf in = BUF_INIT;
	_cleanup_free_ char *text = NULL, *copy = NULL;
	const char *argv[RESP_INFO_ARGV_MAX];
	struct peer p = { .fd = -1 };
	size_t argc, pos = 0;
	int r;

	if (!t || !sections)
		return strutil_cause(ret_cause, -EINVAL, "no Redis to ask, or no INFO sections");
	copy = strdup(sections);
	if (!copy)
		return strutil_cause(ret_cause, -ENOMEM, "out of memory");
	r = resp_info_argv(copy, argv, &argc, ret_cause);
	if (r < 0)
		return r;
	r = peer_open(&p, t, timeout_ms, INFO_MAX, ret_cause);
	if (r >= 0)
		r = send_commands(&p, password, argv, argc);
	if (r >= 0 && password)
		r = read_auth(&p, &in, &pos, password);
	if (r >= 0)
		r = peer_read_reply(&p, &in, &pos, &info);
	if (r < 0)
		goto out;
	if (info.kind == RESP_ERROR) {
		text = error_text(info.text, password ? password : "");
		r = strutil_cause(ret_cause, strncmp(info.text, "NOAUTH", 6) == 0 ? -EACCES : -EIO,
				  "%s: INFO refused: %s", p.name, text ? text : "(no memory)");
	} else if (info.kind != RESP_BULK)
		r = strutil_cause(ret_cause, -EBADMSG, "%s: INFO answered %s, not a bulk string", p.name,
				  reply_kind_name(info.kind));
	else
		*ret_info = TAKE_PTR(info.text);
out:
	peer_close(&p);
	return r;
}
