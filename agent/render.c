#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "render.h"

/*
 * MUST rules for this file:
 * - A value reaches the output only through an escaper. An escaper writes a form
 *   that the target's parser reads back as exactly the value, or it refuses.
 * - Checks list what is allowed, never what is forbidden.
 * - No message built here holds a variable's value: values may be secrets. Messages
 *   name the template, the line and the variable, and nothing else taken from data.
 * - Every copy of a value is erased before it is freed.
 * - Output parameters are set only on success.
 */

#define RENDER_MAX_DEPTH 16
#define REDACTED "(redacted)"
#define NAME_MAX_SHOWN 64

enum var_type {
	VAR_STRING,
	VAR_BOOL,
	VAR_LIST,
};

struct var {
	char *name;
	enum var_type type;
	unsigned flags;
	char *str;
	bool b;
	char **items;
	size_t n_items;
};

struct render_vars {
	struct var *vars;
	size_t n_vars;
	size_t cap;
};

static void erase_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Frees and erases the value of v (not its name or flags); v is an empty string after. */
static void var_clear_value(struct var *v)
{
	erase_free(v->str);
	for (size_t i = 0; i < v->n_items; i++)
		erase_free(v->items[i]);
	free(v->items);
	v->type = VAR_STRING;
	v->str = NULL;
	v->b = false;
	v->items = NULL;
	v->n_items = 0;
}

static bool ascii_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static bool name_valid(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

static bool name_ok(const char *name)
{
	return name && name_valid(name, strlen(name));
}

/* Names in messages come from the template and are checked already; cap them anyway. */
static int name_width(size_t len)
{
	return len > NAME_MAX_SHOWN ? NAME_MAX_SHOWN : (int)len;
}

static struct var *vars_find(const struct render_vars *v, const char *name, size_t len)
{
	if (!v)
		return NULL;
	for (size_t i = 0; i < v->n_vars; i++)
		if (strlen(v->vars[i].name) == len && memcmp(v->vars[i].name, name, len) == 0)
			return &v->vars[i];
	return NULL;
}

static int vars_grow(struct render_vars *v)
{
	size_t cap;
	struct var *p;

	if (v->n_vars < v->cap)
		return 0;
	cap = v->cap ? v->cap * 2 : 16;
	p = reallocarray(v->vars, cap, sizeof(*p));
	if (!p)
		return -ENOMEM;
	v->vars = p;
	v->cap = cap;
	return 0;
}

/* Stores the value held by val under name, taking its allocations (val is emptied).
 * Flags come from val when set_flags, else stay as they were (0 for a new name). */
static int vars_put(struct render_vars *v, const char *name, struct var *val, bool set_flags)
{
	struct var *var = vars_find(v, name, strlen(name));
	int r;

	if (!var) {
		char *copy;

		r = vars_grow(v);
		if (r < 0)
			return r;
		copy = strdup(name);
		if (!copy)
			return -ENOMEM;
		var = &v->vars[v->n_vars++];
		*var = (struct var){ .name = copy };
	}
	var_clear_value(var);
	var->type = val->type;
	var->str = TAKE_PTR(val->str);
	var->b = val->b;
	var->items = TAKE_PTR(val->items);
	var->n_items = val->n_items;
	val->n_items = 0;
	if (set_flags)
		var->flags = val->flags;
	return 0;
}

static int list_append(struct var *var, const char *item)
{
	char *copy = strdup(item);
	char **items;

	if (!copy)
		return -ENOMEM;
	items = reallocarray(var->items, var->n_items + 1, sizeof(*items));
	if (!items) {
		erase_free(copy);
		return -ENOMEM;
	}
	items[var->n_items++] = copy;
	var->items = items;
	return 0;
}

struct render_vars *render_vars_new(void)
{
	return calloc(1, sizeof(struct render_vars));
}

int render_vars_set(struct render_vars *v, const char *name, const char *value, unsigned flags)
{
	_cleanup_(var_clear_value) struct var val = { .type = VAR_STRING, .flags = flags };

	if (!v || !name_ok(name) || !value)
		return -EINVAL;
	val.str = strdup(value);
	if (!val.str)
		return -ENOMEM;
	return vars_put(v, name, &val, true);
}

int render_vars_setf(struct render_vars *v, const char *name, unsigned flags, const char *fmt, ...)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	va_list ap;
	int r;

	if (!v || !name_ok(name) || !fmt)
		return -EINVAL;
	va_start(ap, fmt);
	r = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (r < 0)
		return r;
	return render_vars_set(v, name, b.data ? b.data : "", flags);
}

int render_vars_set_bool(struct render_vars *v, const char *name, bool value)
{
	struct var val = { .type = VAR_BOOL, .b = value };

	if (!v || !name_ok(name))
		return -EINVAL;
	return vars_put(v, name, &val, false);
}

int render_vars_list_add(struct render_vars *v, const char *name, const char *item)
{
	_cleanup_(var_clear_value) struct var val = { .type = VAR_LIST };
	struct var *var;
	int r;

	if (!v || !name_ok(name))
		return -EINVAL;
	var = vars_find(v, name, strlen(name));
	if (var && var->type == VAR_LIST)
		return item ? list_append(var, item) : 0;
	if (item) {
		r = list_append(&val, item);
		if (r < 0)
			return r;
	}
	return vars_put(v, name, &val, false);
}

void render_vars_free(struct render_vars *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n_vars; i++) {
		var_clear_value(&v->vars[i]);
		free(v->vars[i].name);
	}
	free(v->vars);
	free(v);
}

/* Escapers: append s written for one target, or return -EINVAL when it cannot be. */

#define WORD_PUNCT "._:/@*+-"	/* redis bare words, stunnel values */
#define NFT_PUNCT "._:/-"
#define URL_UNRESERVED "-._~"

static bool all_in(const char *s, const char *punct)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!ascii_alnum(*s) && !strchr(punct, *s))
			return false;
	return true;
}

static int escape_text(struct buf *b, const char *s)
{
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -EINVAL;
	}
	return buf_puts(b, s);
}

static int escape_redis_byte(struct buf *b, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	if (c == '\\' || c == '"') {
		char e[2] = { '\\', (char)c };
		return buf_append(b, e, sizeof(e));
	}
	if (c < 0x20 || c > 0x7e) {
		char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 0xf] };
		return buf_append(b, e, sizeof(e));
	}
	return buf_putc(b, (char)c);
}

static int escape_redis(struct buf *b, const char *s)
{
	int r;

	if (all_in(s, WORD_PUNCT))
		return buf_puts(b, s);
	r = buf_putc(b, '"');
	for (const char *p = s; *p && r >= 0; p++)
		r = escape_redis_byte(b, (unsigned char)*p);
	if (r < 0)
		return r;
	return buf_putc(b, '"');
}

static int escape_stunnel(struct buf *b, const char *s)
{
	if (!all_in(s, WORD_PUNCT))
		return -EINVAL;
	return buf_puts(b, s);
}

static int escape_nft(struct buf *b, const char *s)
{
	if (!all_in(s, NFT_PUNCT))
		return -EINVAL;
	return buf_puts(b, s);
}

static int escape_url(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = 0;

	for (const char *p = s; *p && r >= 0; p++) {
		unsigned char c = (unsigned char)*p;

		if (ascii_alnum(*p) || strchr(URL_UNRESERVED, *p))
			r = buf_putc(b, *p);
		else {
			char e[3] = { '%', hex[c >> 4], hex[c & 0xf] };
			r = buf_append(b, e, sizeof(e));
		}
	}
	return r;
}

static int escape_shell(struct buf *b, const char *s)
{
	int r = buf_putc(b, '\'');

	for (const char *p = s; *p && r >= 0; p++)
		r = *p == '\'' ? buf_puts(b, "'\\''") : buf_putc(b, *p);
	if (r < 0)
		return r;
	return buf_putc(b, '\'');
}

struct escaper {
	const char *name;
	int (*escape)(struct buf *b, const char *s);
	bool lists;	/* may render a list, item by item */
};

static const struct escaper escaper_text = { "text", escape_text, true };
static const struct escaper escaper_redis = { "redis", escape_redis, true };
static const struct escaper escaper_stunnel = { "stunnel", escape_stunnel, true };
static const struct escaper escaper_nft = { "nft", escape_nft, true };
static const struct escaper escaper_url = { "url", escape_url, false };
static const struct escaper escaper_shell = { "shell", escape_shell, false };

struct file_type {
	const struct escaper *escaper;
	const char *separator;
};

static const struct file_type file_types[] = {
	[RENDER_TEXT] = { &escaper_text, " " },
	[RENDER_REDIS] = { &escaper_redis, " " },
	[RENDER_STUNNEL] = { &escaper_stunnel, ", " },
	[RENDER_NFT] = { &escaper_nft, ", " },
};

static const struct escaper *const filters[] = {
	&escaper_url,
	&escaper_shell,
	&escaper_redis,
	&escaper_text,
};

static const struct escaper *filter_find(const char *name, size_t len)
{
	for (size_t i = 0; i < ELEMENTSOF(filters); i++)
		if (strlen(filters[i]->name) == len && memcmp(filters[i]->name, name, len) == 0)
			return filters[i];
	return NULL;
}

char *render_escape_value(const char *value, enum render_escape esc)
{
	_cleanup_buf_ struct buf b = BUF_INIT;
	char *s;
	int r;

	if (!value || (size_t)esc >= ELEMENTSOF(file_types)) {
		errno = EINVAL;
		return NULL;
	}
	r = file_types[esc].escaper->escape(&b, value);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	s = buf_steal(&b, NULL);
	if (!s)
		errno = ENOMEM;
	return s;
}

/* The template engine. Tags never span lines. */

enum tag_kind {
	TAG_VAR,
	TAG_ITEM,
	TAG_EACH,
	TAG_END_EACH,
	TAG_IF,
	TAG_ELSE,
	TAG_END,
	TAG_COMMENT,
};

struct tag {
	enum tag_kind kind;
	const char *name;	/* TAG_VAR, TAG_IF; not NUL-terminated */
	size_t name_len;
	const char *filter;	/* TAG_VAR; NULL when there is none */
	size_t filter_len;
	const char *end;	/* just past the closing braces */
};

struct frame {
	unsigned line;
	const char *name;
	size_t name_len;
	bool cond;
	bool in_else;
	bool parent_active;
};

struct render {
	const char *tmpl_name;
	const struct file_type *type;
	const struct render_vars *vars;
	unsigned flags;
	unsigned line;
	bool active;	/* text at this point goes to the output */
	struct frame stack[RENDER_MAX_DEPTH];
	unsigned depth;
	const struct var *each;	/* the list of the {{#each}} being rendered, or NULL */
	unsigned each_depth;	/* depth at its {{#each}}: its body cannot close an outer {{#if}} */
	const char *item;	/* its current item; NULL while the body is only checked */
	struct buf out;
	char *cause;
};

static _printf_(3, 4) int fail_at(struct render *r, unsigned line, const char *fmt, ...)
{
	_cleanup_buf_ struct buf msg = BUF_INIT;
	va_list ap;
	int k;

	k = buf_printf(&msg, "%s:%u: ", r->tmpl_name, line);
	if (k < 0)
		return k;
	va_start(ap, fmt);
	k = buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (k < 0)
		return k;
	free(r->cause);
	r->cause = buf_steal(&msg, NULL);
	return r->cause ? -EINVAL : -ENOMEM;
}

#define fail(r, ...) fail_at((r), (r)->line, __VA_ARGS__)

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static const char *skip_blanks(const char *p, const char *end)
{
	while (p < end && blank(*p))
		p++;
	return p;
}

static const char *trim_end(const char *p, const char *end)
{
	while (end > p && blank(end[-1]))
		end--;
	return end;
}

/* Where c appears twice in a row in [p, end), or NULL. */
static const char *find_pair(const char *p, const char *end, char c)
{
	for (; end - p >= 2; p++)
		if (p[0] == c && p[1] == c)
			return p;
	return NULL;
}

static bool word_is(const char *p, const char *end, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(end - p) == n && memcmp(p, word, n) == 0;
}

/* {{#if name}} or {{#each name}} */
static int parse_block(struct render *r, const char *p, const char *end, struct tag *tag)
{
	const char *word = NULL;
	size_t n;

	if (end - p >= 2 && memcmp(p, "if", 2) == 0 && (end - p == 2 || blank(p[2])))
		word = "if", tag->kind = TAG_IF;
	else if (end - p >= 4 && memcmp(p, "each", 4) == 0 && (end - p == 4 || blank(p[4])))
		word = "each", tag->kind = TAG_EACH;
	else
		return fail(r, "unknown block tag");
	n = strlen(word);
	p = skip_blanks(p + n, end);
	if (p == end)
		return fail(r, "'{{#%s}}' needs a variable name", word);
	if (!name_valid(p, end - p))
		return fail(r, "invalid variable name in '{{#%s}}'", word);
	tag->name = p;
	tag->name_len = end - p;
	return 0;
}

static int parse_var(struct render *r, const char *p, const char *end, struct tag *tag)
{
	const char *bar = memchr(p, '|', end - p);
	const char *name_end = trim_end(p, bar ? bar : end);

	if (name_end - p == 1 && *p == '.')
		tag->kind = TAG_ITEM;
	else if (!name_valid(p, name_end - p))
		return fail(r, "invalid variable name");
	else
		tag->kind = TAG_VAR;
	tag->name = p;
	tag->name_len = name_end - p;
	if (bar) {
		const char *f = skip_blanks(bar + 1, end);

		if (!name_valid(f, end - f))
			return fail(r, "invalid filter name");
		tag->filter = f;
		tag->filter_len = end - f;
	}
	return 0;
}

/* Parses the tag whose "{{" is at open; the tag must end before end. */
static int parse_tag(struct render *r, const char *open, const char *end, struct tag *tag)
{
	const char *close = find_pair(open + 2, end, '}');
	const char *p, *q;

	if (!close)
		return fail(r, "unterminated tag");
	*tag = (struct tag){ .end = close + 2 };
	p = skip_blanks(open + 2, close);
	q = trim_end(p, close);
	if (p == q)
		return fail(r, "empty tag");
	switch (*p) {
	case '!':
		tag->kind = TAG_COMMENT;
		return 0;
	case '#':
		return parse_block(r, p + 1, q, tag);
	case '/':
		if (word_is(p + 1, q, "if"))
			tag->kind = TAG_END;
		else if (word_is(p + 1, q, "each"))
			tag->kind = TAG_END_EACH;
		else
			return fail(r, "unknown closing tag");
		return 0;
	default:
		if (word_is(p, q, "else")) {
			tag->kind = TAG_ELSE;
			return 0;
		}
		return parse_var(r, p, q, tag);
	}
}

static bool var_true(const struct var *var)
{
	switch (var->type) {
	case VAR_BOOL:
		return var->b;
	case VAR_STRING:
		return var->str[0] != '\0';
	case VAR_LIST:
		return var->n_items > 0;
	}
	return false;
}

static int block_if(struct render *r, const struct tag *tag)
{
	const struct var *var = vars_find(r->vars, tag->name, tag->name_len);
	struct frame *f;

	if (!var)
		return fail(r, "unknown variable '%.*s'", name_width(tag->name_len), tag->name);
	if (r->depth == RENDER_MAX_DEPTH)
		return fail(r, "'{{#if}}' nested deeper than %d", RENDER_MAX_DEPTH);
	f = &r->stack[r->depth++];
	*f = (struct frame){
		.line = r->line,
		.name = tag->name,
		.name_len = tag->name_len,
		.cond = var_true(var),
		.parent_active = r->active,
	};
	r->active = f->parent_active && f->cond;
	return 0;
}

static int block_else(struct render *r)
{
	struct frame *f;

	if (r->depth == 0 || (r->each && r->depth == r->each_depth))
		return fail(r, "'{{else}}' without '{{#if}}'%s", r->each ? " inside '{{#each}}'" : "");
	f = &r->stack[r->depth - 1];
	if (f->in_else)
		return fail(r, "second '{{else}}' for '{{#if}}' of line %u", f->line);
	f->in_else = true;
	r->active = f->parent_active && !f->cond;
	return 0;
}

static int block_end(struct render *r)
{
	if (r->depth == 0 || (r->each && r->depth == r->each_depth))
		return fail(r, "'{{/if}}' without '{{#if}}'%s", r->each ? " inside '{{#each}}'" : "");
	r->active = r->stack[--r->depth].parent_active;
	return 0;
}

static int escape_var(struct render *r, const struct var *var, const struct escaper *e)
{
	int k = 0;

	if ((r->flags & RENDER_REDACT) && (var->flags & RENDER_SENSITIVE))
		return e->escape(&r->out, REDACTED);
	if (var == r->each)
		return e->escape(&r->out, r->item);
	if (var->type == VAR_STRING)
		return e->escape(&r->out, var->str);
	for (size_t i = 0; i < var->n_items && k >= 0; i++) {
		if (i > 0)
			k = buf_puts(&r->out, r->type->separator);
		if (k >= 0)
			k = e->escape(&r->out, var->items[i]);
	}
	return k;
}

/* Names and types are checked even where nothing is written; values only where they are. */
static int render_var(struct render *r, const struct tag *tag)
{
	const struct var *var = tag->kind == TAG_ITEM ? r->each
						      : vars_find(r->vars, tag->name, tag->name_len);
	const struct escaper *e = r->type->escaper;
	int k;

	if (!var && tag->kind == TAG_ITEM)
		return fail(r, "'{{.}}' outside '{{#each}}'");
	if (!var)
		return fail(r, "unknown variable '%.*s'", name_width(tag->name_len), tag->name);
	if (tag->filter) {
		e = filter_find(tag->filter, tag->filter_len);
		if (!e)
			return fail(r, "unknown filter '%.*s'", name_width(tag->filter_len), tag->filter);
	}
	if (var->type == VAR_BOOL)
		return fail(r, "variable '%s' is a bool: use it in '{{#if}}'", var->name);
	if (var->type == VAR_LIST && var != r->each && !e->lists)
		return fail(r, "variable '%s' is a list: the %s filter takes one value", var->name, e->name);
	if (!r->active || (var == r->each && !r->item))
		return 0;
	k = escape_var(r, var, e);
	if (k == -EINVAL && (r->flags & RENDER_REDACT) && (var->flags & RENDER_SENSITIVE))
		return fail(r, "'%s' is redacted and '" REDACTED "' cannot be written as %s",
			    var->name, e->name);
	if (k == -EINVAL)
		return fail(r, "value of '%s' cannot be written safely as %s", var->name, e->name);
	return k;
}

static int run_tag(struct render *r, const struct tag *tag)
{
	switch (tag->kind) {
	case TAG_VAR:
	case TAG_ITEM:
		return render_var(r, tag);
	case TAG_EACH:
	case TAG_END_EACH:
		return fail(r, "'{{#each}}' and '{{/each}}' must stand alone on their lines");
	case TAG_IF:
		return block_if(r, tag);
	case TAG_ELSE:
		return block_else(r);
	case TAG_END:
		return block_end(r);
	case TAG_COMMENT:
		return 0;
	}
	return -EINVAL;
}

static int emit_text(struct render *r, const char *p, const char *end)
{
	if (!r->active || p == end)
		return 0;
	return buf_append(&r->out, p, end - p);
}

/* Whether the line [p, end) (with its newline, if any) is one block tag or comment with
 * blanks around it. Returns 1 and the tag, 0, or a negative errno. */
static int standalone_tag(struct render *r, const char *p, const char *end, struct tag *ret)
{
	const char *open = skip_blanks(p, end), *close, *rest;
	struct tag tag;
	int k;

	if (end - open < 2 || open[0] != '{' || open[1] != '{')
		return 0;
	close = find_pair(open + 2, end, '}');
	if (!close)
		return 0;
	rest = skip_blanks(close + 2, end);
	if (rest != end && !(*rest == '\n' && rest + 1 == end))
		return 0;
	k = parse_tag(r, open, end, &tag);
	if (k < 0)
		return k;
	if (tag.kind == TAG_VAR || tag.kind == TAG_ITEM)
		return 0;
	*ret = tag;
	return 1;
}

/* Renders one line, [p, end), holding its newline if it has one. */
static int render_line(struct render *r, const char *p, const char *end)
{
	const char *open;
	struct tag tag;
	int k;

	k = standalone_tag(r, p, end, &tag);
	if (k != 0)
		return k < 0 ? k : run_tag(r, &tag);
	while ((open = find_pair(p, end, '{'))) {
		k = emit_text(r, p, open);
		if (k < 0)
			return k;
		k = parse_tag(r, open, end, &tag);
		if (k < 0)
			return k;
		k = run_tag(r, &tag);
		if (k < 0)
			return k;
		p = tag.end;
	}
	return emit_text(r, p, end);
}

static int render_range(struct render *r, const char *p, const char *end);

/* The end of the {{#each}} body starting at p: the start of its {{/each}} line,
 * and just past that line. Another {{#each}} inside is refused. */
static int find_each_end(struct render *r, const char *p, const char *end,
			 const char **ret_body_end, const char **ret_after)
{
	unsigned line = r->line;
	struct tag tag;
	int k;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *next = nl ? nl + 1 : end;

		line++;
		r->line = line;
		k = standalone_tag(r, p, next, &tag);
		if (k < 0)
			return k;
		if (k > 0 && tag.kind == TAG_EACH)
			return fail(r, "'{{#each}}' inside '{{#each}}'");
		if (k > 0 && tag.kind == TAG_END_EACH) {
			*ret_body_end = p;
			*ret_after = next;
			return 0;
		}
		p = next;
	}
	return -ENOENT;
}

/* Renders the body once per item (or once, inactive, to check it when the list is
 * empty or the block is not active), then continues after {{/each}}. */
static int render_each(struct render *r, const struct tag *tag, const char *body,
		       const char *end, const char **ret_after)
{
	const struct var *var = vars_find(r->vars, tag->name, tag->name_len);
	unsigned line = r->line, depth = r->depth;
	const char *body_end = NULL, *after = NULL;
	bool active = r->active;
	size_t i, rounds;
	int k;

	if (!var)
		return fail(r, "unknown variable '%.*s'", name_width(tag->name_len), tag->name);
	if (var->type != VAR_LIST)
		return fail(r, "'{{#each}}' needs a list; '%s' is not one", var->name);
	if (r->each)
		return fail(r, "'{{#each}}' inside '{{#each}}'");
	k = find_each_end(r, body, end, &body_end, &after);
	if (k == -ENOENT)
		return fail_at(r, line, "'{{#each %s}}' is not closed", var->name);
	if (k < 0)
		return k;
	r->each = var;
	r->each_depth = depth;
	rounds = active && var->n_items ? var->n_items : 1;
	for (i = 0; i < rounds && k >= 0; i++) {
		r->item = active && var->n_items ? var->items[i] : NULL;
		r->active = active && r->item;
		r->line = line + 1;
		k = render_range(r, body, body_end);
		if (k >= 0 && r->depth != depth)
			k = fail_at(r, r->stack[r->depth - 1].line, "'{{#if}}' is not closed inside '{{#each}}'");
	}
	r->each = NULL;
	r->item = NULL;
	r->active = active;
	if (k < 0)
		return k;
	/* Go on at the line after {{/each}}. */
	r->line = line + 1;
	for (const char *q = body; q < after; q++)
		if (*q == '\n')
			r->line++;
	if (after > body && after[-1] != '\n')
		r->line++;	/* the last line has no newline */
	*ret_after = after;
	return 0;
}

static int render_range(struct render *r, const char *p, const char *end)
{
	struct tag tag;
	int k;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *next = nl ? nl + 1 : end;

		k = standalone_tag(r, p, next, &tag);
		if (k > 0 && tag.kind == TAG_EACH) {
			k = render_each(r, &tag, next, end, &p);
			if (k < 0)
				return k;
			continue;
		}
		if (k > 0 && tag.kind == TAG_END_EACH)
			return fail(r, "'{{/each}}' without '{{#each}}'");
		k = k < 0 ? k : render_line(r, p, next);
		if (k < 0)
			return k;
		r->line++;
		p = next;
	}
	return 0;
}

static int render_all(struct render *r, const char *p, const char *end)
{
	int k = render_range(r, p, end);

	if (k < 0)
		return k;
	if (r->depth > 0) {
		const struct frame *f = &r->stack[r->depth - 1];

		return fail_at(r, f->line, "'{{#if %.*s}}' is not closed", name_width(f->name_len), f->name);
	}
	return 0;
}

int render_template(const char *tmpl, size_t len, const char *name, enum render_escape esc,
		    const struct render_vars *vars, unsigned flags, char **ret, size_t *ret_len,
		    char **ret_cause)
{
	_cleanup_free_ char *cause = NULL;
	struct render r = {
		.tmpl_name = name ? name : "(template)",
		.vars = vars,
		.flags = flags,
		.line = 1,
		.active = true,
		.out = BUF_INIT,
	};
	size_t n = 0;
	char *out = NULL;
	int k;

	if (!ret || (!tmpl && len > 0) || (size_t)esc >= ELEMENTSOF(file_types))
		return -EINVAL;
	r.type = &file_types[esc];
	k = render_all(&r, tmpl ? tmpl : "", (tmpl ? tmpl : "") + len);
	cause = TAKE_PTR(r.cause);
	if (k >= 0) {
		out = buf_steal(&r.out, &n);
		k = out ? 0 : -ENOMEM;
	}
	buf_free(&r.out);
	if (k < 0) {
		if (k == -EINVAL && ret_cause)
			*ret_cause = TAKE_PTR(cause);
		return k;
	}
	*ret = out;
	if (ret_len)
		*ret_len = n;
	return 0;
}
