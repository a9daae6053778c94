/* NULL-terminated arrays of malloc'd strings. */
#ifndef DOAGENT_STRV_H
#define DOAGENT_STRV_H

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

size_t strv_length(char *const *l);
/* Append a copy of s (strv_extendf: a formatted string). *l may be NULL.
 * Return 0 or -ENOMEM (the list is unchanged). */
int strv_extend(char ***l, const char *s);
int strv_extendf(char ***l, const char *fmt, ...) _printf_(2, 3);
bool strv_contains(char *const *l, const char *s);
/* The items joined with sep between them: a malloc'd string ("" for an empty or NULL
 * list), or NULL on ENOMEM. */
char *strv_join(char *const *l, const char *sep);
/* Accepts NULL. */
void strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free)
#define _cleanup_strv_ _cleanup_(strv_freep)

#endif
