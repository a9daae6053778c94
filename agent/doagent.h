/* Exit statuses shared by doagent and doagent-launch (see DESIGN.md). */
#ifndef DOAGENT_H
#define DOAGENT_H

enum {
	DOAGENT_EXIT_OK = 0,
	DOAGENT_EXIT_FAILURE = 1,
	DOAGENT_EXIT_USAGE = 2,
	DOAGENT_EXIT_DATAERR = 65,
	DOAGENT_EXIT_UNAVAILABLE = 69,
};

/* DigitalOcean refuses user data larger than this; so do we. */
#define DOAGENT_USERDATA_MAX (64 * 1024)

#endif
