/*
 * rss-at-exit.so, an LD_PRELOAD helper for bench/run: when the process exits, it appends
 * to $RSS_AT_EXIT_FILE (else stderr) the process's peak and current resident set from
 * /proc/self/status (VmHWM, VmRSS, RssAnon, RssFile) and the resident kilobytes of each
 * mapping name from /proc/self/smaps ("[anon]" for mappings without one), largest first.
 * It tells where the peak RSS of a short-lived program goes: its own heap, or the pages
 * of the shared libraries it loads.
 *
 *   cc -O2 -shared -fPIC -o rss-at-exit.so bench/rss-at-exit.c
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 256

struct usage {
	char name[256];
	unsigned long kib;
};

static struct usage names[MAX_NAMES];
static size_t n_names;

static struct usage *lookup(const char *name)
{
	size_t i;

	for (i = 0; i < n_names; i++)
		if (strcmp(names[i].name, name) == 0)
			return &names[i];
	if (n_names == MAX_NAMES)
		return NULL;
	snprintf(names[n_names].name, sizeof(names[n_names].name), "%s", name);
	names[n_names].kib = 0;
	return &names[n_names++];
}

static int by_kib(const void *a, const void *b)
{
	const struct usage *x = a, *y = b;

	return x->kib < y->kib ? 1 : x->kib > y->kib ? -1 : 0;
}

__attribute__((destructor)) static void rss_at_exit(void)
{
	const char *path = getenv("RSS_AT_EXIT_FILE");
	FILE *out = path ? fopen(path, "a") : NULL;
	FILE *in;
	char line[512];
	struct usage *cur = NULL;
	size_t i;

	if (!out)
		out = stderr;
	in = fopen("/proc/self/status", "r");
	if (in) {
		while (fgets(line, sizeof(line), in))
			if (!strncmp(line, "VmHWM:", 6) || !strncmp(line, "VmRSS:", 6) ||
			    !strncmp(line, "RssAnon:", 8) || !strncmp(line, "RssFile:", 8))
				fprintf(out, "status %s", line);
		fclose(in);
	}
	in = fopen("/proc/self/smaps", "r");
	if (in) {
		while (fgets(line, sizeof(line), in)) {
			size_t tok = strcspn(line, " \n");
			unsigned long kib;
			char name[256] = "";

			if (tok > 0 && line[tok - 1] == ':') {
				/* A field of the current mapping: "Rss:   12 kB". */
				if (cur && sscanf(line, "Rss: %lu kB", &kib) == 1)
					cur->kib += kib;
				continue;
			}
			/* A mapping's header: "start-end perms offset dev inode [name]". */
			if (sscanf(line, "%*s %*s %*s %*s %*s %255s", name) < 1)
				name[0] = '\0';
			cur = lookup(name[0] ? name : "[anon]");
		}
		fclose(in);
		qsort(names, n_names, sizeof(names[0]), by_kib);
		for (i = 0; i < n_names; i++)
			if (names[i].kib)
				fprintf(out, "map %lu %s\n", names[i].kib, names[i].name);
	}
	if (out != stderr)
		fclose(out);
}
