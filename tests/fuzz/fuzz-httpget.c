/*
 * doagent's HTTP response parser (agent/httpget.c): the input is what a server sends,
 * after one byte that picks the body limit and the sizes of the pieces it arrives in.
 * The outcome must not depend on how the bytes are split: the whole input at once and
 * the same input in pieces give the same status, body or error. A complete response
 * has a real status and a body within the limit; a refusal says why in printable text.
 */
#include "autoconfig.h"

#include <errno.h>

#include "fuzz.h"
#include "httpget.h"

struct outcome {
	int r;
	long status;
	size_t len;
	char *body;
	const char *error;
};

static void parse(const char *data, size_t size, size_t max_body, size_t step, struct outcome *o)
{
	struct httpget_parser p;
	size_t pos = 0;

	httpget_parser_init(&p, max_body);
	o->r = 0;
	while (pos < size && o->r == 0) {
		size_t n = step < size - pos ? step : size - pos, used = 0;

		o->r = httpget_parser_feed(&p, data + pos, n, &used);
		FUZZ_CHECK(o->r < 0 || used <= n);
		FUZZ_CHECK(o->r != 0 || used == n);
		pos += n;
	}
	if (o->r == 0)
		o->r = httpget_parser_finish(&p);
	o->status = p.status;
	o->error = p.error;
	o->len = p.body.len;
	o->body = malloc(p.body.len + 1);
	FUZZ_NONNULL(o->body);
	memcpy(o->body, p.body.len ? p.body.data : "", p.body.len);
	httpget_parser_done(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[4] = { 16, 100, 4096, 0 };
	struct outcome whole, pieces;
	size_t max_body, step;

	if (size < 1)
		return 0;
	max_body = limits[data[0] & 3];
	step = (size_t)(data[0] >> 2) + 1;
	data++;
	size--;

	parse((const char *)data, size, max_body, size ? size : 1, &whole);
	parse((const char *)data, size, max_body, step, &pieces);
	FUZZ_CHECK(whole.r == 1 || whole.r == -EPROTO || whole.r == -E2BIG);
	FUZZ_CHECK(whole.r == pieces.r);
	if (whole.r == 1) {
		FUZZ_CHECK(whole.status >= 200 && whole.status <= 599);
		FUZZ_CHECK(whole.status == pieces.status);
		FUZZ_CHECK(whole.len <= (max_body ? max_body : 1024 * 1024));
		FUZZ_CHECK(whole.len == pieces.len && memcmp(whole.body, pieces.body, whole.len) == 0);
	} else {
		FUZZ_NONNULL(whole.error);
		FUZZ_CHECK(fuzz_printable(whole.error));
		FUZZ_CHECK(strcmp(whole.error, pieces.error) == 0);
	}
	free(whole.body);
	free(pieces.body);
	return 0;
}
