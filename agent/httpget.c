/*
 * One plain-HTTP/1.1 GET, for the metadata service.
 *
 * MUST:
 * - speak http:// only, to a numeric address or a resolvable name; refuse a URL with
 *   credentials, a space or a control character; follow no redirect;
 * - bound everything: the connect, the whole request (one deadline for connecting,
 *   sending and reading), the head (16 KiB), every chunk-size and trailer line, the
 *   body (max_body, checked against Content-Length and chunk sizes before reading);
 * - accept only a complete response: Content-Length bytes, the last chunk, or the
 *   end of the connection when the response has neither; anything else is -EPROTO;
 * - put no byte of the response in a cause (the body is user data, which may hold the
 *   Redis password or a TLS key) and erase every buffer that held one.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "backoff.h"
#include "httpget.h"
#include "macro.h"
#include "strutil.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_MAX_BODY ((size_t)1024 * 1024)
#define HEAD_MAX 16384		/* status line and headers, all of them */
#define LINE_MAX_LEN 4096	/* a chunk-size line, a trailer line */
#define TRAILERS_MAX 16384
#define INTERIM_MAX 8		/* 1xx responses before the real one */
#define USER_AGENT "doagent/" PACKAGE_VERSION

/* ---- the response parser ---- */

static int parse_error(struct httpget_parser *p, int r, const char *what)
{
	p->error = what;
	return r;
}

void httpget_parser_init(struct httpget_parser *p, size_t max_body)
{
	*p = (struct httpget_parser){
		.state = HTTPGET_HEAD,
		.max_body = max_body > 0 ? max_body : DEFAULT_MAX_BODY,
		.line = BUF_INIT,
		.body = BUF_INIT,
	};
}

void httpget_parser_done(struct httpget_parser *p)
{
	buf_free(&p->line);
	buf_free(&p->body);
}

/* Move bytes up to and including the next LF into p->line, refusing a line (or, for
 * the head, all lines) longer than max. *ret_used says how many were taken; returns 1
 * when p->line now ends with a LF, 0 when the data ran out first. */
static int take_line(struct httpget_parser *p, const char *data, size_t len, size_t max,
		     size_t *ret_used)
{
	const char *lf = memchr(data, '\n', len);
	size_t n = lf ? (size_t)(lf - data) + 1 : len;

	if (n > max - p->line.len)
		return parse_error(p, -EPROTO, p->state == HTTPGET_HEAD ?
				   "the response head is longer than 16384 bytes" :
				   "a line of the chunked body is too long");
	if (buf_append(&p->line, data, n) < 0)
		return parse_error(p, -ENOMEM, "out of memory");
	*ret_used = n;
	return lf ? 1 : 0;
}

/* The line just taken without its LF and an optional CR before it. */
static size_t line_length(const struct buf *line, size_t start)
{
	size_t end = line->len - 1;

	if (end > start && line->data[end - 1] == '\r')
		end--;
	return end - start;
}

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-.^_`|~", c);
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* What the headers say about the body. */
struct framing {
	bool has_length;
	unsigned long long length;
	bool chunked;
};

/* One "Name: value" line (len bytes, no line end). */
static int parse_header(struct httpget_parser *p, const char *s, size_t len, struct framing *f)
{
	const char *colon = memchr(s, ':', len), *v, *end = s + len;
	unsigned long long n = 0;
	size_t name_len;

	if (len > 0 && is_ows(s[0]))
		return parse_error(p, -EPROTO, "a folded header line (obsolete, refused)");
	if (!colon || colon == s)
		return parse_error(p, -EPROTO, "a header line that is not \"Name: value\"");
	name_len = (size_t)(colon - s);
	for (size_t i = 0; i < name_len; i++)
		if (!is_tchar(s[i]))
			return parse_error(p, -EPROTO, "a header name with a character HTTP does not allow");
	for (v = colon + 1; v < end && is_ows(*v); v++)
		;
	while (end > v && is_ows(end[-1]))
		end--;

	if (name_len == 14 && strncasecmp(s, "Content-Length", 14) == 0) {
		if (v == end || end - v > 19)
			return parse_error(p, -EPROTO, "a Content-Length that is not a number");
		for (const char *c = v; c < end; c++) {
			if (*c < '0' || *c > '9')
				return parse_error(p, -EPROTO, "a Content-Length that is not a number");
			n = n * 10 + (unsigned)(*c - '0');
		}
		if (f->has_length && f->length != n)
			return parse_error(p, -EPROTO, "two Content-Length headers that disagree");
		f->has_length = true;
		f->length = n;
	} else if (name_len == 17 && strncasecmp(s, "Transfer-Encoding", 17) == 0) {
		if (end - v != 7 || strncasecmp(v, "chunked", 7) != 0 || f->chunked)
			return parse_error(p, -EPROTO, "a Transfer-Encoding other than chunked");
		f->chunked = true;
	}
	return 0;
}

/* "HTTP/1.x SSS[ reason]". */
static int parse_status_line(struct httpget_parser *p, const char *s, size_t len, long *ret)
{
	if (len < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' || s[8] != ' ' ||
	    s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9' ||
	    (len > 12 && s[12] != ' '))
		return parse_error(p, -EPROTO, "the answer does not start with an HTTP/1.x status line");
	*ret = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	return 0;
}

/* The head is complete in p->line: the status, then how the body is framed. */
static int parse_head(struct httpget_parser *p)
{
	struct framing f = { 0 };
	size_t pos = 0, len;
	long status = 0;
	int r;

	if (memchr(p->line.data, '\0', p->line.len))
		return parse_error(p, -EPROTO, "a NUL byte in the response head");
	for (bool first = true;; first = false) {
		const char *s = p->line.data + pos, *lf = strchr(s, '\n');

		len = (size_t)(lf - s);
		if (len > 0 && s[len - 1] == '\r')
			len--;
		if (first)
			r = parse_status_line(p, s, len, &status);
		else if (len == 0)
			break;
		else
			r = parse_header(p, s, len, &f);
		if (r < 0)
			return r;
		pos += (size_t)(lf - s) + 1;
	}
	buf_free(&p->line);

	if (status < 200) {
		if (status == 101)
			return parse_error(p, -EPROTO, "a 101 Switching Protocols answer to a GET");
		if (++p->n_interim > INTERIM_MAX)
			return parse_error(p, -EPROTO, "too many 1xx answers");
		return 0;	/* the real response follows */
	}
	p->status = status;
	if (status == 204 || status == 304)
		p->state = HTTPGET_DONE;
	else if (f.chunked)
		p->state = HTTPGET_CHUNK_SIZE;
	else if (f.has_length) {
		if (f.length > p->max_body)
			return parse_error(p, -E2BIG, "the response body is larger than the limit");
		p->left = f.length;
		p->state = f.length > 0 ? HTTPGET_BODY_LENGTH : HTTPGET_DONE;
	} else
		p->state = HTTPGET_BODY_CLOSE;
	return 0;
}

/* Whether p->line ends with an empty line: the end of the head. */
static bool head_complete(const struct buf *line)
{
	const char *e = line->data + line->len;

	return (line->len >= 2 && e[-2] == '\n') ||
	       (line->len >= 3 && e[-3] == '\n' && e[-2] == '\r');
}

static int feed_head(struct httpget_parser *p, const char *data, size_t len, size_t *used)
{
	int r = take_line(p, data, len, HEAD_MAX, used);

	if (r <= 0)
		return r;
	if (line_length(&p->line, 0) == 0 && p->line.len <= 2)
		return parse_error(p, -EPROTO, "the answer starts with an empty line");
	return head_complete(&p->line) ? parse_head(p) : 0;
}

static int body_append(struct httpget_parser *p, const char *data, size_t n)
{
	if (n > p->max_body - p->body.len)
		return parse_error(p, -E2BIG, "the response body is larger than the limit");
	if (buf_append(&p->body, data, n) < 0)
		return parse_error(p, -ENOMEM, "out of memory");
	return 0;
}

static int feed_length(struct httpget_parser *p, const char *data, size_t len, size_t *used)
{
	size_t n = len < p->left ? len : (size_t)p->left;
	int r = body_append(p, data, n);

	if (r < 0)
		return r;
	*used = n;
	p->left -= n;
	if (p->left == 0)
		p->state = p->state == HTTPGET_CHUNK_DATA ? HTTPGET_CHUNK_END : HTTPGET_DONE;
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "HEX[ ;extensions]": the size of the next chunk. */
static int parse_chunk_size(struct httpget_parser *p, const char *s, size_t len)
{
	unsigned long long n = 0;
	size_t i = 0;

	for (; i < len && hex_value(s[i]) >= 0; i++) {
		if (n > (ULLONG_MAX >> 4))
			return parse_error(p, -EPROTO, "a chunk size that overflows");
		n = (n << 4) | (unsigned)hex_value(s[i]);
	}
	if (i == 0)
		return parse_error(p, -EPROTO, "a chunk without a hexadecimal size");
	while (i < len && is_ows(s[i]))
		i++;
	if (i < len && s[i] != ';')
		return parse_error(p, -EPROTO, "a chunk size line with text after the size");
	if (n > p->max_body - p->body.len)
		return parse_error(p, -E2BIG, "the response body is larger than the limit");
	p->left = n;
	p->state = n > 0 ? HTTPGET_CHUNK_DATA : HTTPGET_TRAILERS;
	return 0;
}

/* A chunk-size line, the line end after a chunk's data, or a trailer line. */
static int feed_chunk_line(struct httpget_parser *p, const char *data, size_t len, size_t *used)
{
	size_t n;
	int r = take_line(p, data, len, LINE_MAX_LEN, used);

	if (r <= 0)
		return r;
	n = line_length(&p->line, 0);
	switch (p->state) {
	case HTTPGET_CHUNK_SIZE:
		r = parse_chunk_size(p, p->line.data, n);
		break;
	case HTTPGET_CHUNK_END:
		if (n != 0)
			return parse_error(p, -EPROTO, "a chunk longer than its size");
		p->state = HTTPGET_CHUNK_SIZE;
		break;
	default:	/* HTTPGET_TRAILERS: ignored, up to the empty line; p->left counts them */
		p->left += p->line.len;
		if (p->left > TRAILERS_MAX)
			return parse_error(p, -EPROTO, "the trailers are longer than 16384 bytes");
		if (n == 0)
			p->state = HTTPGET_DONE;
		break;
	}
	buf_free(&p->line);
	return r;
}

int httpget_parser_feed(struct httpget_parser *p, const char *data, size_t len, size_t *ret_used)
{
	size_t pos = 0;

	if (p->error)
		return parse_error(p, -EPROTO, p->error);
	while (pos < len && p->state != HTTPGET_DONE) {
		size_t used = 0;
		int r;

		switch (p->state) {
		case HTTPGET_HEAD:
			r = feed_head(p, data + pos, len - pos, &used);
			break;
		case HTTPGET_BODY_LENGTH:
		case HTTPGET_CHUNK_DATA:
			r = feed_length(p, data + pos, len - pos, &used);
			break;
		case HTTPGET_BODY_CLOSE:
			r = body_append(p, data + pos, len - pos);
			used = len - pos;
			break;
		default:
			r = feed_chunk_line(p, data + pos, len - pos, &used);
			break;
		}
		if (r < 0)
			return r;
		pos += used;
	}
	if (ret_used)
		*ret_used = pos;
	return p->state == HTTPGET_DONE ? 1 : 0;
}

int httpget_parser_finish(struct httpget_parser *p)
{
	if (p->error)
		return -EPROTO;
	if (p->state == HTTPGET_BODY_CLOSE)
		p->state = HTTPGET_DONE;
	if (p->state == HTTPGET_DONE)
		return 1;
	if (p->state == HTTPGET_HEAD && p->line.len == 0 && p->n_interim == 0)
		return parse_error(p, -EPROTO, "the server closed the connection without an answer");
	return parse_error(p, -EPROTO, "the connection closed before the response was complete");
}

/* ---- the URL ---- */

struct url {
	char *host;		/* without brackets */
	bool literal6;		/* it had brackets: an IPv6 address, never a name */
	char port[6];
	char *authority;	/* host[:port] as written: the Host header */
	char *target;		/* path and query, at least "/" */
};

static void url_done(struct url *u)
{
	free(u->host);
	free(u->authority);
	free(u->target);
}

static int parse_url(const char *s, struct url *u, char **cause)
{
	const char *auth, *host_end, *port = NULL, *rest;
	size_t auth_len, host_len;
	unsigned long long n = 80;

	if (strncasecmp(s, "https://", 8) == 0)
		return strutil_cause(cause, -EINVAL, "https:// is not supported: the metadata service "
				     "speaks plain HTTP, and doagent's client only that");
	if (strncasecmp(s, "http://", 7) != 0)
		return strutil_cause(cause, -EINVAL, "not an http:// URL");
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return strutil_cause(cause, -EINVAL, "a space or a control character in the URL");
	auth = s + 7;
	auth_len = strcspn(auth, "/?#");
	if (memchr(auth, '@', auth_len))
		return strutil_cause(cause, -EINVAL, "credentials in the URL are not supported");
	if (auth[0] == '[') {
		const char *close = memchr(auth, ']', auth_len);

		if (!close)
			return strutil_cause(cause, -EINVAL, "a [ without its ] in the URL's host");
		host_end = close + 1;
		if (host_end < auth + auth_len && *host_end != ':')
			return strutil_cause(cause, -EINVAL, "text after the ] of the URL's host");
		u->host = strndup(auth + 1, (size_t)(close - auth - 1));
		u->literal6 = true;
		host_len = (size_t)(close - auth - 1);
	} else {
		host_end = memchr(auth, ':', auth_len);
		if (!host_end)
			host_end = auth + auth_len;
		host_len = (size_t)(host_end - auth);
		u->host = strndup(auth, host_len);
	}
	if (!u->host)
		return -ENOMEM;
	if (host_len == 0)
		return strutil_cause(cause, -EINVAL, "no host in the URL");
	if (host_end < auth + auth_len) {	/* ":port" (an empty one means 80) */
		_cleanup_free_ char *digits = strndup(host_end + 1, (size_t)(auth + auth_len - host_end - 1));

		if (!digits)
			return -ENOMEM;
		port = digits[0] ? digits : NULL;
		if (port && strutil_parse_u64(port, 1, 65535, &n) < 0)
			return strutil_cause(cause, -EINVAL, "the URL's port is not a number from 1 to 65535");
	}
	snprintf(u->port, sizeof(u->port), "%llu", n);
	u->authority = strndup(auth, auth_len);
	rest = auth + auth_len;
	if (*rest == '#')
		rest = "";
	if (asprintf(&u->target, "%s%.*s", *rest == '/' ? "" : "/", (int)strcspn(rest, "#"), rest) < 0)
		u->target = NULL;
	return u->authority && u->target ? 0 : -ENOMEM;
}

/* ---- the transfer ---- */

struct transfer {
	uint64_t deadline;		/* the whole request */
	long timeout_ms;
	int fd;
};

static int ms_until(uint64_t deadline)
{
	uint64_t now = backoff_now_ms();

	return now >= deadline ? 0 : deadline - now > INT32_MAX ? INT32_MAX : (int)(deadline - now);
}

/* Wait for events on fd until deadline: 1 when ready, 0 at the deadline, -errno. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		int left = ms_until(deadline), r;

		if (left == 0)
			return 0;
		r = poll(&pfd, 1, left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static bool is_unreachable(int e)
{
	return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EADDRNOTAVAIL ||
	       e == ENETDOWN || e == EHOSTDOWN;
}

/* Connect to one address before deadline. Returns a socket or -errno. */
static int connect_one(const struct addrinfo *ai, uint64_t deadline)
{
	_cleanup_close_ int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof(int);
	int err = 0, r;

	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return TAKE_FD(fd);
	if (errno != EINPROGRESS && errno != EINTR)
		return -errno;
	r = wait_fd(fd, POLLOUT, deadline);
	if (r <= 0)
		return r == 0 ? -ETIMEDOUT : r;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return err ? -err : TAKE_FD(fd);
}

static int resolve(const struct url *u, struct addrinfo **ret, char **cause)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	int r = getaddrinfo(u->host, u->port, &hints, ret);

	if (r == EAI_NONAME && !u->literal6) {
		hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
		r = getaddrinfo(u->host, u->port, &hints, ret);
	}
	if (r == 0)
		return 0;
	if (r == EAI_MEMORY)
		return -ENOMEM;
	if (u->literal6)
		return strutil_cause(cause, -EINVAL, "the URL's host is not an IPv6 address");
	return strutil_cause(cause, -EIO, "cannot resolve the host name: %s", gai_strerror(r));
}

static int open_connection(const struct url *u, struct transfer *t, long connect_ms, char **cause)
{
	uint64_t now = backoff_now_ms(), deadline = now + (uint64_t)connect_ms;
	struct addrinfo *list = NULL;
	int r = resolve(u, &list, cause);

	if (r < 0)
		return r;
	if (deadline > t->deadline)
		deadline = t->deadline;
	r = -EHOSTUNREACH;
	for (const struct addrinfo *ai = list; ai; ai = ai->ai_next) {
		r = connect_one(ai, deadline);
		if (r >= 0 || r == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(list);
	if (r >= 0) {
		t->fd = r;
		return 0;
	}
	if (r == -ETIMEDOUT)
		return strutil_cause(cause, r, "timed out: no connection within %" PRIu64 " ms", deadline - now);
	if (is_unreachable(-r))
		return strutil_cause(cause, -ECONNREFUSED, "cannot connect: %s", strerror(-r));
	return strutil_cause(cause, -EIO, "cannot connect: %s", strerror(-r));
}

static int timed_out(const struct transfer *t, char **cause)
{
	return strutil_cause(cause, -ETIMEDOUT, "timed out: no complete answer within %ld ms", t->timeout_ms);
}

static int send_request(struct transfer *t, const char *req, size_t len, char **cause)
{
	while (len > 0) {
		ssize_t n = send(t->fd, req, len, MSG_NOSIGNAL);

		if (n > 0) {
			req += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return strutil_cause(cause, -EIO, "cannot send the request: %s", strerror(errno));
		n = wait_fd(t->fd, POLLOUT, t->deadline);
		if (n == 0)
			return timed_out(t, cause);
		if (n < 0)
			return strutil_cause(cause, -EIO, "poll: %s", strerror((int)-n));
	}
	return 0;
}

/* Read until the parser has a whole response. */
static int receive(struct transfer *t, struct httpget_parser *p, char **cause)
{
	char chunk[8192];
	int r = 0;

	while (r == 0) {
		ssize_t n = recv(t->fd, chunk, sizeof(chunk), 0);

		if (n > 0)
			r = httpget_parser_feed(p, chunk, (size_t)n, NULL);
		else if (n == 0)
			r = httpget_parser_finish(p);
		else if (errno == ECONNRESET)
			r = parse_error(p, -EPROTO, "the server reset the connection before the response was complete");
		else if (errno != EAGAIN && errno != EINTR) {
			r = strutil_cause(cause, -EIO, "cannot read the answer: %s", strerror(errno));
			break;
		} else {
			int w = wait_fd(t->fd, POLLIN, t->deadline);

			if (w == 0)
				r = timed_out(t, cause);
			else if (w < 0)
				r = strutil_cause(cause, -EIO, "poll: %s", strerror(-w));
			if (w <= 0)
				break;
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	if (r < 0 && p->error)
		return strutil_cause(cause, r, "%s", p->error);
	return r < 0 ? r : 0;
}

int httpget(const struct httpget_request *req, struct httpget_response *ret, char **ret_cause)
{
	long connect_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	struct transfer t = {
		.timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS,
		.fd = -1,
	};
	_cleanup_(url_done) struct url u = { 0 };
	_cleanup_(httpget_parser_done) struct httpget_parser p;
	_cleanup_free_ char *request = NULL;
	char *body;
	size_t len;
	int r, n;

	httpget_parser_init(&p, req->max_body);
	t.deadline = backoff_now_ms() + (uint64_t)t.timeout_ms;
	r = parse_url(req->url, &u, ret_cause);
	if (r < 0)
		return r;
	if (req->accept && strpbrk(req->accept, "\r\n"))
		return strutil_cause(ret_cause, -EINVAL, "an Accept value with a line break");
	n = asprintf(&request, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: " USER_AGENT "\r\n%s%s%s"
		     "Connection: close\r\n\r\n", u.target, u.authority, req->accept ? "Accept: " : "",
		     req->accept ? req->accept : "", req->accept ? "\r\n" : "");
	if (n < 0) {
		request = NULL;
		return -ENOMEM;
	}

	r = open_connection(&u, &t, connect_ms, ret_cause);
	if (r < 0)
		return r;
	r = send_request(&t, request, (size_t)n, ret_cause);
	if (r == 0)
		r = receive(&t, &p, ret_cause);
	close(t.fd);
	if (r < 0)
		return r;
	body = buf_steal(&p.body, &len);
	if (!body)
		return -ENOMEM;
	*ret = (struct httpget_response){ .status = p.status, .body = body, .len = len };
	return 0;
}

void httpget_response_done(struct httpget_response *r)
{
	if (r->body) {
		explicit_bzero(r->body, r->len);
		free(r->body);
	}
	*r = (struct httpget_response){ 0 };
}
