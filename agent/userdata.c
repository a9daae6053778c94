/*
 * User data.
 *
 * MUST rules for this file:
 * - More than DOAGENT_USERDATA_MAX bytes is refused before anything is parsed.
 * - Only a document whose first line is #doagent (or a MIME part of type
 *   text/x-doagent) is ours; anything else changes nothing and says so.
 * - Every key goes through config_set(); an unknown section or key, a duplicate, a
 *   malformed line, an over-long line or a NUL byte is an error naming its line.
 * - All errors are collected and the configuration is replaced only when there is
 *   none: invalid user data changes nothing.
 * - No message quotes a value: it may be a password or a private key.
 */
#include "autoconfig.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "doagent.h"
#include "strutil.h"
#include "userdata.h"

struct entry {
	char *section;
	char *name;
	struct buf value;
	unsigned line;
	bool continued;		/* an indented line added to the value */
	bool comment_cut;	/* inih cut an inline comment off the value */
};

struct parser {
	struct userdata_report *rep;
	const char *p, *end;	/* what the reader has not handed to inih yet */
	unsigned line;		/* the line inih is working on */
	unsigned line_base;	/* added to line in messages */
	bool indented;		/* the current line starts with a blank */
	bool line_refused;	/* the reader reported the current line itself */
	bool comment;		/* the current line has an inline comment */
	bool broken_section;	/* after a malformed [header]: ignore keys until the next */
	struct entry *entries;
	size_t n_entries;
	int error;		/* -ENOMEM seen in a callback */
};

static int report_add(struct userdata_report *rep, enum userdata_severity sev, unsigned line,
		      const char *section, const char *key, const char *suggestion,
		      const char *fmt, ...) _printf_(7, 8);

static int report_add(struct userdata_report *rep, enum userdata_severity sev, unsigned line,
		      const char *section, const char *key, const char *suggestion,
		      const char *fmt, ...)
{
	struct userdata_diag *d, *v;
	va_list ap;
	int r;

	v = realloc(rep->diags, (rep->n_diags + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	rep->diags = v;
	d = &v[rep->n_diags];
	*d = (struct userdata_diag){ .severity = sev, .line = line };
	va_start(ap, fmt);
	r = vasprintf(&d->message, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if ((section && !(d->section = strutil_quote(section, 64))) ||
	    (key && !(d->key = strutil_quote(key, 64))) ||
	    (suggestion && !(d->suggestion = strdup(suggestion)))) {
		free(d->message);
		free(d->section);
		free(d->key);
		return -ENOMEM;
	}
	rep->n_diags++;
	if (sev == USERDATA_ERROR)
		rep->n_errors++;
	return 0;
}

#define parser_error(ps, line, section, key, suggestion, ...)                                      \
	do {                                                                                       \
		if (report_add((ps)->rep, USERDATA_ERROR, (line) ? (line) + (ps)->line_base : 0,   \
			       (section), (key), (suggestion), __VA_ARGS__) < 0)                   \
			(ps)->error = -ENOMEM;                                                     \
	} while (0)

/* Look at a line before inih does: refuse what inih would silently mangle. */
static void inspect_line(struct parser *ps, const char *s, size_t len, int max)
{
	const char *t = s;
	size_t n = len;

	ps->line_refused = false;
	ps->comment = false;
	if (memchr(s, '\0', len)) {
		parser_error(ps, ps->line, NULL, NULL, NULL, "the line contains a NUL byte");
		ps->line_refused = true;
		return;
	}
	if (len + 2 > (size_t)max) {
		parser_error(ps, ps->line, NULL, NULL, NULL, "the line is longer than %d characters", max - 2);
		ps->line_refused = true;
		return;
	}
	ps->indented = len > 0 && (s[0] == ' ' || s[0] == '\t');
	while (n && (*t == ' ' || *t == '\t'))
		t++, n--;
	if (n == 0 || *t == '#' || *t == ';')
		return;
	if (*t == '[') {
		const char *close = memchr(t, ']', n);
		char name[64];

		ps->broken_section = !close;
		if (!close) {
			parser_error(ps, ps->line, NULL, NULL, NULL,
				     "a section header needs its closing ']' (the keys below it are ignored)");
			ps->line_refused = true;
			return;
		}
		if ((size_t)(close - t - 1) >= sizeof(name)) {
			parser_error(ps, ps->line, NULL, NULL, NULL, "unknown section");
			return;
		}
		memcpy(name, t + 1, (size_t)(close - t - 1));
		name[close - t - 1] = '\0';
		if (!config_section_exists(name)) {
			const char *near = config_suggest_section(name);

			parser_error(ps, ps->line, name, NULL, near, "unknown section (the sections are [redis], [tls], [firewall], [storage] and [replication])");
		}
		return;
	}
	if (!ps->indented && !memchr(t, '=', n) && !memchr(t, ':', n)) {
		parser_error(ps, ps->line, NULL, NULL, NULL, "expected 'key = value', a [section] header or a comment");
		ps->line_refused = true;
		return;
	}
	/* inih cuts a value at a ';' that follows a blank: note it, for secrets. */
	for (; n > 1; t++, n--)
		if ((t[0] == ' ' || t[0] == '\t') && t[1] == ';')
			ps->comment = true;
}

static char *reader(char *str, int num, void *stream)
{
	struct parser *ps = stream;
	const char *nl;
	size_t len, take;

	if (ps->p >= ps->end)
		return NULL;
	nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
	len = nl ? (size_t)(nl - ps->p) : (size_t)(ps->end - ps->p);
	ps->line++;
	take = len;
	if (take && ps->p[take - 1] == '\r')
		take--;
	inspect_line(ps, ps->p, take, num);
	if (ps->line_refused)
		take = 0;	/* inih sees a blank line */
	memcpy(str, ps->p, take);
	str[take] = '\n';
	str[take + 1] = '\0';
	ps->p += len + (nl ? 1 : 0);
	return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parser *ps = user;
	struct entry *last = ps->n_entries ? &ps->entries[ps->n_entries - 1] : NULL;
	struct entry *v, *e;

	if (ps->error)
		return 0;
	if (ps->broken_section)
		return 1;
	if (ps->indented && last && strcmp(last->name, name) == 0 && strcmp(last->section, section) == 0) {
		last->continued = true;
		last->comment_cut |= ps->comment;
		/* A value may also start on the line below its key. */
		if ((last->value.len && buf_putc(&last->value, '\n') < 0) || buf_puts(&last->value, value) < 0)
			ps->error = -ENOMEM;
		return 1;
	}
	v = realloc(ps->entries, (ps->n_entries + 1) * sizeof(*v));
	if (!v) {
		ps->error = -ENOMEM;
		return 0;
	}
	ps->entries = v;
	e = &v[ps->n_entries];
	*e = (struct entry){ .line = ps->line, .value = BUF_INIT, .comment_cut = ps->comment };
	e->section = strdup(section);
	e->name = strdup(name);
	if (!e->section || !e->name || buf_puts(&e->value, value) < 0) {
		free(e->section);
		free(e->name);
		buf_free(&e->value);
		ps->error = -ENOMEM;
		return 0;
	}
	ps->n_entries++;
	return 1;
}

static void apply_entry(struct parser *ps, struct config *c, const struct entry *e, size_t index)
{
	const struct config_key *k;
	_cleanup_free_ char *cause = NULL;
	size_t i;
	int r;

	if (e->section[0] == '\0') {
		parser_error(ps, e->line, NULL, e->name, NULL,
			     "key outside any section; put it under [redis], [tls], [firewall], [storage] or [replication]");
		return;
	}
	if (!config_section_exists(e->section))
		return;	/* reported with the section header */
	if (e->name[0] == '\0') {
		parser_error(ps, e->line, e->section, NULL, NULL, "a setting needs a key before its '='");
		return;
	}
	k = config_find(e->section, e->name);
	if (!k) {
		_cleanup_free_ char *near = config_suggest_key(e->section, e->name);

		parser_error(ps, e->line, e->section, e->name, near, "unknown key");
		return;
	}
	for (i = 0; i < index; i++)
		if (strcmp(ps->entries[i].section, e->section) == 0 &&
		    strcmp(ps->entries[i].name, e->name) == 0) {
			parser_error(ps, e->line, e->section, e->name, NULL,
				     "set twice (first on line %u)", ps->entries[i].line + ps->line_base);
			return;
		}
	if (e->continued && k->type != CONFIG_PEM && k->type != CONFIG_ADDRLIST) {
		parser_error(ps, e->line, e->section, e->name, NULL,
			     "an indented line below continues this value; only PEM values and address lists span lines, so remove the indentation");
		return;
	}
	if (e->comment_cut && (k->flags & CONFIG_SENSITIVE)) {
		parser_error(ps, e->line, e->section, e->name, NULL,
			     "a ';' after a blank starts a comment and would cut this value short; remove the blank before the ';'");
		return;
	}
	r = config_set(c, k, e->value.data ? e->value.data : "", &cause);
	if (r == -ENOMEM)
		ps->error = r;
	else if (r < 0)
		parser_error(ps, e->line, e->section, e->name, NULL, "%s", cause);
	else
		c->line[k - config_keys] = e->line + ps->line_base;
}

static void report_violation(enum config_key_id id, const char *message, void *userdata)
{
	struct parser *ps = userdata;

	/* The line is filled in by parse_ini, which knows where each key was set. */
	if (report_add(ps->rep, USERDATA_ERROR, 0, config_keys[id].section,
		       config_keys[id].name, NULL, "%s", message) < 0)
		ps->error = -ENOMEM;
}

static void parser_done(struct parser *ps)
{
	size_t i;

	for (i = 0; i < ps->n_entries; i++) {
		free(ps->entries[i].section);
		free(ps->entries[i].name);
		buf_free(&ps->entries[i].value);
	}
	free(ps->entries);
}

/* Stable merge sort of d[0..n) by line, tmp holding n diagnostics. */
static void sort_by_line(struct userdata_diag *d, struct userdata_diag *tmp, size_t n)
{
	size_t mid = n / 2, i = 0, j = mid, k = 0;

	if (n < 2)
		return;
	sort_by_line(d, tmp, mid);
	sort_by_line(d + mid, tmp, n - mid);
	while (i < mid && j < n)
		tmp[k++] = d[j].line < d[i].line ? d[j++] : d[i++];
	while (i < mid)
		tmp[k++] = d[i++];
	memcpy(d, tmp, k * sizeof(*d));	/* d[j..n) is in place already */
}

/* The reader reports malformed lines as inih reads them, the entries are checked
 * afterwards and the checks between keys last: put the diagnostics from first on in
 * line order. Best effort: without memory they stay in the order they were found. */
static void sort_diags(struct userdata_report *rep, size_t first)
{
	size_t n = rep->n_diags - first;
	struct userdata_diag *tmp;

	if (n < 2)
		return;
	tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return;
	sort_by_line(rep->diags + first, tmp, n);
	free(tmp);
}

/* Parse the INI document in [data, data + len) into c; line_base is added to lines. */
static int parse_ini(const char *data, size_t len, unsigned line_base, struct config *c,
		     struct userdata_report *rep)
{
	struct parser ps = { .rep = rep, .p = data, .end = data + len, .line_base = line_base };
	struct config tmp;
	size_t errors_before = rep->n_errors, diags_before = rep->n_diags, i;
	int r;

	/* User data is applied on top of the defaults, never on top of c. */
	r = config_init(&tmp);
	if (r < 0)
		return r;
	r = ini_parse_stream(reader, &ps, handler, &ps);
	if (r > 0 && !ps.error) {
		/* inih refused a line the reader let through. */
		bool known = false;

		for (i = 0; i < rep->n_diags; i++)
			if (rep->diags[i].line == (unsigned)r + line_base)
				known = true;
		if (!known)
			parser_error(&ps, (unsigned)r, NULL, NULL, NULL,
				     "expected 'key = value', a [section] header or a comment");
	} else if (r < 0 && !ps.error)
		ps.error = -ENOMEM;
	for (i = 0; i < ps.n_entries && !ps.error; i++)
		apply_entry(&ps, &tmp, &ps.entries[i], i);
	if (!ps.error && rep->n_errors == errors_before) {
		size_t first = rep->n_diags;

		config_check(&tmp, report_violation, &ps);
		/* A violation points at the line of the key it blames, if the user data set it. */
		for (i = first; i < rep->n_diags; i++) {
			const struct config_key *k = config_find(rep->diags[i].section, rep->diags[i].key);

			if (k)
				rep->diags[i].line = tmp.line[k - config_keys];
		}
	}
	sort_diags(rep, diags_before);
	r = ps.error;
	parser_done(&ps);
	if (r == 0 && rep->n_errors > errors_before)
		r = -EBADMSG;
	if (r < 0) {
		config_done(&tmp);
		return r;
	}
	config_done(c);
	*c = tmp;
	return 0;
}

/* The text after "#doagent" on the first line may only be blanks. */
static bool is_doagent_header(const char *data, size_t len)
{
	static const char tag[] = "#doagent";
	size_t i;

	if (len < sizeof(tag) - 1 || memcmp(data, tag, sizeof(tag) - 1) != 0)
		return false;
	for (i = sizeof(tag) - 1; i < len && data[i] != '\n'; i++)
		if (data[i] != ' ' && data[i] != '\t' && data[i] != '\r')
			return false;
	return true;
}

static const char *foreign_format(const char *data, size_t len)
{
	static const struct {
		const char *prefix;
		const char *format;
	} formats[] = {
		{ "#cloud-config", "#cloud-config" },
		{ "#cloud-boothook", "a cloud-init boothook" },
		{ "#include", "a cloud-init include list" },
		{ "#!", "a script" },
		{ "\x1f\x8b", "gzip-compressed data" },
	};
	size_t i;

	for (i = 0; i < ELEMENTSOF(formats); i++)
		if (len >= strlen(formats[i].prefix) &&
		    memcmp(data, formats[i].prefix, strlen(formats[i].prefix)) == 0)
			return formats[i].format;
	return "its first line is not #doagent";
}

/* ---- MIME multipart ---- */

struct mime_part {
	const char *body;
	size_t len;
	char type[64];		/* lower-cased media type, "" when absent */
	char encoding[32];	/* lower-cased transfer encoding, "" when absent */
	unsigned body_line;	/* 1-based line of the body's first line in the document */
};

static unsigned count_lines(const char *from, const char *to)
{
	unsigned n = 0;

	for (; from < to; from++)
		if (*from == '\n')
			n++;
	return n;
}

/* The next line of [*p, end) without its line break; advances *p past it. */
static bool next_line(const char **p, const char *end, const char **ret, size_t *ret_len)
{
	const char *nl;
	size_t len;

	if (*p >= end)
		return false;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	len = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	*ret = *p;
	*ret_len = len && (*p)[len - 1] == '\r' ? len - 1 : len;
	*p += len + (nl ? 1 : 0);
	return true;
}

static void copy_lower(char *dst, size_t size, const char *s, size_t len)
{
	size_t i;

	if (len >= size)
		len = size - 1;
	for (i = 0; i < len; i++)
		dst[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	dst[len] = '\0';
}

/* Read headers until a blank line. Stores Content-Type's media type and its boundary
 * parameter, and Content-Transfer-Encoding. Folded lines are joined. */
static void parse_headers(const char **p, const char *end, char *type, size_t type_size,
			  char *boundary, size_t boundary_size, char *encoding, size_t encoding_size)
{
	const char *line;
	size_t len;
	char header[1024];
	size_t hlen = 0;
	bool more = true;

	type[0] = '\0';
	if (boundary)
		boundary[0] = '\0';
	encoding[0] = '\0';
	while (more) {
		more = next_line(p, end, &line, &len);
		if (more && len > 0 && (line[0] == ' ' || line[0] == '\t') && hlen) {
			if (hlen + len < sizeof(header)) {
				memcpy(header + hlen, line, len);
				hlen += len;
			}
			continue;
		}
		if (hlen) {
			const char *colon = memchr(header, ':', hlen);
			header[hlen] = '\0';
			if (colon) {
				size_t nlen = (size_t)(colon - header);
				const char *v = colon + 1 + strspn(colon + 1, " \t");

				if (nlen == 12 && strncasecmp(header, "content-type", 12) == 0) {
					size_t tl = strcspn(v, "; \t");
					const char *b = strcasestr(v, "boundary=");

					copy_lower(type, type_size, v, tl);
					if (boundary && b) {
						b += 9;
						if (*b == '"') {
							b++;
							snprintf(boundary, boundary_size, "%.*s",
								 (int)strcspn(b, "\""), b);
						} else
							snprintf(boundary, boundary_size, "%.*s",
								 (int)strcspn(b, "; \t"), b);
					}
				} else if (nlen == 25 && strncasecmp(header, "content-transfer-encoding", 25) == 0)
					copy_lower(encoding, encoding_size, v, strcspn(v, " \t;"));
			}
			hlen = 0;
		}
		if (!more || len == 0)
			break;
		if (len < sizeof(header)) {
			memcpy(header, line, len);
			hlen = len;
		}
	}
}

enum { MIME_NOT_MIME, MIME_NOT_OURS, MIME_FOUND };

/* Find doagent's part in a multipart message: MIME_FOUND and *ret, MIME_NOT_OURS for
 * a multipart message without one, MIME_NOT_MIME, or -EBADMSG with a diag for a
 * malformed message or two doagent parts (rep->kind set). -ENOMEM. */
static int mime_find_part(const char *data, size_t len, struct userdata_report *rep,
			  struct mime_part *ret)
{
	const char *p = data, *end = data + len, *line, *part_start = NULL;
	char type[64], boundary[200], encoding[32], delim[210];
	size_t llen, dlen;
	bool found = false;

	parse_headers(&p, end, type, sizeof(type), boundary, sizeof(boundary), encoding, sizeof(encoding));
	if (strncmp(type, "multipart/", 10) != 0)
		return MIME_NOT_MIME;
	if (!boundary[0]) {
		rep->kind = USERDATA_FOREIGN;
		rep->format = "a MIME multipart message without a boundary";
		if (report_add(rep, USERDATA_ERROR, 1, NULL, NULL, NULL, "MIME multipart user data without a boundary") < 0)
			return -ENOMEM;
		return -EBADMSG;
	}
	dlen = (size_t)snprintf(delim, sizeof(delim), "--%s", boundary);
	for (;;) {
		const char *line_start = p;
		bool more = next_line(&p, end, &line, &llen);
		bool is_delim = more && llen >= dlen && memcmp(line, delim, dlen) == 0;

		if (part_start && (is_delim || !more)) {
			struct mime_part part = { 0 };
			const char *q = part_start;
			const char *body_end = line_start;

			parse_headers(&q, body_end, part.type, sizeof(part.type), NULL, 0,
				      part.encoding, sizeof(part.encoding));
			/* The line break before a delimiter belongs to the delimiter. */
			if (body_end > q && body_end[-1] == '\n')
				body_end--;
			if (body_end > q && body_end[-1] == '\r')
				body_end--;
			part.body = q;
			part.len = body_end > q ? (size_t)(body_end - q) : 0;
			part.body_line = 1 + count_lines(data, q);
			if (strcmp(part.type, "text/x-doagent") == 0 ||
			    (part.encoding[0] == '\0' && is_doagent_header(part.body, part.len)) ||
			    (strcmp(part.encoding, "7bit") == 0 && is_doagent_header(part.body, part.len)) ||
			    (strcmp(part.encoding, "8bit") == 0 && is_doagent_header(part.body, part.len))) {
				if (found) {
					rep->kind = USERDATA_DOAGENT;
					if (report_add(rep, USERDATA_ERROR, part.body_line, NULL, NULL, NULL,
						       "a second doagent part in the MIME message; keep one") < 0)
						return -ENOMEM;
					return -EBADMSG;
				}
				*ret = part;
				found = true;
			}
		}
		if (!more)
			break;
		if (is_delim) {
			if (llen >= dlen + 2 && line[dlen] == '-' && line[dlen + 1] == '-')
				break;
			part_start = p;
		}
	}
	return found ? MIME_FOUND : MIME_NOT_OURS;
}

static int base64_decode(const char *s, size_t len, struct buf *out)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned acc = 0, bits = 0;
	bool padding = false;
	size_t i;
	int r;

	for (i = 0; i < len; i++) {
		const char *pos;

		if (s[i] == '\n' || s[i] == '\r' || s[i] == ' ' || s[i] == '\t')
			continue;
		if (s[i] == '=') {
			padding = true;
			continue;
		}
		pos = s[i] ? strchr(alphabet, s[i]) : NULL;
		if (!pos || padding)
			return -EBADMSG;
		acc = (acc << 6) | (unsigned)(pos - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			r = buf_putc(out, (char)((acc >> bits) & 0xff));
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int parse_part(const struct mime_part *part, struct config *c, struct userdata_report *rep)
{
	_cleanup_buf_ struct buf decoded = BUF_INIT;
	const char *body = part->body;
	size_t len = part->len;
	unsigned base = part->body_line - 1;
	int r;

	if (strcmp(part->encoding, "base64") == 0) {
		r = base64_decode(part->body, part->len, &decoded);
		if (r == -EBADMSG) {
			report_add(rep, USERDATA_ERROR, part->body_line, NULL, NULL, NULL,
				   "the doagent part is not valid base64");
			return r;
		}
		if (r < 0)
			return r;
		body = decoded.data ? decoded.data : "";
		len = decoded.len;
		base = 0;
		rep->in_part = true;
	} else if (part->encoding[0] && strcmp(part->encoding, "7bit") != 0 &&
		   strcmp(part->encoding, "8bit") != 0) {
		report_add(rep, USERDATA_ERROR, part->body_line, NULL, NULL, NULL,
			   "the doagent part's Content-Transfer-Encoding is not 7bit, 8bit or base64");
		return -EBADMSG;
	}
	return parse_ini(body, len, base, c, rep);
}

/* Only blanks and line breaks in [s, s + len). */
static bool is_blank(const char *s, size_t len)
{
	for (; len > 0; s++, len--)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return false;
	return true;
}

int userdata_parse(const char *data, size_t len, struct config *c, struct userdata_report *rep)
{
	struct mime_part part;
	size_t skip = 0;
	int r;

	*rep = (struct userdata_report){ 0 };
	if (len > DOAGENT_USERDATA_MAX) {
		r = report_add(rep, USERDATA_ERROR, 0, NULL, NULL, NULL,
			       "user data is %zu bytes; the limit is %d bytes (64 KiB)", len,
			       DOAGENT_USERDATA_MAX);
		return r < 0 ? r : -E2BIG;
	}
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		skip = 3;	/* a UTF-8 byte order mark */
	if (is_blank(data + skip, len - skip)) {
		rep->kind = USERDATA_ABSENT;
		return report_add(rep, USERDATA_NOTICE, 0, NULL, NULL, NULL,
				  "no user data; the defaults apply");
	}
	data += skip;
	len -= skip;
	if (is_doagent_header(data, len)) {
		rep->kind = USERDATA_DOAGENT;
		return parse_ini(data, len, 0, c, rep);
	}
	if (len > 9 && memcmp(data, "#doagent", 8) == 0 && (data[8] == ' ' || data[8] == '\t')) {
		rep->kind = USERDATA_DOAGENT;
		r = report_add(rep, USERDATA_ERROR, 1, NULL, NULL, NULL,
			       "the first line must be #doagent alone, with nothing after it");
		return r < 0 ? r : -EBADMSG;
	}
	r = mime_find_part(data, len, rep, &part);
	if (r < 0)
		return r;
	if (r == MIME_FOUND) {
		rep->kind = USERDATA_DOAGENT;
		return parse_part(&part, c, rep);
	}
	rep->kind = USERDATA_FOREIGN;
	rep->format = r == MIME_NOT_OURS ? "a MIME multipart message without a doagent part"
					 : foreign_format(data, len);
	return report_add(rep, USERDATA_NOTICE, 0, NULL, NULL, NULL,
			  "the user data is not doagent's (%s); the defaults apply", rep->format);
}

char *userdata_diag_format(const struct userdata_report *rep, const struct userdata_diag *d)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	int r = 0;

	if (d->line)
		r = buf_printf(&b, "line %u%s: ", d->line, rep->in_part ? " of the doagent part" : "");
	if (r >= 0 && d->section && d->key)
		r = buf_printf(&b, "[%s] %s: ", d->section, d->key);
	else if (r >= 0 && d->section)
		r = buf_printf(&b, "[%s]: ", d->section);
	else if (r >= 0 && d->key)
		r = buf_printf(&b, "%s: ", d->key);
	if (r >= 0)
		r = buf_puts(&b, d->message);
	if (r >= 0 && d->suggestion)
		r = buf_printf(&b, d->key ? "; did you mean '%s'?" : "; did you mean [%s]?", d->suggestion);
	if (r < 0)
		return NULL;
	return buf_steal(&b, NULL);
}

void userdata_report_done(struct userdata_report *rep)
{
	size_t i;

	for (i = 0; i < rep->n_diags; i++) {
		free(rep->diags[i].section);
		free(rep->diags[i].key);
		free(rep->diags[i].message);
		free(rep->diags[i].suggestion);
	}
	free(rep->diags);
	*rep = (struct userdata_report){ 0 };
}
