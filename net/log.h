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
