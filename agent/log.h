/* Logging for the programs' main code. Library modules do not log: they return an
 * error and a cause, and the caller logs once. Never pass a secret to these. */
#ifndef DOAGENT_LOG_H
#define DOAGENT_LOG_H

#include <syslog.h>

#include "macro.h"

void log_set_max_level(int level);
int log_get_max_level(void);
void log_set_program(const char *name);

void log_msg(int level, const char *fmt, ...) _printf_(2, 3);

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
