/*
 * log.h -- leveled logging to stderr, shared by every library and the daemon.
 *
 * One line per message: "LEVEL: module: text".  systemd's journal adds the
 * time, so we do not.  log_warn()/log_err() variants ending in "x" do not
 * append strerror(errno); the others do.
 */
#ifndef NET_LOG_H
#define NET_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
	LOG_LVL_TRACE
};

void	log_set_level(int);
int	log_enabled(int);
void	log_msg(int, const char *, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
void	log_vmsg(int, const char *, va_list)
	    __attribute__((__format__(__printf__, 2, 0)));

/*
 * Per-client events (a connect, a close, a bad request, an error answer):
 * anything a client can make happen as often as it likes.  Process-wide,
 * at most `burst' lines pass at once and then `rate' a second; the others
 * are counted, and the count ("N client messages suppressed") is logged
 * with the next line that passes, or by log_client_flush().  Defaults 20
 * a second, burst 100.  Whatever a client sent must go through
 * log_escape() before it reaches a format.
 */
void	log_client(int, const char *, ...)
	    __attribute__((__format__(__printf__, 2, 3)));
void	log_client_limit(double rate, double burst);
/* Log the suppressed count now, if any (at exit, or from a timer). */
void	log_client_flush(void);
unsigned long long log_client_suppressed(void);

/*
 * Client bytes made safe for one log line: printable ASCII as is, the
 * rest (newlines, control bytes, quotes' backslash, non-ASCII) as \n,
 * \t, \\ or \xNN, cut to fit dst with "..." at the end.  Returns dst,
 * always NUL-terminated (dstlen >= 4).
 */
const char *log_escape(char *dst, size_t dstlen, const void *src, size_t len);

#define log_err(...)	log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warnx(...)	log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	do {						\
	if (log_enabled(LOG_LVL_DEBUG))					\
		log_msg(LOG_LVL_DEBUG, __VA_ARGS__);			\
} while (0)
#define log_trace(...)	do {						\
	if (log_enabled(LOG_LVL_TRACE))					\
		log_msg(LOG_LVL_TRACE, __VA_ARGS__);			\
} while (0)

#endif /* NET_LOG_H */
