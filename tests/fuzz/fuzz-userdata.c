/*
 * The user-data parser and the key table: the input is user data as a droplet would
 * get it, parsed on the real path (BOM, #doagent header, MIME multipart, base64,
 * inih, config_set for every key, config_check), with every diagnostic formatted.
 * The whole input is then also one key's value (the key chosen by the input's
 * length), which reaches config_set with values no INI line can hold.
 *
 * Checks: every formatted diagnostic is printable ASCII; invalid user data leaves
 * the configuration as config_init made it; a success reports no error.
 */
#include "autoconfig.h"

#include <errno.h>

#include "config.h"
#include "fuzz.h"
#include "userdata.h"

static void count_violation(enum config_key_id id, const char *message, void *userdata)
{
	unsigned *n = userdata;

	FUZZ_CHECK(id < _CONFIG_KEY_MAX);
	FUZZ_CHECK(message && fuzz_printable(message));
	(*n)++;
}

static void fuzz_parse(const uint8_t *data, size_t size)
{
	struct userdata_report rep;
	struct config c;
	unsigned violations = 0;
	size_t i;
	int r;

	FUZZ_CHECK(config_init(&c) == 0);
	r = userdata_parse((const char *)data, size, &c, &rep);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -E2BIG);
	FUZZ_CHECK(rep.n_errors <= rep.n_diags);
	if (r < 0) {
		FUZZ_CHECK(rep.n_errors > 0);
		for (i = 0; i < _CONFIG_KEY_MAX; i++)
			FUZZ_CHECK(c.line[i] == 0);
	} else {
		FUZZ_CHECK(rep.n_errors == 0);
		if (rep.kind != USERDATA_DOAGENT)
			for (i = 0; i < _CONFIG_KEY_MAX; i++)
				FUZZ_CHECK(c.line[i] == 0);
		/* What the user data set passes the checks between keys. */
		FUZZ_CHECK(config_check(&c, count_violation, &violations) == 0);
	}
	if (rep.kind == USERDATA_FOREIGN)
		FUZZ_CHECK(rep.format && fuzz_printable(rep.format));
	for (i = 0; i < rep.n_diags; i++) {
		char *s = userdata_diag_format(&rep, &rep.diags[i]);

		FUZZ_NONNULL(s);
		FUZZ_CHECK(fuzz_printable(s));
		free(s);
	}
	userdata_report_done(&rep);
	config_done(&c);
}

static void fuzz_key(const uint8_t *data, size_t size)
{
	const struct config_key *k = &config_keys[size % _CONFIG_KEY_MAX];
	char *value = fuzz_string(data, size), *cause = NULL, *near;
	struct config c;
	unsigned violations = 0;
	int r;

	FUZZ_CHECK(config_init(&c) == 0);
	r = config_set(&c, k, value, &cause);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE);
	if (r < 0) {
		FUZZ_NONNULL(cause);
		FUZZ_CHECK(fuzz_printable(cause));
	}
	config_check(&c, count_violation, &violations);
	free(cause);

	/* The value as a misspelt key or section name. */
	near = config_suggest_key(k->section, value);
	free(near);
	(void)config_suggest_section(value);
	(void)config_section_exists(value);

	config_done(&c);
	free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_parse(data, size);
	fuzz_key(data, size);
	return 0;
}
