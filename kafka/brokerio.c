/*
 * brokerio.c -- the libev glue under the cluster logic: broker
 * connections over sockets and TLS, names resolved off the loop, one
 * timer for the logic's wake-ups (struct kcluster_io, cluster_io.h), and
 * kcluster_new() (cluster.h), which puts the two together.
 *
 * A connection drives a struct kconn (conn.c, the protocol) with the
 * bytes it reads and writes, the connect and request timeouts with an
 * ev_timer.  It reports to the logic when the transport is up and, once
 * per attempt, when it failed; when to try again is the logic's call.
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "kafka/cluster.h"
#include "kafka/cluster_io.h"
#include "kafka/conn.h"
#include "kafka/sasl.h"
#include "net/log.h"
#include "net/resolve.h"
#include "net/tls.h"

#define KB_TCP			1	/* TCP connect in progress */
#define KB_TLS			2	/* TLS handshake in progress */
#define KB_RESOLVE		3	/* name resolution in progress */
#define KB_READS_PER_WAKEUP	64	/* then the other fds get their turn */

/*
 * The SASL settings, copied: a reload may replace them while connections
 * made with the old ones still re-authenticate with them (KIP-368), so
 * each connection holds a reference.
 */
struct kbio_sasl {
	int			 refs;
	struct ksasl_conf	 conf;		/* views of the strings below */
	char			*mechanism;
	char			*username;
	char			*password;	/* wiped before it is freed */
	char			*token;
};

/* The I/O side of one cluster: what its connections share. */
struct kbio_glue {
	struct ev_loop		*loop;
	struct kcluster		*kc;
	char			*client_id;
	double			 request_timeout;
	double			 connect_timeout;
	size_t			 max_response;
	struct ntls_config	*tls;		/* referenced; NULL: plaintext */
	struct kbio_sasl	*sasl;		/* for new connections; NULL */
	struct nres		*resolver;	/* broker names, off the loop */
	ev_timer		 wake;		/* kcluster_run() */
};

/* One broker connection (struct kcio for the logic). */
struct kcio {
	struct kbio_glue	*g;
	void			*arg;		/* the logic's broker */
	int			 role;		/* KCIO_MAIN, _DATA, _POLL */
	char			*host;
	int			 port;
	char			 name[300];	/* host:port */
	int			 fd;
	int			 connecting;	/* KB_* until up */
	struct ntls		*tls;		/* NULL: plaintext */
	struct nres_query	*resq;		/* KB_RESOLVE: the lookup */
	struct kbio_sasl	*sasl;		/* its connection's; NULL */
	int			 tls_want;	/* EV_READ/EV_WRITE TLS asked for */
	int			 tls_wblock;	/* a TLS write waits for readability */
	ev_io			 io;
	ev_timer		 more;		/* decrypted bytes left to read */
	ev_timer		 timer;		/* connect and request timeouts */
	struct kconn		 conn;
	int			 have_conn;
	unsigned int		 gen;		/* bumped at every connect */
	unsigned int		 failed_gen;	/* gen whose failure was reported */
	int			 fail_err;	/* KCONN_E* for kbio_close, or 0 */
	int			 slot;		/* the observer's; KBIO_NOSLOT */
	int			 up;		/* transport up, told to it */
	char			 errmsg[1024];	/* why gen failed */
};

#define KBIO_NOSLOT		INT_MIN	/* not asked yet */

/* Statistics (kcluster_set_observer()): process-wide. */
static const struct kcluster_observer	*kbio_obs;
static void				*kbio_obs_arg;

static void	 kbio_resolved(void *, int, struct addrinfo *);
static void	 kbio_close(struct kcio *, const char *);
static struct kbio_sasl *kbio_sasl_new(const struct ksasl_conf *);
static void	 kbio_sasl_unref(struct kbio_sasl *);
static void	 kbio_failed(struct kcio *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));
static void	 kbio_tls_failed(struct kcio *);
static void	 kbio_update_io(struct kcio *);
static void	 kbio_arm_timer(struct kcio *);
static void	 kbio_io_cb(struct ev_loop *, ev_io *, int);
static void	 kbio_timer_cb(struct ev_loop *, ev_timer *, int);
static void	 kbio_more_cb(struct ev_loop *, ev_timer *, int);
static int	 kbio_slot(struct kcio *);
static void	 kbio_observe(void *, int16_t, int, double);

void
kcluster_set_observer(const struct kcluster_observer *obs, void *arg)
{
	kbio_obs = obs;
	kbio_obs_arg = arg;
}

/* The observer's slot for this broker, asked once. */
static int
kbio_slot(struct kcio *c)
{
	if (c->slot == KBIO_NOSLOT)
		c->slot = kbio_obs->broker(kbio_obs_arg, c->name);
	return c->slot;
}

/* kconn_obs_fn: a request of this connection is done. */
static void
kbio_observe(void *arg, int16_t api_key, int err, double seconds)
{
	struct kcio	*c = arg;

	if (kbio_obs != NULL)
		kbio_obs->request(kbio_obs_arg, kbio_slot(c), c->role, api_key,
		    err, seconds);
}

/* ---- struct kcluster_io: the clock and the wake-up ---- */

static double
kbio_now(void *ctx)
{
	struct kbio_glue	*g = ctx;

	return ev_now(g->loop);
}

static void
kbio_wake(void *ctx, double at)
{
	struct kbio_glue	*g = ctx;
	double			 d;

	ev_timer_stop(g->loop, &g->wake);
	if (at <= 0)
		return;
	d = at - ev_now(g->loop);
	ev_timer_set(&g->wake, d > 0 ? d : 0, 0);
	ev_timer_start(g->loop, &g->wake);
}

static void
kbio_wake_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct kbio_glue	*g = w->data;

	(void)revents;
	if (g->kc != NULL)
		kcluster_run(g->kc, ev_now(loop));
}

static void
kbio_done(void *ctx)
{
	struct kbio_glue	*g = ctx;

	ev_timer_stop(g->loop, &g->wake);
	nres_free(g->resolver);
	if (g->tls != NULL)
		ntls_config_unref(g->tls);
	kbio_sasl_unref(g->sasl);
	free(g->client_id);
	free(g);
}

static struct kbio_sasl *
kbio_sasl_new(const struct ksasl_conf *conf)
{
	struct kbio_sasl	*k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->refs = 1;
	if ((conf->mechanism != NULL &&
	    (k->mechanism = strdup(conf->mechanism)) == NULL) ||
	    (conf->username != NULL &&
	    (k->username = strdup(conf->username)) == NULL) ||
	    (conf->password != NULL &&
	    (k->password = strdup(conf->password)) == NULL) ||
	    (conf->token != NULL && (k->token = strdup(conf->token)) == NULL)) {
		kbio_sasl_unref(k);
		return NULL;
	}
	k->conf.mechanism = k->mechanism;
	k->conf.username = k->username;
	k->conf.password = k->password;
	k->conf.token = k->token;
	return k;
}

static void
kbio_sasl_unref(struct kbio_sasl *k)
{
	if (k == NULL || --k->refs > 0)
		return;
	if (k->password != NULL) {
		explicit_bzero(k->password, strlen(k->password));
		free(k->password);
	}
	if (k->token != NULL) {
		explicit_bzero(k->token, strlen(k->token));
		free(k->token);
	}
	free(k->mechanism);
	free(k->username);
	free(k);
}

/* ---- connections ---- */

static struct kcio *
kbio_new(void *ctx, const char *host, int port, int role, void *arg)
{
	struct kcio	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->host = strdup(host)) == NULL) {
		free(c);
		return NULL;
	}
	c->g = ctx;
	c->arg = arg;
	c->role = role;
	c->port = port;
	c->fd = -1;
	c->failed_gen = UINT_MAX;
	c->slot = KBIO_NOSLOT;
	(void)snprintf(c->name, sizeof(c->name), strchr(host, ':') ?
	    "[%s]:%d" : "%s:%d", host, port);
	ev_init(&c->io, kbio_io_cb);
	c->io.data = c;
	ev_init(&c->timer, kbio_timer_cb);
	c->timer.data = c;
	ev_init(&c->more, kbio_more_cb);
	c->more.data = c;
	return c;
}

static void
kbio_free(struct kcio *c, const char *why)
{
	kbio_close(c, why);
	free(c->host);
	free(c);
}

static enum kcio_state
kbio_state(const struct kcio *c)
{
	if (!c->have_conn || c->conn.state == KCONN_DEAD)
		return KCIO_DOWN;
	if (c->fd >= 0 && !c->connecting && kconn_ready(&c->conn))
		return KCIO_READY;
	return KCIO_OPENING;
}

static int
kbio_idle(const struct kcio *c)
{
	return !c->have_conn || kconn_idle(&c->conn);
}

static const char *
kbio_errmsg(const struct kcio *c)
{
	return c->conn.errmsg;
}

static void
kbio_fail(struct kcio *c, int err, const char *msg)
{
	if (c->have_conn)
		kconn_fail(&c->conn, err, "%s", msg);
}

/* Close the socket; the kconn fails every request with the reason. */
static void
kbio_close(struct kcio *c, const char *why)
{
	struct ev_loop	*loop = c->g->loop;

	ev_io_stop(loop, &c->io);
	ev_timer_stop(loop, &c->timer);
	ev_timer_stop(loop, &c->more);
	if (c->resq != NULL) {
		nres_cancel(c->resq);
		c->resq = NULL;
	}
	c->tls_wblock = 0;
	if (c->tls != NULL) {
		ntls_free(c->tls);
		c->tls = NULL;
	}
	c->tls_want = 0;
	if (c->fd >= 0) {
		(void)close(c->fd);
		c->fd = -1;
	}
	c->connecting = 0;
	if (c->up) {
		c->up = 0;
		if (kbio_obs != NULL)
			kbio_obs->conn(kbio_obs_arg, kbio_slot(c), 0);
	}
	if (c->have_conn) {
		c->have_conn = 0;
		if (c->conn.state != KCONN_DEAD)
			kconn_fail(&c->conn, c->fail_err ? c->fail_err :
			    KCONN_EDISCONNECT, "%s", why);
		kconn_free(&c->conn);
	}
	kbio_sasl_unref(c->sasl);
	c->sasl = NULL;
	c->fail_err = 0;
}

/*
 * This connection attempt failed: tell the logic (which logs it and backs
 * off), then close.  Once per attempt: a connection killed from inside its
 * own read callback may be reported again by the code that called the
 * callback, and must not be logged twice nor have its backoff doubled
 * twice.
 */
static void
kbio_failed(struct kcio *c, const char *fmt, ...)
{
	va_list	 ap;

	if (c->failed_gen == c->gen) {
		kbio_close(c, c->errmsg);
		return;
	}
	c->failed_gen = c->gen;
	va_start(ap, fmt);
	(void)vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
	if (kbio_obs != NULL)
		kbio_obs->failed(kbio_obs_arg, kbio_slot(c));
	kcluster_conn_failed(c->arg, c->fail_err ? c->fail_err :
	    KCONN_EDISCONNECT, c->errmsg);
	kbio_close(c, c->errmsg);
}

/*
 * Connect: resolve the name off the loop (net/resolve.h), then a
 * non-blocking connect to each address in turn until one starts.  The
 * connection exists (requests queue on it) from the start of the lookup;
 * the connect timeout counts from there too, so a name server that does
 * not answer fails the attempt in --connect-timeout, not the loop.
 */
static int
kbio_connect(struct kcio *c, char *err, size_t errlen)
{
	struct kbio_glue	*g = c->g;

	if (kbio_state(c) != KCIO_DOWN)
		return 0;
	if (c->fd >= 0 || c->have_conn || c->resq != NULL)
		kbio_close(c, "reconnecting");
	c->gen++;
	if (g->resolver == NULL)
		g->resolver = nres_new(g->loop);
	if (g->resolver == NULL || (c->resq = nres_lookup(g->resolver,
	    c->host, c->port, kbio_resolved, c)) == NULL) {
		/* Reported by the caller: this attempt is done. */
		c->failed_gen = c->gen;
		(void)snprintf(c->errmsg, sizeof(c->errmsg),
		    "cannot resolve broker %s: out of memory", c->name);
		(void)snprintf(err, errlen, "%s", c->errmsg);
		return -1;
	}
	c->connecting = KB_RESOLVE;
	kconn_init(&c->conn, g->client_id, c->name, g->max_response,
	    g->request_timeout);
	if (g->sasl != NULL) {
		c->sasl = g->sasl;
		c->sasl->refs++;
		kconn_set_sasl(&c->conn, &c->sasl->conf);
	}
	kconn_set_observer(&c->conn, kbio_observe, c);
	c->have_conn = 1;
	kbio_arm_timer(c);
	log_debug("kafka: resolving %s", c->host);
	return 0;
}

static void
kbio_resolved(void *arg, int err, struct addrinfo *res)
{
	struct kcio		*c = arg;
	struct addrinfo		*ai;
	int			 fd = -1, e = 0, one = 1;

	c->resq = NULL;
	if (err != 0) {
		kbio_failed(c, "cannot resolve broker %s: %s", c->name,
		    gai_strerror(err));
		return;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
		    errno == EINPROGRESS)
			break;
		e = errno;
		(void)close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		kbio_failed(c, "cannot connect to broker %s: %s", c->name,
		    strerror(e != 0 ? e : EADDRNOTAVAIL));
		return;
	}
	c->fd = fd;
	c->connecting = KB_TCP;
	ev_io_set(&c->io, fd, EV_WRITE);
	ev_io_start(c->g->loop, &c->io);
	log_debug("kafka: connecting to %s", c->name);
}

static void
kbio_update_io(struct kcio *c)
{
	struct ev_loop	*loop = c->g->loop;
	const uint8_t	*p;
	int		 ev = EV_READ;

	if (c->fd < 0)
		return;
	/* Output waits for writability unless TLS asked for readability. */
	if ((kconn_output(&c->conn, &p) > 0 && !c->tls_wblock) ||
	    (c->tls_want & EV_WRITE))
		ev |= EV_WRITE;
	if (c->connecting == KB_TCP)
		ev = EV_WRITE;
	else if (c->connecting == KB_TLS)
		ev = c->tls_want ? c->tls_want : EV_READ;
	if ((c->io.events & (EV_READ | EV_WRITE)) != ev || !ev_is_active(&c->io)) {
		ev_io_stop(loop, &c->io);
		ev_io_set(&c->io, c->fd, ev);
		ev_io_start(loop, &c->io);
	}
}

static void
kbio_arm_timer(struct kcio *c)
{
	struct ev_loop	*loop = c->g->loop;
	double		 next, now = ev_now(loop);

	if (c->connecting)
		next = now + c->g->connect_timeout;
	else if (c->have_conn) {
		next = kconn_check_timeouts(&c->conn, now);
		if (next < 0) {
			kbio_failed(c, "broker %s: %s", c->name,
			    c->conn.errmsg);
			return;
		}
	} else
		next = 0;
	ev_timer_stop(loop, &c->timer);
	if (next <= 0)
		return;
	ev_timer_set(&c->timer, next - now > 0 ? next - now : 0, 0);
	ev_timer_start(loop, &c->timer);
}

/* Write what the connection has queued; returns -1 if the broker died. */
static int
kbio_flush(struct kcio *c)
{
	const uint8_t	*p;
	size_t		 n;
	ssize_t		 w;

	while ((n = kconn_output(&c->conn, &p)) > 0) {
		if (c->tls != NULL) {
			/* mbedTLS wants the same bytes again after WANT_*. */
			w = ntls_write(c->tls, p, n);
			c->tls_wblock = w == NTLS_WANT_READ;
			if (w == NTLS_WANT_WRITE || w == NTLS_WANT_READ) {
				c->tls_want = w == NTLS_WANT_WRITE ? EV_WRITE :
				    EV_READ;
				break;
			}
			if (w < 0) {
				kbio_tls_failed(c);
				return -1;
			}
			c->tls_want = 0;
			kconn_sent(&c->conn, (size_t)w);
			continue;
		}
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			kbio_failed(c, "write to broker %s failed: %s", c->name,
			    strerror(errno));
			return -1;
		}
		kconn_sent(&c->conn, (size_t)w);
	}
	return 0;
}

/* After anything that may have queued output or changed deadlines. */
static void
kbio_kick(struct kcio *c)
{
	if (c->fd < 0 || c->connecting)
		return;
	if (c->conn.state == KCONN_DEAD) {
		kbio_failed(c, "broker %s: %s", c->name, c->conn.errmsg);
		return;
	}
	/* Timeouts first: a due re-authentication queues output to send. */
	kbio_arm_timer(c);
	if (c->fd < 0)
		return;
	if (kbio_flush(c) != 0)
		return;
	kbio_update_io(c);
}

static int
kbio_submit(struct kcio *c, int16_t api_key, kconn_enc_fn enc,
    kconn_resp_fn cb, void *arg)
{
	if (!c->have_conn) {
		(void)snprintf(c->conn.errmsg, sizeof(c->conn.errmsg),
		    "not connected");
		return -1;
	}
	if (kconn_submit(&c->conn, api_key, enc, cb, arg,
	    ev_now(c->g->loop)) != 0)
		return -1;
	kbio_kick(c);
	return 0;
}

/* TLS failed on this broker: its requests fail with KCONN_ETLS. */
static void
kbio_tls_failed(struct kcio *c)
{
	c->fail_err = KCONN_ETLS;
	kbio_failed(c, "broker %s: %s", c->name, ntls_error(c->tls));
}

/* The transport is up (TCP, and TLS if configured): start the protocol. */
static void
kbio_up(struct kcio *c)
{
	c->connecting = 0;
	if (kbio_obs != NULL) {
		c->up = 1;
		kbio_obs->conn(kbio_obs_arg, kbio_slot(c), 1);
	}
	kcluster_conn_up(c->arg);
	kconn_start(&c->conn, ev_now(c->g->loop));
	kbio_kick(c);
}

static void
kbio_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct kcio	*c = w->data;
	uint8_t		*p;
	size_t		 room;
	ssize_t		 n;
	int		 err, i;
	unsigned int	 gen = c->gen;
	socklen_t	 len = sizeof(err);
	char		 ebuf[300];

	if (c->connecting == KB_TCP) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err != 0) {
			kbio_failed(c, "cannot connect to broker %s: %s",
			    c->name, strerror(err));
			return;
		}
		log_debug("kafka: connected to %s", c->name);
		if (c->g->tls == NULL) {
			kbio_up(c);
			return;
		}
		c->tls = ntls_new(c->g->tls, c->fd, c->host, ebuf,
		    sizeof(ebuf));
		if (c->tls == NULL) {
			c->fail_err = KCONN_ETLS;
			kbio_failed(c, "broker %s: %s", c->name, ebuf);
			return;
		}
		c->connecting = KB_TLS;
	}
	if (c->connecting == KB_TLS) {
		switch (ntls_handshake(c->tls)) {
		case NTLS_OK:
			log_debug("kafka: %s: %s, %s", c->name,
			    ntls_version(c->tls), ntls_cipher(c->tls));
			c->tls_want = 0;
			kbio_up(c);
			return;
		case NTLS_WANT_READ:
			c->tls_want = EV_READ;
			break;
		case NTLS_WANT_WRITE:
			c->tls_want = EV_WRITE;
			break;
		default:
			kbio_tls_failed(c);
			return;
		}
		kbio_update_io(c);
		return;
	}
	if (revents & (EV_READ | EV_WRITE)) {
		/*
		 * A bounded number of reads per wakeup keeps other fds fair.
		 * With TLS, a write may have been waiting for readability
		 * and a read for writability: always try both.
		 */
		for (i = 0; i < KB_READS_PER_WAKEUP; i++) {
			if (kconn_read_buf(&c->conn, &p, &room) != 0) {
				kbio_failed(c, "broker %s: %s", c->name,
				    c->conn.errmsg[0] ? c->conn.errmsg :
				    "out of memory");
				return;
			}
			if (c->tls != NULL) {
				n = ntls_read(c->tls, p, room);
				if (n == NTLS_WANT_READ || n == NTLS_WANT_WRITE) {
					c->tls_want = n == NTLS_WANT_WRITE ?
					    EV_WRITE : 0;
					break;
				}
				if (n < 0) {
					kbio_tls_failed(c);
					return;
				}
			} else {
				n = recv(c->fd, p, room, 0);
				if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					break;
				if (n < 0 && errno == EINTR)
					continue;
			}
			if (n <= 0) {
				kbio_failed(c, "broker %s closed the connection%s%s",
				    c->name, n == 0 ? "" : ": ",
				    n == 0 ? "" : strerror(errno));
				return;
			}
			if (kconn_read_done(&c->conn, (size_t)n, ev_now(loop)) != 0) {
				kbio_failed(c, "broker %s: %s", c->name,
				    c->conn.errmsg);
				return;
			}
			if (c->fd < 0 || c->gen != gen)
				return;		/* closed from a callback */
		}
		/*
		 * Decrypted bytes left inside mbedTLS wake no fd: come back on
		 * the next loop turn, after the other fds (a fed event would
		 * run at once, and be lost if the watcher is restarted).
		 */
		if (c->tls != NULL && ntls_pending(c->tls) > 0 &&
		    !ev_is_active(&c->more)) {
			ev_timer_set(&c->more, 0, 0);
			ev_timer_start(loop, &c->more);
		}
	}
	kbio_kick(c);
}

static void
kbio_more_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct kcio	*c = w->data;

	(void)revents;
	if (c->fd >= 0 && c->tls != NULL && !c->connecting)
		kbio_io_cb(loop, &c->io, EV_READ);
}

static void
kbio_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct kcio	*c = w->data;

	(void)revents;
	if (c->connecting) {
		kbio_failed(c, "cannot connect to broker %s: %s timed out",
		    c->name, c->connecting == KB_TLS ? "TLS handshake" :
		    c->connecting == KB_RESOLVE ? "name resolution" :
		    "connection");
		return;
	}
	if (c->have_conn && kconn_check_timeouts(&c->conn, ev_now(loop)) < 0) {
		kbio_failed(c, "broker %s: %s", c->name, c->conn.errmsg);
		return;
	}
	/* A re-authentication may have been started: send it, re-arm. */
	kbio_kick(c);
}

static const struct kcluster_io kbio_ops = {
	.now = kbio_now,
	.wake = kbio_wake,
	.conn_new = kbio_new,
	.connect = kbio_connect,
	.submit = kbio_submit,
	.state = kbio_state,
	.idle = kbio_idle,
	.conn_errmsg = kbio_errmsg,
	.fail = kbio_fail,
	.conn_free = kbio_free,
	.done = kbio_done
};

struct kcluster *
kcluster_new(struct ev_loop *loop, const struct kcluster_conf *conf,
    char *err, size_t errlen)
{
	struct kbio_glue	*g;

	if ((g = calloc(1, sizeof(*g))) == NULL ||
	    (g->client_id = strdup(conf->client_id ? conf->client_id :
	    "kafkagate")) == NULL) {
		free(g);
		(void)snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->loop = loop;
	g->request_timeout = conf->request_timeout;
	g->connect_timeout = conf->connect_timeout;
	g->max_response = conf->max_response;
	if (conf->sasl != NULL && (g->sasl = kbio_sasl_new(conf->sasl)) == NULL) {
		free(g->client_id);
		free(g);
		(void)snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ev_init(&g->wake, kbio_wake_cb);
	g->wake.data = g;
	g->kc = kcluster_new_io(conf, &kbio_ops, g, err, errlen);
	if (g->kc == NULL) {
		kbio_sasl_unref(g->sasl);
		free(g->client_id);
		free(g);
		return NULL;
	}
	if ((g->tls = conf->tls) != NULL)
		ntls_config_ref(g->tls);
	return g->kc;
}

/*
 * A reload: new TLS settings, SASL credentials and timeouts, for the
 * connections made from now on (those up keep theirs).  The brokers, the
 * client id and the isolation level are the cluster's identity: a change
 * there is a new cluster.
 */
int
kcluster_reconfigure(struct kcluster *kc, const struct kcluster_conf *conf)
{
	struct kbio_glue	*g = kcluster_io_ctx(kc);
	struct kbio_sasl	*k = NULL;

	if (conf->sasl != NULL && (k = kbio_sasl_new(conf->sasl)) == NULL)
		return -1;
	kbio_sasl_unref(g->sasl);
	g->sasl = k;
	if (conf->tls != NULL)
		ntls_config_ref(conf->tls);
	if (g->tls != NULL)
		ntls_config_unref(g->tls);
	g->tls = conf->tls;
	g->request_timeout = conf->request_timeout;
	g->connect_timeout = conf->connect_timeout;
	kcluster_set_timeouts(kc, conf->request_timeout, conf->fetch_wait);
	return 0;
}
