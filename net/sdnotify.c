/*
 * sdnotify.c -- the sd_notify(3) datagram protocol.  $NOTIFY_SOCKET is a
 * path, or an abstract socket name when it starts with '@'.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/log.h"
#include "net/sdnotify.h"

int
sdnotify(const char *msg)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	socklen_t		 len;
	size_t			 n;
	ssize_t			 r;
	int			 fd;

	if (path == NULL || path[0] == '\0')
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sun.sun_path)) {
		log_warnx("sd_notify: unusable NOTIFY_SOCKET \"%s\"", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warnx("sd_notify: socket: %s", strerror(errno));
		return -1;
	}
	do {
		r = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
		    (struct sockaddr *)&sun, len);
	} while (r == -1 && errno == EINTR);
	if (r == -1)
		log_warnx("sd_notify: %s: %s", path, strerror(errno));
	(void)close(fd);
	return r == -1 ? -1 : 0;
}

int
sdnotify_reloading(void)
{
	struct timespec	 ts;
	char		 msg[64];

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return sdnotify("RELOADING=1");
	(void)snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	return sdnotify(msg);
}
