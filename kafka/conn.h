/*
 * conn.h -- one Kafka broker connection as a state machine, without sockets.
 *
 * Bytes in (kconn_read_buf/kconn_read_done), bytes out (kconn_output/
 * kconn_sent), time passed in.  The connection negotiates API versions
 * first (ApiVersions v3, falling back to lower versions on
 * UNSUPPORTED_VERSION, KIP-511), authenticates if SASL is configured
 * (SaslHandshake v1 + SaslAuthenticate, re-authenticating before the
 * session lifetime runs out, KIP-368), then encodes queued requests at the
 * negotiated version, pipelines them with correlation ids and hands each
 * response body to its callback.  Every response size is bounded before
 * any allocation.  The event-loop glue lives in brokerio.c.
 */
#ifndef KAFKA_CONN_H
#define KAFKA_CONN_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "kafka/kbuf.h"
#include "kafka/kproto.h"

struct ksasl;
struct ksasl_conf;

enum kconn_state {
	KCONN_INIT = 0,		/* not started: requests wait */
	KCONN_APIVERSIONS,	/* ApiVersions in flight */
	KCONN_SASL,		/* authenticating: only SASL requests go out */
	KCONN_READY,		/* requests flow */
	KCONN_REAUTH,		/* KIP-368: requests sent before complete,
				   new ones wait for the re-authentication */
	KCONN_DEAD		/* failed or closed: every request failed */
};

/* Transport-level outcomes handed to callbacks (err argument). */
enum kconn_err {
	KCONN_OK = 0,
	KCONN_EDISCONNECT,	/* connection lost or could not be made */
	KCONN_ETIMEOUT,		/* no response in time */
	KCONN_EPROTO,		/* malformed or oversized response */
	KCONN_EVERSION,		/* the broker has no usable version of this API */
	KCONN_ECANCEL,		/* shut down */
	KCONN_ETLS,		/* TLS failed (set by the glue) */
	KCONN_EAUTH		/* SASL failed: the message starts with
				   "SASL authentication failed: " */
};

/*
 * Encode the request at the given version into w (a complete frame, see
 * kafka_req_begin/kafka_req_end).  Return 0 or -1.
 */
typedef int	(*kconn_enc_fn)(struct kwriter *w, int16_t version, int32_t corr,
		    const char *client_id, void *arg);
/*
 * The response body (after the response header) or an error.  msg says
 * what failed for errors (valid during the call only).
 */
typedef void	(*kconn_resp_fn)(void *arg, int err, const char *msg,
		    int16_t version, const uint8_t *body, size_t len);
/*
 * Told of every request that went out (encoded for the wire) once it is
 * done: answered (err KCONN_OK) or failed (a KCONN_E*), with the seconds
 * since it went out.  For statistics: it must not call the connection.
 */
typedef void	(*kconn_obs_fn)(void *arg, int16_t api_key, int err,
		    double seconds);

struct kconn_req {
	TAILQ_ENTRY(kconn_req)	 entry;
	int16_t			 api_key;
	int16_t			 version;
	int32_t			 corr;
	double			 deadline;
	double			 sent;		/* encoded for the wire, at */
	kconn_enc_fn		 enc;
	kconn_resp_fn		 cb;
	void			*arg;
};
TAILQ_HEAD(kconn_reqq, kconn_req);

struct kconn {
	enum kconn_state	 state;
	const char		*client_id;
	char			 name[96];	/* "host:port" for messages */
	int32_t			 next_corr;
	double			 timeout;	/* per request, seconds */
	double			 now;		/* last time passed in */

	int16_t			 api_min[KAFKA_API_MAX];
	int16_t			 api_max[KAFKA_API_MAX];	/* -1: absent */
	int16_t			 apiver_version;	/* ApiVersions version tried */

	struct kconn_reqq	 waiting;	/* not sent: state != READY */
	struct kconn_reqq	 inflight;	/* sent, in order */
	int			 ninflight;
	int			 max_inflight;

	struct kwriter		 out;		/* encoded, not yet written */
	size_t			 out_off;	/* bytes of out already written */

	uint8_t			*in;		/* current response frame */
	size_t			 in_len;
	size_t			 in_cap;
	size_t			 max_response;	/* bound on a response frame */

	const struct ksasl_conf	*sasl_conf;	/* NULL: no SASL; caller's */
	struct ksasl		*sasl;		/* the exchange in progress */
	const uint8_t		*sasl_tok;	/* token being encoded */
	size_t			 sasl_toklen;
	int			 sasl_rounds;	/* SaslAuthenticate requests */
	int			 sasl_final;	/* client done, last answer due */
	int64_t			 sasl_lifetime;	/* SessionLifetimeMs, 0: none */
	double			 reauth_at;	/* KIP-368 deadline, 0: none */
	double			 expire_at;	/* session ends, no re-auth: 0 none */
	kconn_obs_fn		 obs;		/* NULL: none */
	void			*obs_arg;
	char			 errmsg[400];
};

void	 kconn_init(struct kconn *, const char *client_id, const char *name,
	    size_t max_response, double timeout);
/* Fail everything with KCONN_ECANCEL and release memory. */
void	 kconn_free(struct kconn *);
/*
 * Authenticate with SASL after ApiVersions.  Call after kconn_init() and
 * before kconn_start(); conf must outlive the connection.
 */
void	 kconn_set_sasl(struct kconn *, const struct ksasl_conf *);
/* Observe the requests (see kconn_obs_fn); after kconn_init(). */
void	 kconn_set_observer(struct kconn *, kconn_obs_fn, void *arg);
/* The socket is connected: start ApiVersions. */
void	 kconn_start(struct kconn *, double now);
/*
 * 1 once versions are negotiated and the connection authenticated
 * (READY, or REAUTH: requests then wait a round trip or two).
 */
int	 kconn_ready(const struct kconn *);
/*
 * Queue a request.  It is encoded at the negotiated version once the
 * connection is ready.  Returns 0, or -1 if the connection is dead (the
 * callback is not called then).
 */
int	 kconn_submit(struct kconn *, int16_t api_key, kconn_enc_fn, kconn_resp_fn,
	    void *arg, double now);
/* The version to use for an API: -1 if none is common or not negotiated yet. */
int16_t	 kconn_version(const struct kconn *, int16_t api_key);

/* Where to read: a pointer and the room there (never 0 unless dead). */
int	 kconn_read_buf(struct kconn *, uint8_t **, size_t *);
/*
 * n bytes were read into the buffer.  Dispatches complete responses.
 * Returns 0, or -1 if the connection must be closed (kconn_fail() has
 * already been called with the reason).
 */
int	 kconn_read_done(struct kconn *, size_t n, double now);
/* Bytes waiting to be written. */
size_t	 kconn_output(struct kconn *, const uint8_t **);
void	 kconn_sent(struct kconn *, size_t);
/*
 * Expire requests whose deadline passed (failing the connection: a Kafka
 * connection is FIFO, a late answer would desynchronise it), and start a
 * SASL re-authentication once its time (reauth_at) has come: that queues
 * output (see kconn_output()).  Returns the next deadline, re-auth time
 * included, or 0 if none.  -1 if the connection died.
 */
double	 kconn_check_timeouts(struct kconn *, double now);
/* Kill the connection: every waiting and in-flight request fails with err. */
void	 kconn_fail(struct kconn *, int err, const char *fmt, ...)
	    __attribute__((__format__(__printf__, 3, 4)));
int	 kconn_idle(const struct kconn *);

#endif /* KAFKA_CONN_H */
