/* Checking a node from here, and judging a group: see nodecheck.h for the rules. */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "buf.h"
#include "macro.h"
#include "nodecheck.h"
#include "resp.h"
#include "strutil.h"
#include "strv.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(SSL_CTX *, SSL_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free)

struct conn {
	int fd;
	SSL *ssl;
	char *buf;
	size_t len, cap;
};

static void conn_done(struct conn *c)
{
	if (c->ssl) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	*c = (struct conn){ .fd = -1 };
}

static _printf_(2, 3) void set_error(struct nodecheck_node *n, const char *fmt, ...)
{
	va_list ap;

	free(n->error);
	va_start(ap, fmt);
	if (vasprintf(&n->error, fmt, ap) < 0)
		n->error = NULL;
	va_end(ap);
}

static bool documentation_address(const char *ip)
{
	return strncmp(ip, "192.0.2.", 8) == 0 || strncmp(ip, "198.51.100.", 11) == 0 ||
	       strncmp(ip, "203.0.113.", 10) == 0;
}

/* A TCP connection to ip:port within timeout_ms, then blocking with that timeout on each
 * read and write. 0 with *ret_fd, or a negative errno. */
static int tcp_connect(const char *ip, unsigned port, int timeout_ms, int *ret_fd)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	struct pollfd pfd;
	_cleanup_close_ int fd = -1;
	socklen_t el = sizeof(int);
	int e = 0, r;

	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		do
			r = poll(&pfd, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			return -errno;
		if (e)
			return -e;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static const char *errno_text(int r)
{
	return r == -ETIMEDOUT || r == -EAGAIN ? "no answer (timed out)" : strerror(-r);
}

/* The public address when it takes a connection, else the private one. */
static bool reach(const struct nodecheck_target *t, struct nodecheck_node *n, struct conn *c)
{
	_cleanup_buf_ struct buf why = BUF_INIT;
	const char *addrs[2] = { t->public_ipv4, t->private_ipv4 };
	static const char *const kind[2] = { "public", "private" };

	for (int i = 0; i < 2; i++) {
		int r;

		if (!addrs[i])
			continue;
		if (documentation_address(addrs[i])) {
			buf_printf(&why, "%s%s %s: a documentation address, not tried", why.len ? "; " : "",
				   kind[i], addrs[i]);
			continue;
		}
		r = tcp_connect(addrs[i], t->port, t->timeout_ms, &c->fd);
		if (r == 0) {
			snprintf(n->address, sizeof n->address, "%s", addrs[i]);
			n->via_private = i == 1;
			return true;
		}
		buf_printf(&why, "%s%s %s:%u: %s", why.len ? "; " : "", kind[i], addrs[i], t->port, errno_text(r));
	}
	set_error(n, "unreachable: %s", why.len ? why.data : "no address");
	return false;
}

static void fingerprint(X509 *x, char out[96])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	out[0] = '\0';
	if (!X509_digest(x, EVP_sha256(), md, &len) || len != 32)
		return;
	for (unsigned i = 0; i < len; i++)
		snprintf(out + 3 * i, 4, i + 1 < len ? "%02X:" : "%02X", md[i]);
}

/* Trust exactly the certificates of pem: a group's one self-signed certificate is its
 * own trust anchor (X509_V_FLAG_PARTIAL_CHAIN also lets a CA-issued leaf be one). */
static int trust(SSL_CTX *ctx, const char *pem)
{
	_cleanup_(BIO_freep) BIO *bio = BIO_new_mem_buf(pem, -1);
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	int n = 0;

	if (!bio)
		return -ENOMEM;
	for (;;) {
		_cleanup_(X509_freep) X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

		if (!x)
			break;
		if (X509_STORE_add_cert(store, x) != 1)
			return -EINVAL;
		n++;
	}
	ERR_clear_error();
	if (n == 0)
		return -EINVAL;
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return 0;
}

static bool handshake(const struct nodecheck_target *t, struct nodecheck_node *n, struct conn *c)
{
	_cleanup_(SSL_CTX_freep) SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	_cleanup_(X509_freep) X509 *peer = NULL;
	char text[256];
	long v;

	ERR_clear_error();
	if (!ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		set_error(n, "TLS: out of memory");
		return false;
	}
	if (t->ca_pem && trust(ctx, t->ca_pem) < 0) {
		set_error(n, "TLS: the group's certificate cannot be read");
		return false;
	}
	c->ssl = SSL_new(ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) {
		set_error(n, "TLS: out of memory");
		return false;
	}
	errno = 0;
	if (SSL_connect(c->ssl) != 1) {
		v = SSL_get_verify_result(c->ssl);
		if (t->ca_pem && v != X509_V_OK)
			set_error(n, "TLS: the certificate shown is not the group's (%s)", X509_verify_cert_error_string(v));
		else {
			unsigned long e = ERR_peek_last_error();

			if (e)
				ERR_error_string_n(e, text, sizeof text);
			set_error(n, "TLS: no handshake (%s)", e ? text : errno ? strerror(errno) : "the connection was closed");
		}
		ERR_clear_error();
		SSL_free(c->ssl);
		c->ssl = NULL;
		return false;
	}
	n->verified = t->ca_pem && SSL_get_verify_result(c->ssl) == X509_V_OK;
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	peer = SSL_get1_peer_certificate(c->ssl);
#else
	peer = SSL_get_peer_certificate(c->ssl);
#endif
	if (peer)
		fingerprint(peer, n->fingerprint);
	return true;
}

static int conn_write(struct conn *c, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t k;

		if (c->ssl) {
			int w;

			errno = 0;
			w = SSL_write(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);

			if (w <= 0) {
				ERR_clear_error();
				return errno ? -errno : -EIO;
			}
			k = w;
		} else {
			k = send(c->fd, p, len, MSG_NOSIGNAL);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return -errno;
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

/* More bytes into c->buf: 0, -ECONNRESET when the peer closed, or a negative errno. */
static int conn_fill(struct conn *c)
{
	ssize_t k;

	if (c->cap - c->len < 4096) {
		size_t cap = c->cap ? c->cap * 2 : 16384;
		char *b;

		if (cap > NODECHECK_REPLY_MAX)
			cap = NODECHECK_REPLY_MAX;
		if (cap <= c->len)
			return -E2BIG;
		b = realloc(c->buf, cap);
		if (!b)
			return -ENOMEM;
		c->buf = b;
		c->cap = cap;
	}
	errno = 0;
	if (c->ssl) {
		int r = SSL_read(c->ssl, c->buf + c->len, (int)(c->cap - c->len));

		if (r <= 0) {
			int e = SSL_get_error(c->ssl, r);

			ERR_clear_error();
			if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0))
				return -ECONNRESET;
			return errno ? -errno : -EIO;
		}
		k = r;
	} else {
		do
			k = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		while (k < 0 && errno == EINTR);
		if (k < 0)
			return -errno;
		if (k == 0)
			return -ECONNRESET;
	}
	c->len += (size_t)k;
	return 0;
}

/* One reply. 0 or a negative errno. */
static int conn_reply(struct conn *c, struct resp_reply *ret)
{
	for (;;) {
		long k = resp_parse(c->buf, c->len, ret);
		int r;

		if (k < 0)
			return -EBADMSG;
		if (k > 0) {
			memmove(c->buf, c->buf + k, c->len - (size_t)k);
			c->len -= (size_t)k;
			return 0;
		}
		if ((r = conn_fill(c)) < 0)
			return r;
	}
}

/* Send a command (each argument a bulk string). */
static int command(struct conn *c, size_t argc, const char *const *argv)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	int r = buf_printf(&b, "*%zu\r\n", argc);

	for (size_t i = 0; r >= 0 && i < argc; i++)
		r = buf_printf(&b, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
	if (r >= 0)
		r = conn_write(c, b.data, b.len);
	if (b.data)
		explicit_bzero(b.data, b.len);
	return r < 0 ? r : 0;
}

static const char *reply_text(int r)
{
	return r == -ECONNRESET ? "the connection was closed" : r == -EBADMSG ? "not Redis' protocol" :
	       errno_text(r);
}

/* A request whose reply must be a simple string want (NULL: any) or, with ret_text, a
 * bulk string. */
static bool ask(struct conn *c, struct nodecheck_node *n, const char *what, size_t argc,
		const char *const *argv, const char *want, char **ret_text)
{
	struct resp_reply r = { 0 };
	int k = command(c, argc, argv);

	if (k == 0)
		k = conn_reply(c, &r);
	if (k < 0) {
		set_error(n, "%s: %s", what, reply_text(k));
		return false;
	}
	if (r.kind == RESP_ERROR) {
		/* Redis' first word (WRONGPASS, NOAUTH, LOADING, ...), never its text. */
		size_t w = strcspn(r.text, " ");

		set_error(n, "%s: Redis answered %.*s", what, (int)(w > 32 ? 32 : w), r.text);
		resp_reply_done(&r);
		return false;
	}
	if ((ret_text && r.kind != RESP_BULK) || (!ret_text && (r.kind != RESP_SIMPLE || (want && strcmp(r.text, want) != 0)))) {
		set_error(n, "%s: an answer that is not Redis'", what);
		resp_reply_done(&r);
		return false;
	}
	if (ret_text)
		*ret_text = TAKE_PTR(r.text);
	resp_reply_done(&r);
	return true;
}

/* INFO with HEALTH_INFO_SECTIONS into n->health, judged as doagent --status judges it. */
static bool info(struct conn *c, const struct nodecheck_target *t, struct nodecheck_node *n)
{
	_cleanup_free_ char *sections = strdup(HEALTH_INFO_SECTIONS), *text = NULL, *cause = NULL;
	const char *argv[RESP_INFO_ARGV_MAX];
	struct health_info h;
	size_t argc;
	int r;

	if (!sections || resp_info_argv(sections, argv, &argc, &cause) < 0) {
		set_error(n, "INFO: %s", cause ? cause : "out of memory");
		return false;
	}
	if (!ask(c, n, "INFO", argc, argv, NULL, &text))
		return false;
	r = health_parse_info(text, &h, &cause);
	if (r < 0) {
		/* the cause names a line and a field, never a value */
		set_error(n, "INFO: %s", r == -ENOMEM ? "out of memory" : cause ? cause : "not of Redis' form");
		return false;
	}
	h.min_replicas_to_write = t->min_replicas_to_write;
	health_info_done(&n->health.info);
	n->health.info = h;
	n->health.answered = true;
	if (health_judge_report(&n->health) < 0) {
		set_error(n, "INFO: out of memory");
		return false;
	}
	return true;
}

enum nodecheck_step nodecheck_run(const struct nodecheck_target *t, struct nodecheck_node *n)
{
	struct conn c = { .fd = -1 };
	const char *auth[] = { "AUTH", "default", t->password };
	static const char *const ping[] = { "PING" };

	*n = (struct nodecheck_node){ .step = NODECHECK_TCP };
	if (!reach(t, n, &c))
		goto out;
	n->step = NODECHECK_TLS;
	if (t->tls && !handshake(t, n, &c))
		goto out;
	n->step = NODECHECK_AUTH;
	if (!t->password) {
		set_error(n, "not asked: no password");
		goto out;
	}
	if (!ask(&c, n, "AUTH", 3, auth, "OK", NULL))
		goto out;
	n->step = NODECHECK_PING;
	if (!ask(&c, n, "PING", 1, ping, "PONG", NULL))
		goto out;
	n->step = NODECHECK_INFO;
	if (!info(&c, t, n))
		goto out;
	n->step = NODECHECK_DONE;
out:
	conn_done(&c);
	if (n->step != NODECHECK_DONE) {
		health_report_done(&n->health);
		if (n->step == NODECHECK_AUTH && !t->password) {
			(void)health_unchecked(n->error ? n->error : "not asked: no password", &n->health);
			return n->step;
		}
		n->health.verdict = HEALTH_FAILING;
		(void)health_fail(&n->health, n->error ? n->error : "?", NULL);
	}
	n->health.checked = true;
	if (n->address[0] && asprintf(&n->health.address, "%s:%u", n->address, t->port) < 0)
		n->health.address = NULL;
	return n->step;
}

void nodecheck_node_done(struct nodecheck_node *n)
{
	free(n->error);
	health_report_done(&n->health);
	*n = (struct nodecheck_node){ 0 };
}

/* ---- the verdict on a group ---- */

static int note(struct nodecheck_member *m, char ***l, const char *fmt, ...) _printf_(3, 4);
static int note(struct nodecheck_member *m, char ***l, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		s = NULL;
		return -ENOMEM;
	}
	/* a member's own state, without its name */
	if (m && !m->state) {
		size_t k = strlen(m->name);

		m->state = strdup(strncmp(s, m->name, k) == 0 && strncmp(s + k, ": ", 2) == 0 ? s + k + 2 : s);
		if (!m->state)
			return -ENOMEM;
	}
	return strv_extend(l, s);
}

#define NOTE(...)                                    \
	do {                                         \
		if (note(__VA_ARGS__) < 0)           \
			goto oom;                    \
	} while (0)

static const struct health_replica *listed(const struct nodecheck_member *p, const struct nodecheck_member *m)
{
	for (size_t i = 0; i < p->node.health.info.n_replicas; i++) {
		const struct health_replica *r = &p->node.health.info.replicas[i];

		if ((m->private_ipv4 && strcmp(r->ip, m->private_ipv4) == 0) || strcmp(r->ip, m->node.address) == 0)
			return r;
	}
	return NULL;
}

static bool follows(const struct nodecheck_member *m, const struct nodecheck_member *p)
{
	const char *host = m->node.health.info.master_host;

	return host && ((p->private_ipv4 && strcmp(host, p->private_ipv4) == 0) || strcmp(host, p->node.address) == 0);
}

static bool done(const struct nodecheck_member *m)
{
	return m->checked && m->node.step == NODECHECK_DONE;
}

int nodecheck_judge(struct nodecheck_member *m, size_t n, size_t expected, char ***ret_problems,
		    char ***ret_warnings)
{
	_cleanup_strv_ char **problems = NULL, **warnings = NULL, **primaries = NULL;
	struct nodecheck_member *p = NULL;
	size_t answered = 0;

	for (size_t i = 0; i < n; i++) {
		m[i].lag_bytes = m[i].lag_s = -1;
		free(m[i].state);
		m[i].state = NULL;
		if (!m[i].checked)
			NOTE(&m[i], &problems, "%s: not checked: %s", m[i].name, m[i].why_not ? m[i].why_not : "?");
		else if (m[i].node.step != NODECHECK_DONE)
			NOTE(&m[i], &problems, "%s: %s", m[i].name, m[i].node.error ? m[i].node.error : "failed");
		else {
			answered++;
			if (strcmp(m[i].node.health.info.role, "master") == 0) {
				p = &m[i];
				if (strv_extend(&primaries, m[i].name) < 0)
					goto oom;
			}
		}
	}
	if (expected && n < expected)
		NOTE(NULL, &problems, "%zu of the group's %zu nodes found", n, expected);
	if (answered && !primaries)
		NOTE(NULL, &problems, "no primary: no node's INFO says role:master");
	if (strv_length(primaries) > 1) {
		_cleanup_free_ char *names = strv_join(primaries, ", ");

		if (!names)
			goto oom;
		NOTE(NULL, &problems, "%zu primaries (%s): each takes writes the other does not see", strv_length(primaries), names);
		p = NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct nodecheck_member *r = &m[i];
		const struct health_info *h = &r->node.health.info;
		const struct health_replica *e;

		if (!done(r) || strcmp(h->role, "slave") != 0)
			continue;
		if (p && !follows(r, p)) {
			NOTE(r, &problems, "%s: replicates from %s:%u, not from the primary %s", r->name, h->master_host,
			     h->master_port, p->name);
			continue;
		}
		if (strcmp(h->master_link_status, "up") != 0)
			NOTE(r, &problems, "%s: its link to its primary (%s:%u) is %s", r->name, h->master_host,
			     h->master_port, h->master_link_status);
		if (!p)
			continue;
		e = listed(p, r);
		if (!e) {
			NOTE(r, &problems, "%s: the primary %s does not list it among its replicas", r->name, p->name);
			continue;
		}
		r->lag_s = e->lag;
		if (p->node.health.info.master_repl_offset >= 0 && e->offset >= 0)
			r->lag_bytes = p->node.health.info.master_repl_offset > e->offset
					       ? p->node.health.info.master_repl_offset - e->offset
					       : 0;
		if (strcmp(e->state, "online") != 0)
			NOTE(r, &problems, "%s: not in sync yet (%s)", r->name, e->state);
		else if (e->lag > NODECHECK_LAG_MAX_S)
			NOTE(r, &problems, "%s: %lld s since its last acknowledgement (more than %d s)", r->name, e->lag,
			     NODECHECK_LAG_MAX_S);
	}
	/* each node's own health, as doagent --status judges it: failing reasons are
	 * problems, the others warnings */
	for (size_t i = 0; i < n; i++) {
		const struct health_report *h = &m[i].node.health;
		size_t k = 0;

		if (!done(&m[i]))
			continue;
		for (char **l = h->reasons; l && *l; l++, k++)
			NOTE(&m[i], k < h->n_failing ? &problems : &warnings, "%s: %s", m[i].name, *l);
	}
	for (size_t i = 0; i < n; i++)
		if (!m[i].state && !(m[i].state = strdup("ok")))
			goto oom;
	*ret_problems = TAKE_PTR(problems);
	*ret_warnings = TAKE_PTR(warnings);
	return 0;
oom:
	return -ENOMEM;
}
