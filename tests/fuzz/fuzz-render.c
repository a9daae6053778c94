/*
 * The template renderer, fuzzing both the template and the values.
 *
 * Input: one byte (bits 0-1: the file type, bit 2: RENDER_REDACT), then variable
 * entries each ended by a NUL byte, then an empty entry (a second NUL), then the
 * template, which runs to the end of the input. An entry is a kind letter, a name,
 * '=' and a value:
 *   s  a string        S  a sensitive string
 *   t  a bool, true    f  a bool, false (no '=' or value)
 *   l  a list item     e  an empty list (no '=' or value)
 * Every variable that doagent's own templates use is set first to a typical value;
 * an entry replaces it.
 *
 * Checks: each escaper's output reads back as exactly the value in its target's
 * syntax (redis.conf, sh single quotes, percent-encoding) or the value is refused;
 * messages are printable and do not change when the values do (so they hold none);
 * with RENDER_REDACT the output does not change when the sensitive values do.
 */
#include "autoconfig.h"

#include <errno.h>

#include "buf.h"
#include "fuzz.h"
#include "render.h"

static const char *const defaults[][2] = {
	{ "version", "0.1" }, { "droplet_id", "3164444" }, { "hostname", "cache-1" },
	{ "region", "nyc3" }, { "bind", "127.0.0.1 10.10.0.5" }, { "redis_port", "6379" },
	{ "maxmemory", "512mb" }, { "maxmemory_policy", "allkeys-lru" }, { "appendonly", "no" },
	{ "tls_port", "6380" }, { "tls_cert", "/etc/doagent/tls/cert.pem" },
	{ "tls_key", "/etc/doagent/tls/key.pem" }, { "tls_fingerprint", "AB:CD:EF" },
	{ "host", "203.0.113.7" }, { "redis_host", "10.10.0.5" }, { "ssh_port", "22" },
	{ "connection_file", "/root/redis-connection.txt" },
};
static const char *const bools[] = {
	"snapshots", "tls", "tls_self_signed", "tls_exposed", "redis_exposed",
	"metadata_root_only",
};
static const char *const lists[][2] = {
	{ "allow4", "10.0.0.0/8" }, { "allow6", "fd00::/8" }, { "ssh_allow4", "0.0.0.0/0" },
	{ "ssh_allow6", "::/0" }, { "tls_accept", "0.0.0.0:6380" },
};

struct entry {
	char kind;
	const char *name;
	const char *value;	/* NULL for t, f, e */
};

enum swap { SWAP_NONE, SWAP_ALL, SWAP_SENSITIVE };

static struct render_vars *default_vars(void)
{
	struct render_vars *v = render_vars_new();

	FUZZ_NONNULL(v);
	for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
		FUZZ_CHECK(render_vars_set(v, defaults[i][0], defaults[i][1], 0) == 0);
	FUZZ_CHECK(render_vars_set(v, "password", "correct-horse-battery-staple", RENDER_SENSITIVE) == 0);
	for (size_t i = 0; i < ELEMENTSOF(bools); i++)
		FUZZ_CHECK(render_vars_set_bool(v, bools[i], i % 2 == 0) == 0);
	for (size_t i = 0; i < ELEMENTSOF(lists); i++)
		FUZZ_CHECK(render_vars_list_add(v, lists[i][0], lists[i][1]) == 0);
	return v;
}

/* Splits "kNAME=VALUE" in place; false for an entry of no known kind. */
static bool parse_entry(char *s, struct entry *ret)
{
	char *eq = strchr(s + 1, '=');

	if (!s[0] || !strchr("sStfle", s[0]))
		return false;
	if (eq)
		*eq = '\0';
	*ret = (struct entry){ .kind = s[0], .name = s + 1, .value = eq ? eq + 1 : NULL };
	if (strchr("sSl", ret->kind) && !ret->value)
		return false;
	if (strchr("tfe", ret->kind))
		ret->value = NULL;
	return true;
}

/* A copy of s with a-z and A-Z swapped: every escaper treats it as it treats s. */
static char *swap_case(const char *s)
{
	char *t = strdup(s);

	FUZZ_NONNULL(t);
	for (char *p = t; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
		else if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return t;
}

static struct render_vars *build_vars(const struct entry *e, size_t n, enum swap swap)
{
	struct render_vars *v = default_vars();

	for (size_t i = 0; i < n; i++) {
		bool swapped = e[i].value && (swap == SWAP_ALL || (swap == SWAP_SENSITIVE && e[i].kind == 'S'));
		char *value = swapped ? swap_case(e[i].value) : (char *)e[i].value;
		int r = -EINVAL;

		switch (e[i].kind) {
		case 's':
		case 'S':
			r = render_vars_set(v, e[i].name, value, e[i].kind == 'S' ? RENDER_SENSITIVE : 0);
			break;
		case 't':
		case 'f':
			r = render_vars_set_bool(v, e[i].name, e[i].kind == 't');
			break;
		case 'l':
		case 'e':
			r = render_vars_list_add(v, e[i].name, value);
			break;
		}
		FUZZ_CHECK(r == 0 || r == -EINVAL);
		if (swapped)
			free(value);
	}
	return v;
}

struct result {
	int r;
	char *out;
	size_t len;
	char *cause;
};

static void render(const char *tmpl, size_t len, enum render_escape esc, unsigned flags,
		   const struct entry *e, size_t n, enum swap swap, struct result *ret)
{
	struct render_vars *v = build_vars(e, n, swap);

	*ret = (struct result){ 0 };
	ret->r = render_template(tmpl, len, "fuzz.tmpl", esc, v, flags, &ret->out, &ret->len,
				 &ret->cause);
	FUZZ_CHECK(ret->r == 0 || ret->r == -EINVAL);
	if (ret->r == 0) {
		FUZZ_NONNULL(ret->out);
		FUZZ_CHECK(ret->out[ret->len] == '\0');
		FUZZ_CHECK(ret->cause == NULL);
	} else {
		FUZZ_CHECK(ret->out == NULL);
		FUZZ_NONNULL(ret->cause);
		FUZZ_CHECK(fuzz_printable(ret->cause));
	}
	render_vars_free(v);
}

static void result_done(struct result *r)
{
	free(r->out);
	free(r->cause);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One argument of a redis.conf line as Redis' sdssplitargs reads it, or NULL. */
static char *redis_read(const char *s)
{
	struct buf b = BUF_INIT;

	if (*s != '"') {
		/* A bare word: no blanks, no quotes. */
		FUZZ_CHECK(*s && !strpbrk(s, " \t\r\n\"'"));
		FUZZ_CHECK(buf_puts(&b, s) >= 0);
		return buf_steal(&b, NULL);
	}
	for (s++; *s != '"'; s++) {
		char c = *s;

		FUZZ_CHECK(c != '\0');
		if (c == '\\' && s[1] == 'x' && hex_digit(s[2]) >= 0 && hex_digit(s[3]) >= 0) {
			c = (char)(hex_digit(s[2]) * 16 + hex_digit(s[3]));
			s += 3;
		} else if (c == '\\' && s[1]) {
			s++;
			c = *s == 'n' ? '\n' : *s == 'r' ? '\r' : *s == 't' ? '\t' :
			    *s == 'b' ? '\b' : *s == 'a' ? '\a' : *s;
		}
		FUZZ_CHECK(buf_putc(&b, c) >= 0);
	}
	/* The closing quote ends the argument: the line ends or a blank follows. */
	FUZZ_CHECK(s[1] == '\0');
	return buf_steal(&b, NULL);
}

/* A word of sh as the shell reads it, made of '...' and \' pieces only. */
static char *shell_read(const char *s)
{
	struct buf b = BUF_INIT;

	FUZZ_CHECK(*s == '\'');
	while (*s) {
		if (*s == '\\') {
			FUZZ_CHECK(s[1] == '\'');
			FUZZ_CHECK(buf_putc(&b, '\'') >= 0);
			s += 2;
			continue;
		}
		FUZZ_CHECK(*s == '\'');
		for (s++; *s != '\''; s++) {
			FUZZ_CHECK(*s != '\0');
			FUZZ_CHECK(buf_putc(&b, *s) >= 0);
		}
		s++;
	}
	/* buf_steal gives NULL for nothing written: the empty word. */
	return b.len ? buf_steal(&b, NULL) : strdup("");
}

static char *url_read(const char *s)
{
	struct buf b = BUF_INIT;

	for (; *s; s++) {
		char c = *s;

		if (c == '%') {
			FUZZ_CHECK(hex_digit(s[1]) >= 0 && hex_digit(s[2]) >= 0);
			c = (char)(hex_digit(s[1]) * 16 + hex_digit(s[2]));
			s += 2;
		} else
			FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				   (c >= '0' && c <= '9') || strchr("-._~", c));
		FUZZ_CHECK(buf_putc(&b, c) >= 0);
	}
	return b.len ? buf_steal(&b, NULL) : strdup("");
}

static bool word_chars(const char *s, const char *punct)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(punct, *s)))
			return false;
	return true;
}

static void check_escapes(const char *value)
{
	static const char *const filters[] = { "shell", "url" };
	char *s, *back;

	s = render_escape_value(value, RENDER_TEXT);
	FUZZ_CHECK(s ? strcmp(s, value) == 0 : errno == EINVAL);
	free(s);

	s = render_escape_value(value, RENDER_REDIS);
	FUZZ_NONNULL(s);
	back = redis_read(s);
	FUZZ_CHECK(back && strcmp(back, value) == 0);
	free(back);
	free(s);

	s = render_escape_value(value, RENDER_STUNNEL);
	FUZZ_CHECK(s ? strcmp(s, value) == 0 && word_chars(s, "._:/@*+-") : errno == EINVAL);
	free(s);

	s = render_escape_value(value, RENDER_NFT);
	FUZZ_CHECK(s ? strcmp(s, value) == 0 && word_chars(s, "._:/-") : errno == EINVAL);
	free(s);

	for (size_t i = 0; i < ELEMENTSOF(filters); i++) {
		struct render_vars *v = render_vars_new();
		char tmpl[32], *out = NULL;
		size_t len;

		FUZZ_NONNULL(v);
		FUZZ_CHECK(render_vars_set(v, "x", value, 0) == 0);
		snprintf(tmpl, sizeof tmpl, "{{x|%s}}", filters[i]);
		FUZZ_CHECK(render_template(tmpl, strlen(tmpl), "rt", RENDER_TEXT, v, 0, &out, &len,
					   NULL) == 0);
		FUZZ_CHECK(strlen(out) == len);
		back = i == 0 ? shell_read(out) : url_read(out);
		FUZZ_CHECK(back && strcmp(back, value) == 0);
		free(back);
		free(out);
		render_vars_free(v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result a, b;
	struct entry *entries;
	char *copy, *p, *end, *tmpl;
	size_t n = 0, tlen;
	enum render_escape esc;
	unsigned flags;

	if (size == 0)
		return 0;
	esc = (enum render_escape)(data[0] & 3);
	flags = data[0] & 4 ? RENDER_REDACT : 0;
	copy = malloc(size);
	FUZZ_NONNULL(copy);
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	end = copy + size - 1;
	entries = calloc(size, sizeof *entries);
	FUZZ_NONNULL(entries);
	for (p = copy; p < end && *p; p += strlen(p) + 1)
		if (parse_entry(p, &entries[n]))
			n++;
	if (p < end)
		p++;	/* the empty entry */
	else
		p = end;	/* no template */
	/* The template, in a buffer of its own size, so that reading past it is caught. */
	tlen = (size_t)(end - p);
	tmpl = malloc(tlen ? tlen : 1);
	FUZZ_NONNULL(tmpl);
	memcpy(tmpl, p, tlen);

	render(tmpl, tlen, esc, flags, entries, n, SWAP_NONE, &a);
	/* No message holds a value: with every value changed, the same message. */
	render(tmpl, tlen, esc, flags, entries, n, SWAP_ALL, &b);
	FUZZ_CHECK(a.r == b.r);
	FUZZ_CHECK(!a.cause || strcmp(a.cause, b.cause) == 0);
	FUZZ_CHECK(a.len == b.len);
	result_done(&b);
	/* Redacted output does not depend on sensitive values at all. */
	if (flags & RENDER_REDACT) {
		render(tmpl, tlen, esc, flags, entries, n, SWAP_SENSITIVE, &b);
		FUZZ_CHECK(a.r == b.r);
		FUZZ_CHECK(!a.cause || strcmp(a.cause, b.cause) == 0);
		FUZZ_CHECK(!a.out || (a.len == b.len && memcmp(a.out, b.out, a.len) == 0));
		result_done(&b);
	}
	result_done(&a);

	for (size_t i = 0; i < n; i++)
		if (entries[i].value)
			check_escapes(entries[i].value);
	free(tmpl);
	free(entries);
	free(copy);
	return 0;
}
