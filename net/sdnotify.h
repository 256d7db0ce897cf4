/*
 * sdnotify.h -- tell the service manager how the daemon is doing
 * (systemd's sd_notify(3) protocol, without libsystemd): a datagram to
 * the AF_UNIX socket named by $NOTIFY_SOCKET, if it is set.
 */
#ifndef NET_SDNOTIFY_H
#define NET_SDNOTIFY_H

/*
 * Send "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=..." (lines may be
 * combined with newlines).  0 when sent or when no manager listens, -1
 * on error (a warning: the service manager would otherwise only see a
 * start that times out; the daemon goes on either way).
 */
int	 sdnotify(const char *msg);
/* "RELOADING=1" with the CLOCK_MONOTONIC time systemd 253+ asks for. */
int	 sdnotify_reloading(void);

#endif /* NET_SDNOTIFY_H */
