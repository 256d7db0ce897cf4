/*
 * log.c -- leveled logging to stderr.
 */
#include "config.h"

#include <stdio.h>

#include "net/log.h"

static int	 log_level = LOG_LVL_INFO;

static const char *const log_names[] = {
	"error", "warning", "info", "debug", "trace"
};

void
log_set_level(int level)
{
	if (level < LOG_LVL_ERR)
		level = LOG_LVL_ERR;
	if (level > LOG_LVL_TRACE)
		level = LOG_LVL_TRACE;
	log_level = level;
}

int
log_enabled(int level)
{
	return level <= log_level;
}

void
log_vmsg(int level, const char *fmt, va_list ap)
{
	char	 line[2048];

	if (!log_enabled(level))
		return;
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	(void)fprintf(stderr, "%s: %s\n", log_names[level], line);
}

void
log_msg(int level, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
