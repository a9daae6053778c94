/* Just enough of Redis' protocol (RESP2) to check that Redis answers, and to read INFO. */
#ifndef DOAGENT_RESP_H
#define DOAGENT_RESP_H

#include <stddef.h>
#include <stdint.h>

/* A reply as RESP2 sends it; only what PING and AUTH answer matters here. */
enum resp_kind { RESP_SIMPLE, RESP_ERROR, RESP_INTEGER, RESP_BULK, RESP_NIL, RESP_ARRAY };

struct resp_reply {
	enum resp_kind kind;
	char *text;		/* SIMPLE, ERROR, BULK: malloc'd, NUL-terminated */
	long long integer;	/* INTEGER; ARRAY: its length */
};

/* Parse one reply from buf (len bytes). Returns the bytes consumed (> 0), 0 when more
 * bytes are needed, or -EBADMSG for something that is not RESP. Arrays are counted,
 * not read (PING and AUTH never answer with one). */
long resp_parse(const char *buf, size_t len, struct resp_reply *ret);

void resp_reply_done(struct resp_reply *r);

/*
 * Connect to host:port over TCP, send AUTH default <password> and PING, and check
 * the answers are +OK and +PONG, all within timeout_ms. Returns 0; -EACCES when the
 * password is refused (*ret_cause holds Redis' error text, which never includes the
 * password); -ECONNREFUSED, -ETIMEDOUT, -EBADMSG (not Redis), or -errno.
 * The password is sent as a RESP bulk string: no escaping issues, never on a command
 * line.
 */
int resp_ping(const char *host, unsigned port, const char *password, uint64_t timeout_ms,
	      char **ret_cause);

/* Where Redis listens: a numeric host and a port, or a Unix socket (unix_path set). */
struct resp_target {
	const char *host;
	unsigned port;
	const char *unix_path;
};

/*
 * Connect to t, send AUTH default <password> (none when password is NULL) and
 * INFO with sections (space-separated names of a-z, e.g. "memory stats"), all within
 * timeout_ms, and return INFO's text in *ret_info (malloc'd). The answer is bounded
 * (1 MiB). Returns 0; -EACCES when the password is refused or needed; -EIO when
 * Redis answers INFO with an error; otherwise the errors of resp_ping. *ret_cause
 * never holds the password.
 */
int resp_info(const struct resp_target *t, const char *password, const char *sections, uint64_t timeout_ms,
	      char **ret_info, char **ret_cause);

/* INFO and at most 16 sections. */
#define RESP_INFO_ARGV_MAX 17

/* The command INFO with sections: sections (space-separated names of a-z; written
 * into: the words point into it) split into argv after "INFO". 0 with *ret_argc, or
 * -EINVAL with *ret_cause when a word is not a section name or there are too many. */
int resp_info_argv(char *sections, const char *argv[RESP_INFO_ARGV_MAX], size_t *ret_argc, char **ret_cause);

#endif
