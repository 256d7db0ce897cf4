/*
 * kafkagate.c -- serve Apache Kafka to WebSocket clients speaking the
 * Apache APISIX pubsub protocol.  Command line, routes, signals.
 */
#include "config.h"

#include <sys/resource.h>

#include <errno.h>
#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <getopt.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka/cluster.h"
#include "net/bucket.h"
#include "net/log.h"
#include "net/sdnotify.h"
#include "net/tls.h"
#include "src/admin.h"
#include "src/bridge.h"
#include "src/kafkagate.h"
#include "src/conf.h"
#include "src/metrics.h"
#include "ws/ws.h"

#define KG_MAX_LISTEN	16

static struct kg_config	 kg;		/* the command line */
static struct kg_config	*kgc;		/* the running configuration */
/* Replaced by a reload and still used by sessions (or their requests). */
static struct kg_config	*kg_retired;
static struct ws_server	*kg_server;
static struct ev_loop	*kg_loop;
static int		 kg_stopping;
static ev_timer		 kg_stop_timer;

static void	 kg_collect(int);
static void	 kg_rate_wake(double);

static const char usage_text[] =
"usage: kafkagate [-hnVv] [-b host:port[,host:port...]] [-c file]\n"
"                 [-l address:port] [-p path] [--client-id id]\n"
"                 [--idle-timeout seconds] [--send-timeout seconds]\n"
"                 [--max-frame bytes] [--max-commands-per-second n]\n"
"                 [--max-bytes-per-second n]\n"
"                 [--max-message bytes] [--max-outbound bytes]\n"
"                 [--request-timeout seconds] [--max-sessions n]\n"
"                 [--max-handshakes n] [--max-per-addr n] [--reuse-port]\n"
"                 [--isolation level] [--cache-memory bytes]\n"
"                 [--fetch-wait ms]\n"
"                 [--kafka-tls]\n"
"                 [--kafka-tls-no-verify] [--kafka-ca file]\n"
"                 [--kafka-cert file --kafka-key file]\n"
"                 [--sasl-mechanism name] [--sasl-username name]\n"
"                 [--sasl-password-file file] [--sasl-token-file file]\n"
"                 [--tls-cert file --tls-key file]\n"
"                 [--admin-listen address:port]\n";

static const char help_text[] =
"Serve Apache Kafka to WebSocket clients (Apache APISIX pubsub protocol).\n"
"\n"
"  -b, --brokers LIST         Kafka bootstrap brokers, host:port[,...]\n"
"  -c, --config FILE          read routes and settings from a YAML file\n"
"  -l, --listen ADDR:PORT     listen here (default 0.0.0.0:9080); repeatable\n"
"  -p, --path PATH            WebSocket path of the -b route (default /kafka)\n"
"  -n, --check                check the configuration and exit\n"
"  -v, --verbose              log more (repeat for protocol traces)\n"
"  -V, --version              print the version and exit\n"
"  -h, --help                 print this help and exit\n"
"      --client-id ID         Kafka client id (default kafkagate)\n"
"      --idle-timeout SEC     close clients silent this long (default 0: never)\n"
"      --send-timeout SEC     drop clients that take none of their queued\n"
"                             answers this long (default 60; 0: never)\n"
"      --max-commands-per-second N  commands a session may send a second;\n"
"                             more get error_resp 1105 (default 0: any)\n"
"      --max-bytes-per-second N  answer bytes a session may get a second;\n"
"                             over it the session waits (default 0: any)\n"
"      --max-frame BYTES      largest response frame; a fetch is cut at a\n"
"                             record boundary to fit (default 65535)\n"
"      --max-message BYTES    largest client message, else close 1009\n"
"                             (default 65535)\n"
"      --max-outbound BYTES   bytes queued to one client before it is closed\n"
"                             as too slow (default 8388608)\n"
"      --request-timeout SEC  Kafka request deadline, retries included\n"
"                             (default 10)\n"
"      --isolation LEVEL      read_uncommitted (default, as APISIX) or\n"
"                             read_committed (skip aborted transactions)\n"
"      --cache-memory BYTES   fetched records kept decoded for all clients\n"
"                             (default 268435456)\n"
"      --fetch-wait MS        a fetch at the end of the log waits this long\n"
"                             for records (default 500; 0: answer at once,\n"
"                             as APISIX)\n"
"\n"
"Connection limits (0: unlimited):\n"
"      --max-sessions N       WebSocket sessions; more get HTTP 503\n"
"                             (default 0: bounded by file descriptors)\n"
"      --max-handshakes N     connections still in the TLS/HTTP handshake;\n"
"                             more are closed at accept (default 1024)\n"
"      --max-per-addr N       connections from one IP address; more are\n"
"                             closed at accept (default 0)\n"
"      --reuse-port           share the port with other processes\n"
"                             (SO_REUSEPORT); without it a port in use is\n"
"                             an error\n"
"\n"
"Kafka security (the -b route; routes in a file have their own keys):\n"
"      --kafka-tls            TLS to the brokers, verifying their certificate\n"
"      --kafka-tls-no-verify  TLS to the brokers without verification\n"
"      --kafka-ca FILE        trust these CAs (PEM) instead of the system's\n"
"      --kafka-cert FILE      client certificate for mTLS (PEM)\n"
"      --kafka-key FILE       its private key (PEM)\n"
"      --sasl-mechanism NAME  PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER\n"
"      --sasl-username NAME   SASL user\n"
"      --sasl-password-file FILE  SASL password (or $KAFKAGATE_SASL_PASSWORD;\n"
"                             --sasl-password PASS works, visible in ps)\n"
"      --sasl-token-file FILE OAUTHBEARER token\n"
"\n"
"WebSocket over TLS (wss://):\n"
"      --tls-cert FILE        our certificate chain (PEM); listeners speak TLS\n"
"      --tls-key FILE         its private key (PEM)\n"
"\n"
"Monitoring:\n"
"      --admin-listen ADDR:PORT  serve GET /metrics (Prometheus), /healthz\n"
"                             and /readyz over plain HTTP here (default: off)\n"
"\n"
"See kafkagate(8).\n";

enum {
	OPT_CLIENT_ID = 256,
	OPT_IDLE_TIMEOUT,
	OPT_SEND_TIMEOUT,
	OPT_MAX_RATE,
	OPT_MAX_BYTES_RATE,
	OPT_MAX_FRAME,
	OPT_MAX_MESSAGE,
	OPT_MAX_OUTBOUND,
	OPT_CACHE_MEMORY,
	OPT_FETCH_WAIT,
	OPT_REQUEST_TIMEOUT,
	OPT_KAFKA_TLS,
	OPT_KAFKA_TLS_NO_VERIFY,
	OPT_KAFKA_CA,
	OPT_KAFKA_CERT,
	OPT_KAFKA_KEY,
	OPT_SASL_MECHANISM,
	OPT_SASL_USERNAME,
	OPT_SASL_PASSWORD,
	OPT_SASL_PASSWORD_FILE,
	OPT_SASL_TOKEN_FILE,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_MAX_SESSIONS,
	OPT_MAX_HANDSHAKES,
	OPT_MAX_PER_ADDR,
	OPT_REUSE_PORT,
	OPT_ISOLATION,
	OPT_ADMIN_LISTEN
};

static const struct option kg_options[] = {
	{ "brokers",		required_argument, NULL, 'b' },
	{ "config",		required_argument, NULL, 'c' },
	{ "listen",		required_argument, NULL, 'l' },
	{ "path",		required_argument, NULL, 'p' },
	{ "check",		no_argument,	   NULL, 'n' },
	{ "verbose",		no_argument,	   NULL, 'v' },
	{ "version",		no_argument,	   NULL, 'V' },
	{ "help",		no_argument,	   NULL, 'h' },
	{ "client-id",		required_argument, NULL, OPT_CLIENT_ID },
	{ "idle-timeout",	required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "send-timeout",	required_argument, NULL, OPT_SEND_TIMEOUT },
	{ "max-commands-per-second", required_argument, NULL, OPT_MAX_RATE },
	{ "max-bytes-per-second", required_argument, NULL, OPT_MAX_BYTES_RATE },
	{ "max-frame",		required_argument, NULL, OPT_MAX_FRAME },
	{ "max-message",	required_argument, NULL, OPT_MAX_MESSAGE },
	{ "max-outbound",	required_argument, NULL, OPT_MAX_OUTBOUND },
	{ "cache-memory",	required_argument, NULL, OPT_CACHE_MEMORY },
	{ "fetch-wait",		required_argument, NULL, OPT_FETCH_WAIT },
	{ "request-timeout",	required_argument, NULL, OPT_REQUEST_TIMEOUT },
	{ "kafka-tls",		no_argument,	   NULL, OPT_KAFKA_TLS },
	{ "kafka-tls-no-verify", no_argument,	   NULL, OPT_KAFKA_TLS_NO_VERIFY },
	{ "kafka-ca",		required_argument, NULL, OPT_KAFKA_CA },
	{ "kafka-cert",		required_argument, NULL, OPT_KAFKA_CERT },
	{ "kafka-key",		required_argument, NULL, OPT_KAFKA_KEY },
	{ "sasl-mechanism",	required_argument, NULL, OPT_SASL_MECHANISM },
	{ "sasl-username",	required_argument, NULL, OPT_SASL_USERNAME },
	{ "sasl-password",	required_argument, NULL, OPT_SASL_PASSWORD },
	{ "sasl-password-file",	required_argument, NULL, OPT_SASL_PASSWORD_FILE },
	{ "sasl-token-file",	required_argument, NULL, OPT_SASL_TOKEN_FILE },
	{ "tls-cert",		required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key",		required_argument, NULL, OPT_TLS_KEY },
	{ "max-sessions",	required_argument, NULL, OPT_MAX_SESSIONS },
	{ "max-handshakes",	required_argument, NULL, OPT_MAX_HANDSHAKES },
	{ "max-per-addr",	required_argument, NULL, OPT_MAX_PER_ADDR },
	{ "reuse-port",		no_argument,	   NULL, OPT_REUSE_PORT },
	{ "isolation",		required_argument, NULL, OPT_ISOLATION },
	{ "admin-listen",	required_argument, NULL, OPT_ADMIN_LISTEN },
	{ NULL,			0,		   NULL, 0 }
};

/*
 * Bytes to ask per partition Fetch: 1 MiB, or a frame if that is more.
 * The partition reader keeps what comes decoded and answers the following
 * reads from it, so a Fetch should bring whole batches (a producer's
 * default batch is up to 1 MB; the broker returns at least one batch even
 * when it is bigger, KIP-74), not one frame's worth each time.
 */
int32_t
kafkagate_fetch_bytes(void)
{
	return kgc->max_frame < (1 << 20) ? 1 << 20 : (int32_t)kgc->max_frame;
}

double
kafkagate_now(void)
{
	return ev_now(kg_loop);
}

/*
 * Every 10 s: chunks unread for a minute and empty readers go, and the
 * count of client log lines suppressed since the last one is logged.
 */
#define KG_SWEEP_EVERY	10.0
#define KG_CACHE_IDLE	60.0

static void
kg_sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	kafka_backend_sweep(ev_now(loop), KG_CACHE_IDLE);
	kg_collect(0);
	/* A flood that stopped still gets its count of suppressed lines. */
	log_client_flush();
}

static void
usage(void)
{
	(void)fputs(usage_text, stderr);
	exit(2);
}

static int
parse_size(const char *opt, const char *s, size_t min, size_t max, size_t *out)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		(void)fprintf(stderr, "kafkagate: %s: expected a number from "
		    "%zu to %zu, got \"%s\"\n", opt, min, max, s);
		return -1;
	}
	*out = (size_t)v;
	return 0;
}

static int
parse_count(const char *opt, const char *s, int *out)
{
	size_t	 v;

	if (parse_size(opt, s, 0, CONFIG_MAX_COUNT, &v) != 0)
		return -1;
	*out = (int)v;
	return 0;
}

/* A rate: a number from 0 to a million. */
static int
parse_rate(const char *opt, const char *s, double *out)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0 && v <= 1e6)) {
		(void)fprintf(stderr, "kafkagate: %s: expected a number from 0 "
		    "to 1000000, got \"%s\"\n", opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_seconds(const char *opt, const char *s, double min, double *out)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	/* !(a && b) also rejects NaN, which compares false with anything. */
	if (errno != 0 || end == s || *end != '\0' ||
	    !(v >= min && v <= 86400.0 * 365)) {
		(void)fprintf(stderr, "kafkagate: %s: expected seconds >= %g, "
		    "got \"%s\"\n", opt, min, s);
		return -1;
	}
	*out = v;
	return 0;
}

static void *
kg_route(void *arg, const char *path, size_t len)
{
	int	 i;

	(void)arg;
	for (i = 0; i < kgc->nroutes; i++)
		if (strlen(kgc->routes[i].route.path) == len &&
		    memcmp(kgc->routes[i].route.path, path, len) == 0)
			return &kgc->routes[i].route;
	return NULL;
}

/*
 * glibc hands memory back to the kernel as soon as 128 KiB lie free at the
 * top of the heap, and maps each block over its (adaptive) threshold on
 * its own.  A gateway frees and allocates the same sizes again at once:
 * a fan-out to many tail readers frees thousands of answers together,
 * the cache frees a 1 MiB chunk for each it fetches.  Returned, that
 * memory comes back page fault by page fault (measured: 3 500 brk calls
 * a second, 15% of the CPU in faults).  Keep up to 16 MiB free at the
 * top and blocks under 4 MiB in the heap; the cache budget
 * (--cache-memory) still bounds what is held.
 */
static void
kg_tune_malloc(void)
{
#ifdef __GLIBC__
	(void)mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	(void)mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
#endif
}

/*
 * Every session, listener and broker connection is a file descriptor:
 * raise the soft limit to the hard one, and say so if --max-sessions
 * cannot fit.
 */
static void
kg_raise_nofile(void)
{
	struct rlimit	 rl;
	rlim_t		 need;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warnx("getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t	 old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			log_debug("setrlimit(RLIMIT_NOFILE, %llu): %s",
			    (unsigned long long)rl.rlim_max, strerror(errno));
			rl.rlim_cur = old;
		}
	}
	log_debug("file descriptor limit: %llu",
	    (unsigned long long)rl.rlim_cur);
	/* stdio, listeners (two each at most), broker connections, slack. */
	need = (rlim_t)kgc->max_sessions + (rlim_t)kgc->max_handshakes +
	    3 + 2 * (rlim_t)kgc->nlisten + 4 * (rlim_t)kgc->nroutes + 16;
	if (kgc->max_sessions > 0 && rl.rlim_cur != RLIM_INFINITY &&
	    need > rl.rlim_cur)
		log_warnx("--max-sessions %d does not fit in the file "
		    "descriptor limit %llu (about %llu needed with the "
		    "handshakes and broker connections): connections beyond "
		    "it fail at accept; raise the hard limit (ulimit -Hn, "
		    "LimitNOFILE=)", kgc->max_sessions,
		    (unsigned long long)rl.rlim_cur, (unsigned long long)need);
}

/*
 * /readyz (src/admin.h): ready when the cluster of every route of the
 * running configuration can be reached (kcluster_reachable()); else a
 * line for each route that cannot, and why.  Not ready while stopping.
 */
static int
kg_ready(void *arg, char *why, size_t len)
{
	char	 r[512];
	size_t	 n = 0;
	int	 i, k, ready = 1;

	(void)arg;
	if (kg_stopping) {
		(void)snprintf(why, len, "shutting down\n");
		return 0;
	}
	why[0] = '\0';
	for (i = 0; i < kgc->nroutes; i++) {
		if (kgc->routes[i].cluster == NULL ||
		    kcluster_reachable(kgc->routes[i].cluster, r, sizeof(r)))
			continue;
		ready = 0;
		if (n >= len)
			continue;
		k = snprintf(why + n, len - n, "route %s (brokers %s): %s\n",
		    kgc->routes[i].route.path, kgc->routes[i].brokers, r);
		if (k > 0)
			n = (size_t)k < len - n ? n + (size_t)k : len;
	}
	return ready;
}

static void
kg_stop_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	if (ws_server_sessions(kg_server) == 0 || ++kg_stopping > 30)
		ev_break(loop, EVBREAK_ALL);
}

/*
 * --max-bytes-per-second: sessions that sent more than their share are
 * resumed by one timer, at the earliest time one is due.
 */
static ev_timer		 kg_rate_timer;

static void
kg_rate_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	double	 next;

	(void)revents;
	if ((next = bridge_tick(ev_now(loop))) > 0) {
		ev_timer_set(w, next - ev_now(loop) > 0 ? next - ev_now(loop) :
		    0, 0);
		ev_timer_start(loop, w);
	}
}

static void
kg_rate_wake(double at)
{
	double	 now = ev_now(kg_loop), left;

	left = at - now > 0 ? at - now : 0;
	if (ev_is_active(&kg_rate_timer)) {
		if (ev_timer_remaining(kg_loop, &kg_rate_timer) <= left)
			return;
		ev_timer_stop(kg_loop, &kg_rate_timer);
	}
	ev_timer_init(&kg_rate_timer, kg_rate_cb, left, 0);
	ev_timer_start(kg_loop, &kg_rate_timer);
}

/* The bridge's settings from a configuration. */
static void
kg_bridge_conf(const struct kg_config *c, struct bridge_conf *bconf)
{
	memset(bconf, 0, sizeof(*bconf));
	bconf->max_frame = c->max_frame;
	bconf->max_inflight = 64;
	/*
	 * Answers waiting behind a pending request: at most half of what may
	 * be queued to the client, so that they always fit once they can go.
	 */
	bconf->max_held = c->max_outbound / 2;
	bconf->max_rate = c->max_rate;
	bconf->now = kafkagate_now;
	bconf->max_bytes_rate = c->max_bytes_rate;
	bconf->wake_at = kg_rate_wake;
}

/* The WebSocket server's settings from a configuration. */
static void
kg_server_conf(const struct kg_config *c, struct ws_server_conf *wconf)
{
	ws_server_conf_default(wconf);
	wconf->max_message = c->max_message;
	wconf->max_outbound = c->max_outbound;
	wconf->idle_timeout = c->idle_timeout;
	wconf->send_timeout = c->send_timeout;
	wconf->max_sessions = c->max_sessions;
	wconf->max_handshakes = c->max_handshakes;
	wconf->max_per_addr = c->max_per_addr;
	wconf->reuse_port = c->reuse_port > 0;
}

/* 1 if r is one of c's routes. */
static int
kg_route_in(void *arg, const struct bridge_route *r)
{
	const struct kg_config	*c = arg;

	return (const char *)r >= (const char *)c->routes &&
	    (const char *)r < (const char *)(c->routes + c->nroutes);
}

/*
 * A reload: a session's route carries on as the new route of the same
 * path that took its cluster (the cluster settings are the same), else
 * it is closed.
 */
static int	 kg_remap_closed;	/* sessions kg_remap() said no to */

/* The consumer of c with u's name and credentials, or NULL. */
static struct auth_consumer *
kg_same_consumer(const struct kg_config *c, const struct auth_consumer *u)
{
	struct auth_consumer	*v;
	int			 i;

	for (i = 0; i < c->consumers.n; i++) {
		v = &c->consumers.v[i];
		/* The key, and the JWT key's claim, algorithm and key. */
		if (strcmp(v->username, u->username) == 0 &&
		    (v->key == NULL) == (u->key == NULL) &&
		    (v->key == NULL || memcmp(v->key_hash, u->key_hash,
		    AUTH_HASH_LEN) == 0) &&
		    (v->jwt_key == NULL) == (u->jwt_key == NULL) &&
		    (v->jwt_key == NULL || (strcmp(v->jwt_key, u->jwt_key) == 0 &&
		    memcmp(v->jwt_fp, u->jwt_fp, AUTH_HASH_LEN) == 0)))
			return v;
	}
	return NULL;
}

static const struct bridge_route *
kg_remap(void *arg, const struct bridge_route *br, void **grant, int open)
{
	const struct kg_config	*nc = arg;
	const struct kg_route	*o, *n = NULL;
	struct auth_consumer	*u = NULL;
	int			 i;

	o = config_route_of(br);
	/* Its consumer, by name, with the same credentials. */
	if (open && *grant != NULL &&
	    (u = kg_same_consumer(nc, *grant)) == NULL) {
		log_info("consumer %s removed or its credentials changed: "
		    "closing its session",
		    ((struct auth_consumer *)*grant)->username);
		kg_remap_closed++;
		return NULL;
	}
	for (i = 0; i < nc->nroutes; i++) {
		n = &nc->routes[i];
		if (strcmp(n->path, o->path) == 0 && n->cluster == o->cluster)
			break;
	}
	if (i == nc->nroutes) {
		if (open)
			kg_remap_closed++;
		return NULL;
	}
	/*
	 * A route that now admits otherwise (other credentials, origins,
	 * JWT checks): its sessions were let in under the old rules.
	 */
	if (open && !auth_route_same(&o->auth, &n->auth)) {
		kg_remap_closed++;
		return NULL;
	}
	if (open && u != NULL)
		u->nconns++;
	*grant = open ? u : NULL;
	return &n->route;
}

/* {"message":"..."} with why escaped for JSON, cut to fit. */
static void
kg_json_message(char *buf, size_t len, const char *why)
{
	size_t	 n;
	char	*p = buf, *end = buf + len - 16;

	n = (size_t)snprintf(p, len, "{\"message\":\"");
	p += n;
	for (; *why != '\0' && p < end; why++) {
		if (*why == '"' || *why == '\\') {
			*p++ = '\\';
			*p++ = *why;
		} else if ((unsigned char)*why < 0x20)
			p += snprintf(p, 7, "\\u%04x", (unsigned char)*why);
		else
			*p++ = *why;
	}
	(void)snprintf(p, (size_t)(buf + len - p), "\"}\n");
}

/*
 * ws_server's admit callback: the route's Origin check and credentials
 * (src/auth.h).  One log line per refusal: who, from where, which route,
 * why; never the credential.
 */
/*
 * Failed admissions per client address: a bucket of KG_FAIL_BURST that
 * refills KG_FAIL_RATE a second, in a fixed table (addresses that hash
 * alike share one).  An address out of it is answered 429 without its
 * credential being looked at: guessing keys or sending forged tokens
 * (an ECDSA verification each) cannot take the loop from the others.
 */
#define KG_FAIL_SLOTS	4096
#define KG_FAIL_RATE	5.0
#define KG_FAIL_BURST	20.0

static struct bucket	 kg_fail[KG_FAIL_SLOTS];
static uint64_t	 kg_fail_basis;

/* The slot of a peer "addr:port" (the port left out). */
static unsigned int
kg_fail_slot(const char *peer)
{
	const char	*end = strrchr(peer, ':');
	uint64_t	 h;

	if (kg_fail_basis == 0) {
#ifdef HAVE_ARC4RANDOM_UNIFORM
		arc4random_buf(&kg_fail_basis, sizeof(kg_fail_basis));
#else
		kg_fail_basis = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL ^
		    (uint64_t)(ev_time() * 1e6);
#endif
		kg_fail_basis |= 1;
	}
	if (end == NULL)
		end = peer + strlen(peer);
	for (h = kg_fail_basis; peer < end; peer++)
		h = (h ^ (uint8_t)*peer) * 1099511628211ULL;
	return (unsigned int)(h % KG_FAIL_SLOTS);
}

/* 1 if the address may try (again); with charge, a failure is counted. */
static int
kg_fail_budget(const char *peer, int charge)
{
	struct bucket	*b = &kg_fail[kg_fail_slot(peer)];

	if (bucket_fill(b, ev_now(kg_loop), KG_FAIL_RATE, KG_FAIL_BURST) < 1)
		return 0;
	if (charge)
		b->tokens -= 1;
	return 1;
}

static void
kg_admit(void *arg, void *route, const struct http_request *req,
    const char *peer, struct ws_admit *a)
{
	const struct kg_route	*r = config_route_of(route);
	struct auth_result	 res;
	static char		 body[200];

	(void)arg;
	if (!auth_required(&r->auth) && r->auth.norigins == 0 &&
	    !r->auth.origin_required)
		return;
	if (!kg_fail_budget(peer, 0)) {
		log_client(LOG_LVL_INFO, "auth: %s: route %s: refused with 429: "
		    "too many failed attempts from this address", peer, r->path);
		kg_json_message(body, sizeof(body), "too many failed attempts");
		a->status = 429;
		a->body = body;
		return;
	}
	auth_admit(&r->auth, &kgc->consumers, req, ev_now(kg_loop), &res);
	if (res.status == 401 || res.status == 403)
		(void)kg_fail_budget(peer, 1);
	if (res.status != 0) {
		log_client(LOG_LVL_INFO, "auth: %s: route %s: refused with %d: "
		    "%s", peer, r->path, res.status, res.why);
		kg_json_message(body, sizeof(body), res.why);
		a->status = res.status;
		a->body = body;
		return;
	}
	if (res.consumer != NULL)
		log_client(LOG_LVL_INFO, "auth: %s: route %s: consumer %s (%s)",
		    peer, r->path, res.consumer->username, res.method);
	a->grant = res.consumer;
	a->protocol = res.protocol;
	a->protocollen = res.protocollen;
	if (res.expires > 0)
		a->expires = res.expires + r->auth.jwt_leeway;
}

/* 1 if a listen address is a loopback one. */
static int
kg_loopback(const char *addr)
{
	char	 host[256];
	int	 port;

	if (ws_listen_split(addr, host, sizeof(host), &port) != WS_ADDR_OK)
		return 0;
	return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
	    strcmp(host, "localhost") == 0;
}

/*
 * Routes anyone who reaches a non-loopback listener can read through:
 * say so at start (and with -n).
 */
static void
kg_warn_open(const struct kg_config *c)
{
	int	 i, open = 0;

	for (i = 0; i < c->nlisten; i++)
		if (!kg_loopback(c->listen[i]))
			open = 1;
	if (!open)
		return;
	for (i = 0; i < c->nroutes; i++) {
		if (!auth_required(&c->routes[i].auth))
			log_warnx("route %s has no authentication and listens "
			    "beyond loopback: whoever reaches it reads every "
			    "topic the gateway may read (see kafkagate.conf(5), "
			    "AUTHENTICATION)", c->routes[i].path);
		/* Browsers send the jwt cookie to a page of any site. */
		else if (c->routes[i].auth.jwt_auth &&
		    c->routes[i].auth.norigins == 0)
			log_warnx("route %s takes a JWT from a cookie but lists "
			    "no origins: any page a user visits can read through "
			    "it with the user's cookie (set kafkagate.origins)",
			    c->routes[i].path);
	}
}

static void
kg_open(void *arg, struct ws_session *ws, void *route)
{
	struct auth_consumer	*u = ws_session_grant(ws);

	bridge_open(arg, ws, route);
	/* Counted once the bridge holds it (kg_closed() finds it there). */
	if (u != NULL && bridge_session_grant(ws) == u)
		u->nconns++;
}

static void
kg_closed(void *arg, struct ws_session *ws)
{
	struct auth_consumer	*u = bridge_session_grant(ws);

	if (u != NULL && u->nconns > 0)
		u->nconns--;
	bridge_closed(arg, ws);
}

/* Free the replaced configurations no session uses any more. */
static void
kg_collect(int all)
{
	struct kg_config	**pp = &kg_retired, *c;

	while ((c = *pp) != NULL) {
		if (!all && bridge_route_in_use(kg_route_in, c)) {
			pp = &c->retired_next;
			continue;
		}
		*pp = c->retired_next;
		log_debug("freeing a replaced configuration (%d routes)",
		    c->nroutes);
		config_free(c);
		free(c);
	}
}

/* What a reload cannot change: the listening sockets. */
static int
kg_reload_fixed(const struct kg_config *o, const struct kg_config *n,
    char *err, size_t errlen)
{
	int	 i, same = o->nlisten == n->nlisten;

	for (i = 0; same && i < n->nlisten; i++)
		same = strcmp(o->listen[i], n->listen[i]) == 0;
	if (!same) {
		(void)snprintf(err, errlen, "the listen addresses changed "
		    "(a restart changes them)");
		return -1;
	}
	if ((o->tls_cert == NULL) != (n->tls_cert == NULL)) {
		(void)snprintf(err, errlen, "ws and wss cannot change places "
		    "(a restart changes them)");
		return -1;
	}
	if ((o->reuse_port > 0) != (n->reuse_port > 0)) {
		(void)snprintf(err, errlen, "reuse_port changed (a restart "
		    "changes it)");
		return -1;
	}
	if ((o->admin_listen == NULL) != (n->admin_listen == NULL) ||
	    (o->admin_listen != NULL &&
	    strcmp(o->admin_listen, n->admin_listen) != 0)) {
		(void)snprintf(err, errlen, "admin_listen changed (a restart "
		    "changes it)");
		return -1;
	}
	return 0;
}

/*
 * SIGHUP: read the configuration again, from the command line and the
 * file, with every file it names (kafkagate.conf(5), RELOAD).  Anything
 * wrong leaves the running configuration as it is.
 */
static void
kg_reload(void)
{
	struct kg_config	*nc, *oc = kgc;
	struct ntls_config	*t = NULL;
	struct bridge_conf	 bconf;
	struct ws_server_conf	 wconf;
	char			 err[512];
	int			 i;

	(void)sdnotify_reloading();
	if ((nc = malloc(sizeof(*nc))) == NULL) {
		(void)snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	*nc = kg;
	if (config_finish(nc, err, sizeof(err)) != 0 ||
	    kg_reload_fixed(oc, nc, err, sizeof(err)) != 0)
		goto fail;
	if (nc->tls_cert != NULL &&
	    (t = config_wss_tls(nc, err, sizeof(err))) == NULL)
		goto fail;
	if (config_start(nc, oc, kg_loop, err, sizeof(err)) != 0)
		goto fail;

	/* From here on nothing fails. */
	kgc = nc;
	kg_remap_closed = 0;
	bridge_remap(kg_remap, nc);
	kg_bridge_conf(nc, &bconf);
	bridge_init(&bconf);
	kg_server_conf(nc, &wconf);
	ws_server_reconfigure(kg_server, &wconf);
	kafka_backend_set_budget(nc->cache_memory);
	if (t != NULL) {
		ws_server_set_tls(kg_server, t);
		ntls_config_unref(t);
	}
	oc->retired_next = kg_retired;
	kg_retired = oc;
	kg_collect(0);
	for (i = 0; i < nc->nroutes; i++)
		log_info("route %s -> kafka %s", nc->routes[i].route.path,
		    nc->routes[i].brokers);
	log_info("received SIGHUP: reloaded %s: %d route%s; %d session%s on "
	    "removed or changed routes closed", nc->config_file != NULL ?
	    nc->config_file : "the configuration", nc->nroutes,
	    nc->nroutes == 1 ? "" : "s", kg_remap_closed,
	    kg_remap_closed == 1 ? "" : "s");
	metrics_reload(1);
	(void)sdnotify("READY=1");
	return;
fail:
	log_err("received SIGHUP: %s; the running configuration stays", err);
	metrics_reload(0);
	if (t != NULL)
		ntls_config_unref(t);
	if (nc != NULL) {
		config_free(nc);
		free(nc);
	}
	(void)sdnotify("READY=1");
}

static void
kg_sighup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (!kg_stopping)
		kg_reload();
}

static void
kg_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	if (kg_stopping) {
		log_info("second signal: exiting now");
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	log_info("received %s: closing %d sessions", w->signum == SIGTERM ?
	    "SIGTERM" : "SIGINT", ws_server_sessions(kg_server));
	kg_stopping = 1;
	(void)sdnotify("STOPPING=1");
	ws_server_shutdown(kg_server, 1001, "server shutting down");
	/* Poll every 100 ms for up to 3 s while the close handshakes finish. */
	ev_timer_init(&kg_stop_timer, kg_stop_cb, 0, 0.1);
	ev_timer_again(loop, &kg_stop_timer);
}

int
main(int argc, char *argv[])
{
	struct ws_server_conf	 wconf;
	struct ws_server_cb	 wcb;
	struct bridge_conf	 bconf;
	ev_signal		 sigterm, sigint, sighup;
	ev_timer		 sweep;
	char			 err[512];
	int			 ch, i, check = 0, verbose = 0;
	size_t			 bytes_rate;

	kg_tune_malloc();
	config_init(&kg);
	while ((ch = getopt_long(argc, argv, "b:c:l:p:nvVh", kg_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'b':
			kg.brokers = optarg;
			break;
		case 'c':
			kg.config_file = optarg;
			break;
		case 'l':
			if (kg.nlisten == CONFIG_MAX_LISTEN) {
				(void)fprintf(stderr, "kafkagate: at most %d "
				    "listen addresses\n", CONFIG_MAX_LISTEN);
				return 2;
			}
			kg.listen[kg.nlisten++] = optarg;
			break;
		case 'p':
			kg.path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			(void)printf("kafkagate %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			(void)fputs(usage_text, stdout);
			(void)fputs("\n", stdout);
			(void)fputs(help_text, stdout);
			return 0;
		case OPT_CLIENT_ID:
			kg.client_id = optarg;
			break;
		case OPT_MAX_BYTES_RATE:
			if (parse_size("--max-bytes-per-second", optarg, 0,
			    (size_t)1 << 40, &bytes_rate) != 0)
				return 2;
			kg.max_bytes_rate = (double)bytes_rate;
			break;
		case OPT_MAX_RATE:
			if (parse_rate("--max-commands-per-second", optarg,
			    &kg.max_rate) != 0)
				return 2;
			break;
		case OPT_SEND_TIMEOUT:
			if (parse_seconds("--send-timeout", optarg, 0,
			    &kg.send_timeout) != 0)
				return 2;
			break;
		case OPT_IDLE_TIMEOUT:
			if (parse_seconds("--idle-timeout", optarg, 0,
			    &kg.idle_timeout) != 0)
				return 2;
			break;
		case OPT_MAX_FRAME:
			if (parse_size("--max-frame", optarg, 256, 64 << 20,
			    &kg.max_frame) != 0)
				return 2;
			break;
		case OPT_MAX_MESSAGE:
			if (parse_size("--max-message", optarg, 16, 64 << 20,
			    &kg.max_message) != 0)
				return 2;
			break;
		case OPT_FETCH_WAIT:
			if (parse_count("--fetch-wait", optarg,
			    &kg.fetch_wait) != 0)
				return 2;
			break;
		case OPT_CACHE_MEMORY:
			if (parse_size("--cache-memory", optarg, 1 << 20,
			    (size_t)1 << 40, &kg.cache_memory) != 0)
				return 2;
			break;
		case OPT_MAX_OUTBOUND:
			if (parse_size("--max-outbound", optarg, 65536,
			    (size_t)1 << 32, &kg.max_outbound) != 0)
				return 2;
			break;
		case OPT_REQUEST_TIMEOUT:
			if (parse_seconds("--request-timeout", optarg, 0.1,
			    &kg.request_timeout) != 0)
				return 2;
			break;
		case OPT_KAFKA_TLS:
			kg.kafka_tls = 1;
			break;
		case OPT_KAFKA_TLS_NO_VERIFY:
			kg.kafka_tls_no_verify = 1;
			break;
		case OPT_KAFKA_CA:
			kg.kafka_ca = optarg;
			break;
		case OPT_KAFKA_CERT:
			kg.kafka_cert = optarg;
			break;
		case OPT_KAFKA_KEY:
			kg.kafka_key = optarg;
			break;
		case OPT_SASL_MECHANISM:
			kg.sasl_mechanism = optarg;
			break;
		case OPT_SASL_USERNAME:
			kg.sasl_username = optarg;
			break;
		case OPT_SASL_PASSWORD:
			kg.sasl_password = optarg;
			break;
		case OPT_SASL_PASSWORD_FILE:
			kg.sasl_password_file = optarg;
			break;
		case OPT_SASL_TOKEN_FILE:
			kg.sasl_token_file = optarg;
			break;
		case OPT_TLS_CERT:
			kg.tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			kg.tls_key = optarg;
			break;
		case OPT_MAX_SESSIONS:
			if (parse_count("--max-sessions", optarg,
			    &kg.max_sessions) != 0)
				return 2;
			break;
		case OPT_MAX_HANDSHAKES:
			if (parse_count("--max-handshakes", optarg,
			    &kg.max_handshakes) != 0)
				return 2;
			break;
		case OPT_MAX_PER_ADDR:
			if (parse_count("--max-per-addr", optarg,
			    &kg.max_per_addr) != 0)
				return 2;
			break;
		case OPT_REUSE_PORT:
			kg.reuse_port = 1;
			break;
		case OPT_ADMIN_LISTEN:
			kg.admin_listen = optarg;
			break;
		case OPT_ISOLATION:
			if ((kg.isolation = config_parse_isolation(optarg)) ==
			    -1) {
				(void)fprintf(stderr, "kafkagate: --isolation: "
				    "expected read_uncommitted or "
				    "read_committed, got \"%s\"\n", optarg);
				return 2;
			}
			break;
		default:
			usage();
		}
	}
	if (optind != argc) {
		(void)fprintf(stderr, "kafkagate: unexpected argument '%s'\n",
		    argv[optind]);
		usage();
	}
	log_set_level(LOG_LVL_INFO + verbose);

	/* A reload starts again from the command line: keep it apart. */
	if ((kgc = malloc(sizeof(*kgc))) == NULL) {
		(void)fprintf(stderr, "kafkagate: out of memory\n");
		return 1;
	}
	*kgc = kg;
	if (config_finish(kgc, err, sizeof(err)) != 0) {
		(void)fprintf(stderr, "kafkagate: %s\n", err);
		return 1;
	}
	if (check) {
		(void)printf("kafkagate: configuration OK: %d route%s\n",
		    kgc->nroutes, kgc->nroutes == 1 ? "" : "s");
		config_print(kgc, stdout);
		kg_warn_open(kgc);
		config_free(kgc);
		free(kgc);
		return 0;
	}
	kg_raise_nofile();

	(void)signal(SIGPIPE, SIG_IGN);
	/* Before the clusters: their connections report from the first. */
	metrics_init();
	kg_loop = ev_default_loop(EVFLAG_AUTO);
	if (config_start(kgc, NULL, kg_loop, err, sizeof(err)) != 0) {
		(void)fprintf(stderr, "kafkagate: %s\n", err);
		return 1;
	}

	if (kafka_backend_init(kgc->cache_memory) != 0) {
		(void)fprintf(stderr, "kafkagate: out of memory\n");
		return 1;
	}
	kg_bridge_conf(kgc, &bconf);
	bridge_init(&bconf);
	kg_server_conf(kgc, &wconf);
	memset(&wcb, 0, sizeof(wcb));
	wcb.route = kg_route;
	wcb.admit = kg_admit;
	wcb.open = kg_open;
	wcb.message = bridge_message;
	wcb.closed = kg_closed;
	if ((kg_server = ws_server_new(kg_loop, &wconf, &wcb, NULL)) == NULL) {
		(void)fprintf(stderr, "kafkagate: cannot create the server\n");
		return 1;
	}
	if (kgc->tls_cert != NULL) {
		struct ntls_config	*t;

		if ((t = config_wss_tls(kgc, err, sizeof(err))) == NULL) {
			(void)fprintf(stderr, "kafkagate: %s\n", err);
			return 1;
		}
		ws_server_set_tls(kg_server, t);	/* takes a reference */
		ntls_config_unref(t);
	}
	for (i = 0; i < kgc->nlisten; i++) {
		if (ws_server_listen(kg_server, kgc->listen[i], err,
		    sizeof(err)) != 0) {
			(void)fprintf(stderr, "kafkagate: %s%s\n", err,
			    strstr(err, strerror(EADDRINUSE)) == NULL ? "" :
			    kgc->reuse_port ? " (the process listening on it "
			    "does not share it: it needs --reuse-port too)" :
			    " (another process listens on it; --reuse-port "
			    "shares the port)");
			return 1;
		}
		log_info("listening on %s (%s)", kgc->listen[i],
		    kgc->tls_cert ? "wss" : "ws");
	}
	for (i = 0; i < kgc->nroutes; i++)
		log_info("route %s -> kafka %s", kgc->routes[i].route.path,
		    kgc->routes[i].brokers);
	kg_warn_open(kgc);
	admin_set_sources(kg_server, kafka_backend_stats);
	if (kgc->admin_listen != NULL && admin_start(kg_loop,
	    kgc->admin_listen, kg_ready, NULL, err, sizeof(err)) != 0) {
		(void)fprintf(stderr, "kafkagate: --admin-listen %s\n", err);
		return 1;
	}
	(void)sdnotify("READY=1");

	ev_signal_init(&sigterm, kg_signal_cb, SIGTERM);
	ev_signal_start(kg_loop, &sigterm);
	ev_signal_init(&sigint, kg_signal_cb, SIGINT);
	ev_signal_start(kg_loop, &sigint);
	ev_signal_init(&sighup, kg_sighup_cb, SIGHUP);
	ev_signal_start(kg_loop, &sighup);
	ev_timer_init(&sweep, kg_sweep_cb, KG_SWEEP_EVERY, KG_SWEEP_EVERY);
	ev_timer_start(kg_loop, &sweep);

	ev_run(kg_loop, 0);

	ev_timer_stop(kg_loop, &sweep);
	admin_stop();
	ws_server_free(kg_server);
	kg_collect(1);
	config_free(kgc);
	free(kgc);
	kafka_backend_free();
	ev_loop_destroy(kg_loop);
	log_client_flush();
	log_info("stopped");
	return 0;
}
