/*
 * conn.c -- one Kafka broker connection as a state machine, without sockets.
 */
#include "config.h"

#ifdef HAVE_SYS_RANDOM_H
#include <sys/random.h>
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka/conn.h"
#include "kafka/sasl.h"
#include "net/log.h"

#define KCONN_APIVERSIONS_MAX	3
#define KCONN_MAX_INFLIGHT	64
#define KCONN_REAUTH_MIN	1.0	/* s between authentications (broker rule) */
#define KCONN_IN_KEEP		(1024 * 1024)	/* keep smaller buffers for reuse */
#define KCONN_SASL_MAX_ROUNDS	16	/* SCRAM takes 2, PLAIN 1 */
#define KCONN_SASL_FAILED	"SASL authentication failed: "

static void	 kconn_pump(struct kconn *, double);
static int	 kconn_send(struct kconn *, struct kconn_req *, int16_t);
static int	 kconn_dispatch(struct kconn *, double);
static int	 kconn_enc_apiversions(struct kwriter *, int16_t, int32_t,
		    const char *, void *);
static void	 kconn_on_apiversions(void *, int, const char *, int16_t,
		    const uint8_t *, size_t);
static void	 kconn_send_apiversions(struct kconn *, double);
static int16_t	 kconn_version_any(const struct kconn *, int16_t);
static void	 kconn_became_ready(struct kconn *);
static void	 kconn_host(const struct kconn *, char *, size_t);
static int	 kconn_req_internal(const struct kconn_req *);
static void	 kconn_sasl_begin(struct kconn *, int);
static void	 kconn_sasl_send(struct kconn *, const uint8_t *, size_t);
static void	 kconn_sasl_done(struct kconn *);
static int	 kconn_enc_sasl_handshake(struct kwriter *, int16_t, int32_t,
		    const char *, void *);
static int	 kconn_enc_sasl_authenticate(struct kwriter *, int16_t,
		    int32_t, const char *, void *);
static void	 kconn_on_sasl_handshake(void *, int, const char *, int16_t,
		    const uint8_t *, size_t);
static void	 kconn_on_sasl_authenticate(void *, int, const char *, int16_t,
		    const uint8_t *, size_t);
static void	 kconn_printable(char *, size_t, const uint8_t *, size_t);

void
kconn_init(struct kconn *c, const char *client_id, const char *name,
    size_t max_response, double timeout)
{
	int	 i;

	memset(c, 0, sizeof(*c));
	c->state = KCONN_INIT;
	c->client_id = client_id;
	(void)snprintf(c->name, sizeof(c->name), "%s", name);
	c->next_corr = 1;
	c->timeout = timeout;
	c->max_inflight = KCONN_MAX_INFLIGHT;
	c->max_response = max_response;
	c->apiver_version = KCONN_APIVERSIONS_MAX;
	for (i = 0; i < KAFKA_API_MAX; i++)
		c->api_min[i] = c->api_max[i] = -1;
	TAILQ_INIT(&c->waiting);
	TAILQ_INIT(&c->inflight);
	/* Requests are small; Fetch requests for many partitions stay < 1 MiB. */
	kw_init(&c->out, 16 * 1024 * 1024);
}

void
kconn_set_sasl(struct kconn *c, const struct ksasl_conf *conf)
{
	c->sasl_conf = conf;
}

void
kconn_set_observer(struct kconn *c, kconn_obs_fn fn, void *arg)
{
	c->obs = fn;
	c->obs_arg = arg;
}

void
kconn_free(struct kconn *c)
{
	if (c->state != KCONN_DEAD)
		kconn_fail(c, KCONN_ECANCEL, "connection to %s closed", c->name);
	ksasl_free(c->sasl);
	c->sasl = NULL;
	kw_free(&c->out);
	free(c->in);
	c->in = NULL;
	c->in_cap = 0;
}

int
kconn_idle(const struct kconn *c)
{
	return TAILQ_EMPTY(&c->waiting) && TAILQ_EMPTY(&c->inflight);
}

int
kconn_ready(const struct kconn *c)
{
	return c->state == KCONN_READY || c->state == KCONN_REAUTH;
}

int16_t
kconn_version(const struct kconn *c, int16_t api_key)
{
	if (!kconn_ready(c))
		return -1;
	return kconn_version_any(c, api_key);
}

/* The negotiated version, whatever the state (SASL needs it early). */
static int16_t
kconn_version_any(const struct kconn *c, int16_t api_key)
{
	int16_t	 min, max, lo, hi;

	if (api_key < 0 || api_key >= KAFKA_API_MAX)
		return -1;
	if (kafka_api_supported(api_key, &min, &max) != 0)
		return -1;
	if (c->api_max[api_key] < 0)
		return -1;
	lo = min > c->api_min[api_key] ? min : c->api_min[api_key];
	hi = max < c->api_max[api_key] ? max : c->api_max[api_key];
	return hi >= lo ? hi : -1;
}

static struct kconn_req *
kconn_req_new(int16_t api_key, kconn_enc_fn enc, kconn_resp_fn cb, void *arg,
    double deadline)
{
	struct kconn_req	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->api_key = api_key;
	r->enc = enc;
	r->cb = cb;
	r->arg = arg;
	r->deadline = deadline;
	r->version = -1;
	return r;
}

int
kconn_submit(struct kconn *c, int16_t api_key, kconn_enc_fn enc,
    kconn_resp_fn cb, void *arg, double now)
{
	struct kconn_req	*r;

	int16_t			 v;

	if (c->state == KCONN_DEAD)
		return -1;
	c->now = now;
	if ((r = kconn_req_new(api_key, enc, cb, arg, now + c->timeout)) == NULL)
		return -1;
	/*
	 * Never call back from inside kconn_submit(): a caller that retries
	 * from its callback would recurse.  A request that cannot go out now
	 * is refused with -1 instead.
	 */
	if (c->state == KCONN_READY && TAILQ_EMPTY(&c->waiting) &&
	    c->ninflight < c->max_inflight) {
		if ((v = kconn_version(c, api_key)) < 0) {
			(void)snprintf(c->errmsg, sizeof(c->errmsg), "%s supports "
			    "no version of %s that we speak", c->name,
			    kafka_api_name(api_key));
			free(r);
			return -1;
		}
		if (kconn_send(c, r, v) != 0) {
			(void)snprintf(c->errmsg, sizeof(c->errmsg),
			    "request too large to encode");
			free(r);
			return -1;
		}
		return 0;
	}
	TAILQ_INSERT_TAIL(&c->waiting, r, entry);
	return 0;
}

void
kconn_start(struct kconn *c, double now)
{
	if (c->state != KCONN_INIT)
		return;
	c->now = now;
	kconn_send_apiversions(c, now);
}

/* Encode one request and move it in flight.  Returns 0 or -1. */
static int
kconn_send(struct kconn *c, struct kconn_req *r, int16_t version)
{
	size_t	 before = c->out.len;

	r->version = version;
	r->corr = c->next_corr++;
	if (c->next_corr == INT32_MAX)
		c->next_corr = 1;
	if (r->enc(&c->out, version, r->corr, c->client_id, r->arg) != 0 ||
	    c->out.err) {
		c->out.len = before;
		c->out.err = 0;
		return -1;
	}
	r->sent = c->now;
	TAILQ_INSERT_TAIL(&c->inflight, r, entry);
	c->ninflight++;
	return 0;
}

static void
kconn_send_apiversions(struct kconn *c, double now)
{
	struct kconn_req	*r;

	r = kconn_req_new(KAFKA_API_VERSIONS, kconn_enc_apiversions,
	    kconn_on_apiversions, c, now + c->timeout);
	if (r == NULL) {
		kconn_fail(c, KCONN_EPROTO, "out of memory");
		return;
	}
	c->state = KCONN_APIVERSIONS;
	if (kconn_send(c, r, c->apiver_version) != 0) {
		free(r);
		kconn_fail(c, KCONN_EPROTO, "cannot encode ApiVersions");
	}
}

/* Encode waiting requests while the connection is ready and has room. */
static void
kconn_pump(struct kconn *c, double now)
{
	struct kconn_req	*r;
	int16_t			 v;

	(void)now;
	while (c->state == KCONN_READY && c->ninflight < c->max_inflight &&
	    (r = TAILQ_FIRST(&c->waiting)) != NULL) {
		TAILQ_REMOVE(&c->waiting, r, entry);
		v = kconn_version(c, r->api_key);
		if (v < 0) {
			(void)snprintf(c->errmsg, sizeof(c->errmsg), "%s supports "
			    "no version of %s that we speak", c->name,
			    kafka_api_name(r->api_key));
			r->cb(r->arg, KCONN_EVERSION, c->errmsg, -1, NULL, 0);
			free(r);
			continue;
		}
		if (kconn_send(c, r, v) != 0) {
			r->cb(r->arg, KCONN_EPROTO, "request too large to encode",
			    v, NULL, 0);
			free(r);
		}
	}
}

static int
kconn_enc_apiversions(struct kwriter *w, int16_t version, int32_t corr,
    const char *client_id, void *arg)
{
	(void)arg;
	return kafka_enc_api_versions(w, version, corr, client_id,
	    "kafkagate", PACKAGE_VERSION);
}

static void
kconn_on_apiversions(void *arg, int err, const char *msg, int16_t version,
    const uint8_t *body, size_t len)
{
	struct kconn			*c = arg;
	struct kafka_api_versions_resp	 resp;
	int16_t				 next = -1;
	int32_t				 i;

	if (err != KCONN_OK)
		return;		/* kconn_fail() already reported it */
	memset(&resp, 0, sizeof(resp));
	if (kafka_dec_api_versions(body, len, version, &resp) != 0) {
		kafka_api_versions_free(&resp);
		kconn_fail(c, KCONN_EPROTO,
		    "malformed ApiVersions v%d response from %s", version, c->name);
		return;
	}
	if (resp.error_code == KAFKA_ERR_UNSUPPORTED_VERSION ||
	    resp.error_code == KAFKA_ERR_INVALID_REQUEST) {
		/*
		 * KIP-511: the broker answers an unknown ApiVersions version
		 * with a v0 body listing its own range for ApiVersions (or
		 * nothing, before 2.4).  Retry at that version, or one lower.
		 */
		if (resp.error_code == KAFKA_ERR_INVALID_REQUEST)
			next = 0;
		for (i = 0; i < resp.count && next < 0; i++)
			if (resp.apis[i].api_key == KAFKA_API_VERSIONS &&
			    resp.apis[i].max < version)
				next = resp.apis[i].max;
		if (next < 0)
			next = version - 1;
		kafka_api_versions_free(&resp);
		if (next < 0 || next >= version) {
			kconn_fail(c, KCONN_EVERSION,
			    "%s rejected every ApiVersions version", c->name);
			return;
		}
		log_debug("kafka: %s: ApiVersions v%d unsupported, retrying v%d",
		    c->name, version, next);
		c->apiver_version = next;
		kconn_send_apiversions(c, c->now);
		return;
	}
	if (resp.error_code != KAFKA_ERR_NONE) {
		kconn_fail(c, KCONN_EPROTO, "ApiVersions failed on %s: %s",
		    c->name, kafka_err_name(resp.error_code));
		kafka_api_versions_free(&resp);
		return;
	}
	for (i = 0; i < resp.count; i++) {
		const struct kafka_api_range *a = &resp.apis[i];

		if (a->api_key >= 0 && a->api_key < KAFKA_API_MAX &&
		    a->min >= 0 && a->max >= a->min) {
			c->api_min[a->api_key] = a->min;
			c->api_max[a->api_key] = a->max;
		}
	}
	kafka_api_versions_free(&resp);
	(void)msg;
	log_debug("kafka: %s: ApiVersions v%d", c->name, version);
	if (c->sasl_conf != NULL) {
		kconn_sasl_begin(c, 0);
		return;
	}
	kconn_became_ready(c);
}

static void
kconn_became_ready(struct kconn *c)
{
	c->state = KCONN_READY;
	log_debug("kafka: %s: ready (Metadata v%d, ListOffsets v%d, Fetch v%d)",
	    c->name, kconn_version(c, KAFKA_API_METADATA),
	    kconn_version(c, KAFKA_API_LIST_OFFSETS),
	    kconn_version(c, KAFKA_API_FETCH));
	kconn_pump(c, c->now);
}

/* ---- SASL: SaslHandshake v1, then SaslAuthenticate rounds ---- */

/* The host part of "host:port" or "[v6]:port", for libsasl2. */
static void
kconn_host(const struct kconn *c, char *host, size_t size)
{
	const char	*p = c->name, *e;
	size_t		 n;

	if (*p == '[' && (e = strchr(p, ']')) != NULL)
		p++;
	else if ((e = strrchr(p, ':')) == NULL)
		e = p + strlen(p);
	n = (size_t)(e - p);
	if (n >= size)
		n = size - 1;
	memcpy(host, p, n);
	host[n] = '\0';
}

/* Start (or, for KIP-368, restart) the SASL exchange. */
static void
kconn_sasl_begin(struct kconn *c, int reauth)
{
	struct kconn_req	*r;
	char			 err[160], host[sizeof(c->name)];

	if (c->api_max[KAFKA_API_SASL_HANDSHAKE] < 1 ||
	    c->api_min[KAFKA_API_SASL_HANDSHAKE] > 1 ||
	    kconn_version_any(c, KAFKA_API_SASL_AUTHENTICATE) < 0) {
		kconn_fail(c, KCONN_EAUTH, KCONN_SASL_FAILED "%s supports no "
		    "SaslHandshake v1 with SaslAuthenticate (Kafka 1.0 or "
		    "later is needed)", c->name);
		return;
	}
	ksasl_free(c->sasl);
	kconn_host(c, host, sizeof(host));
	if ((c->sasl = ksasl_new(c->sasl_conf, host, err, sizeof(err))) ==
	    NULL) {
		kconn_fail(c, KCONN_EAUTH, KCONN_SASL_FAILED "%s", err);
		return;
	}
	c->state = reauth ? KCONN_REAUTH : KCONN_SASL;
	c->sasl_rounds = 0;
	c->sasl_final = 0;
	c->sasl_lifetime = 0;
	c->reauth_at = 0;
	c->expire_at = 0;
	r = kconn_req_new(KAFKA_API_SASL_HANDSHAKE, kconn_enc_sasl_handshake,
	    kconn_on_sasl_handshake, c, c->now + c->timeout);
	if (r == NULL) {
		kconn_fail(c, KCONN_EPROTO, "out of memory");
		return;
	}
	if (kconn_send(c, r, 1) != 0) {
		free(r);
		kconn_fail(c, KCONN_EPROTO, "cannot encode SaslHandshake");
		return;
	}
	log_debug("kafka: %s: %sauthenticating with %s", c->name,
	    reauth ? "re-" : "", c->sasl_conf->mechanism);
}

static int
kconn_enc_sasl_handshake(struct kwriter *w, int16_t version, int32_t corr,
    const char *client_id, void *arg)
{
	struct kconn	*c = arg;

	return kafka_enc_sasl_handshake(w, version, corr, client_id,
	    c->sasl_conf->mechanism);
}

static int
kconn_enc_sasl_authenticate(struct kwriter *w, int16_t version, int32_t corr,
    const char *client_id, void *arg)
{
	struct kconn	*c = arg;

	return kafka_enc_sasl_authenticate(w, version, corr, client_id,
	    c->sasl_tok, c->sasl_toklen);
}

/* Bytes from the broker as a message: printable ASCII, '?' for the rest. */
static void
kconn_printable(char *dst, size_t size, const uint8_t *p, size_t len)
{
	size_t	 i;

	if (size == 0)
		return;
	if (len > size - 1)
		len = size - 1;
	for (i = 0; i < len; i++)
		dst[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	dst[len] = '\0';
}

static void
kconn_on_sasl_handshake(void *arg, int err, const char *msg, int16_t version,
    const uint8_t *body, size_t len)
{
	struct kconn				*c = arg;
	struct kafka_sasl_handshake_resp	 resp;
	const uint8_t				*tok;
	size_t					 toklen, off;
	int32_t					 i;
	int16_t					 code;
	char					 list[128];

	(void)msg;
	if (err != KCONN_OK)
		return;
	if (kafka_dec_sasl_handshake(body, len, version, &resp) != 0) {
		kconn_fail(c, KCONN_EPROTO, "malformed SaslHandshake response "
		    "from %s", c->name);
		return;
	}
	if (resp.error_code == KAFKA_ERR_UNSUPPORTED_SASL_MECHANISM) {
		list[0] = '\0';
		for (i = 0, off = 0; i < resp.count && off + 3 < sizeof(list);
		    i++) {
			if (i > 0) {
				memcpy(list + off, ", ", 2);
				off += 2;
			}
			kconn_printable(list + off, sizeof(list) - off,
			    resp.mechanisms[i].p, (size_t)resp.mechanisms[i].len);
			off += strlen(list + off);
		}
		kafka_sasl_handshake_free(&resp);
		kconn_fail(c, KCONN_EAUTH, KCONN_SASL_FAILED "mechanism %s not "
		    "enabled on the broker (enabled: %s)",
		    c->sasl_conf->mechanism, list[0] ? list : "none");
		return;
	}
	code = resp.error_code;
	kafka_sasl_handshake_free(&resp);
	if (code != KAFKA_ERR_NONE) {
		kconn_fail(c, KCONN_EAUTH, KCONN_SASL_FAILED "SaslHandshake: %s",
		    kafka_err_name(code));
		return;
	}
	if (ksasl_start(c->sasl, &tok, &toklen) != KSASL_CONTINUE) {
		kconn_fail(c, KCONN_EAUTH, KCONN_SASL_FAILED "%s",
		    ksasl_error(c->sasl));
		return;
	}
	kconn_sasl_send(c, tok, toklen);
}

static void
kconn_sasl_send(struct kconn *c, const uint8_t *tok, size_t toklen)
{
	struct kconn_req	*r;
	int16_t			 v;

	if (++c->sasl_rounds > KCONN_SASL_MAX_ROUNDS) {
		kconn_fail(c, KCONN_EAUTH, KCONN_SASL_FAILED "more than %d "
		    "rounds with %s", KCONN_SASL_MAX_ROUNDS, c->name);
		return;
	}
	v = kconn_version_any(c, KAFKA_API_SASL_AUTHENTICATE);
	r = kconn_req_new(KAFKA_API_SASL_AUTHENTICATE,
	    kconn_enc_sasl_authenticate, kconn_on_sasl_authenticate, c,
	    c->now + c->timeout);
	if (r == NULL) {
		kconn_fail(c, KCONN_EPROTO, "out of memory");
		return;
	}
	c->sasl_tok = tok;
	c->sasl_toklen = toklen;
	if (kconn_send(c, r, v) != 0) {
		free(r);
		c->sasl_tok = NULL;
		kconn_fail(c, KCONN_EPROTO, "cannot encode SaslAuthenticate");
		return;
	}
	c->sasl_tok = NULL;
	c->sasl_toklen = 0;
}

static void
kconn_on_sasl_authenticate(void *arg, int err, const char *msg,
    int16_t version, const uint8_t *body, size_t len)
{
	struct kconn				*c = arg;
	struct kafka_sasl_authenticate_resp	 resp;
	const uint8_t				*tok;
	size_t					 toklen;
	char					 text[200];

	(void)msg;
	if (err != KCONN_OK)
		return;
	if (kafka_dec_sasl_authenticate(body, len, version, &resp) != 0) {
		kconn_fail(c, KCONN_EPROTO, "malformed SaslAuthenticate v%d "
		    "response from %s", version, c->name);
		return;
	}
	if (resp.error_code != KAFKA_ERR_NONE) {
		/*
		 * SASL_AUTHENTICATION_FAILED (58) with the broker's reason;
		 * the broker closes the connection next.
		 */
		if (resp.error_message.len > 0)
			kconn_printable(text, sizeof(text),
			    resp.error_message.p,
			    (size_t)resp.error_message.len);
		else if (ksasl_error(c->sasl)[0] != '\0')
			(void)snprintf(text, sizeof(text), "%s",
			    ksasl_error(c->sasl));
		else
			(void)snprintf(text, sizeof(text), "%s",
			    kafka_err_name(resp.error_code));
		kconn_fail(c, KCONN_EAUTH, KCONN_SASL_FAILED "%s", text);
		return;
	}
	if (resp.session_lifetime_ms > 0)
		c->sasl_lifetime = resp.session_lifetime_ms;
	if (c->sasl_final) {
		kconn_sasl_done(c);
		return;
	}
	switch (ksasl_step(c->sasl, resp.auth_bytes.p,
	    (size_t)resp.auth_bytes.len, &tok, &toklen)) {
	case KSASL_CONTINUE:
		kconn_sasl_send(c, tok, toklen);
		break;
	case KSASL_DONE:
		if (toklen == 0) {
			kconn_sasl_done(c);
			break;
		}
		/* A last client token: authenticated once it is accepted. */
		c->sasl_final = 1;
		kconn_sasl_send(c, tok, toklen);
		break;
	default:
		kconn_fail(c, KCONN_EAUTH, KCONN_SASL_FAILED "%s",
		    ksasl_error(c->sasl));
		break;
	}
}

/*
 * A uniform random number below n (jitter, not secrets).  glibc has
 * arc4random_uniform() only from 2.36; elsewhere getrandom(), and if that
 * fails too the clock (a jitter only has to differ between processes).
 */
static uint32_t
kconn_random(uint32_t n)
{
#ifdef HAVE_ARC4RANDOM_UNIFORM
	return arc4random_uniform(n);
#else
	uint32_t	 v = 0;
#ifdef HAVE_GETRANDOM
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
#endif
	{
		struct timespec	 ts;

		(void)clock_gettime(CLOCK_MONOTONIC, &ts);
		v = (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec * 2654435761u;
	}
	return n > 0 ? v % n : 0;
#endif
}

/* Authenticated: schedule KIP-368 re-authentication, let requests flow. */
static void
kconn_sasl_done(struct kconn *c)
{
	double	 frac, life, delay;
	int	 reauth = c->state == KCONN_REAUTH;

	ksasl_free(c->sasl);
	c->sasl = NULL;
	c->reauth_at = 0;
	c->expire_at = 0;
	if (c->sasl_lifetime > 0) {
		/* As the Java client: at a random 85-95 % of the lifetime. */
		frac = 0.85 + 0.10 * (double)kconn_random(10001) / 10000.0;
		life = (double)c->sasl_lifetime / 1000.0;
		delay = life * frac;
		/*
		 * The broker refuses a re-authentication within a second of
		 * the last one (ILLEGAL_SASL_STATE).  A session too short for
		 * that (an expiring OAUTHBEARER token) just ends: the
		 * connection closes then and the next request reconnects.
		 */
		if (delay < KCONN_REAUTH_MIN)
			delay = life > KCONN_REAUTH_MIN + 0.1 ? KCONN_REAUTH_MIN : 0;
		if (delay > 0)
			c->reauth_at = c->now + delay;
		else
			c->expire_at = c->now + life;
	}
	log_debug("kafka: %s: %sauthenticated with %s%s", c->name,
	    reauth ? "re-" : "", c->sasl_conf->mechanism,
	    c->sasl_lifetime > 0 ? ", re-authentication scheduled" : "");
	if (reauth) {
		c->state = KCONN_READY;
		kconn_pump(c, c->now);
	} else
		kconn_became_ready(c);
}

int
kconn_read_buf(struct kconn *c, uint8_t **p, size_t *room)
{
	size_t	 size, ncap;
	uint8_t	*n;

	if (c->state == KCONN_DEAD)
		return -1;
	if (c->in_cap < 4) {
		if ((c->in = malloc(4096)) == NULL)
			return -1;
		c->in_cap = 4096;
	}
	if (c->in_len < 4) {
		*p = c->in + c->in_len;
		*room = 4 - c->in_len;
		return 0;
	}
	size = 4 + (((size_t)c->in[0] << 24) | ((size_t)c->in[1] << 16) |
	    ((size_t)c->in[2] << 8) | c->in[3]);
	if (size > c->in_cap) {
		ncap = size;
		if ((n = realloc(c->in, ncap)) == NULL)
			return -1;
		c->in = n;
		c->in_cap = ncap;
	}
	*p = c->in + c->in_len;
	*room = size - c->in_len;
	return 0;
}

int
kconn_read_done(struct kconn *c, size_t n, double now)
{
	uint32_t	 size;

	c->now = now;
	c->in_len += n;
	if (c->in_len < 4)
		return 0;
	size = ((uint32_t)c->in[0] << 24) | ((uint32_t)c->in[1] << 16) |
	    ((uint32_t)c->in[2] << 8) | c->in[3];
	if (c->in_len == 4) {
		/* Bound the frame before anything is allocated for it. */
		if (size < 4 || size > c->max_response || size > INT32_MAX) {
			kconn_fail(c, KCONN_EPROTO, "response of %u bytes from %s "
			    "(limit %zu): not a Kafka broker, or a TLS port?",
			    size, c->name, c->max_response);
			return -1;
		}
		return 0;
	}
	if (c->in_len < (size_t)size + 4)
		return 0;
	if (kconn_dispatch(c, now) != 0)
		return -1;
	c->in_len = 0;
	if (c->in_cap > KCONN_IN_KEEP) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
	return 0;
}

static int
kconn_dispatch(struct kconn *c, double now)
{
	struct kconn_req	*r;
	struct kreader		 rd;
	int32_t			 corr;

	kr_init(&rd, c->in + 4, c->in_len - 4);
	corr = kr_i32(&rd);
	r = TAILQ_FIRST(&c->inflight);
	if (r == NULL || r->corr != corr) {
		kconn_fail(c, KCONN_EPROTO, "unexpected correlation id %d from %s "
		    "(expected %d)", corr, c->name, r ? r->corr : -1);
		return -1;
	}
	kafka_resp_header_rest(&rd, r->api_key, r->version);
	if (rd.err) {
		kconn_fail(c, KCONN_EPROTO, "malformed response header from %s",
		    c->name);
		return -1;
	}
	TAILQ_REMOVE(&c->inflight, r, entry);
	c->ninflight--;
	if (c->obs != NULL)
		c->obs(c->obs_arg, r->api_key, KCONN_OK, now - r->sent);
	r->cb(r->arg, KCONN_OK, NULL, r->version, rd.p, kr_left(&rd));
	free(r);
	if (c->state == KCONN_DEAD)
		return -1;
	kconn_pump(c, now);
	return 0;
}

size_t
kconn_output(struct kconn *c, const uint8_t **p)
{
	*p = c->out.buf + c->out_off;
	return c->out.len - c->out_off;
}

void
kconn_sent(struct kconn *c, size_t n)
{
	c->out_off += n;
	if (c->out_off >= c->out.len) {
		c->out_off = 0;
		kw_reset(&c->out);
	}
}

double
kconn_check_timeouts(struct kconn *c, double now)
{
	struct kconn_req	*r, *t;
	struct kconn_reqq	 expired;
	double			 next = 0;

	if (c->state == KCONN_DEAD)
		return -1;
	c->now = now;
	/*
	 * KIP-368: re-authenticate on this connection.  The SaslHandshake
	 * goes out behind the requests in flight (the broker answers in
	 * order); new requests wait until the exchange is over.
	 */
	if (c->state == KCONN_READY && c->reauth_at > 0 && now >= c->reauth_at) {
		kconn_sasl_begin(c, 1);
		if (c->state == KCONN_DEAD)
			return -1;
	}
	if (c->state == KCONN_READY && c->expire_at > 0 && now >= c->expire_at) {
		kconn_fail(c, KCONN_EDISCONNECT, "the SASL session on %s ended "
		    "(lifetime too short to re-authenticate)", c->name);
		return -1;
	}
	r = TAILQ_FIRST(&c->inflight);
	if (r != NULL && r->deadline <= now) {
		kconn_fail(c, KCONN_ETIMEOUT, "%s did not answer in %.0f s",
		    c->name, c->timeout);
		return -1;
	}
	if (r != NULL)
		next = r->deadline;
	/* Take the expired ones out first: callbacks may submit more. */
	TAILQ_INIT(&expired);
	for (r = TAILQ_FIRST(&c->waiting); r != NULL; r = t) {
		t = TAILQ_NEXT(r, entry);
		if (r->deadline <= now) {
			TAILQ_REMOVE(&c->waiting, r, entry);
			TAILQ_INSERT_TAIL(&expired, r, entry);
			continue;
		}
		if (next == 0 || r->deadline < next)
			next = r->deadline;
	}
	if (c->state == KCONN_READY && c->reauth_at > 0 &&
	    (next == 0 || c->reauth_at < next))
		next = c->reauth_at;
	if (c->state == KCONN_READY && c->expire_at > 0 &&
	    (next == 0 || c->expire_at < next))
		next = c->expire_at;
	while ((r = TAILQ_FIRST(&expired)) != NULL) {
		TAILQ_REMOVE(&expired, r, entry);
		r->cb(r->arg, KCONN_ETIMEOUT, "request timed out before the "
		    "broker connection was ready", -1, NULL, 0);
		free(r);
	}
	return next;
}

/* The connection's own requests: no caller to tell. */
static int
kconn_req_internal(const struct kconn_req *r)
{
	return r->cb == kconn_on_apiversions ||
	    r->cb == kconn_on_sasl_handshake ||
	    r->cb == kconn_on_sasl_authenticate;
}

/* obs: the observer of the requests that went out, or NULL. */
static void
kconn_fail_queue(struct kconn_reqq *q, int err, const char *msg,
    kconn_obs_fn obs, void *obs_arg, double now)
{
	struct kconn_req	*r;

	while ((r = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, r, entry);
		if (obs != NULL)
			obs(obs_arg, r->api_key, err, now - r->sent);
		if (!kconn_req_internal(r))
			r->cb(r->arg, err, msg, r->version, NULL, 0);
		free(r);
	}
}

void
kconn_fail(struct kconn *c, int err, const char *fmt, ...)
{
	struct kconn_reqq	 inflight, waiting;
	char			 msg[sizeof(c->errmsg)];
	va_list			 ap;
	kconn_obs_fn		 obs;
	void			*obs_arg;
	double			 now;

	if (c->state == KCONN_DEAD)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(c->errmsg, sizeof(c->errmsg), fmt, ap);
	va_end(ap);
	memcpy(msg, c->errmsg, sizeof(msg));
	/*
	 * Dead and detached before any callback runs: a callback may submit
	 * (refused), or reconnect, which re-initialises this structure.
	 */
	c->state = KCONN_DEAD;
	ksasl_free(c->sasl);
	c->sasl = NULL;
	c->reauth_at = 0;
	TAILQ_INIT(&inflight);
	TAILQ_INIT(&waiting);
	TAILQ_CONCAT(&inflight, &c->inflight, entry);
	TAILQ_CONCAT(&waiting, &c->waiting, entry);
	c->ninflight = 0;
	c->in_len = 0;
	kw_reset(&c->out);
	c->out_off = 0;
	/* Copied: a callback may re-initialise the connection. */
	obs = c->obs;
	obs_arg = c->obs_arg;
	now = c->now;
	kconn_fail_queue(&inflight, err, msg, obs, obs_arg, now);
	kconn_fail_queue(&waiting, err, msg, NULL, NULL, now);
}
