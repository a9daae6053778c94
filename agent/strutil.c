#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "strutil.h"

int strutil_parse_u64(const char *s, unsigned long long min, unsigned long long max,
		      unsigned long long *ret)
{
	unsigned long long v = 0;
	const char *p;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '0' && s[1] != '\0')
		return -EINVAL;
	for (p = s; *p; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		d = (unsigned)(*p - '0');
		if (v > (~0ULL - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

unsigned strutil_distance(const char *a, const char *b, unsigned cap)
{
	/* Optimal string alignment: insertions, deletions, substitutions and swaps of
	 * two neighbours each cost 1, so "polcy" is one edit from "policy" and "redsi"
	 * one from "redis". */
	unsigned d[65][65];
	size_t la = strlen(a), lb = strlen(b), i, j;

	if (la > 64 || lb > 64)
		return cap;
	for (i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			unsigned v = d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb] < cap ? d[la][lb] : cap;
}

const char *strutil_nearest(const char *s, const char *const *candidates)
{
	unsigned limit = (unsigned)strlen(s) / 3, best_d;
	const char *best = NULL;

	if (limit < 1)
		limit = 1;
	best_d = limit + 1;
	for (; *candidates; candidates++) {
		unsigned d = strutil_distance(s, *candidates, best_d);

		if (d < best_d) {
			best_d = d;
			best = *candidates;
		}
	}
	return best;
}

char *strutil_quote(const char *s, size_t max)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	size_t n = 0;
	int r = 0;

	for (; *s && r >= 0; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (n >= max) {
			r = buf_puts(&b, "...");
			break;
		}
		if (c < 0x20 || c >= 0x7f || c == '\\')
			r = buf_printf(&b, "\\x%02x", c);
		else
			r = buf_putc(&b, (char)c);
	}
	if (r < 0)
		return NULL;
	return buf_steal(&b, NULL);
}

int strutil_index(const char *s, const char *const *list)
{
	int i;

	for (i = 0; list[i]; i++)
		if (strcasecmp(s, list[i]) == 0)
			return i;
	return -1;
}

bool strutil_is_printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

int strutil_cause(char **ret_cause, int r, const char *fmt, ...)
{
	va_list ap;

	if (!ret_cause)
		return r;
	va_start(ap, fmt);
	if (vasprintf(ret_cause, fmt, ap) < 0)
		*ret_cause = NULL;
	va_end(ap);
	return r;
}
