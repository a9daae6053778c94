/* Logging for the programs' main code. Library modules do not log: they return an
 * error and a cause, and the caller logs once. Never pass a secret to these. */
#ifndef DOAGENT_LOG_H
#define DOAGENT_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "macro.h"

void log_set_max_level(int level);
int log_get_max_level(void);
void log_set_program(const char *name);

/* Send messages to the journal (with structured fields) instead of stderr. By
 * default: when stderr is connected to the journal (JOURNAL_STREAM). libsystemd is
 * loaded with the first message; without it, a warning and stderr again. */
void log_set_journal(bool on);
void log_open(void);

void log_msg(int level, const char *fmt, ...) _printf_(2, 3);

/* A message about one step of the first boot, with the fields DOAGENT_STEP,
 * DOAGENT_DROPLET_ID (when not NULL) and DOAGENT_DURATION_MS in the journal. */
void log_step(int level, const char *step, const char *droplet_id, uint64_t duration_ms,
	      const char *fmt, ...) _printf_(5, 6);

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
