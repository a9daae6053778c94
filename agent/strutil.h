/* Small string helpers: bounded number parsing, edit distance, safe quoting for messages. */
#ifndef DOAGENT_STRUTIL_H
#define DOAGENT_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Parse s as a decimal number with nothing else around it (no sign, no spaces, no
 * leading zeros except "0"), within [min, max]. Returns 0, -EINVAL (not a number) or
 * -ERANGE (outside the bounds); *ret is set only on success. */
int strutil_parse_u64(const char *s, unsigned long long min, unsigned long long max,
		      unsigned long long *ret);

/* Edit distance (with swaps of neighbours), capped: returns cap when the distance is at least cap. */
unsigned strutil_distance(const char *a, const char *b, unsigned cap);

/* Among candidates (NULL-terminated), the one closest to s when it is close enough to
 * be a likely typo (distance <= max(1, strlen(s) / 3)), else NULL. */
const char *strutil_nearest(const char *s, const char *const *candidates);

/* A copy of s for a message: at most max bytes, non-printable bytes as \xHH, "..."
 * appended when cut. Returns a malloc'd string or NULL on ENOMEM. */
char *strutil_quote(const char *s, size_t max);

/* Case-insensitive match of s against a NULL-terminated list; index or -1. */
int strutil_index(const char *s, const char *const *list);

/* True when every byte of s is in [0x20, 0x7e]. */
bool strutil_is_printable_ascii(const char *s);

/* Set *ret_cause (when ret_cause is not NULL) to a malloc'd message (NULL when out of
 * memory) and return r: the one way library code reports why it failed. */
int strutil_cause(char **ret_cause, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
