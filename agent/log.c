#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "log.h"
#include "sdlib.h"

/* The code location sd_journal_send() adds: it is a macro, the library has none. */
#define JOURNAL_CODE "CODE_FILE=" __FILE__, "CODE_LINE=" _SD_STRINGIFY(__LINE__), __func__

static int max_level = LOG_INFO;
static const char *program = "doagent";
static bool to_journal;

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

void log_set_journal(bool on)
{
	to_journal = on;
}

/* systemd sets JOURNAL_STREAM=dev:inode for a stderr that goes to the journal. */
void log_open(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	to_journal = e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
		     (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
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

/* The journal's library, or NULL: one that cannot be loaded is said once, on stderr,
 * and every line goes there from then on (the journal takes it in, without the
 * fields). Nothing here logs: the cause is printed as it is. */
static const struct sdlib *journal(void)
{
	const struct sdlib *sd;
	char *cause = NULL;

	if (sdlib_load(&sd, &cause) == 0)
		return sd;
	to_journal = false;
	fprintf(stderr, "%s: warning: %s; logging to stderr\n", program, cause ? cause : "cannot load libsystemd");
	free(cause);
	return NULL;
}

static void emit(int level, const char *step, const char *droplet_id, uint64_t duration_ms,
		 const char *fmt, va_list ap)
{
	const struct sdlib *sd;
	char msg[2048];

	if (level > max_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (to_journal && (sd = journal()) != NULL) {
		if (step)
			sd->sd_journal_send_with_location(JOURNAL_CODE, "MESSAGE=%s", msg, "PRIORITY=%d", level,
							  "SYSLOG_IDENTIFIER=%s", program, "DOAGENT_STEP=%s", step,
							  "DOAGENT_DROPLET_ID=%s", droplet_id ? droplet_id : "",
							  "DOAGENT_DURATION_MS=%llu", (unsigned long long)duration_ms,
							  NULL);
		else
			sd->sd_journal_send_with_location(JOURNAL_CODE, "MESSAGE=%s", msg, "PRIORITY=%d", level,
							  "SYSLOG_IDENTIFIER=%s", program, NULL);
		return;
	}
	fprintf(stderr, "%s: %s%s\n", program, level_prefix(level), msg);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(level, NULL, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_step(int level, const char *step, const char *droplet_id, uint64_t duration_ms,
	      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(level, step, droplet_id, duration_ms, fmt, ap);
	va_end(ap);
}
