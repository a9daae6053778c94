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

char *strv_join(char *const *l, const char *sep)
{
	size_t len = 1, seplen = strlen(sep), n = 0;
	char *s, *p;

	for (char *const *i = l; i && *i; i++, n++)
		len += strlen(*i) + (n ? seplen : 0);
	s = p = malloc(len);
	if (!s)
		return NULL;
	*p = '\0';
	for (n = 0; l && l[n]; n++)
		p = stpcpy(n ? stpcpy(p, sep) : p, l[n]);
	return s;
}

void strv_free(char **l)
{
	char **p;

	for (p = l; p && *p; p++)
		free(*p);
	free(l);
}
