/* The table of doagent-launch's commands. */
#include "autoconfig.h"

#include <string.h>

#include "cmd.h"

const struct cmd_entry *const cmd_table[] = {
	&cmd_create_entry,
	&cmd_list_entry,
	&cmd_get_entry,
	&cmd_status_entry,
	&cmd_replace_entry,
	&cmd_destroy_entry,
	&cmd_validate_entry,
	NULL,
};

const struct cmd_entry *cmd_find(const char *name)
{
	for (const struct cmd_entry *const *e = cmd_table; *e; e++)
		if (strcmp((*e)->name, name) == 0)
			return *e;
	return NULL;
}
