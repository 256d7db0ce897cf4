/*
 * conn.c -- one Kafka broker connection as a state machine, without sockets.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/conn.h"
#include "net/log.h"

#define KCONN_APIVERSIONS_MAX	3
#define KCONN_MAX_INFLIGHT	64
#define KCONN_IN_KEEP		(1024 * 1024)	/* keep smaller buffers for reuse */

static void	 kconn_pump(struct kconn *, double);
static int	 kconn_send(struct kconn *, struct kconn_req *, int16_t);
static int	 kconn_dispatch(struct kconn *, double);
static int	 kconn_enc_apiversions(struct kwriter *, int16_t, int32_t,
		    const char *, void *);
static void	 kconn_on_apiversions(void *, int, const char *, int16_t,
		    const uint8_t *, size_t);
static void	 kconn_send_apiversions(struct kconn *, double);

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
kconn_free(struct kconn *c)
{
	if (c->state != KCONN_DEAD)
		kconn_fail(c, KCONN_ECANCEL, "connection to %s closed", c->name);
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

int16_t
kconn_version(const struct kconn *c, int16_t api_key)
{
	int16_t	 min, max, lo, hi;

	if (api_key < 0 || api_key >= KAFKA_API_MAX || c->state != KCONN_READY)
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
	c->state = KCONN_READY;
	(void)msg;
	log_debug("kafka: %s: ready (ApiVersions v%d; Metadata v%d, "
	    "ListOffsets v%d, Fetch v%d)", c->name, version,
	    kconn_version(c, KAFKA_API_METADATA),
	    kconn_version(c, KAFKA_API_LIST_OFFSETS),
	    kconn_version(c, KAFKA_API_FETCH));
	kconn_pump(c, 0);
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
	while ((r = TAILQ_FIRST(&expired)) != NULL) {
		TAILQ_REMOVE(&expired, r, entry);
		r->cb(r->arg, KCONN_ETIMEOUT, "request timed out before the "
		    "broker connection was ready", -1, NULL, 0);
		free(r);
	}
	return next;
}

static void
kconn_fail_queue(struct kconn_reqq *q, int err, const char *msg)
{
	struct kconn_req	*r;

	while ((r = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, r, entry);
		if (r->cb != kconn_on_apiversions)
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
	TAILQ_INIT(&inflight);
	TAILQ_INIT(&waiting);
	TAILQ_CONCAT(&inflight, &c->inflight, entry);
	TAILQ_CONCAT(&waiting, &c->waiting, entry);
	c->ninflight = 0;
	c->in_len = 0;
	kw_reset(&c->out);
	c->out_off = 0;
	kconn_fail_queue(&inflight, err, msg);
	kconn_fail_queue(&waiting, err, msg);
}
