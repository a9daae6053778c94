/*
 * Live health's parsers: Redis' INFO text (what a peer answers INFO with) and
 * redis.conf's port, unixsocket, requirepass and min-replicas-to-write. The first
 * byte chooses: even, INFO; odd, redis.conf; the rest is the text.
 *
 * Checks: INFO that parses has a role of master or slave, and a replica its primary;
 * the verdict has reasons exactly when it is not ok, every reason and every printed
 * line is printable (Redis' text reaches a terminal), and the JSON is built; a
 * redis.conf cause never holds the text of the line it names.
 */
#include "autoconfig.h"

#include <errno.h>

#include "fuzz.h"

#include "health.h"
#include "strv.h"

static void check_info(const char *text)
{
	struct health_report r = { .checked = true, .answered = true };
	char *cause = NULL, *out = NULL;
	json_object *j;
	size_t len = 0;
	FILE *f;

	if (health_parse_info(text, &r.info, &cause) < 0) {
		FUZZ_NONNULL(cause);
		FUZZ_CHECK(fuzz_printable(cause));
		free(cause);
		return;
	}
	FUZZ_CHECK(strcmp(r.info.role, "master") == 0 || strcmp(r.info.role, "slave") == 0);
	FUZZ_CHECK(strcmp(r.info.role, "slave") != 0 || (r.info.master_host && r.info.master_link_status));
	FUZZ_CHECK(health_judge(&r.info, &r.verdict, &r.reasons) == 0);
	FUZZ_CHECK((r.verdict == HEALTH_OK) == (r.reasons == NULL));
	for (char **l = r.reasons; l && *l; l++)
		FUZZ_CHECK(fuzz_printable(*l));
	r.address = strdup("127.0.0.1:6379");
	FUZZ_NONNULL(r.address);
	f = open_memstream(&out, &len);
	FUZZ_NONNULL(f);
	health_print(&r, NULL, f);
	fclose(f);
	for (char *p = out; *p; p++)
		FUZZ_CHECK(*p == '\n' || (*p >= 0x20 && *p <= 0x7e));
	free(out);
	j = health_to_json(&r);
	FUZZ_NONNULL(j);
	json_object_put(j);
	health_report_done(&r);
}

static void check_conf(const char *text)
{
	struct health_conf c;
	char *cause = NULL;
	int r = health_parse_conf(text, &c, &cause);

	if (r < 0) {
		FUZZ_CHECK(r == -EBADMSG);
		FUZZ_NONNULL(cause);
		FUZZ_CHECK(strncmp(cause, "line ", 5) == 0 && fuzz_printable(cause));
		free(cause);
		return;
	}
	FUZZ_CHECK(c.port <= 65535);
	FUZZ_CHECK(!c.password || c.password[0]);
	health_conf_done(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size == 0)
		return 0;
	text = fuzz_string(data + 1, size - 1);
	if (data[0] & 1)
		check_conf(text);
	else
		check_info(text);
	free(text);
	return 0;
}
