/* Just enough of Redis' protocol (RESP2) to check that Redis answers. */
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

#endif
