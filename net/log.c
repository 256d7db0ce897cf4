/*
 * log.c -- leveled logging to stderr.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "net/bucket.h"
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

/* ---- per-client events: a token bucket ---- */

static double			 lc_rate = 20, lc_burst = 100;
static struct bucket		 lc_bucket;
static unsigned long long	 lc_dropped, lc_dropped_total;

void
log_client_limit(double rate, double burst)
{
	lc_rate = rate > 0 ? rate : 0;
	lc_burst = burst >= 1 ? burst : 1;
	lc_bucket.at = 0;		/* full again */
}

static double
lc_now(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

unsigned long long
log_client_suppressed(void)
{
	return lc_dropped_total;
}

void
log_client_flush(void)
{
	if (lc_dropped == 0)
		return;
	log_msg(LOG_LVL_WARN, "log: %llu client message%s suppressed "
	    "(more than %.0f a second)", lc_dropped, lc_dropped == 1 ? "" : "s",
	    lc_rate);
	lc_dropped = 0;
}

void
log_client(int level, const char *fmt, ...)
{
	va_list	 ap;
	double	 now;

	if (!log_enabled(level))
		return;
	now = lc_now();
	if (bucket_fill(&lc_bucket, now, lc_rate, lc_burst) < 1) {
		lc_dropped++;
		lc_dropped_total++;
		return;
	}
	lc_bucket.tokens -= 1;
	log_client_flush();
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

const char *
log_escape(char *dst, size_t dstlen, const void *src, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = src;
	size_t			 i, k, o = 0, need, tail;
	unsigned char		 c;
	char			 e[4];

	if (dstlen < 4) {
		if (dstlen > 0)
			dst[0] = '\0';
		return dst;
	}
	for (i = 0; i < len; i++) {
		c = p[i];
		need = 1;
		e[0] = (char)c;
		if (c == '\\' || c == '\n' || c == '\r' || c == '\t') {
			e[0] = '\\';
			e[1] = c == '\n' ? 'n' : c == '\r' ? 'r' :
			    c == '\t' ? 't' : '\\';
			need = 2;
		} else if (c < 0x20 || c >= 0x7f) {
			e[0] = '\\';
			e[1] = 'x';
			e[2] = hex[c >> 4];
			e[3] = hex[c & 0xf];
			need = 4;
		}
		/* Room for this, "..." if more follows, and the NUL. */
		tail = i + 1 < len ? 3 : 0;
		if (o + need + tail + 1 > dstlen) {
			while (o > 0 && o + 4 > dstlen)
				o--;
			dst[o++] = '.';
			dst[o++] = '.';
			dst[o++] = '.';
			break;
		}
		for (k = 0; k < need; k++)
			dst[o++] = e[k];
	}
	dst[o] = '\0';
	return dst;
}
