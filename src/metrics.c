/*
 * metrics.c -- the daemon's metrics: the Kafka client's per-broker table
 * and latency histograms, the reload counters, and the renderer of the
 * Prometheus text format over those and a snapshot of the modules'
 * statistics.  See metrics.h.
 */
#include "config.h"

#include <sys/time.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka/cluster.h"
#include "kafka/cluster_io.h"
#include "kafka/conn.h"
#include "kafka/kproto.h"
#include "kafka/reader.h"
#include "net/utf8.h"
#include "src/bridge.h"
#include "src/metrics.h"
#include "ws/ws.h"

#define M_NAME_MAX	300	/* a broker's "host:port" (255 + port) */
#define M_BUF_MIN	4096	/* first size of a metrics_buf */

/* Kafka APIs with a label of their own; the rest is "other". */
enum m_api {
	M_API_FETCH,
	M_API_LIST_OFFSETS,
	M_API_METADATA,
	M_API_VERSIONS,
	M_API_SASL_HANDSHAKE,
	M_API_SASL_AUTHENTICATE,
	M_API_OTHER,
	M_NAPI
};

static const char *const m_api_names[M_NAPI] = {
	"Fetch", "ListOffsets", "Metadata", "ApiVersions", "SaslHandshake",
	"SaslAuthenticate", "other"
};

/* Connection roles (cluster_io.h), as the "connection" label says them. */
#define M_NROLE		3
static const char *const m_role_names[M_NROLE] = { "main", "fetch", "tail" };

/*
 * Request latency buckets, in seconds: a request on a local network
 * takes a millisecond or two, a Fetch at the end of the log is held up
 * to --fetch-wait (500 ms by default), --request-timeout is 10 s.
 */
#define M_NBUCKET	13
static const double m_bounds[M_NBUCKET] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};

struct m_hist {
	uint64_t	 n[M_NBUCKET + 1];	/* per bucket, not cumulative;
						   the last is above every bound */
	uint64_t	 count;
	double		 sum;
};

/* One broker label value: every cluster's connections to it. */
struct m_broker {
	char		 name[M_NAME_MAX];
	uint64_t	 requests[M_NAPI];	/* done: answered or failed */
	uint64_t	 errors[M_NAPI];	/* failed */
	uint64_t	 failures;		/* attempts or connections */
	int64_t		 conns;			/* transports up now */
};

/* The table; the last entry is "other", for brokers past the first 256. */
static struct m_broker	 m_brokers[METRICS_MAX_BROKERS + 1];
static int		 m_nbrokers;
static struct m_hist	 m_latency[M_NAPI][M_NROLE];
static double		 m_start;
static uint64_t		 m_reloads[2];		/* [0] failed, [1] ok */
static int		 m_reload_ok;
static double		 m_reload_ok_at;

static int	 mb_reserve(struct metrics_buf *, size_t);
static double	 m_wallclock(void);
static int	 m_broker_slot(void *, const char *);
static struct m_broker *m_broker_at(int);
static enum m_api m_api(int16_t);
static void	 m_request(void *, int, int, int16_t, int, double);
static void	 m_conn(void *, int, int);
static void	 m_failed(void *, int);
static void	 m_num(struct metrics_buf *, double);
static void	 m_label(struct metrics_buf *, const char *);
static void	 m_head(struct metrics_buf *, const char *, const char *,
		    const char *);
static void	 m_one(struct metrics_buf *, const char *, const char *,
		    const char *, double);
static void	 m_u64(struct metrics_buf *, uint64_t);
static void	 m_render_process(struct metrics_buf *,
		    const struct metrics_snapshot *);
static void	 m_render_ws(struct metrics_buf *, const struct ws_server_stats *);
static void	 m_render_bridge(struct metrics_buf *,
		    const struct bridge_stats *);
static void	 m_render_cache(struct metrics_buf *, const struct kcache_stats *);
static int	 m_broker_used(int);
static void	 m_broker_label(struct metrics_buf *, const char *, int);
static void	 m_render_kafka(struct metrics_buf *);

const struct kcluster_observer metrics_kafka_observer = {
	m_broker_slot,
	m_request,
	m_conn,
	m_failed
};

/* ---- the buffer ---- */

void
metrics_buf_init(struct metrics_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
metrics_buf_free(struct metrics_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Room for n more octets (and a NUL for vsnprintf); 0 or -1. */
static int
mb_reserve(struct metrics_buf *b, size_t n)
{
	size_t	 cap;
	char	*p;

	if (b->err)
		return -1;
	if (n > b->max || b->len > b->max - n) {
		b->err = 1;
		return -1;
	}
	if (b->len + n + 1 <= b->cap)
		return 0;
	cap = b->cap < M_BUF_MIN ? M_BUF_MIN : b->cap;
	while (cap < b->len + n + 1)
		cap *= 2;
	if (cap > b->max + 1)
		cap = b->max + 1;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->err = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
metrics_buf_add(struct metrics_buf *b, const void *p, size_t n)
{
	if (mb_reserve(b, n) != 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (b->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p != NULL ? b->p + b->len : NULL,
	    b->p != NULL ? b->cap - b->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = 1;
		return;
	}
	if (b->p != NULL && (size_t)n < b->cap - b->len) {
		if ((size_t)n > b->max - b->len)
			b->err = 1;
		else
			b->len += (size_t)n;
		return;
	}
	if (mb_reserve(b, (size_t)n) != 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* ---- what is kept here ---- */

void
metrics_init_at(double start)
{
	memset(m_brokers, 0, sizeof(m_brokers));
	(void)snprintf(m_brokers[METRICS_MAX_BROKERS].name,
	    sizeof(m_brokers[METRICS_MAX_BROKERS].name), "other");
	m_nbrokers = 0;
	memset(m_latency, 0, sizeof(m_latency));
	m_start = start;
	m_reloads[0] = m_reloads[1] = 0;
	m_reload_ok = 1;
	m_reload_ok_at = start;
	kcluster_set_observer(&metrics_kafka_observer, NULL);
}

static double
m_wallclock(void)
{
	struct timeval	 tv;

	if (gettimeofday(&tv, NULL) != 0)
		return 0;
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

void
metrics_init(void)
{
	metrics_init_at(m_wallclock());
}

void
metrics_reload_at(int ok, double now)
{
	m_reloads[ok != 0]++;
	m_reload_ok = ok != 0;
	if (ok)
		m_reload_ok_at = now;
}

void
metrics_reload(int ok)
{
	metrics_reload_at(ok, m_wallclock());
}

/* kcluster_observer.broker: the slot of a "host:port", made if new. */
static int
m_broker_slot(void *arg, const char *name)
{
	int	 i;

	(void)arg;
	for (i = 0; i < m_nbrokers; i++)
		if (strncmp(m_brokers[i].name, name, M_NAME_MAX - 1) == 0)
			return i;
	if (m_nbrokers == METRICS_MAX_BROKERS)
		return METRICS_MAX_BROKERS;
	(void)snprintf(m_brokers[m_nbrokers].name,
	    sizeof(m_brokers[m_nbrokers].name), "%s", name);
	return m_nbrokers++;
}

static struct m_broker *
m_broker_at(int slot)
{
	if (slot < 0 || slot > METRICS_MAX_BROKERS)
		return NULL;
	return &m_brokers[slot];
}

static enum m_api
m_api(int16_t api_key)
{
	switch (api_key) {
	case KAFKA_API_FETCH:
		return M_API_FETCH;
	case KAFKA_API_LIST_OFFSETS:
		return M_API_LIST_OFFSETS;
	case KAFKA_API_METADATA:
		return M_API_METADATA;
	case KAFKA_API_VERSIONS:
		return M_API_VERSIONS;
	case KAFKA_API_SASL_HANDSHAKE:
		return M_API_SASL_HANDSHAKE;
	case KAFKA_API_SASL_AUTHENTICATE:
		return M_API_SASL_AUTHENTICATE;
	default:
		return M_API_OTHER;
	}
}

/*
 * kcluster_observer.request: answered ones go in the histogram; those
 * cancelled because the gateway stops are not the broker's doing and
 * are not counted.
 */
static void
m_request(void *arg, int slot, int role, int16_t api_key, int err,
    double seconds)
{
	struct m_broker	*b;
	struct m_hist	*h;
	enum m_api	 a = m_api(api_key);
	int		 i;

	(void)arg;
	if (err == KCONN_ECANCEL)
		return;
	if ((b = m_broker_at(slot)) != NULL) {
		b->requests[a]++;
		if (err != KCONN_OK)
			b->errors[a]++;
	}
	if (err != KCONN_OK || role < 0 || role >= M_NROLE)
		return;
	if (!(seconds >= 0))		/* also NaN */
		seconds = 0;
	h = &m_latency[a][role];
	for (i = 0; i < M_NBUCKET && seconds > m_bounds[i]; i++)
		;
	h->n[i]++;
	h->count++;
	h->sum += seconds;
}

static void
m_conn(void *arg, int slot, int up)
{
	struct m_broker	*b;

	(void)arg;
	if ((b = m_broker_at(slot)) != NULL)
		b->conns += up ? 1 : -1;
}

static void
m_failed(void *arg, int slot)
{
	struct m_broker	*b;

	(void)arg;
	if ((b = m_broker_at(slot)) != NULL)
		b->failures++;
}

/* ---- the text format ---- */

/*
 * A number as Prometheus reads it: integers without a fraction or an
 * exponent, the rest with 15 significant digits (enough for a time
 * since the epoch to the millisecond).
 */
static void
m_num(struct metrics_buf *b, double v)
{
	if (v != v)
		metrics_buf_printf(b, "NaN");
	else if (v > 1e308)
		metrics_buf_printf(b, "+Inf");
	else if (v < -1e308)
		metrics_buf_printf(b, "-Inf");
	else if (v > -9e15 && v < 9e15 && v == (double)(int64_t)v)
		metrics_buf_printf(b, "%lld", (long long)v);
	else
		metrics_buf_printf(b, "%.15g", v);
}

/*
 * A label value, escaped: backslash, double quote and newline; if the
 * value is not UTF-8, each octet above 0x7f becomes '?'.
 */
static void
m_label(struct metrics_buf *b, const char *s)
{
	size_t	 n = strlen(s), i;
	int	 utf8 = utf8_valid(s, n);

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '\\':
			metrics_buf_add(b, "\\\\", 2);
			break;
		case '"':
			metrics_buf_add(b, "\\\"", 2);
			break;
		case '\n':
			metrics_buf_add(b, "\\n", 2);
			break;
		default:
			if (!utf8 && (unsigned char)s[i] > 0x7f)
				metrics_buf_add(b, "?", 1);
			else
				metrics_buf_add(b, s + i, 1);
			break;
		}
	}
}

/* HELP and TYPE; help is ours, with neither backslash nor newline. */
static void
m_head(struct metrics_buf *b, const char *name, const char *type,
    const char *help)
{
	metrics_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* A family of one sample without labels. */
static void
m_one(struct metrics_buf *b, const char *name, const char *type,
    const char *help, double v)
{
	m_head(b, name, type, help);
	metrics_buf_printf(b, "%s ", name);
	m_num(b, v);
	metrics_buf_add(b, "\n", 1);
}

static void
m_u64(struct metrics_buf *b, uint64_t v)
{
	metrics_buf_printf(b, "%llu\n", (unsigned long long)v);
}

static void
m_render_process(struct metrics_buf *b, const struct metrics_snapshot *s)
{
	m_head(b, "kafkagate_build_info", "gauge",
	    "Always 1; the version of kafkagate as a label.");
	metrics_buf_printf(b, "kafkagate_build_info{version=\"");
	m_label(b, s->version != NULL ? s->version : "unknown");
	metrics_buf_printf(b, "\"} 1\n");
	m_one(b, "process_start_time_seconds", "gauge",
	    "Start time of the process since the epoch, in seconds.", m_start);
	if (s->cpu_seconds >= 0)
		m_one(b, "process_cpu_seconds_total", "counter",
		    "User and system CPU time spent, in seconds.",
		    s->cpu_seconds);
	if (s->rss_bytes >= 0)
		m_one(b, "process_resident_memory_bytes", "gauge",
		    "Resident memory size, in bytes.", s->rss_bytes);

	m_head(b, "kafkagate_reloads_total", "counter",
	    "Configuration reloads (SIGHUP), by result.");
	metrics_buf_printf(b, "kafkagate_reloads_total{result=\"ok\"} ");
	m_u64(b, m_reloads[1]);
	metrics_buf_printf(b, "kafkagate_reloads_total{result=\"failed\"} ");
	m_u64(b, m_reloads[0]);
	m_one(b, "kafkagate_config_last_reload_successful", "gauge",
	    "1 if the last configuration load succeeded, else 0.",
	    m_reload_ok);
	m_one(b, "kafkagate_config_last_reload_success_timestamp_seconds",
	    "gauge", "Time of the last successful configuration load since "
	    "the epoch, in seconds.", m_reload_ok_at);
}

static const char *const m_refusal_names[WS_REFUSED_MAX] = {
	"per_addr", "handshakes", "tls", "bad_request", "no_route",
	"upgrade", "sessions", "timeout", "auth"
};

static void
m_render_ws(struct metrics_buf *b, const struct ws_server_stats *ws)
{
	int	 i;

	m_one(b, "kafkagate_websocket_connections_accepted_total", "counter",
	    "TCP connections accepted on the WebSocket listeners.",
	    (double)ws->accepted);
	m_head(b, "kafkagate_websocket_handshakes_refused_total", "counter",
	    "Connections refused before the WebSocket upgrade, by reason.");
	for (i = 0; i < WS_REFUSED_MAX; i++) {
		metrics_buf_printf(b, "kafkagate_websocket_handshakes_refused_"
		    "total{reason=\"%s\"} ", m_refusal_names[i]);
		m_u64(b, ws->refused[i]);
	}
	m_one(b, "kafkagate_websocket_handshakes_in_progress", "gauge",
	    "Connections in the TLS or HTTP handshake now.", ws->handshakes);
	m_one(b, "kafkagate_sessions_accepted_total", "counter",
	    "WebSocket sessions opened (upgrades answered with 101).",
	    (double)ws->upgraded);
	m_one(b, "kafkagate_sessions_open", "gauge",
	    "WebSocket sessions open now.", ws->sessions);
	m_one(b, "kafkagate_websocket_received_bytes_total", "counter",
	    "Octets read from WebSocket clients (HTTP and frames, after TLS).",
	    (double)ws->bytes_in);
	m_one(b, "kafkagate_websocket_sent_bytes_total", "counter",
	    "Octets written to WebSocket clients (HTTP and frames, before "
	    "TLS).", (double)ws->bytes_out);
	m_one(b, "kafkagate_websocket_queued_bytes", "gauge",
	    "Octets queued to WebSocket clients, not yet written.",
	    (double)ws->queued);
}

static const char *const m_cmd_names[BRIDGE_STAT_NCMD] = {
	"fetch", "list_offset", "ping", "other"
};

static void
m_render_bridge(struct metrics_buf *b, const struct bridge_stats *br)
{
	int	 i;

	m_head(b, "kafkagate_commands_total", "counter",
	    "Pubsub commands answered, by command and outcome (error: an "
	    "error_resp).");
	for (i = 0; i < BRIDGE_STAT_NCMD * 2; i++) {
		metrics_buf_printf(b, "kafkagate_commands_total{command=\"%s\","
		    "outcome=\"%s\"} ", m_cmd_names[i / 2],
		    i % 2 ? "error" : "ok");
		m_u64(b, br->commands[i / 2][i % 2]);
	}
	m_head(b, "kafkagate_command_errors_total", "counter",
	    "Error answers by error_resp.code (Kafka's codes below 1000, the "
	    "gateway's from 1000; other: any else).");
	for (i = 0; i < BRIDGE_STAT_NCODE; i++) {
		if (br->errors[i] == 0)
			continue;
		if (i == BRIDGE_STAT_CODE_OTHER)
			metrics_buf_printf(b, "kafkagate_command_errors_total"
			    "{code=\"other\"} ");
		else
			metrics_buf_printf(b, "kafkagate_command_errors_total"
			    "{code=\"%ld\"} ", (long)bridge_stat_code(i));
		m_u64(b, br->errors[i]);
	}
	m_one(b, "kafkagate_records_delivered_total", "counter",
	    "Records in fetch answers queued to clients.",
	    (double)br->records);
	m_one(b, "kafkagate_record_bytes_delivered_total", "counter",
	    "Key and value octets of those records.",
	    (double)br->record_bytes);
	m_one(b, "kafkagate_sessions_paused", "gauge",
	    "Sessions not read now: too many requests in flight or answers "
	    "held.", br->paused);
	m_one(b, "kafkagate_answers_held_bytes", "gauge",
	    "Octets of answers waiting for an earlier answer (request "
	    "order).", (double)br->held);
}

static void
m_render_cache(struct metrics_buf *b, const struct kcache_stats *c)
{
	m_one(b, "kafkagate_cache_bytes", "gauge",
	    "Octets of fetched records held decoded for every client.",
	    (double)c->bytes);
	m_one(b, "kafkagate_cache_budget_bytes", "gauge",
	    "The cache's budget in octets (--cache-memory).",
	    (double)c->budget);
	m_one(b, "kafkagate_cache_chunks", "gauge",
	    "Chunks (decoded Fetch answers) in the cache.", (double)c->chunks);
	m_one(b, "kafkagate_cache_partition_readers", "gauge",
	    "Partition readers (one per partition read).", (double)c->readers);
	m_one(b, "kafkagate_cache_hits_total", "counter",
	    "Fetch commands answered from the cache.", (double)c->hits);
	m_one(b, "kafkagate_cache_misses_total", "counter",
	    "Fetch commands that needed a Kafka Fetch.", (double)c->misses);
	m_one(b, "kafkagate_cache_fetches_total", "counter",
	    "Kafka Fetches the partition readers asked for.",
	    (double)c->fetches);
	m_one(b, "kafkagate_cache_fetched_bytes_total", "counter",
	    "Record octets those Fetches brought.", (double)c->fetched_bytes);
	m_one(b, "kafkagate_cache_evictions_total", "counter",
	    "Chunks dropped to stay within the budget.", (double)c->evicted);
}

/* The broker slots in use: the first m_nbrokers, and "other" if used. */
static int
m_broker_used(int i)
{
	const struct m_broker	*mb = &m_brokers[i];
	int			 a;

	if (i < m_nbrokers)
		return 1;
	if (i != METRICS_MAX_BROKERS)
		return 0;
	for (a = 0; a < M_NAPI; a++)
		if (mb->requests[a] != 0)
			return 1;
	return mb->failures != 0 || mb->conns != 0;
}

static void
m_broker_label(struct metrics_buf *b, const char *family, int i)
{
	metrics_buf_printf(b, "%s{broker=\"", family);
	m_label(b, m_brokers[i].name);
	metrics_buf_add(b, "\"", 1);
}

static void
m_render_kafka(struct metrics_buf *b)
{
	const struct m_hist	*h;
	uint64_t		 cum;
	int			 i, a, r, k;

	m_head(b, "kafkagate_kafka_requests_total", "counter",
	    "Kafka requests sent and done (answered or failed), by API and "
	    "broker.");
	for (i = 0; i <= METRICS_MAX_BROKERS; i++)
		for (a = 0; a < M_NAPI; a++) {
			if (!m_broker_used(i) || m_brokers[i].requests[a] == 0)
				continue;
			m_broker_label(b, "kafkagate_kafka_requests_total", i);
			metrics_buf_printf(b, ",api=\"%s\"} ", m_api_names[a]);
			m_u64(b, m_brokers[i].requests[a]);
		}
	m_head(b, "kafkagate_kafka_request_errors_total", "counter",
	    "Kafka requests sent that failed (timeout, connection lost, "
	    "malformed answer), by API and broker.");
	for (i = 0; i <= METRICS_MAX_BROKERS; i++)
		for (a = 0; a < M_NAPI; a++) {
			if (!m_broker_used(i) || m_brokers[i].requests[a] == 0)
				continue;
			m_broker_label(b,
			    "kafkagate_kafka_request_errors_total", i);
			metrics_buf_printf(b, ",api=\"%s\"} ", m_api_names[a]);
			m_u64(b, m_brokers[i].errors[a]);
		}
	m_head(b, "kafkagate_kafka_request_duration_seconds", "histogram",
	    "Time from a Kafka request written to its answer, in seconds, by "
	    "API and connection (main; fetch: Fetches that find data; tail: "
	    "Fetches held at the end of the log up to --fetch-wait).");
	for (i = 0; i < M_NAPI * M_NROLE; i++) {
		a = i / M_NROLE;
		r = i % M_NROLE;
		if ((h = &m_latency[a][r])->count == 0)
			continue;
		for (cum = 0, k = 0; k <= M_NBUCKET; k++) {
			cum += h->n[k];
			metrics_buf_printf(b, "kafkagate_kafka_request_"
			    "duration_seconds_bucket{api=\"%s\",connection="
			    "\"%s\",le=\"", m_api_names[a], m_role_names[r]);
			if (k < M_NBUCKET)
				metrics_buf_printf(b, "%g", m_bounds[k]);
			else
				metrics_buf_printf(b, "+Inf");
			metrics_buf_printf(b, "\"} ");
			m_u64(b, cum);
		}
		metrics_buf_printf(b, "kafkagate_kafka_request_duration_"
		    "seconds_sum{api=\"%s\",connection=\"%s\"} ",
		    m_api_names[a], m_role_names[r]);
		m_num(b, h->sum);
		metrics_buf_printf(b, "\nkafkagate_kafka_request_duration_"
		    "seconds_count{api=\"%s\",connection=\"%s\"} ",
		    m_api_names[a], m_role_names[r]);
		m_u64(b, h->count);
	}
	m_head(b, "kafkagate_kafka_connections", "gauge",
	    "Broker connections whose transport (TCP, TLS) is up, by broker.");
	for (i = 0; i <= METRICS_MAX_BROKERS; i++)
		if (m_broker_used(i)) {
			m_broker_label(b, "kafkagate_kafka_connections", i);
			metrics_buf_printf(b, "} %lld\n",
			    (long long)m_brokers[i].conns);
		}
	m_head(b, "kafkagate_kafka_broker_up", "gauge",
	    "1 while at least one connection to the broker is up, else 0.");
	for (i = 0; i <= METRICS_MAX_BROKERS; i++)
		if (m_broker_used(i)) {
			m_broker_label(b, "kafkagate_kafka_broker_up", i);
			metrics_buf_printf(b, "} %d\n",
			    m_brokers[i].conns > 0);
		}
	m_head(b, "kafkagate_kafka_connection_failures_total", "counter",
	    "Broker connection attempts that failed and connections lost, "
	    "by broker.");
	for (i = 0; i <= METRICS_MAX_BROKERS; i++)
		if (m_broker_used(i)) {
			m_broker_label(b,
			    "kafkagate_kafka_connection_failures_total", i);
			metrics_buf_printf(b, "} ");
			m_u64(b, m_brokers[i].failures);
		}
}

int
metrics_render(struct metrics_buf *b, const struct metrics_snapshot *s)
{
	m_render_process(b, s);
	if (s->ws != NULL)
		m_render_ws(b, s->ws);
	if (s->bridge != NULL)
		m_render_bridge(b, s->bridge);
	if (s->cache != NULL)
		m_render_cache(b, s->cache);
	m_render_kafka(b);
	return b->err ? -1 : 0;
}
