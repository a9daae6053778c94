/* A small template language with escaping by output file type.
 *
 *   {{name}}              the variable, escaped for the template's file type
 *   {{name|url}}          ... through a filter instead: url (percent-encoding),
 *                         shell (single-quoted for sh), redis, text
 *   {{#each name}} .. {{.}} .. {{/each}}  once per item of a list; each tag alone on
 *                         its line; {{.}} is the item, escaped; no each inside each
 *   {{#if name}} .. {{else}} .. {{/if}}   nests; true = bool true, non-empty string
 *                         or non-empty list
 *   {{! comment }}
 *
 * A line holding nothing but a block tag ({{#if}}, {{else}}, {{/if}}, {{! }}) and
 * whitespace disappears with its newline. A list variable renders its items, each
 * escaped, joined by the file type's separator. An unknown variable, an unknown
 * filter, an unbalanced block, or a value the file type cannot represent safely is
 * an error naming the template and line.
 */
#ifndef DOAGENT_RENDER_H
#define DOAGENT_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

enum render_escape {
	RENDER_TEXT,	/* printable text: any byte < 0x20 except \t, or 0x7f, is refused */
	RENDER_REDIS,	/* redis.conf: bare when [A-Za-z0-9._:/@*+-] only, else "..." with \\ \" \xHH; list separator " " */
	RENDER_STUNNEL,	/* stunnel.conf: [A-Za-z0-9._:/@*+-] only, else refused; list separator ", " */
	RENDER_NFT,	/* nftables: [A-Za-z0-9._:/-] only, else refused; list separator ", " */
};

enum {
	RENDER_SENSITIVE = 1 << 0,	/* variable flag: a secret */
	RENDER_REDACT = 1 << 0,		/* render flag: sensitive values render as "(redacted)" */
};

struct render_vars;

struct render_vars *render_vars_new(void);
/* Each setter copies its arguments; setting a name again replaces the value.
 * Return 0 or -ENOMEM / -EINVAL (bad name: [a-z0-9_] only). */
int render_vars_set(struct render_vars *v, const char *name, const char *value, unsigned flags);
int render_vars_setf(struct render_vars *v, const char *name, unsigned flags, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int render_vars_set_bool(struct render_vars *v, const char *name, bool value);
/* Makes name an (empty) list if it is not one yet; then appends item when item != NULL. */
int render_vars_list_add(struct render_vars *v, const char *name, const char *item);
/* Erases sensitive values before freeing. Accepts NULL. */
void render_vars_free(struct render_vars *v);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct render_vars *, render_vars_free)
#define _cleanup_render_vars_ _cleanup_(render_vars_freep)

/* Render tmpl (len bytes, need not be NUL-terminated; name is used in messages).
 * On success *ret is a malloc'd NUL-terminated result (its length in *ret_len when
 * ret_len != NULL) and 0 is returned. On error returns -EINVAL (with *ret_cause as
 * "NAME:LINE: unknown variable 'x'") or -ENOMEM; *ret is untouched. */
int render_template(const char *tmpl, size_t len, const char *name, enum render_escape esc,
		    const struct render_vars *vars, unsigned flags, char **ret, size_t *ret_len,
		    char **ret_cause);

/* Escape one value as render_template would for esc, appending to nothing:
 * returns a malloc'd string, or NULL with errno EINVAL when it cannot be represented. */
char *render_escape_value(const char *value, enum render_escape esc);

#endif
