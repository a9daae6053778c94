#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static int max_level = LOG_INFO;
static const char *program = "doagent";

void log_set_max_level(int level)
{
	max_level = level;
}

int log_get_max_level(void)
{
	return max_level;
}

void log_set_program(const char *name)
{
	program = name;
}

static const char *level_prefix(int level)
{
	switch (level) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error: ";
	case LOG_WARNING:
		return "warning: ";
	case LOG_NOTICE:
		return "notice: ";
	default:
		return "";
	}
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > max_level)
		return;
	fprintf(stderr, "%s: %s", program, level_prefix(level));
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
