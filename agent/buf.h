/* A growable byte buffer that is always NUL-terminated. */
#ifndef DOAGENT_BUF_H
#define DOAGENT_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

struct buf {
	char *data;	/* NULL until the first append; NUL-terminated after */
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

/* Append len bytes of s. Returns 0 or -ENOMEM (the buffer is unchanged). */
int buf_append(struct buf *b, const char *s, size_t len);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) _printf_(2, 3);
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) _printf_(2, 0);

/* Give the contents to the caller (who frees them); the buffer is empty after.
 * Never returns NULL for an empty buffer: returns "" allocated. NULL on ENOMEM. */
char *buf_steal(struct buf *b, size_t *ret_len);

/* Erase and free the contents; the buffer may be reused. Accepts an empty buffer. */
void buf_free(struct buf *b);

#define _cleanup_buf_ _cleanup_(buf_free)

#endif
