/*
 * cluster.c -- bootstrap, metadata cache, leader routing, retries and
 * coalesced Fetches, without sockets, watchers or a clock of its own: the
 * connections, the time and the wake-ups come through struct kcluster_io
 * (cluster_io.h; brokerio.c runs it on libev, the protocol of one
 * connection is conn.c).
 *
 * Operations (list offset, fetch) run as small state machines: wait for
 * metadata of their topic, route to the partition leader, submit on that
 * broker's shared connection, and on a retriable error (leader moved,
 * epoch fenced, connection lost) refresh metadata and try again until
 * their deadline.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/cluster.h"
#include "kafka/cluster_io.h"
#include "kafka/conn.h"
#include "kafka/kproto.h"
#include "net/log.h"

#define KC_RETRY_MIN		0.05	/* first pause between retries */
#define KC_RETRY_MAX		1.0	/* pauses double up to this */
#define KC_BACKOFF_MIN		0.1
#define KC_BACKOFF_MAX		10.0
#define KC_MAX_BOOTSTRAP	32

/*
 * Connection roles (cluster_io.h).  Each broker gets up to three
 * connections: the main one (Metadata, ListOffsets, SASL), one for Fetches
 * that find data (catch-up: answered at once) and one for Fetches at the
 * end of the log (held up to --fetch-wait).  Fetches of one role to one
 * broker are coalesced: one Fetch in flight, carrying every partition
 * that needs data (one entry per partition), the others queued for the
 * next.
 */
#define KB_MAIN			KCIO_MAIN
#define KB_DATA			KCIO_DATA
#define KB_POLL			KCIO_POLL
#define KC_FETCH_MAX_PARTS	1000	/* partitions in one Fetch */
#define KC_PROBE_EVERY		15.0	/* kcluster_reachable(): re-probe */

#define KT_IDLE			SIZE_MAX	/* ktimer.idx when not armed */

struct kcluster;
struct kop;
TAILQ_HEAD(kopq, kop);

/*
 * A timer of the logic: armed, it sits in the cluster's heap (ordered by
 * time, then by arming order) until kcluster_run() passes its time.
 */
struct ktimer {
	double			 at;
	uint64_t		 seq;		/* arming order */
	size_t			 idx;		/* in kc->heap, or KT_IDLE */
	void			(*fn)(void *);
	void			*arg;
};

struct kbroker {
	LIST_ENTRY(kbroker)	 entry;
	struct kcluster		*kc;
	int			 role;		/* KB_MAIN, KB_DATA, KB_POLL */
	struct kbroker		*main;		/* KB_DATA, KB_POLL: whose */
	struct kopq		 fq;		/* fetch ops queued */
	struct kopq		 fin;		/* in the Fetch in flight */
	int			 f_inflight;
	struct ktimer		 kick;		/* the next Fetch, from the loop */
	int32_t			 node_id;	/* < 0: bootstrap address */
	char			*host;
	int			 port;
	char			 name[300];	/* host:port */
	struct kcio		*io;		/* the connection */
	enum kcluster_err	 lasterr_class;	/* what lasterr says, as a class */
	/* Reachability (kcluster_reachable()), in kc->reach_seq order. */
	uint64_t		 ok_seq;	/* last answer */
	uint64_t		 fail_seq;	/* last failed attempt */
	int			 detached;	/* moved: close when idle */
	double			 backoff;
	double			 retry_at;	/* no new attempt before */
	char			 lasterr[1024];
};
LIST_HEAD(kbrokerl, kbroker);

struct ktopic {
	LIST_ENTRY(ktopic)	 entry;
	char			*name;
	int16_t			 error_code;
	int32_t			 nparts;
	int32_t			*leader;
	int32_t			*epoch;
	int16_t			*perr;
	double			 fetched_at;
	int			 stale;
};
LIST_HEAD(ktopicl, ktopic);

enum kop_type {
	KOP_LIST_OFFSET,
	KOP_FETCH
};

struct kop {
	TAILQ_ENTRY(kop)	 entry;
	TAILQ_ENTRY(kop)	 qentry;		/* in a broker's fq or fin */
	struct kbroker		*qb;		/* that broker, or NULL */
	int			 qwhere;	/* 1: fq, 2: fin */
	int			 poll;		/* fetch at the end of the log */
	/*
	 * Fan-out: a fetch identical to one already under way follows it
	 * and gets the same answer, so N clients tailing a partition at the
	 * same offset cost the broker one fetch, not N.
	 */
	struct kop		*leader;
	TAILQ_ENTRY(kop)	 fentry;		/* in leader->followers */
	struct kopq		 followers;
	struct kcluster		*kc;
	enum kop_type		 type;
	char			*topic;
	int32_t			 partition;
	int64_t			 value;		/* timestamp or offset */
	int32_t			 max_bytes;
	int32_t			 leader_epoch;
	kcluster_cb		 cb;
	void			*arg;
	double			 deadline;
	int			 retries;
	int			 waiting_md;	/* on kc->mdwait */
	int			 busy;		/* submitted on a connection */
	struct ktimer		 timer;
	char			 lasterr[1024];
	enum kcluster_err	 lasterr_class;
	int16_t			 lasterr_kerr;
};

struct kcluster {
	const struct kcluster_io *io;
	void			*ctx;		/* io's */
	struct kcluster_conf	 conf;
	char			*boot_host[KC_MAX_BOOTSTRAP];
	int			 boot_port[KC_MAX_BOOTSTRAP];
	int			 nboot;
	int			 boot_next;
	struct kbrokerl		 brokers;
	struct ktopicl		 topics;
	struct kopq		 ops;		/* every live op */
	struct kopq		 mdwait;	/* ops waiting for metadata */
	struct kbroker		*md_broker;	/* metadata request in flight */
	int			 md_tried;	/* brokers tried this round */
	char			 md_err[1024];
	enum kcluster_err	 md_err_class;
	struct ktimer		 md_timer;	/* metadata work, off the stack */

	struct ktimer		**heap;		/* armed timers, earliest first */
	size_t			 nheap;
	size_t			 heapcap;	/* room for every timer there is */
	size_t			 ntimers;	/* timers that exist */
	uint64_t		 timer_seq;
	double			 wake_at;	/* asked of io->wake(); -1: none */
	int			 running;	/* inside kcluster_run() */
	/* kcluster_reachable() */
	uint64_t		 reach_seq;	/* orders answers and failures */
	struct kbroker		*probe;		/* its Metadata in flight on */
	double			 probe_at;	/* when it went out */
	int			 probe_next;	/* bootstrap address to try */
};

static void	 kb_failed(struct kbroker *, int, const char *);
static void	 kc_metadata(struct kcluster *);
static void	 kc_md_schedule(struct kcluster *, double);
static void	 kc_md_timer_cb(void *);
static void	 kop_run(struct kop *);
static void	 kb_detach(struct kbroker *);
static void	 kb_free(struct kbroker *, const char *);
static void	 kf_requeue(struct kbroker *);
static void	 kf_pump(struct kbroker *);
static int	 kc_isolation(const struct kcluster *);
static void	 kf_schedule(struct kbroker *);
static void	 kf_kick_cb(void *);
static void	 kop_retry(struct kop *, enum kcluster_err, int16_t, const char *);
static void	 kop_finish(struct kop *, struct kcluster_result *);
static void	 kop_fail(struct kop *, enum kcluster_err, int16_t, const char *);

/* The outcome class of a transport error. */
static enum kcluster_err
kc_class(int kconn_err)
{
	switch (kconn_err) {
	case KCONN_ETIMEOUT:
		return KCE_TIMEOUT;
	case KCONN_EPROTO:
	case KCONN_EVERSION:
		return KCE_PROTOCOL;
	case KCONN_ECANCEL:
		return KCE_SHUTDOWN;
	case KCONN_ETLS:
		return KCE_TLS;
	case KCONN_EAUTH:
		return KCE_AUTH;
	default:
		return KCE_UNREACHABLE;
	}
}

static double
kc_now(const struct kcluster *kc)
{
	return kc->io->now(kc->ctx);
}

/* ---- timers: a binary heap, one wake-up asked of the I/O layer ---- */

static int
kt_before(const struct ktimer *a, const struct ktimer *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void
kt_swap(struct kcluster *kc, size_t i, size_t j)
{
	struct ktimer	*t = kc->heap[i];

	kc->heap[i] = kc->heap[j];
	kc->heap[j] = t;
	kc->heap[i]->idx = i;
	kc->heap[j]->idx = j;
}

static void
kt_up(struct kcluster *kc, size_t i)
{
	while (i > 0 && kt_before(kc->heap[i], kc->heap[(i - 1) / 2])) {
		kt_swap(kc, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
kt_down(struct kcluster *kc, size_t i)
{
	size_t	 l, m;

	for (;;) {
		l = 2 * i + 1;
		if (l >= kc->nheap)
			break;
		m = l;
		if (l + 1 < kc->nheap &&
		    kt_before(kc->heap[l + 1], kc->heap[l]))
			m = l + 1;
		if (!kt_before(kc->heap[m], kc->heap[i]))
			break;
		kt_swap(kc, i, m);
		i = m;
	}
}

/* Ask the I/O layer for a wake-up at the earliest timer, if that moved. */
static void
kt_wake(struct kcluster *kc)
{
	double	 at;

	if (kc->running)
		return;		/* kcluster_run() asks when it is done */
	at = kc->nheap > 0 ? kc->heap[0]->at : 0;
	if (at == kc->wake_at)
		return;
	kc->wake_at = at;
	kc->io->wake(kc->ctx, at);
}

/*
 * A new timer: make room for it in the heap now, so that arming it never
 * needs memory.  Returns 0, or -1 if out of memory.
 */
static int
kt_init(struct kcluster *kc, struct ktimer *t, void (*fn)(void *), void *arg)
{
	struct ktimer	**h;
	size_t		  cap;

	if (kc->ntimers == kc->heapcap) {
		cap = kc->heapcap < 16 ? 16 : kc->heapcap * 2;
		if (cap > SIZE_MAX / 2 / sizeof(*h) ||
		    (h = realloc(kc->heap, cap * sizeof(*h))) == NULL)
			return -1;
		kc->heap = h;
		kc->heapcap = cap;
	}
	kc->ntimers++;
	memset(t, 0, sizeof(*t));
	t->idx = KT_IDLE;
	t->fn = fn;
	t->arg = arg;
	return 0;
}

static int
kt_active(const struct ktimer *t)
{
	return t->idx != KT_IDLE;
}

static void
kt_remove(struct kcluster *kc, struct ktimer *t)
{
	size_t	 i = t->idx;

	if (i == KT_IDLE)
		return;
	t->idx = KT_IDLE;
	if (i != --kc->nheap) {
		kc->heap[i] = kc->heap[kc->nheap];
		kc->heap[i]->idx = i;
		kt_down(kc, i);
		kt_up(kc, i);
	}
}

static void
kt_stop(struct kcluster *kc, struct ktimer *t)
{
	if (!kt_active(t))
		return;
	kt_remove(kc, t);
	kt_wake(kc);
}

/* Fire delay seconds from now (0: on the next run), re-arming if armed. */
static void
kt_set(struct kcluster *kc, struct ktimer *t, double delay)
{
	kt_remove(kc, t);
	t->at = kc_now(kc) + (delay > 0 ? delay : 0);
	t->seq = kc->timer_seq++;
	t->idx = kc->nheap++;
	kc->heap[t->idx] = t;
	kt_up(kc, t->idx);
	kt_wake(kc);
}

/* The timer goes away with its owner. */
static void
kt_release(struct kcluster *kc, struct ktimer *t)
{
	kt_stop(kc, t);
	kc->ntimers--;
}

void
kcluster_run(struct kcluster *kc, double now)
{
	struct ktimer	*t;
	uint64_t	 seq = kc->timer_seq;

	/*
	 * The timers due, in order; one armed from inside a callback waits
	 * for the next run, even if due, as a libev timer would wait for the
	 * next loop iteration.
	 */
	kc->running = 1;
	kc->wake_at = -1;		/* the wake-up that brought us is spent */
	while (kc->nheap > 0 && (t = kc->heap[0])->at <= now && t->seq < seq) {
		kt_remove(kc, t);
		t->fn(t->arg);
	}
	kc->running = 0;
	kt_wake(kc);
}

double
kcluster_next_timer(const struct kcluster *kc)
{
	return kc->nheap > 0 ? kc->heap[0]->at : 0;
}

void
kcluster_conf_default(struct kcluster_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->client_id = "kafkagate";
	c->request_timeout = 10;
	c->connect_timeout = 5;
	c->metadata_max_age = 60;
	c->max_response = 64 * 1024 * 1024;
}

/* Parse "host:port" or "[v6]:port" into a new host string and a port. */
static int
kc_split_hostport(const char *s, size_t len, char **host, int *port)
{
	const char	*colon, *h;
	size_t		 hlen;
	char		 pbuf[8], *end;
	long		 p;

	colon = NULL;
	for (h = s + len; h > s; h--)
		if (h[-1] == ':') {
			colon = h - 1;
			break;
		}
	if (colon == NULL || colon == s || (size_t)(s + len - colon - 1) >= sizeof(pbuf) ||
	    s + len - colon - 1 == 0)
		return -1;
	memcpy(pbuf, colon + 1, (size_t)(s + len - colon - 1));
	pbuf[s + len - colon - 1] = '\0';
	p = strtol(pbuf, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535)
		return -1;
	h = s;
	hlen = (size_t)(colon - s);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen > 255)
		return -1;
	if ((*host = strndup(h, hlen)) == NULL)
		return -1;
	*port = (int)p;
	return 0;
}

static void	 kc_free(struct kcluster *);

struct kcluster *
kcluster_new_io(const struct kcluster_conf *conf, const struct kcluster_io *io,
    void *ctx, char *err, size_t errlen)
{
	struct kcluster	*kc;
	const char	*p, *q;

	if ((kc = calloc(1, sizeof(*kc))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return NULL;
	}
	kc->io = io;
	kc->ctx = ctx;
	kc->conf = *conf;
	kc->wake_at = -1;
	LIST_INIT(&kc->brokers);
	LIST_INIT(&kc->topics);
	TAILQ_INIT(&kc->ops);
	TAILQ_INIT(&kc->mdwait);
	kc->conf.brokers = NULL;
	kc->conf.client_id = NULL;	/* the caller's: brokerio.c keeps a copy */
	kc->md_timer.idx = KT_IDLE;	/* for kc_free() if kt_init() fails */
	if (kt_init(kc, &kc->md_timer, kc_md_timer_cb, kc) != 0) {
		(void)snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (p = conf->brokers ? conf->brokers : ""; *p != '\0'; p = q) {
		while (*p == ',' || *p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (q = p; *q != '\0' && *q != ',' && *q != ' '; q++)
			;
		if (kc->nboot == KC_MAX_BOOTSTRAP) {
			(void)snprintf(err, errlen, "more than %d bootstrap brokers",
			    KC_MAX_BOOTSTRAP);
			goto fail;
		}
		if (kc_split_hostport(p, (size_t)(q - p), &kc->boot_host[kc->nboot],
		    &kc->boot_port[kc->nboot]) != 0) {
			(void)snprintf(err, errlen, "bad broker address \"%.*s\": "
			    "expected HOST:PORT", (int)(q - p), p);
			goto fail;
		}
		kc->nboot++;
	}
	if (kc->nboot == 0) {
		(void)snprintf(err, errlen, "no broker address given");
		goto fail;
	}
	return kc;
fail:
	kc_free(kc);
	return NULL;
}

static void
kt_free(struct ktopic *t)
{
	free(t->name);
	free(t->leader);
	free(t->epoch);
	free(t->perr);
	free(t);
}

/* Everything but the I/O layer's own state (io->done()). */
static void
kc_free(struct kcluster *kc)
{
	struct kbroker	*b;
	struct ktopic	*t;
	struct kop	*op;
	int		 i;

	kt_stop(kc, &kc->md_timer);
	/* Connections first: their requests point at ops. */
	LIST_FOREACH(b, &kc->brokers, entry)
		if (b->io != NULL)
			kc->io->fail(b->io, KCONN_ECANCEL,
			    "gateway shutting down");
	kc->md_broker = NULL;
	while ((op = TAILQ_FIRST(&kc->mdwait)) != NULL) {
		TAILQ_REMOVE(&kc->mdwait, op, entry);
		op->waiting_md = 0;
		TAILQ_INSERT_TAIL(&kc->ops, op, entry);
	}
	while ((op = TAILQ_FIRST(&kc->ops)) != NULL)
		kop_fail(op, KCE_SHUTDOWN, 0, "gateway shutting down");
	while ((b = LIST_FIRST(&kc->brokers)) != NULL)
		kb_free(b, "shutting down");
	while ((t = LIST_FIRST(&kc->topics)) != NULL) {
		LIST_REMOVE(t, entry);
		kt_free(t);
	}
	for (i = 0; i < kc->nboot; i++)
		free(kc->boot_host[i]);
	free(kc->heap);
	free(kc);
}

void *
kcluster_io_ctx(const struct kcluster *kc)
{
	return kc->ctx;
}

void
kcluster_set_timeouts(struct kcluster *kc, double request_timeout,
    double fetch_wait)
{
	kc->conf.request_timeout = request_timeout;
	kc->conf.fetch_wait = fetch_wait;
}

void
kcluster_free(struct kcluster *kc)
{
	const struct kcluster_io *io;
	void		*ctx;

	if (kc == NULL)
		return;
	io = kc->io;
	ctx = kc->ctx;
	kc_free(kc);
	io->done(ctx);
}

/* ---- brokers and their connections ---- */

static struct kbroker *
kb_find(struct kcluster *kc, int32_t node_id)
{
	struct kbroker	*b;

	LIST_FOREACH(b, &kc->brokers, entry)
		if (b->role == KB_MAIN && b->node_id == node_id)
			return b;
	return NULL;
}

static struct kbroker *
kb_find_addr(struct kcluster *kc, const char *host, int port)
{
	struct kbroker	*b;

	LIST_FOREACH(b, &kc->brokers, entry)
		if (b->role == KB_MAIN && !b->detached && b->port == port &&
		    strcmp(b->host, host) == 0)
			return b;
	return NULL;
}

static struct kbroker *
kb_new(struct kcluster *kc, int32_t node_id, const char *host, int port,
    int role)
{
	struct kbroker	*b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	if ((b->host = strdup(host)) == NULL) {
		free(b);
		return NULL;
	}
	if (kt_init(kc, &b->kick, kf_kick_cb, b) != 0) {
		free(b->host);
		free(b);
		return NULL;
	}
	if ((b->io = kc->io->conn_new(kc->ctx, host, port, role, b)) == NULL) {
		kt_release(kc, &b->kick);
		free(b->host);
		free(b);
		return NULL;
	}
	b->kc = kc;
	b->role = role;
	b->node_id = node_id;
	b->port = port;
	TAILQ_INIT(&b->fq);
	TAILQ_INIT(&b->fin);
	b->backoff = KC_BACKOFF_MIN;
	(void)snprintf(b->name, sizeof(b->name), strchr(host, ':') ?
	    "[%s]:%d" : "%s:%d", host, port);
	LIST_INSERT_HEAD(&kc->brokers, b, entry);
	return b;
}

/* Close its connection (requests still there fail) and free it. */
static void
kb_free(struct kbroker *b, const char *why)
{
	struct kcluster	*kc = b->kc;

	kt_release(kc, &b->kick);
	kc->io->conn_free(b->io, why);
	LIST_REMOVE(b, entry);
	free(b->host);
	free(b);
}

static int
kb_ready(const struct kbroker *b)
{
	return b->kc->io->state(b->io) == KCIO_READY;
}

static int
kb_usable(const struct kbroker *b)
{
	return b->kc->io->state(b->io) != KCIO_DOWN;
}

/*
 * This connection attempt failed: remember why and as what, log it, back
 * off.  The I/O layer reports an attempt once, then closes it (its
 * requests fail after this).
 */
static void
kb_failed(struct kbroker *b, int err, const char *msg)
{
	(void)snprintf(b->lasterr, sizeof(b->lasterr), "%s", msg);
	b->lasterr_class = kc_class(err);
	/* A ready connection that closed says nothing of the next attempt. */
	if (!kb_ready(b))
		b->fail_seq = ++b->kc->reach_seq;
	log_warnx("kafka: %s", b->lasterr);
	b->retry_at = kc_now(b->kc) + b->backoff;
	b->backoff = b->backoff * 2 > KC_BACKOFF_MAX ? KC_BACKOFF_MAX :
	    b->backoff * 2;
}

void
kcluster_conn_failed(void *arg, int err, const char *msg)
{
	kb_failed(arg, err, msg);
}

/* The transport is up (TCP, and TLS if configured): the backoff starts over. */
void
kcluster_conn_up(void *arg)
{
	struct kbroker	*b = arg;

	b->backoff = KC_BACKOFF_MIN;
}

/* Connect (name resolution, TCP, TLS, the protocol: the I/O layer's). */
static void
kb_connect(struct kbroker *b)
{
	char	 err[sizeof(b->lasterr)];

	if (kb_usable(b))
		return;
	if (b->kc->io->connect(b->io, err, sizeof(err)) != 0)
		kb_failed(b, KCONN_EDISCONNECT, err);
}

/* Submit a request on a broker, connecting first if needed. */
static int
kb_submit(struct kbroker *b, int16_t api_key, kconn_enc_fn enc, kconn_resp_fn cb,
    void *arg)
{
	const struct kcluster_io *io = b->kc->io;

	if (!kb_usable(b)) {
		if (kc_now(b->kc) < b->retry_at)
			return -1;
		kb_connect(b);
		if (!kb_usable(b))
			return -1;
	}
	if (io->submit(b->io, api_key, enc, cb, arg) != 0) {
		(void)snprintf(b->lasterr, sizeof(b->lasterr), "broker %s: %s",
		    b->name, io->conn_errmsg(b->io));
		return -1;
	}
	return 0;
}

/* ---- connection roles and coalesced Fetches ---- */

/* The broker moved: it and its Fetch connections serve no new request. */
static void
kb_detach(struct kbroker *b)
{
	struct kbroker	*x;

	LIST_FOREACH(x, &b->kc->brokers, entry)
		if (x == b || (x->role != KB_MAIN && x->main == b)) {
			x->node_id = INT32_MIN;
			x->detached = 1;
			x->main = NULL;
		}
}

/* b's connection for this role (KB_DATA, KB_POLL), made if needed. */
static struct kbroker *
kb_role(struct kbroker *b, int role)
{
	struct kbroker	*x;

	LIST_FOREACH(x, &b->kc->brokers, entry)
		if (x->role == role && x->main == b && !x->detached)
			return x;
	if ((x = kb_new(b->kc, b->node_id, b->host, b->port, role)) == NULL)
		return NULL;
	x->main = b;
	return x;
}

/* Ops queued on a broker that goes away: back to routing, later. */
static void
kf_requeue(struct kbroker *b)
{
	struct kop	*op;

	while ((op = TAILQ_FIRST(&b->fq)) != NULL) {
		TAILQ_REMOVE(&b->fq, op, qentry);
		op->qb = NULL;
		op->qwhere = 0;
		kop_retry(op, KCE_UNREACHABLE, 0, b->lasterr[0] ? b->lasterr :
		    "broker connection lost");
	}
}

static void
kf_kick_cb(void *arg)
{
	kf_pump(arg);
}

static void
kf_schedule(struct kbroker *b)
{
	if (TAILQ_EMPTY(&b->fq) || kt_active(&b->kick))
		return;
	kt_set(b->kc, &b->kick, 0);
}

static int
kf_enc(struct kwriter *w, int16_t version, int32_t corr, const char *client_id,
    void *arg)
{
	struct kbroker			*b = arg;
	struct kcluster			*kc = b->kc;
	struct kafka_fetch_part_req	*parts;
	struct kafka_fetch_req		 fr;
	struct kop			*op;
	int				 n = 0, rc;

	TAILQ_FOREACH(op, &b->fin, qentry)
		n++;
	if (n == 0 || (parts = calloc((size_t)n, sizeof(*parts))) == NULL)
		return -1;
	n = 0;
	/* kf_pump() keeps fin sorted by topic: same topic adjacent. */
	TAILQ_FOREACH(op, &b->fin, qentry) {
		parts[n].topic = op->topic;
		parts[n].partition = op->partition;
		parts[n].current_leader_epoch = op->leader_epoch;
		parts[n].fetch_offset = op->value;
		parts[n].partition_max_bytes = op->max_bytes;
		n++;
	}
	memset(&fr, 0, sizeof(fr));
	if (b->role == KB_POLL && kc->conf.fetch_wait > 0) {
		fr.max_wait_ms = (int32_t)(kc->conf.fetch_wait * 1000.0);
		fr.min_bytes = 1;
	} else {
		fr.max_wait_ms = 0;
		fr.min_bytes = 0;
	}
	/* The whole answer must fit the connection's response limit. */
	fr.max_bytes = kc->conf.max_response > (size_t)INT32_MAX ? INT32_MAX :
	    (int32_t)kc->conf.max_response;
	if (fr.max_bytes > 1024 * 1024)
		fr.max_bytes -= 64 * 1024;
	fr.isolation_level = (int8_t)kc_isolation(kc);
	fr.parts = parts;
	fr.nparts = n;
	rc = kafka_enc_fetch(w, version, corr, client_id, &fr);
	free(parts);
	return rc;
}

static void	 kf_on_resp(void *, int, const char *, int16_t, const uint8_t *,
		    size_t);

/* Send one Fetch with what is queued, if none is in flight. */
static void
kf_pump(struct kbroker *b)
{
	struct kop	*op, *next, *o, *after;
	int		 n = 0, dup;

	if (b->f_inflight || TAILQ_EMPTY(&b->fq))
		return;
	for (op = TAILQ_FIRST(&b->fq); op != NULL && n < KC_FETCH_MAX_PARTS;
	    op = next) {
		next = TAILQ_NEXT(op, qentry);
		/* A partition appears once in a Fetch: the others wait. */
		dup = 0;
		after = NULL;
		TAILQ_FOREACH(o, &b->fin, qentry) {
			if (strcmp(o->topic, op->topic) == 0) {
				after = o;
				if (o->partition == op->partition)
					dup = 1;
			}
		}
		if (dup)
			continue;
		TAILQ_REMOVE(&b->fq, op, qentry);
		if (after != NULL)
			TAILQ_INSERT_AFTER(&b->fin, after, op, qentry);
		else
			TAILQ_INSERT_TAIL(&b->fin, op, qentry);
		op->qwhere = 2;
		n++;
	}
	b->f_inflight = 1;
	log_debug("kafka: %s: Fetch of %d partition%s (%s)", b->name, n,
	    n == 1 ? "" : "s", b->role == KB_POLL ? "at the end, held" :
	    "catch-up");
	if (kb_submit(b, KAFKA_API_FETCH, kf_enc, kf_on_resp, b) == 0)
		return;
	/* Could not even start: every op back to its retry. */
	b->f_inflight = 0;
	while ((op = TAILQ_FIRST(&b->fin)) != NULL) {
		TAILQ_REMOVE(&b->fin, op, qentry);
		op->qb = NULL;
		op->qwhere = 0;
		op->busy = 0;
		if (kb_ready(b))
			kop_fail(op, KCE_PROTOCOL, 0,
			    b->kc->io->conn_errmsg(b->io));
		else
			kop_retry(op, b->lasterr[0] ? b->lasterr_class :
			    KCE_UNREACHABLE, 0, b->lasterr[0] ? b->lasterr :
			    "broker unavailable");
	}
	/* The queued ones follow when the broker is back. */
	kf_requeue(b);
}

/* ---- metadata ---- */

static struct ktopic *
kt_find(struct kcluster *kc, const char *name)
{
	struct ktopic	*t;

	LIST_FOREACH(t, &kc->topics, entry)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

struct kc_mdreq {
	struct kcluster	*kc;
	struct kbroker	*b;
	const char	**names;
	int		 n;
};

static int
kc_enc_metadata(struct kwriter *w, int16_t version, int32_t corr,
    const char *client_id, void *arg)
{
	struct kc_mdreq	*m = arg;

	return kafka_enc_metadata(w, version, corr, client_id, m->names, m->n);
}

static void
kc_apply_metadata(struct kcluster *kc, const struct kafka_metadata_resp *md)
{
	struct kbroker	*b;
	struct ktopic	*t;
	char		 host[256];
	int32_t		 i, j, p;

	for (i = 0; i < md->broker_count; i++) {
		const struct kafka_md_broker *mb = &md->brokers[i];

		if (mb->host.len <= 0 || (size_t)mb->host.len >= sizeof(host))
			continue;
		memcpy(host, mb->host.p, (size_t)mb->host.len);
		host[mb->host.len] = '\0';
		b = kb_find(kc, mb->node_id);
		if (b != NULL && (b->port != mb->port || strcmp(b->host, host))) {
			/*
			 * The broker moved.  Detach the old entry rather than
			 * free it: we may be inside its own read callback.  Its
			 * requests finish or fail there; it is freed at exit.
			 */
			kb_detach(b);
			kc_md_schedule(kc, 0);
			b = NULL;
		}
		if (b == NULL && (b = kb_find_addr(kc, host, mb->port)) != NULL &&
		    b->node_id < 0)
			b->node_id = mb->node_id;	/* adopt the bootstrap conn */
		else if (b == NULL)
			(void)kb_new(kc, mb->node_id, host, mb->port, KB_MAIN);
	}
	for (i = 0; i < md->topic_count; i++) {
		const struct kafka_md_topic *mt = &md->topics[i];
		char	*name;
		int32_t	 np = 0;

		if (mt->name.len <= 0)
			continue;
		if ((name = strndup((const char *)mt->name.p,
		    (size_t)mt->name.len)) == NULL)
			continue;
		if ((t = kt_find(kc, name)) == NULL) {
			if ((t = calloc(1, sizeof(*t))) == NULL) {
				free(name);
				continue;
			}
			t->name = name;
			LIST_INSERT_HEAD(&kc->topics, t, entry);
		} else
			free(name);
		/* Partition ids index the table; size it by the largest id. */
		for (j = 0; j < mt->partition_count; j++)
			if (mt->partitions[j].partition >= np &&
			    mt->partitions[j].partition < 1000000)
				np = mt->partitions[j].partition + 1;
		free(t->leader);
		free(t->epoch);
		free(t->perr);
		t->leader = calloc((size_t)np + 1, sizeof(*t->leader));
		t->epoch = calloc((size_t)np + 1, sizeof(*t->epoch));
		t->perr = calloc((size_t)np + 1, sizeof(*t->perr));
		if (t->leader == NULL || t->epoch == NULL || t->perr == NULL) {
			t->nparts = 0;
			t->stale = 1;
			continue;
		}
		for (p = 0; p < np; p++) {
			t->leader[p] = -1;
			t->epoch[p] = -1;
			t->perr[p] = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
		}
		for (j = 0; j < mt->partition_count; j++) {
			const struct kafka_md_partition *mp = &mt->partitions[j];

			if (mp->partition < 0 || mp->partition >= np)
				continue;
			t->leader[mp->partition] = mp->leader_id;
			t->epoch[mp->partition] = mp->leader_epoch;
			t->perr[mp->partition] = mp->error_code;
		}
		t->nparts = np;
		t->error_code = mt->error_code;
		t->fetched_at = kc_now(kc);
		t->stale = 0;
	}
}

static void
kc_md_done(struct kcluster *kc)
{
	struct kopq	 q;
	struct kop	*op;

	/* Re-run every waiting op; those still missing metadata re-queue. */
	TAILQ_INIT(&q);
	while ((op = TAILQ_FIRST(&kc->mdwait)) != NULL) {
		TAILQ_REMOVE(&kc->mdwait, op, entry);
		op->waiting_md = 0;
		kt_stop(kc, &op->timer);
		TAILQ_INSERT_TAIL(&q, op, entry);
	}
	while ((op = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, op, entry);
		TAILQ_INSERT_TAIL(&kc->ops, op, entry);
		kop_run(op);
	}
}

static void
kc_md_fail_all(struct kcluster *kc, enum kcluster_err err, const char *msg)
{
	struct kop	*op;

	while ((op = TAILQ_FIRST(&kc->mdwait)) != NULL) {
		TAILQ_REMOVE(&kc->mdwait, op, entry);
		TAILQ_INSERT_TAIL(&kc->ops, op, entry);
		op->waiting_md = 0;
		kop_fail(op, err, 0, msg);
	}
}

static void
kc_on_metadata(void *arg, int err, const char *msg, int16_t version,
    const uint8_t *body, size_t len)
{
	struct kc_mdreq			*m = arg;
	struct kcluster			*kc = m->kc;
	struct kbroker			*b = m->b;
	struct kafka_metadata_resp	 md;
	struct ktopic			*t;
	int				 i;

	kc->md_broker = NULL;
	if (err == KCONN_ECANCEL)
		goto out;
	if (err != KCONN_OK) {
		(void)snprintf(kc->md_err, sizeof(kc->md_err), "%s",
		    msg ? msg : "metadata request failed");
		kc->md_err_class = kc_class(err);
		kc_md_schedule(kc, 0);	/* try another broker, off the stack */
		goto out;
	}
	memset(&md, 0, sizeof(md));
	if (kafka_dec_metadata(body, len, version, &md) != 0) {
		kafka_metadata_free(&md);
		(void)snprintf(kc->md_err, sizeof(kc->md_err),
		    "malformed Metadata v%d response from %s", version, b->name);
		kc->md_err_class = KCE_PROTOCOL;
		/* Do not trust this connection again before a backoff. */
		kc->io->fail(b->io, KCONN_EPROTO, kc->md_err);
		kc_md_schedule(kc, 0);
		goto out;
	}
	b->ok_seq = ++kc->reach_seq;
	kc_apply_metadata(kc, &md);
	kafka_metadata_free(&md);
	/* A topic we asked for and did not get back does not exist. */
	for (i = 0; i < m->n; i++) {
		if (kt_find(kc, m->names[i]) != NULL ||
		    (t = calloc(1, sizeof(*t))) == NULL)
			continue;
		if ((t->name = strdup(m->names[i])) == NULL) {
			free(t);
			continue;
		}
		t->error_code = KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
		t->fetched_at = kc_now(kc);
		LIST_INSERT_HEAD(&kc->topics, t, entry);
	}
	kc->md_tried = 0;
	kc->md_err[0] = '\0';
	kc->md_err_class = KCE_OK;
	kc_md_done(kc);
out:
	for (i = 0; i < m->n; i++)
		free((char *)m->names[i]);
	free(m->names);
	free(m);
}

/*
 * Pick a broker for metadata: a ready one, else one connecting, else a
 * known broker out of backoff, else the next bootstrap address.  Every
 * pick counts, so a round that keeps failing ends (NULL) after each
 * candidate had its chance.
 */
static struct kbroker *
kc_md_pick(struct kcluster *kc)
{
	struct kbroker	*b;
	double		 now = kc_now(kc);
	int		 i, k, nb = 0;

	LIST_FOREACH(b, &kc->brokers, entry)
		nb += b->role == KB_MAIN;
	if (kc->md_tried > nb + kc->nboot)
		return NULL;
	/* Metadata goes on main connections only: a Fetch may be held. */
	LIST_FOREACH(b, &kc->brokers, entry)
		if (b->role == KB_MAIN && !b->detached && kb_ready(b))
			goto picked;
	LIST_FOREACH(b, &kc->brokers, entry)
		if (b->role == KB_MAIN && !b->detached && kb_usable(b))
			goto picked;
	LIST_FOREACH(b, &kc->brokers, entry)
		if (b->role == KB_MAIN && !b->detached && b->node_id >= 0 &&
		    now >= b->retry_at)
			goto picked;
	for (i = 0; i < kc->nboot; i++) {
		k = (kc->boot_next + i) % kc->nboot;
		b = kb_find_addr(kc, kc->boot_host[k], kc->boot_port[k]);
		if (b == NULL)
			b = kb_new(kc, -1 - k, kc->boot_host[k], kc->boot_port[k],
			    KB_MAIN);
		if (b == NULL)
			return NULL;
		if (now < b->retry_at)
			continue;
		kc->boot_next = k + 1;
		goto picked;
	}
	return NULL;
picked:
	kc->md_tried++;
	return b;
}

/* When the next broker comes out of its reconnect backoff; 0 if none is in it. */
static double
kc_next_retry(struct kcluster *kc)
{
	struct kbroker	*b;
	double		 next = 0;

	LIST_FOREACH(b, &kc->brokers, entry)
		if (b->role == KB_MAIN && !b->detached &&
		    (next == 0 || b->retry_at < next))
			next = b->retry_at;
	return next;
}

static void
kc_md_schedule(struct kcluster *kc, double delay)
{
	if (kt_active(&kc->md_timer))
		return;
	kt_set(kc, &kc->md_timer, delay);
}

/* Metadata work and housekeeping, always from the loop, never nested. */
static void
kc_md_timer_cb(void *arg)
{
	struct kcluster	*kc = arg;
	struct kbroker	*b, *next;

	/* Brokers that moved: close once they have nothing in flight. */
	for (b = LIST_FIRST(&kc->brokers); b != NULL; b = next) {
		next = LIST_NEXT(b, entry);
		if (!b->detached || b == kc->md_broker)
			continue;
		if (!kc->io->idle(b->io) || b->f_inflight) {
			kc_md_schedule(kc, 1);
			continue;
		}
		kf_requeue(b);
		kb_free(b, "broker moved");
	}
	kc_metadata(kc);
}

/* Start a metadata request for the topics ops are waiting on, if none is. */
static void
kc_metadata(struct kcluster *kc)
{
	struct kc_mdreq	*m;
	struct kbroker	*b;
	struct kop	*op;
	int		 n = 0, i, dup;

	if (kc->md_broker != NULL || TAILQ_EMPTY(&kc->mdwait))
		return;
	for (;;) {
		if ((b = kc_md_pick(kc)) == NULL) {
			double	 next = kc_next_retry(kc), now = kc_now(kc);

			/*
			 * Nothing was even tried (every broker is in its
			 * reconnect backoff): wait for the first to come out;
			 * ops whose deadline comes first fail by themselves.
			 * After a round of real attempts, report the failure.
			 */
			if (kc->md_tried == 0 && next > now) {
				kc_md_schedule(kc, next - now);
				return;
			}
			kc->md_tried = 0;
			kc_md_fail_all(kc, kc->md_err[0] ? kc->md_err_class :
			    KCE_UNREACHABLE, kc->md_err[0] ? kc->md_err :
			    "no broker reachable");
			return;
		}
		if ((m = calloc(1, sizeof(*m))) == NULL)
			return;
		m->kc = kc;
		m->b = b;
		TAILQ_FOREACH(op, &kc->mdwait, entry)
			n++;
		if ((m->names = calloc((size_t)n, sizeof(*m->names))) == NULL) {
			free(m);
			return;
		}
		TAILQ_FOREACH(op, &kc->mdwait, entry) {
			for (dup = 0, i = 0; i < m->n && !dup; i++)
				dup = strcmp(m->names[i], op->topic) == 0;
			if (!dup && (m->names[m->n] = strdup(op->topic)) != NULL)
				m->n++;
		}
		kc->md_broker = b;
		if (kb_submit(b, KAFKA_API_METADATA, kc_enc_metadata,
		    kc_on_metadata, m) == 0)
			return;
		/*
		 * Could not even start (name not resolved, no socket, out of
		 * file descriptors): remember why, and as what, so that the
		 * ops waiting for this metadata fail as such, never as an
		 * empty success; try the next broker.
		 */
		kc->md_broker = NULL;
		(void)snprintf(kc->md_err, sizeof(kc->md_err), "%s",
		    b->lasterr[0] ? b->lasterr : "broker unavailable");
		kc->md_err_class = b->lasterr[0] ? b->lasterr_class :
		    KCE_UNREACHABLE;
		for (i = 0; i < m->n; i++)
			free((char *)m->names[i]);
		free(m->names);
		free(m);
		n = 0;
	}
}

/* ---- reachability: kcluster_reachable() ---- */

static const char *const kc_no_topics[1] = { NULL };

/* Metadata without topics: the brokers only, from any version on v1. */
static int
kc_probe_enc(struct kwriter *w, int16_t version, int32_t corr,
    const char *client_id, void *arg)
{
	(void)arg;
	return kafka_enc_metadata(w, version, corr, client_id, kc_no_topics, 0);
}

/*
 * The probe's answer.  A failure needs no bookkeeping here: a request
 * fails only with its connection, and kb_failed() records that.
 */
static void
kc_probe_resp(void *arg, int err, const char *msg, int16_t version,
    const uint8_t *body, size_t len)
{
	struct kbroker	*b = arg;

	(void)msg;
	(void)version;
	(void)body;
	(void)len;
	b->kc->probe = NULL;
	if (err == KCONN_OK)
		b->ok_seq = ++b->kc->reach_seq;
}

/*
 * Send a probe: on a ready main connection, else to the first known
 * broker out of its reconnect backoff, else to the next bootstrap
 * address out of it.  None while a connection is being made: its
 * outcome is news enough.
 */
static void
kc_probe(struct kcluster *kc)
{
	struct kbroker	*b, *pick = NULL;
	double		 now = kc_now(kc);
	int		 i, k;

	LIST_FOREACH(b, &kc->brokers, entry) {
		if (b->role != KB_MAIN || b->detached)
			continue;
		if (kb_ready(b)) {
			pick = b;
			break;
		}
		if (kb_usable(b))
			return;
	}
	if (pick == NULL)
		LIST_FOREACH(b, &kc->brokers, entry)
			if (b->role == KB_MAIN && !b->detached &&
			    b->node_id >= 0 && now >= b->retry_at) {
				pick = b;
				break;
			}
	for (i = 0; pick == NULL && i < kc->nboot; i++) {
		k = (kc->probe_next + i) % kc->nboot;
		if ((b = kb_find_addr(kc, kc->boot_host[k],
		    kc->boot_port[k])) == NULL &&
		    (b = kb_new(kc, -1 - k, kc->boot_host[k], kc->boot_port[k],
		    KB_MAIN)) == NULL)
			return;
		if (now < b->retry_at)
			continue;
		kc->probe_next = k + 1;
		pick = b;
	}
	if (pick == NULL)
		return;
	kc->probe_at = now;
	if (kb_submit(pick, KAFKA_API_METADATA, kc_probe_enc, kc_probe_resp,
	    pick) == 0)
		kc->probe = pick;
}

int
kcluster_reachable(struct kcluster *kc, char *why, size_t whylen)
{
	struct kbroker	*b, *last = NULL, *opening = NULL;
	int		 ok = 0, main_ready = 0;

	LIST_FOREACH(b, &kc->brokers, entry) {
		if (b->detached)
			continue;
		if (kb_ready(b)) {
			ok = 1;
			main_ready |= b->role == KB_MAIN;
		} else if (kb_usable(b) && opening == NULL)
			opening = b;
		if (b->ok_seq > b->fail_seq)
			ok = 1;
		if (b->fail_seq > 0 && (last == NULL ||
		    b->fail_seq > last->fail_seq))
			last = b;
	}
	if (kc->probe == NULL && (!main_ready ||
	    kc_now(kc) - kc->probe_at >= KC_PROBE_EVERY))
		kc_probe(kc);
	if (ok)
		return 1;
	if (last != NULL && last->lasterr[0] != '\0')
		(void)snprintf(why, whylen, "%s", last->lasterr);
	else if (kc->md_err[0] != '\0')
		(void)snprintf(why, whylen, "%s", kc->md_err);
	else if (opening != NULL || kc->probe != NULL)
		(void)snprintf(why, whylen, "connecting to broker %s",
		    opening != NULL ? opening->name : kc->probe->name);
	else
		(void)snprintf(why, whylen, "no broker contacted yet");
	return 0;
}

/* ---- operations ---- */

static void
kop_timer_cb(void *arg)
{
	kop_run(arg);
}

static struct kop *
kop_new(struct kcluster *kc, enum kop_type type, const char *topic,
    int32_t partition, int64_t value, kcluster_cb cb, void *arg)
{
	struct kop	*op;

	if ((op = calloc(1, sizeof(*op))) == NULL)
		return NULL;
	if ((op->topic = strdup(topic)) == NULL) {
		free(op);
		return NULL;
	}
	if (kt_init(kc, &op->timer, kop_timer_cb, op) != 0) {
		free(op->topic);
		free(op);
		return NULL;
	}
	op->kc = kc;
	op->type = type;
	op->partition = partition;
	op->value = value;
	op->cb = cb;
	op->arg = arg;
	op->leader_epoch = -1;
	TAILQ_INIT(&op->followers);
	op->deadline = kc_now(kc) + kc->conf.request_timeout;
	TAILQ_INSERT_TAIL(&kc->ops, op, entry);
	/* Never call back from inside the caller: start on the next turn. */
	kt_set(kc, &op->timer, 0);
	return op;
}

static void
kop_free(struct kop *op)
{
	struct kcluster	*kc = op->kc;

	kt_release(kc, &op->timer);
	if (op->qb != NULL)
		TAILQ_REMOVE(op->qwhere == 2 ? &op->qb->fin : &op->qb->fq, op,
		    qentry);
	if (op->leader != NULL)
		TAILQ_REMOVE(&op->leader->followers, op, fentry);
	if (op->waiting_md)
		TAILQ_REMOVE(&kc->mdwait, op, entry);
	else
		TAILQ_REMOVE(&kc->ops, op, entry);
	free(op->topic);
	free(op);
}

static void
kop_finish(struct kop *op, struct kcluster_result *res)
{
	struct kop	*f;

	op->cb(op->arg, res);
	/* The same answer for every follower; records stay valid meanwhile. */
	while ((f = TAILQ_FIRST(&op->followers)) != NULL) {
		TAILQ_REMOVE(&op->followers, f, fentry);
		f->leader = NULL;
		f->cb(f->arg, res);
		kop_free(f);
	}
	kop_free(op);
}

/* An identical fetch already under way, to follow. */
static struct kop *
kop_find_same(struct kop *op)
{
	struct kcluster	*kc = op->kc;
	struct kopq	*qs[2] = { &kc->ops, &kc->mdwait };
	struct kop	*o;
	int		 i;

	for (i = 0; i < 2; i++)
		TAILQ_FOREACH(o, qs[i], entry)
			if (o != op && o->type == KOP_FETCH && o->leader == NULL &&
			    o->partition == op->partition &&
			    o->value == op->value &&
			    o->max_bytes == op->max_bytes &&
			    (o->busy || o->waiting_md || o->retries > 0) &&
			    strcmp(o->topic, op->topic) == 0)
				return o;
	return NULL;
}

static void
kop_fail(struct kop *op, enum kcluster_err err, int16_t kerr, const char *msg)
{
	struct kcluster_result	 res;

	/* A failure is never reported as a success, whatever the path. */
	if (err == KCE_OK) {
		log_warnx("kafka: %s-%d: failure without a class: %s",
		    op->topic, op->partition, msg ? msg : "(no message)");
		err = KCE_UNREACHABLE;
	}
	if (msg == NULL || msg[0] == '\0')
		msg = "unknown failure";
	memset(&res, 0, sizeof(res));
	res.err = err;
	res.kafka_error = kerr;
	res.errmsg = msg;
	res.offset = -1;
	kop_finish(op, &res);
}

static int
kop_retriable(int16_t code)
{
	switch (code) {
	case KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION:
	case KAFKA_ERR_LEADER_NOT_AVAILABLE:
	case KAFKA_ERR_NOT_LEADER_OR_FOLLOWER:
	case KAFKA_ERR_REPLICA_NOT_AVAILABLE:
	case KAFKA_ERR_NETWORK_EXCEPTION:
	case KAFKA_ERR_KAFKA_STORAGE_ERROR:
	case KAFKA_ERR_FENCED_LEADER_EPOCH:
	case KAFKA_ERR_UNKNOWN_LEADER_EPOCH:
	case KAFKA_ERR_OFFSET_NOT_AVAILABLE:
	case KAFKA_ERR_REQUEST_TIMED_OUT:
		return 1;
	default:
		return 0;
	}
}

/*
 * Try again after a short pause with fresh metadata, or give up with the
 * last error once out of retries or time.
 */
static void
kop_retry(struct kop *op, enum kcluster_err err, int16_t kerr, const char *msg)
{
	struct kcluster	*kc = op->kc;
	struct ktopic	*t;
	double		 delay, now = kc_now(kc);

	op->busy = 0;
	(void)snprintf(op->lasterr, sizeof(op->lasterr), "%s", msg);
	op->lasterr_class = err;
	op->lasterr_kerr = kerr;
	if ((t = kt_find(kc, op->topic)) != NULL)
		t->stale = 1;
	/*
	 * Retry until the deadline, not a fixed count: a leader killed
	 * outright stays named in metadata until the controller fences it
	 * (broker.session.timeout.ms, 9 s by default), and the request
	 * should survive that when --request-timeout allows.
	 */
	delay = KC_RETRY_MIN * (double)(1 << (op->retries < 5 ? op->retries : 5));
	if (delay > KC_RETRY_MAX)
		delay = KC_RETRY_MAX;
	op->retries++;
	if (now >= op->deadline) {
		kop_fail(op, err, kerr, op->lasterr);
		return;
	}
	if (now + delay > op->deadline)
		delay = op->deadline - now;	/* one last try at the deadline */
	log_debug("kafka: %s-%d: retry %d in %.2f s: %s", op->topic,
	    op->partition, op->retries, delay, msg);
	kt_set(kc, &op->timer, delay);
}

static void
kop_kafka_error(struct kop *op, int16_t code)
{
	if (kop_retriable(code)) {
		kop_retry(op, KCE_KAFKA, code, kafka_err_name(code));
		return;
	}
	kop_fail(op, KCE_KAFKA, code, kafka_err_name(code));
}

static int
kc_isolation(const struct kcluster *kc)
{
	return kc->conf.isolation == 1 ? 1 : 0;
}

static int
kop_enc(struct kwriter *w, int16_t version, int32_t corr, const char *client_id,
    void *arg)
{
	struct kop			*op = arg;
	struct kafka_lo_req		 lo;

	lo.topic = op->topic;
	lo.partition = op->partition;
	lo.current_leader_epoch = op->leader_epoch;
	lo.timestamp = op->value;
	return kafka_enc_list_offsets(w, version, corr, client_id,
	    (int8_t)kc_isolation(op->kc), &lo, 1);
}

static void
kop_on_list_offsets(struct kop *op, int16_t version, const uint8_t *body,
    size_t len)
{
	struct kafka_list_offsets_resp	 lr;
	struct kcluster_result		 res;
	int32_t				 i;

	memset(&lr, 0, sizeof(lr));
	if (kafka_dec_list_offsets(body, len, version, &lr) != 0) {
		kafka_list_offsets_free(&lr);
		kop_fail(op, KCE_PROTOCOL, 0, "malformed ListOffsets response");
		return;
	}
	for (i = 0; i < lr.count; i++)
		if (lr.results[i].partition == op->partition)
			break;
	if (i == lr.count) {
		kafka_list_offsets_free(&lr);
		kop_fail(op, KCE_PROTOCOL, 0,
		    "ListOffsets response without the partition");
		return;
	}
	if (lr.results[i].error_code != KAFKA_ERR_NONE) {
		int16_t	 code = lr.results[i].error_code;

		kafka_list_offsets_free(&lr);
		kop_kafka_error(op, code);
		return;
	}
	memset(&res, 0, sizeof(res));
	res.offset = lr.results[i].offset;
	kafka_list_offsets_free(&lr);
	kop_finish(op, &res);
}

/* One partition's part of a Fetch answer, for the op that asked. */
static void
kop_on_fetch_part(struct kop *op, const struct kafka_fetch_part *part)
{
	struct kcluster_result	 res;

	if (part->error_code != KAFKA_ERR_NONE) {
		kop_kafka_error(op, part->error_code);
		return;
	}
	memset(&res, 0, sizeof(res));
	res.offset = op->value;
	res.records = part->records;
	res.records_len = part->records_len;
	res.high_watermark = part->high_watermark;
	res.log_start_offset = part->log_start_offset;
	res.last_stable_offset = part->last_stable_offset;
	res.end_offset = res.high_watermark;
	if (kc_isolation(op->kc) == 1 && res.last_stable_offset >= 0 &&
	    res.last_stable_offset < res.end_offset)
		res.end_offset = res.last_stable_offset;
	res.aborted = part->aborted;
	res.naborted = part->naborted > 0 ? (size_t)part->naborted : 0;
	/*
	 * records point into the connection's input buffer, the aborted list
	 * into the decoded answer: both valid until after the callbacks.
	 */
	kop_finish(op, &res);
}

/* A request's transport failed: retry or fail op.  1 if it was an error. */
static int
kop_transport_error(struct kop *op, int err, const char *msg)
{
	switch (err) {
	case KCONN_OK:
		return 0;
	case KCONN_ECANCEL:
		kop_fail(op, KCE_SHUTDOWN, 0, "gateway shutting down");
		break;
	case KCONN_ETIMEOUT:
		kop_retry(op, KCE_TIMEOUT, 0, msg ? msg : "request timed out");
		break;
	case KCONN_EVERSION:
		kop_fail(op, KCE_PROTOCOL, 0, msg ? msg : "unsupported version");
		break;
	case KCONN_ETLS:
	case KCONN_EAUTH:
		/* A refused certificate or password does not get better. */
		kop_fail(op, kc_class(err), 0, msg ? msg : "authentication failed");
		break;
	default:
		kop_retry(op, kc_class(err), 0, msg ? msg : "connection lost");
		break;
	}
	return 1;
}

/*
 * The answer to a coalesced Fetch: each op gets its partition's part.
 * Ops are taken off the broker one at a time (a callback may queue new
 * ones, or fail others); the next Fetch goes out once all are done.
 */
static void
kf_on_resp(void *arg, int err, const char *msg, int16_t version,
    const uint8_t *body, size_t len)
{
	struct kbroker		*b = arg;
	struct kafka_fetch_resp	 fr;
	struct kopq		 q;
	struct kop		*op;
	int32_t			 i;
	int			 bad = 0;

	b->f_inflight = 0;
	if (err == KCONN_OK)
		b->ok_seq = ++b->kc->reach_seq;
	TAILQ_INIT(&q);
	TAILQ_CONCAT(&q, &b->fin, qentry);
	TAILQ_FOREACH(op, &q, qentry) {
		op->qb = NULL;
		op->qwhere = 0;
	}
	memset(&fr, 0, sizeof(fr));
	if (err == KCONN_OK && kafka_dec_fetch(body, len, version, &fr) != 0)
		bad = 1;
	while ((op = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, op, qentry);
		op->qb = NULL;
		op->busy = 0;
		if (kop_transport_error(op, err, msg))
			continue;
		if (bad) {
			kop_fail(op, KCE_PROTOCOL, 0, "malformed Fetch response");
			continue;
		}
		if (fr.error_code != KAFKA_ERR_NONE) {
			kop_kafka_error(op, fr.error_code);
			continue;
		}
		for (i = 0; i < fr.count; i++)
			if (fr.parts[i].partition == op->partition &&
			    (size_t)fr.parts[i].topic.len == strlen(op->topic) &&
			    memcmp(fr.parts[i].topic.p, op->topic,
			    (size_t)fr.parts[i].topic.len) == 0)
				break;
		if (i == fr.count) {
			kop_fail(op, KCE_PROTOCOL, 0,
			    "Fetch response without the partition");
			continue;
		}
		kop_on_fetch_part(op, &fr.parts[i]);
	}
	kafka_fetch_free(&fr);
	/*
	 * The next Fetch goes out from the loop, not from inside the read
	 * callback of this connection; after a failure the queued ops go
	 * back to their retries.
	 */
	if (err == KCONN_OK)
		kf_schedule(b);
	else
		kf_requeue(b);
}

static void
kop_on_resp(void *arg, int err, const char *msg, int16_t version,
    const uint8_t *body, size_t len)
{
	struct kop	*op = arg;

	op->busy = 0;
	if (kop_transport_error(op, err, msg))
		return;
	kop_on_list_offsets(op, version, body, len);
}

static void
kop_run(struct kop *op)
{
	struct kcluster	*kc = op->kc;
	struct ktopic	*t;
	struct kbroker	*b;
	double		 now = kc_now(kc);
	int32_t		 leader;

	if (op->busy || op->leader != NULL)
		return;
	if (op->type == KOP_FETCH && op->retries == 0 && !op->waiting_md &&
	    (op->leader = kop_find_same(op)) != NULL) {
		TAILQ_INSERT_TAIL(&op->leader->followers, op, fentry);
		log_trace("kafka: %s-%d@%lld: fetch follows one under way",
		    op->topic, op->partition, (long long)op->value);
		return;
	}
	if (op->waiting_md) {
		if (now < op->deadline)
			return;
		TAILQ_REMOVE(&kc->mdwait, op, entry);
		TAILQ_INSERT_TAIL(&kc->ops, op, entry);
		op->waiting_md = 0;
	}
	if (now >= op->deadline) {
		if (op->lasterr[0])
			kop_fail(op, op->lasterr_class, op->lasterr_kerr,
			    op->lasterr);
		else if (kc->md_err[0] && kc->md_err_class != KCE_OK)
			kop_fail(op, kc->md_err_class, 0, kc->md_err);
		else
			kop_fail(op, KCE_TIMEOUT, 0,
			    "timed out waiting for metadata");
		return;
	}
	t = kt_find(kc, op->topic);
	/* An unknown topic is only remembered for a second: it may be created. */
	if (t == NULL || t->stale || now - t->fetched_at >
	    (t->error_code != KAFKA_ERR_NONE ? 1.0 : kc->conf.metadata_max_age)) {
		TAILQ_REMOVE(&kc->ops, op, entry);
		TAILQ_INSERT_TAIL(&kc->mdwait, op, entry);
		op->waiting_md = 1;
		/* The deadline holds while waiting for metadata too. */
		kt_set(kc, &op->timer, op->deadline - now);
		kc_md_schedule(kc, 0);
		return;
	}
	if (t->error_code == KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
		kop_fail(op, KCE_KAFKA, t->error_code, "not found topic");
		return;
	}
	if (t->error_code != KAFKA_ERR_NONE) {
		kop_kafka_error(op, t->error_code);
		return;
	}
	if (op->partition < 0 || op->partition >= t->nparts ||
	    t->perr[op->partition] == KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION) {
		kop_fail(op, KCE_KAFKA, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION,
		    "not found partition");
		return;
	}
	leader = t->leader[op->partition];
	op->leader_epoch = t->epoch[op->partition];
	if (leader < 0 || (b = kb_find(kc, leader)) == NULL) {
		kop_retry(op, KCE_KAFKA, KAFKA_ERR_LEADER_NOT_AVAILABLE,
		    "not found broker");
		return;
	}
	op->busy = 1;
	if (op->type == KOP_FETCH) {
		struct kbroker	*fb;

		/* Coalesced with the other partitions that this broker leads. */
		fb = kb_role(b, op->poll && kc->conf.fetch_wait > 0 ? KB_POLL :
		    KB_DATA);
		if (fb == NULL) {
			op->busy = 0;
			kop_retry(op, KCE_UNREACHABLE, 0, "out of memory");
			return;
		}
		op->qb = fb;
		op->qwhere = 1;
		TAILQ_INSERT_TAIL(&fb->fq, op, qentry);
		/*
		 * Sent from the next turn, with every fetch routed to this
		 * broker and role in this one: sent now, it would leave alone,
		 * and the others would wait behind it (up to --fetch-wait on
		 * the poll connection).
		 */
		kf_schedule(fb);
		return;
	}
	if (kb_submit(b, KAFKA_API_LIST_OFFSETS, kop_enc, kop_on_resp, op) != 0) {
		op->busy = 0;
		/* Refused by a ready connection: no usable version, too big. */
		if (kb_ready(b)) {
			kop_fail(op, KCE_PROTOCOL, 0,
			    b->kc->io->conn_errmsg(b->io));
			return;
		}
		kop_retry(op, KCE_UNREACHABLE, 0, b->lasterr[0] ? b->lasterr :
		    "broker unavailable");
	}
}

int
kcluster_list_offset(struct kcluster *kc, const char *topic, int32_t partition,
    int64_t timestamp, kcluster_cb cb, void *arg)
{
	return kop_new(kc, KOP_LIST_OFFSET, topic, partition, timestamp, cb,
	    arg) ? 0 : -1;
}

int
kcluster_fetch(struct kcluster *kc, const char *topic, int32_t partition,
    int64_t offset, int32_t max_bytes, kcluster_cb cb, void *arg)
{
	return kcluster_fetch_wait(kc, topic, partition, offset, max_bytes, 0,
	    cb, arg);
}

int
kcluster_fetch_wait(struct kcluster *kc, const char *topic, int32_t partition,
    int64_t offset, int32_t max_bytes, int wait, kcluster_cb cb, void *arg)
{
	struct kop	*op;

	if ((op = kop_new(kc, KOP_FETCH, topic, partition, offset, cb, arg)) == NULL)
		return -1;
	op->max_bytes = max_bytes;
	if (wait && kc->conf.fetch_wait > 0) {
		op->poll = 1;
		op->deadline += kc->conf.fetch_wait;	/* the broker holds it */
	}
	return 0;
}
