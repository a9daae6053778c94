/* doagent-launch's commands: one file each (cmd-*.c) exporting one entry, listed in
 * cmd_table (cmd.c). */
#ifndef DOAGENT_CMD_H
#define DOAGENT_CMD_H

#include <stddef.h>

#include "launch.h"

struct cmd_entry {
	const char *name;
	const char *usage;	/* the arguments and options after the name */
	size_t n_args;		/* how many arguments it takes */
	/* Returns the exit status; argv holds n_args arguments. */
	int (*exec)(const struct launch_options *o, char **argv);
};

extern const struct cmd_entry cmd_create_entry, cmd_list_entry, cmd_get_entry, cmd_replace_entry,
	cmd_destroy_entry, cmd_validate_entry;
extern const struct cmd_entry cmd_status_entry;

/* Every command, in the order the usage lists them; NULL-terminated. */
extern const struct cmd_entry *const cmd_table[];

/* The command named name, or NULL. */
const struct cmd_entry *cmd_find(const char *name);

#endif
