/*
 * The RESP2 reply parser: the input is what a peer sends on the connection, read as
 * resp_ping reads it, one reply after the other. resp.c is included to reach
 * error_text, which makes Redis' error text fit for a message.
 *
 * Checks: a reply is consumed whole; every shorter prefix of it asks for more bytes
 * rather than being refused or taken; the exact bytes of a reply parse to the same
 * reply; error text is printable, bounded, and never shows the password.
 */
#include "autoconfig.h"

#include "fuzz.h"

#include "resp.c"

/* resp_parse on a copy of exactly len bytes, so that reading past them is caught. */
static long parse_exact(const uint8_t *data, size_t len, struct resp_reply *ret)
{
	char *copy = malloc(len ? len : 1);
	long n;

	FUZZ_NONNULL(copy);
	memcpy(copy, data, len);
	n = resp_parse(copy, len, ret);
	free(copy);
	return n;
}

static void check_prefixes(const uint8_t *data, long used, const struct resp_reply *reply)
{
	struct resp_reply again = { 0 };
	size_t step = used > 256 ? (size_t)used / 64 : 1;

	for (size_t len = 0; len < (size_t)used; len += step) {
		struct resp_reply r = { 0 };

		FUZZ_CHECK(parse_exact(data, len, &r) == 0);
		FUZZ_CHECK(r.text == NULL);
	}
	FUZZ_CHECK(parse_exact(data, (size_t)used, &again) == used);
	FUZZ_CHECK(again.kind == reply->kind && again.integer == reply->integer);
	FUZZ_CHECK((again.text == NULL) == (reply->text == NULL));
	FUZZ_CHECK(!again.text || strcmp(again.text, reply->text) == 0);
	resp_reply_done(&again);
}

static void check_error_text(const char *text, const char *password)
{
	char *s = error_text(text, password);

	FUZZ_NONNULL(s);
	FUZZ_CHECK(fuzz_printable(s));
	FUZZ_CHECK(strlen(s) <= ERROR_TEXT_MAX);
	/* Withheld when it holds the password; else cut and made printable, with '?' for
	 * what is not: only a password with a '?' could then appear. */
	if (*password && strstr(text, password))
		FUZZ_CHECK(strcmp(s, "(the error text is withheld: it contains the password)") == 0);
	else if (*password && !strchr(password, '?'))
		FUZZ_CHECK(!strstr(s, password));
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *password = NULL;
	size_t pos = 0;

	while (pos < size) {
		struct resp_reply reply = { 0 };
		long used = resp_parse((const char *)data + pos, size - pos, &reply);

		FUZZ_CHECK(used == 0 || used == -EBADMSG || (used > 0 && (size_t)used <= size - pos));
		if (used <= 0)
			break;
		check_prefixes(data + pos, used, &reply);
		switch (reply.kind) {
		case RESP_SIMPLE:
		case RESP_ERROR:
			FUZZ_NONNULL(reply.text);
			FUZZ_CHECK(!strpbrk(reply.text, "\r\n"));
			break;
		case RESP_BULK:
			FUZZ_NONNULL(reply.text);
			break;
		case RESP_ARRAY:
			FUZZ_CHECK(reply.integer >= 0 && reply.integer <= ARRAY_MAX);
			FUZZ_CHECK(reply.text == NULL);
			break;
		case RESP_INTEGER:
		case RESP_NIL:
			FUZZ_CHECK(reply.text == NULL);
			break;
		}
		/* The first status is the password; the errors after it are checked against it. */
		if (reply.kind == RESP_SIMPLE && !password) {
			password = reply.text;
			reply.text = NULL;
		} else if (reply.text) {
			check_error_text(reply.text, password ? password : "");
		}
		(void)reply_kind_name(reply.kind);
		resp_reply_done(&reply);
		pos += (size_t)used;
	}
	free(password);
	return 0;
}
