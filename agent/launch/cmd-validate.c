/* validate FILE: check user data as the agent will. */
#include "autoconfig.h"

#include <stdio.h>

#include "cmd.h"
#include "eviction.h"
#include "payload.h"

static int exec(_unused_ const struct launch_options *o, char **argv)
{
	_cleanup_erase_ char *data = NULL;
	enum userdata_kind kind;
	struct config c;
	size_t len = 0;
	int ex = payload_read(argv[0], &data, &len);

	if (ex)
		return ex;
	ex = payload_check(argv[0], data, len, &c, &kind, false);
	if (!ex) {
		printf("%s: %s\n", argv[0],
		       kind == USERDATA_DOAGENT ? "valid" :
		       kind == USERDATA_ABSENT	? "empty (defaults apply)" :
						  "not doagent's user data (defaults apply)");
		/* What the policy does once memory is full, and whether it fits the data. */
		eviction_print(&c, stdout);
	}
	config_done(&c);
	return ex;
}

const struct cmd_entry cmd_validate_entry = {
	.name = "validate",
	.usage = "FILE",
	.n_args = 1,
	.exec = exec,
};
