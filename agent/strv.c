#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

size_t strv_length(char *const *l)
{
	size_t n = 0;

	while (l && l[n])
		n++;
	return n;
}

static int strv_push(char ***l, char *s)
{
	size_t n = strv_length(*l);
	char **v = realloc(*l, (n + 2) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	v[n] = s;
	v[n + 1] = NULL;
	*l = v;
	return 0;
}

int strv_extend(char ***l, const char *s)
{
	char *copy = strdup(s);

	if (!copy)
		return -ENOMEM;
	if (strv_push(l, copy) < 0) {
		free(copy);
		return -ENOMEM;
	}
	return 0;
}

int strv_extendf(char ***l, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if (strv_push(l, s) < 0) {
		free(s);
		return -ENOMEM;
	}
	return 0;
}

bool strv_contains(char *const *l, const char *s)
{
	for (; l && *l; l++)
		if (strcmp(*l, s) == 0)
			return true;
	return false;
}

void strv_free(char **l)
{
	char **p;

	for (p = l; p && *p; p++)
		free(*p);
	free(l);
}
