/* doagent-userdata(5) against the key table: every row of config_keys[] is
 * documented exactly once, in its own section and in table order, as
 *
 *	.TP
 *	.B name
 *	.I "synopsis"
 *
 * with config_key_synopsis() as the synopsis; the page documents no other key and
 * states the 64 KiB limit. Inside a [section] subsection every .TP starts such an
 * entry: lists of values in the prose there use .IP. The page is $DOAGENT_MANPAGE, or else
 * $top_srcdir/man/doagent-userdata.5 (top_srcdir defaults to "."). The checker is
 * also run on broken copies of the page, each of which it must refuse.
 *
 * The page's EVICTION POLICIES section holds one tbl table with a row for each of
 * Redis 7's 8 policies, in eviction_policies[] order, as
 *
 *	name|T{
 *	what happens once memory is full
 *	T}|T{
 *	when to choose it
 *	T}
 *
 * with the sentences of eviction.c word for word (lines joined with spaces): the
 * page says what doagent --check says. */
#include "autoconfig.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "config.h"
#include "eviction.h"
#include "fileio.h"
#include "macro.h"
#include "strv.h"

#define PAGE_MAX (1024 * 1024)

struct entry {
	char *section;
	char *name;
	char *synopsis;
	unsigned line;
};

struct page {
	struct entry *entries;
	size_t n_entries;
	char **sections;	/* the [section] subsections, in page order */
	char **problems;
};

static void page_done(struct page *p)
{
	size_t i;

	for (i = 0; i < p->n_entries; i++) {
		free(p->entries[i].section);
		free(p->entries[i].name);
		free(p->entries[i].synopsis);
	}
	free(p->entries);
	strv_free(p->sections);
	strv_free(p->problems);
	*p = (struct page){ 0 };
}

static void problem(struct page *p, const char *fmt, ...) _printf_(2, 3);

static void problem(struct page *p, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(r >= 0);
	assert_int_equal(strv_extend(&p->problems, s), 0);
}

/* The text of a roff argument: the few escapes a key or synopsis may need are
 * undone (\- \& \e \(aq); any other backslash is kept, so that it shows up as a
 * difference. */
static char *roff_text(const char *s, size_t len)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len && s[i + 1] == '-')
			assert_int_equal(buf_putc(&b, '-'), 0), i++;
		else if (s[i] == '\\' && i + 1 < len && s[i + 1] == '&')
			i++;
		else if (s[i] == '\\' && i + 1 < len && s[i + 1] == 'e')
			assert_int_equal(buf_putc(&b, '\\'), 0), i++;
		else if (s[i] == '\\' && len - i >= 4 && memcmp(s + i, "\\(aq", 4) == 0)
			assert_int_equal(buf_putc(&b, '\''), 0), i += 3;
		else
			assert_int_equal(buf_putc(&b, s[i]), 0);
	}
	return buf_steal(&b, NULL);
}

/* The argument of a macro line such as `.B name` or `.I "a b"`, or NULL when line
 * is not that macro. *quoted says whether the argument was in double quotes; a
 * doubled quote inside stands for one. */
static char *macro_arg(const char *line, const char *macro, bool *quoted)
{
	size_t n = strlen(macro);
	const char *p;

	if (strncmp(line, macro, n) != 0 || (line[n] != ' ' && line[n] != '\t' && line[n] != '\0'))
		return NULL;
	p = line + n + strspn(line + n, " \t");
	*quoted = *p == '"';
	if (*quoted) {
		_cleanup_buf_ struct buf raw = BUF_INIT;

		for (p++; *p; p++) {
			if (*p == '"' && p[1] == '"')
				p++;
			else if (*p == '"')
				break;
			assert_int_equal(buf_putc(&raw, *p), 0);
		}
		if (*p != '"' || p[1 + strspn(p + 1, " \t")] != '\0') {
			*quoted = false;	/* unbalanced, or text after the closing quote */
			return strdup(line + n + strspn(line + n, " \t"));
		}
		return roff_text(raw.data ? raw.data : "", raw.len);
	}
	n = strlen(p);
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return roff_text(p, n);
}

/* ".SS "[redis]"" gives "redis"; any other subsection title gives NULL. */
static char *key_section_title(const char *line)
{
	_cleanup_free_ char *title = NULL;
	bool quoted;
	size_t n;

	title = macro_arg(line, ".SS", &quoted);
	if (!title)
		return NULL;
	n = strlen(title);
	if (n < 2 || title[0] != '[' || title[n - 1] != ']')
		return NULL;
	return strndup(title + 1, n - 2);
}

static char **split_lines(const char *text)
{
	char **lines = NULL;
	const char *p = text;

	while (*p) {
		size_t n = strcspn(p, "\n");
		_cleanup_free_ char *line = strndup(p, n);

		assert_non_null(line);
		assert_int_equal(strv_extend(&lines, line), 0);
		p += n + (p[n] == '\n');
	}
	return lines;
}

/* Collect the [section] subsections and their .TP/.B/.I entries. */
static void page_parse(const char *text, struct page *p)
{
	_cleanup_strv_ char **lines = split_lines(text);
	_cleanup_free_ char *section = NULL;	/* the key section we are in, or NULL */
	size_t i, n = strv_length(lines);

	for (i = 0; i < n; i++) {
		const char *l = lines[i];
		_cleanup_free_ char *name = NULL, *synopsis = NULL;
		struct entry *v;
		bool quoted;

		if (strncmp(l, ".SH", 3) == 0 && (l[3] == ' ' || l[3] == '\0')) {
			free(section);
			section = NULL;
			continue;
		}
		if (strncmp(l, ".SS", 3) == 0 && (l[3] == ' ' || l[3] == '\0')) {
			free(section);
			section = key_section_title(l);
			if (section) {
				if (!config_section_exists(section))
					problem(p, "line %zu: section [%s] is not in the key table", i + 1, section);
				assert_int_equal(strv_extend(&p->sections, section), 0);
			}
			continue;
		}
		if (!section || strncmp(l, ".TP", 3) != 0 || (l[3] != ' ' && l[3] != '\0'))
			continue;

		/* .TP, then .B name, then .I "synopsis" */
		if (i + 2 >= n || !(name = macro_arg(lines[i + 1], ".B", &quoted))) {
			problem(p, "line %zu: in [%s], .TP is not followed by '.B name'", i + 2, section);
			continue;
		}
		if (!(synopsis = macro_arg(lines[i + 2], ".I", &quoted)) || !quoted) {
			problem(p, "line %zu: [%s] %s: expected '.I \"synopsis\"' (one quoted argument)",
				i + 3, section, name);
			continue;
		}
		v = realloc(p->entries, (p->n_entries + 1) * sizeof(*v));
		assert_non_null(v);
		p->entries = v;
		v[p->n_entries++] = (struct entry){
			.section = strdup(section),
			.name = TAKE_PTR(name),
			.synopsis = TAKE_PTR(synopsis),
			.line = (unsigned)i + 2,
		};
		i += 2;
	}
}

/* The sections of the key table, in the order of their first key. */
static char **table_sections(void)
{
	char **l = NULL;
	size_t i;

	for (i = 0; i < _CONFIG_KEY_MAX; i++)
		if (!strv_contains(l, config_keys[i].section))
			assert_int_equal(strv_extend(&l, config_keys[i].section), 0);
	return l;
}

static long table_index(const char *section, const char *name)
{
	const struct config_key *k = config_find(section, name);

	return k ? (long)(k - config_keys) : -1;
}

/* Compare the page with the table; the differences go to p->problems. */
static void page_check(const char *text, struct page *p)
{
	_cleanup_strv_ char **sections = table_sections();
	size_t i, j, n_sections = strv_length(sections), n_page = strv_length(p->sections);
	long last = -1;

	/* The sections, once each, in table order. */
	for (i = 0; i < n_page; i++)
		for (j = 0; j < i; j++)
			if (strcmp(p->sections[i], p->sections[j]) == 0)
				problem(p, "section [%s] appears more than once", p->sections[i]);
	for (i = 0; i < n_sections; i++)
		if (!strv_contains(p->sections, sections[i]))
			problem(p, "section [%s] is missing (expected .SS \"[%s]\")", sections[i], sections[i]);
	for (i = 0; i < n_page && i < n_sections; i++)
		if (strcmp(p->sections[i], sections[i]) != 0) {
			problem(p, "sections out of table order: [%s] where [%s] belongs", p->sections[i],
				sections[i]);
			break;
		}

	/* Every key of the table: once, in its section, with its synopsis. */
	for (i = 0; i < _CONFIG_KEY_MAX; i++) {
		const struct config_key *k = &config_keys[i];
		_cleanup_free_ char *synopsis = config_key_synopsis(k);
		unsigned found = 0;

		assert_non_null(synopsis);
		for (j = 0; j < p->n_entries; j++) {
			const struct entry *e = &p->entries[j];

			if (strcmp(e->name, k->name) != 0 || strcmp(e->section, k->section) != 0)
				continue;
			found++;
			if (strcmp(e->synopsis, synopsis) != 0)
				problem(p, "line %u: [%s] %s: synopsis is \"%s\"; the table says \"%s\"",
					e->line + 1, k->section, k->name, e->synopsis, synopsis);
		}
		if (found == 0)
			problem(p, "[%s] %s is not documented", k->section, k->name);
		else if (found > 1)
			problem(p, "[%s] %s is documented %u times", k->section, k->name, found);
	}

	/* Nothing the table lacks, and the keys in table order. */
	for (j = 0; j < p->n_entries; j++) {
		const struct entry *e = &p->entries[j];
		long idx = table_index(e->section, e->name);

		if (idx < 0) {
			_cleanup_buf_ struct buf where = BUF_INIT;

			for (i = 0; i < _CONFIG_KEY_MAX; i++)
				if (strcmp(config_keys[i].name, e->name) == 0)
					assert_int_equal(buf_printf(&where, " [%s]", config_keys[i].section), 0);
			if (where.len)
				problem(p, "line %u: [%s] %s: the table has this key only in%s", e->line,
					e->section, e->name, where.data);
			else
				problem(p, "line %u: [%s] %s is not in the key table", e->line, e->section,
					e->name);
			continue;
		}
		if (last >= 0 && idx < last)
			problem(p, "line %u: [%s] %s comes after [%s] %s; the table has it before", e->line,
				e->section, e->name, config_keys[last].section, config_keys[last].name);
		else
			last = idx;
	}

	if (!strstr(text, "65536") && !strstr(text, "64 KiB"))
		problem(p, "the page does not state the user-data limit (65536 bytes, 64 KiB)");
}

/* The text of a T{ ... T} block from line *i (after "T{"), lines joined with spaces,
 * up to the line that starts with "T}"; *i is left on that line. */
static char *tbl_block(char **lines, size_t n, size_t *i)
{
	_cleanup_buf_ struct buf b = BUF_INIT;

	for (; *i < n && strncmp(lines[*i], "T}", 2) != 0; (*i)++) {
		_cleanup_free_ char *t = roff_text(lines[*i], strlen(lines[*i]));

		if (b.len)
			assert_int_equal(buf_putc(&b, ' '), 0);
		assert_int_equal(buf_puts(&b, t), 0);
	}
	return *i < n ? buf_steal(&b, NULL) : NULL;
}

/* The EVICTION POLICIES table against eviction_policies[]. */
static void eviction_check(const char *text, struct page *p)
{
	_cleanup_strv_ char **lines = split_lines(text);
	size_t i, n = strv_length(lines), row = 0;
	bool in_section = false, in_table = false, format_done = false, seen_table = false;
	unsigned found[EVICTION_POLICIES] = { 0 };

	for (i = 0; i < n; i++) {
		const char *l = lines[i];
		_cleanup_free_ char *name = NULL, *full = NULL, *choose = NULL;
		const struct eviction_policy *e;
		const char *bar;

		if (strncmp(l, ".SH", 3) == 0) {
			in_section = strcmp(l, ".SH \"EVICTION POLICIES\"") == 0;
			continue;
		}
		if (!in_section)
			continue;
		if (strcmp(l, ".TS") == 0) {
			in_table = seen_table = true;
			format_done = false;
			continue;
		}
		if (strcmp(l, ".TE") == 0) {
			in_table = false;
			continue;
		}
		if (!in_table)
			continue;
		if (!format_done) {
			/* The options line and the format lines; the last ends with '.'. */
			format_done = l[0] && l[strlen(l) - 1] == '.';
			continue;
		}
		bar = strstr(l, "|T{");
		if (!bar || bar[3] != '\0')
			continue;	/* the header row */
		name = roff_text(l, (size_t)(bar - l));
		i++;
		full = tbl_block(lines, n, &i);
		if (!full || strcmp(lines[i], "T}|T{") != 0) {
			problem(p, "line %zu: the %s row is not 'name|T{', the sentence, 'T}|T{', the advice, 'T}'",
				i + 1, name);
			continue;
		}
		i++;
		choose = tbl_block(lines, n, &i);
		if (!choose || strcmp(lines[i], "T}") != 0) {
			problem(p, "line %zu: the %s row does not end with 'T}'", i + 1, name);
			continue;
		}
		e = eviction_find(name);
		if (!e) {
			problem(p, "line %zu: the eviction table has a row for %s, which Redis 7 does not have", i + 1, name);
			continue;
		}
		found[e - eviction_policies]++;
		if (e != &eviction_policies[row < EVICTION_POLICIES ? row : EVICTION_POLICIES - 1])
			problem(p, "line %zu: %s is row %zu of the eviction table; eviction.c has it as row %zu", i + 1,
				name, row + 1, (size_t)(e - eviction_policies) + 1);
		row++;
		if (strcmp(full, e->full) != 0)
			problem(p, "%s: the table says \"%s\" once memory is full; eviction.c says \"%s\"", name, full,
				e->full);
		if (strcmp(choose, e->choose) != 0)
			problem(p, "%s: the table says to choose it for \"%s\"; eviction.c says \"%s\"", name, choose,
				e->choose);
	}
	if (!seen_table)
		problem(p, "no EVICTION POLICIES section with a table (.TS ... .TE)");
	for (i = 0; i < EVICTION_POLICIES; i++)
		if (found[i] != 1)
			problem(p, "the eviction table has %u rows for %s, not one", found[i], eviction_policies[i].name);
	/* A table needs tbl: man runs it when the first line asks. */
	if (strncmp(text, "'\\\" t", 4) != 0)
		problem(p, "the page does not start with '\\\" t (the table needs tbl)");
}

/* Run the whole check on text; returns the number of problems, each in *ret. */
static size_t check_text(const char *text, char ***ret)
{
	struct page p = { 0 };
	size_t n;

	page_parse(text, &p);
	page_check(text, &p);
	eviction_check(text, &p);
	n = strv_length(p.problems);
	*ret = TAKE_PTR(p.problems);
	page_done(&p);
	return n;
}

static char *page_path(void)
{
	const char *override = getenv("DOAGENT_MANPAGE");
	const char *top = getenv("top_srcdir");
	char *path;

	if (override && *override)
		return strdup(override);
	if (asprintf(&path, "%s/man/doagent-userdata.5", top && *top ? top : ".") < 0)
		return NULL;
	return path;
}

static char *page_text;

static int load_page(void **state)
{
	_cleanup_free_ char *path = page_path();
	size_t len;
	int r;

	if (!path)
		return -1;
	r = fileio_read_file(path, PAGE_MAX, &page_text, &len);
	if (r < 0) {
		fprintf(stderr, "cannot read %s: %s\n", path, strerror(-r));
		return -1;
	}
	if (memchr(page_text, '\0', len)) {
		fprintf(stderr, "%s holds a NUL byte\n", path);
		return -1;
	}
	return 0;
}

static int free_page(void **state)
{
	free(page_text);
	page_text = NULL;
	return 0;
}

static void test_page_matches_table(void **state)
{
	_cleanup_strv_ char **problems = NULL;
	size_t n = check_text(page_text, &problems), i;

	for (i = 0; i < n; i++)
		print_error("doagent-userdata.5: %s\n", problems[i]);
	assert_int_equal(n, 0);
}

/* ---- the checker must refuse broken pages ---- */

/* text with the first occurrence of old replaced by new; fails the test when old
 * does not occur (the mutation would prove nothing). */
static char *replace_first(const char *text, const char *old, const char *new)
{
	const char *at = strstr(text, old);
	char *s;

	if (!at)
		fail_msg("the page has no \"%s\" to break", old);
	if (asprintf(&s, "%.*s%s%s", (int)(at - text), text, new, at + strlen(old)) < 0)
		return NULL;
	return s;
}

static char *replace_all(const char *text, const char *old, const char *new)
{
	char *s = strdup(text), *t;

	assert_non_null(s);
	while (strstr(s, old)) {
		t = replace_first(s, old, new);
		free(s);
		s = t;
		assert_non_null(s);
	}
	return s;
}

/* The page's ".TP\n.B name\n.I ...\n" lines for a key whose name needs no escape. */
static char *entry_lines(const char *text, const char *section, const char *name)
{
	_cleanup_free_ char *header = NULL, *head = NULL;
	const char *start, *at, *end;
	size_t i;

	assert_true(asprintf(&header, ".SS \"[%s]\"\n", section) >= 0);
	assert_true(asprintf(&head, ".TP\n.B %s\n.I ", name) >= 0);
	start = strstr(text, header);
	assert_non_null(start);
	at = strstr(start, head);
	if (!at)
		fail_msg("the page has no entry '%s' under [%s] to break", name, section);
	for (end = at, i = 0; i < 3; i++) {
		end = strchr(end, '\n');
		assert_non_null(end);
		end++;
	}
	return strndup(at, (size_t)(end - at));
}

static void expect_refused(const char *what, char *broken)
{
	_cleanup_strv_ char **problems = NULL;

	assert_non_null(broken);
	if (check_text(broken, &problems) == 0)
		fail_msg("the checker accepts a page with %s", what);
	free(broken);
}

/* replace_first(replace_first(text, a, b), c, d) */
static char *replace_two(const char *text, const char *a, const char *b, const char *c, const char *d)
{
	_cleanup_free_ char *s = replace_first(text, a, b);

	assert_non_null(s);
	return replace_first(s, c, d);
}

/* text with the subsection of section a (up to the next subsection) and that of
 * section b (up to the next section) swapped; a comes before b in text. */
static char *swap_sections(const char *text, const char *a, const char *b)
{
	_cleanup_free_ char *ha = NULL, *hb = NULL;
	const char *sa, *sb, *eb;
	char *s;

	assert_true(asprintf(&ha, ".SS \"[%s]\"\n", a) >= 0);
	assert_true(asprintf(&hb, ".SS \"[%s]\"\n", b) >= 0);
	sa = strstr(text, ha);
	sb = sa ? strstr(sa, hb) : NULL;
	eb = sb ? strstr(sb, "\n.SH ") : NULL;
	if (!eb)
		fail_msg("the page has no [%s] followed by [%s] and another section", a, b);
	eb++;
	assert_true(asprintf(&s, "%.*s%.*s%.*s%s", (int)(sa - text), text, (int)(eb - sb), sb,
			     (int)(sb - sa), sa, eb) >= 0);
	return s;
}

static void test_checker_refuses_broken_pages(void **state)
{
	_cleanup_free_ char *syn = config_key_synopsis(config_find("redis", "port"));
	_cleanup_free_ char *quoted = NULL, *stale = NULL, *unquoted = NULL, *twice = NULL,
			    *moved = NULL, *without_limit = NULL;
	_cleanup_free_ char *snapshots = entry_lines(page_text, "redis", "snapshots");
	_cleanup_free_ char *enabled = entry_lines(page_text, "tls", "enabled");

	assert_non_null(syn);
	assert_non_null(snapshots);
	assert_non_null(enabled);

	/* A stale default, and a synopsis that is not one quoted argument. */
	assert_true(asprintf(&quoted, ".I \"%s\"\n", syn) >= 0);
	stale = replace_first(quoted, "; default 6379", "; default 6378");
	expect_refused("a wrong default", replace_first(page_text, quoted, stale));
	assert_true(asprintf(&unquoted, ".I %s\n", syn) >= 0);
	expect_refused("an unquoted synopsis", replace_first(page_text, quoted, unquoted));
	expect_refused("a '.BI' line instead of '.B'",
		       replace_first(page_text, ".TP\n.B snapshots\n", ".TP\n.BI snapshots\n"));

	/* A key left out, documented twice, in another section, or out of order. */
	expect_refused("a key left out", replace_first(page_text, snapshots, ""));
	assert_true(asprintf(&twice, "%s%s", snapshots, snapshots) >= 0);
	expect_refused("a key documented twice", replace_first(page_text, snapshots, twice));
	assert_true(asprintf(&moved, ".SS \"[firewall]\"\n%s", snapshots) >= 0);
	expect_refused("a key in another section",
		       replace_two(page_text, snapshots, "", ".SS \"[firewall]\"\n", moved));
	free(moved);
	assert_true(asprintf(&moved, ".SS \"[redis]\"\n%s", snapshots) >= 0);
	expect_refused("keys out of table order",
		       replace_two(page_text, snapshots, "", ".SS \"[redis]\"\n", moved));

	/* A key the table lacks. */
	expect_refused("an unknown key",
		       replace_first(page_text, enabled, ".TP\n.B verify\n.I \"yes or no; default no\"\n"));

	/* Sections out of order, unknown, or headed in another form. */
	expect_refused("[firewall] before [tls]", swap_sections(page_text, "tls", "firewall"));
	expect_refused("an unknown section", replace_first(page_text, ".SS \"[tls]\"", ".SS \"[ssl]\""));
	expect_refused("a section headed in another form",
		       replace_first(page_text, ".SS \"[tls]\"", ".SS TLS"));

	/* The eviction table: a sentence that is not eviction.c's, a row missing, a row
	 * twice, a policy Redis does not have, rows swapped, no tbl. */
	expect_refused("an eviction sentence changed",
		       replace_first(page_text, "Redis deletes the least recently used keys to make room",
				     "Redis deletes the oldest keys to make room"));
	expect_refused("an advice changed", replace_first(page_text, "the usual cache", "the usual store"));
	expect_refused("an eviction row missing",
		       replace_first(page_text, "allkeys\\-random|T{\n", "allkeys\\-random|\n"));
	expect_refused("an eviction row for another policy",
		       replace_first(page_text, "allkeys\\-random|T{\n", "allkeys\\-ttl|T{\n"));
	expect_refused("two rows swapped", replace_two(page_text, "volatile\\-lru|T{\n", "volatile\\-XXX|T{\n",
						      "volatile\\-lfu|T{\n", "volatile\\-lru|T{\n"));
	expect_refused("no tbl line", replace_first(page_text, "'\\\" t\n", ""));

	/* No word of the size limit. */
	without_limit = replace_all(page_text, "65536", "many");
	expect_refused("no size limit", replace_all(without_limit, "64 KiB", "a lot"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_matches_table),
		cmocka_unit_test(test_checker_refuses_broken_pages),
	};

	return cmocka_run_group_tests(tests, load_page, free_page);
}
