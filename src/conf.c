/*
 * conf.c -- settings from the command line and the YAML file.
 *
 * The file's `routes:` entries are APISIX standalone route objects read as
 * they are (uri, upstream.scheme, upstream.nodes in both its map and list
 * forms); see kafkagate.conf(5).  Settings given on the command line win
 * over the file.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "kafka/cluster.h"
#include "kafka/sasl.h"
#include "net/log.h"
#include "net/tls.h"
#include "net/jwt.h"
#include "src/conf.h"
#include "src/kafkagate.h"
#include "ws/ws.h"

#define DEFAULT_LISTEN		"0.0.0.0:9080"
#define DEFAULT_PATH		"/kafka"
#define DEFAULT_MAX_FRAME	65535
#define DEFAULT_MAX_MESSAGE	65535
#define DEFAULT_MAX_OUTBOUND	(8 * 1024 * 1024)
#define DEFAULT_CACHE_MEMORY	((size_t)256 << 20)
#define DEFAULT_FETCH_WAIT	500	/* ms, librdkafka's fetch.wait.max.ms */
#define MAX_FETCH_WAIT		60000
#define DEFAULT_REQ_TIMEOUT	10.0
#define SECRET_MAX		65536
#define CONFIG_FILE_MAX		(4 * 1024 * 1024)
#define CF_MAX_BOOTSTRAP	32	/* kafka/cluster.c KC_MAX_BOOTSTRAP */
#define CF_MAX_DEPTH		64	/* YAML nesting */
#define CF_MAX_ANCHORS		256

static const char *const cf_mechanisms[] = {
	"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", NULL
};

static const char *const cf_isolations[] = {
	"read_uncommitted", "read_committed", NULL
};

void
config_init(struct kg_config *c)
{
	memset(c, 0, sizeof(*c));
	c->idle_timeout = -1;
	c->send_timeout = -1;
	c->max_rate = -1;
	c->max_bytes_rate = -1;
	c->request_timeout = -1;
	c->max_sessions = -1;
	c->max_handshakes = -1;
	c->max_per_addr = -1;
	c->isolation = -1;
	c->fetch_wait = -1;
}

const char *
config_isolation_name(int i)
{
	return i == KG_READ_COMMITTED ? cf_isolations[1] : cf_isolations[0];
}

/* "read_uncommitted" or "read_committed", else -1. */
static int
cf_isolation(const char *s)
{
	int	 i;

	for (i = 0; s != NULL && cf_isolations[i] != NULL; i++)
		if (strcmp(s, cf_isolations[i]) == 0)
			return i;
	return -1;
}

int
config_parse_isolation(const char *s)
{
	return cf_isolation(s);
}

static char *
cf_own(struct kg_config *c, char *s)
{
	if (s == NULL)
		return NULL;
	if (c->nowned == (int)(sizeof(c->owned) / sizeof(c->owned[0]))) {
		free(s);
		return NULL;
	}
	c->owned[c->nowned++] = s;
	return s;
}

/*
 * Read a whole file (at most max bytes) with read(2), not stdio, whose
 * buffers would keep a copy of secrets after fclose.  Every buffer given
 * up on the way is wiped.  *out is NUL-terminated; the caller wipes it.
 */
static int
cf_read_file(const char *file, size_t max, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	char	*buf, *nbuf;
	size_t	 len = 0, size = 4096;
	ssize_t	 n;
	int	 fd, e;

	*out = NULL;
	*outlen = 0;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		(void)snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	if ((buf = malloc(size)) == NULL)
		goto oom;
	for (;;) {
		if (len + 1 == size) {
			if (size > max) {
				(void)snprintf(err, errlen, "%s: longer than "
				    "%zu bytes", file, max);
				goto bad;
			}
			if ((nbuf = malloc(size * 2)) == NULL)
				goto oom;
			memcpy(nbuf, buf, len);
			explicit_bzero(buf, len);
			free(buf);
			buf = nbuf;
			size *= 2;
		}
		n = read(fd, buf + len, size - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			e = errno;
			/* A directory opens, and fails here with EISDIR. */
			(void)snprintf(err, errlen, "%s: %s", file, strerror(e));
			goto bad;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	(void)close(fd);
	if (len > max) {
		explicit_bzero(buf, len);
		free(buf);
		(void)snprintf(err, errlen, "%s: longer than %zu bytes", file,
		    max);
		return -1;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
oom:
	(void)snprintf(err, errlen, "out of memory");
bad:
	(void)close(fd);
	if (buf != NULL) {
		explicit_bzero(buf, len);
		free(buf);
	}
	return -1;
}

/*
 * Read a secret (a password) from a file: at most 64 KiB, trailing
 * newlines removed.  The file should be readable by us only.
 */
static char *
cf_read_secret(const char *file, char *err, size_t errlen)
{
	char	*buf;
	size_t	 n, len;

	if (cf_read_file(file, SECRET_MAX, &buf, &len, err, errlen) != 0)
		return NULL;
	n = len;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	if (n == 0 || strlen(buf) != n) {
		explicit_bzero(buf, len);
		free(buf);
		(void)snprintf(err, errlen, "%s: empty, or holds a NUL byte", file);
		return NULL;
	}
	return buf;
}

/* The token file exists and holds a bearer token; the copy is wiped. */
static int
cf_check_token(const char *path, const char *file, char *err, size_t errlen)
{
	char	*tok, e[400];
	size_t	 len;

	if (ksasl_token_read(file, &tok, &len, e, sizeof(e)) != 0) {
		(void)snprintf(err, errlen, "route %s: OAUTHBEARER token: %s",
		    path, e);
		return -1;
	}
	explicit_bzero(tok, len);
	free(tok);
	return 0;
}

static void
cf_sec_free(struct kg_security *s)
{
	free(s->ca_file);
	free(s->cert_file);
	free(s->key_file);
	free(s->mechanism);
	free(s->username);
	if (s->password != NULL)
		explicit_bzero(s->password, strlen(s->password));
	free(s->password);
	free(s->token_file);
	memset(s, 0, sizeof(*s));
}

static int
cf_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int
cf_sec_equal(const struct kg_security *a, const struct kg_security *b)
{
	return a->tls == b->tls && a->verify == b->verify &&
	    cf_streq(a->ca_file, b->ca_file) &&
	    cf_streq(a->cert_file, b->cert_file) &&
	    cf_streq(a->key_file, b->key_file) &&
	    cf_streq(a->mechanism, b->mechanism) &&
	    cf_streq(a->username, b->username) &&
	    cf_streq(a->password, b->password) &&
	    cf_streq(a->token_file, b->token_file);
}

/* Check a route's security settings: complete and consistent. */
static int
cf_sec_check(const char *path, struct kg_security *s, char *err, size_t errlen)
{
	int	 i, known = 0;

	if (s->ca_file != NULL || s->cert_file != NULL || s->key_file != NULL)
		s->tls = 1;
	if ((s->cert_file == NULL) != (s->key_file == NULL)) {
		(void)snprintf(err, errlen, "route %s: a client certificate "
		    "needs both the certificate and its key", path);
		return -1;
	}
	if (s->mechanism == NULL) {
		if (s->username != NULL || s->password != NULL ||
		    s->token_file != NULL) {
			(void)snprintf(err, errlen, "route %s: SASL credentials "
			    "without a mechanism", path);
			return -1;
		}
		return 0;
	}
	for (i = 0; cf_mechanisms[i] != NULL; i++)
		if (strcasecmp(s->mechanism, cf_mechanisms[i]) == 0) {
			known = 1;
			memcpy(s->mechanism, cf_mechanisms[i],
			    strlen(cf_mechanisms[i]));
		}
	if (!known) {
		(void)snprintf(err, errlen, "route %s: unknown SASL mechanism "
		    "\"%s\" (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)",
		    path, s->mechanism);
		return -1;
	}
	if (strcmp(s->mechanism, "OAUTHBEARER") != 0) {
		char	 e[200];

		if (ksasl_global_init(e, sizeof(e)) != 0) {
			(void)snprintf(err, errlen, "route %s: %s", path, e);
			return -1;
		}
		if (!ksasl_mechanism_available(s->mechanism)) {
			(void)snprintf(err, errlen, "route %s: SASL mechanism %s "
			    "is not available in libsasl2 (install "
			    "libsasl2-modules)", path, s->mechanism);
			return -1;
		}
	}
	if (strcmp(s->mechanism, "OAUTHBEARER") == 0) {
		if (s->token_file == NULL) {
			(void)snprintf(err, errlen, "route %s: OAUTHBEARER needs "
			    "a token (--sasl-token-file, token_file)", path);
			return -1;
		}
		/* Read now so that -n checks it; again at every login. */
		return cf_check_token(path, s->token_file, err, errlen);
	}
	if (s->username == NULL || s->password == NULL) {
		(void)snprintf(err, errlen, "route %s: SASL %s needs a username "
		    "and a password", path, s->mechanism);
		return -1;
	}
	return 0;
}

static int
cf_add_route(struct kg_config *c, const char *path, const char *brokers,
    struct kg_security *sec, int isolation, char *err, size_t errlen)
{
	struct kg_route	*r;
	int		 i;

	if (path == NULL || path[0] != '/') {
		(void)snprintf(err, errlen, "route path \"%s\" must start with /",
		    path ? path : "");
		return -1;
	}
	for (i = 0; i < c->nroutes; i++)
		if (strcmp(c->routes[i].path, path) == 0) {
			(void)snprintf(err, errlen, "route %s defined twice", path);
			return -1;
		}
	if (c->nroutes == CONFIG_MAX_ROUTES) {
		(void)snprintf(err, errlen, "more than %d routes", CONFIG_MAX_ROUTES);
		return -1;
	}
	if (cf_sec_check(path, sec, err, errlen) != 0)
		return -1;
	r = &c->routes[c->nroutes];
	memset(r, 0, sizeof(*r));
	if ((r->path = strdup(path)) == NULL ||
	    (r->brokers = strdup(brokers)) == NULL) {
		free(r->path);
		(void)snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (sec->token_file != NULL) {
		/* kafka/sasl.h: "@path", read at every (re-)authentication. */
		if ((r->sasl_token = malloc(strlen(sec->token_file) + 2)) ==
		    NULL) {
			free(r->path);
			free(r->brokers);
			(void)snprintf(err, errlen, "out of memory");
			return -1;
		}
		r->sasl_token[0] = '@';
		memcpy(r->sasl_token + 1, sec->token_file,
		    strlen(sec->token_file) + 1);
	}
	r->sec = *sec;			/* the route owns the strings now */
	memset(sec, 0, sizeof(*sec));
	r->isolation = isolation >= 0 ? isolation : c->isolation >= 0 ?
	    c->isolation : KG_READ_UNCOMMITTED;
	r->route.path = r->path;
	r->route.name = r->path;
	r->route.backend = &kafka_backend;
	for (i = 0; i < AUTH_NCMD; i++)
		r->auth.acl.all[i] = 1;		/* until an allow-list */
	c->nroutes++;
	return 0;
}

/* ---- addresses, checked here so that -n finds what start would ---- */

/* "1" to "65535", digits only. */
static int
cf_port(const char *s, size_t len)
{
	size_t	 i;
	long	 v = 0;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}

/*
 * One broker, "host:port" or "[v6]:port", as kcluster_new() splits it
 * (the last colon separates the port).
 */
static int
cf_check_broker(const char *s, size_t len, char *err, size_t errlen)
{
	const char	*colon = NULL, *h;
	size_t		 hlen, i;
	const char	*why;

	for (i = len; i > 0; i--)
		if (s[i - 1] == ':') {
			colon = s + i - 1;
			break;
		}
	/* A comma or a space would split it in two in the broker list. */
	if (colon == NULL || memchr(s, ',', len) != NULL ||
	    memchr(s, ' ', len) != NULL) {
		why = "expected host:port";
		goto bad;
	}
	h = s;
	hlen = (size_t)(colon - s);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0) {
		why = "empty host";
		goto bad;
	}
	if (hlen > 255) {
		why = "host name longer than 255 bytes";
		goto bad;
	}
	if (cf_port(colon + 1, (size_t)(s + len - colon - 1)) == -1) {
		why = "the port must be a number from 1 to 65535";
		goto bad;
	}
	return 0;
bad:
	(void)snprintf(err, errlen, "bad broker address \"%.*s\": %s",
	    (int)(len > 300 ? 300 : len), s, why);
	return -1;
}

static int
cf_check_brokers(const char *list, char *err, size_t errlen)
{
	const char	*p, *q;
	int		 n = 0;

	for (p = list; *p != '\0'; p = q) {
		while (*p == ',' || *p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (q = p; *q != '\0' && *q != ',' && *q != ' '; q++)
			;
		if (++n > CF_MAX_BOOTSTRAP) {
			(void)snprintf(err, errlen, "more than %d bootstrap "
			    "brokers", CF_MAX_BOOTSTRAP);
			return -1;
		}
		if (cf_check_broker(p, (size_t)(q - p), err, errlen) != 0)
			return -1;
	}
	if (n == 0) {
		(void)snprintf(err, errlen, "no broker address given");
		return -1;
	}
	return 0;
}

/*
 * A listen address as ws_server_listen() takes it: "host:port",
 * "[v6]:port" or ":port" (every address), the host resolved as it will
 * be at start.
 */
static int
cf_check_listen(const char *addr, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	char		 host[256], port[16];
	int		 r, pnum;

	r = ws_listen_split(addr, host, sizeof(host), &pnum);
	if (r == WS_ADDR_OK && pnum < 1)
		r = WS_ADDR_PORT;	/* port 0 is for tests, not for -l */
	switch (r) {
	case WS_ADDR_OK:
		break;
	case WS_ADDR_PORT:
		(void)snprintf(err, errlen, "listen address \"%s\": the port "
		    "must be a number from 1 to 65535", addr);
		return -1;
	case WS_ADDR_BARE_V6:
		(void)snprintf(err, errlen, "listen address \"%s\": "
		    "an IPv6 address needs brackets, [v6]:port", addr);
		return -1;
	case WS_ADDR_LONG:
		(void)snprintf(err, errlen, "listen address \"%.40s...\": "
		    "host name too long", addr);
		return -1;
	default:
		(void)snprintf(err, errlen, "listen address \"%s\": expected "
		    "host:port, [v6]:port or :port", addr);
		return -1;
	}
	if (host[0] == '\0')
		return 0;		/* every address */
	(void)snprintf(port, sizeof(port), "%d", pnum);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		(void)snprintf(err, errlen, "listen address \"%s\": %s", addr,
		    gai_strerror(r));
		return -1;
	}
	freeaddrinfo(res);
	return 0;
}

/*
 * Check a listen address and add it to c->listen (the string is kept, not
 * copied): a bad address, one listed twice or a 17th fail.
 */
static int
cf_add_listen(struct kg_config *c, const char *addr, char *err,
    size_t errlen)
{
	int	 i;

	if (c->nlisten == CONFIG_MAX_LISTEN) {
		(void)snprintf(err, errlen, "more than %d listen addresses",
		    CONFIG_MAX_LISTEN);
		return -1;
	}
	if (cf_check_listen(addr, err, errlen) != 0)
		return -1;
	for (i = 0; i < c->nlisten; i++)
		if (strcmp(c->listen[i], addr) == 0) {
			(void)snprintf(err, errlen, "listen address \"%s\" "
			    "listed twice", addr);
			return -1;
		}
	c->listen[c->nlisten++] = addr;
	return 0;
}

/* ---- YAML ---- */

struct cf_doc {
	yaml_document_t	 doc;
	const char	*file;
	char		*err;
	size_t		 errlen;
};

static yaml_node_t *
cf_get(struct cf_doc *d, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		k = yaml_document_get_node(&d->doc, p->key);
		if (k != NULL && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(&d->doc, p->value);
	}
	return NULL;
}

static const char *
cf_scalar(yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static int
cf_fail(struct cf_doc *d, yaml_node_t *n, const char *what)
{
	(void)snprintf(d->err, d->errlen, "%s:%lu: %s", d->file,
	    n ? (unsigned long)n->start_mark.line + 1 : 0UL, what);
	return -1;
}

/*
 * The text of map's key (NULL if absent) in *out; a list or a mapping
 * there is an error naming the key, `what' (never ignored: a value the
 * user wrote must mean what it says or be refused).
 */
static int
cf_text(struct cf_doc *d, yaml_node_t *map, const char *key, const char *what,
    const char **out)
{
	yaml_node_t	*n = cf_get(d, map, key);
	char		 e[160];

	*out = NULL;
	if (n == NULL)
		return 0;
	if ((*out = cf_scalar(n)) == NULL) {
		(void)snprintf(e, sizeof(e), "%s must be a single value, not a "
		    "list or a mapping", what);
		return cf_fail(d, n, e);
	}
	return 0;
}

/* Append "host:port" to a comma-separated broker list. */
static int
cf_append(char *list, size_t size, const char *host, const char *port)
{
	size_t	 len = strlen(list);
	int	 n;

	n = snprintf(list + len, size - len, "%s%s%s%s", len ? "," : "", host,
	    port ? ":" : "", port ? port : "");
	return n < 0 || (size_t)n >= size - len ? -1 : 0;
}

/* Check one node, host:port or host and port, and append it to list. */
static int
cf_node(struct cf_doc *d, yaml_node_t *n, yaml_node_t *pn, char *list,
    size_t size, int *nb, const char *host, const char *port)
{
	char	 one[300], e[400];
	int	 len;

	/* A bare IPv6 address in the list form gets its brackets. */
	len = snprintf(one, sizeof(one), port == NULL ? "%s" :
	    strchr(host, ':') != NULL && host[0] != '[' ? "[%s]:%s" : "%s:%s",
	    host, port);
	if (len < 0 || (size_t)len >= sizeof(one))
		return cf_fail(d, n, "bad node: host name too long");
	if (cf_check_broker(one, strlen(one), e, sizeof(e)) != 0)
		return cf_fail(d, pn != NULL && cf_port(port, strlen(port)) ==
		    -1 ? pn : n, e);	/* the line of a bad port */
	if (++*nb > CF_MAX_BOOTSTRAP) {
		(void)snprintf(e, sizeof(e), "more than %d bootstrap brokers",
		    CF_MAX_BOOTSTRAP);
		return cf_fail(d, n, e);
	}
	if (cf_append(list, size, one, NULL) != 0)
		return cf_fail(d, n, "upstream.nodes too long");
	return 0;
}

/* cf_text(), copied into *out. */
static int
cf_sec_text(struct cf_doc *d, yaml_node_t *map, const char *key,
    const char *what, char **out)
{
	const char	*v;

	if (cf_text(d, map, key, what, &v) != 0)
		return -1;
	if (v != NULL && (*out = strdup(v)) == NULL)
		return cf_fail(d, map, "out of memory");
	return 0;
}

/* ---- authentication and permissions (auth.h) ---- */

static int	 cf_seconds(struct cf_doc *, yaml_node_t *, const char *,
		    double *, double);
static int	 cf_count(struct cf_doc *, yaml_node_t *, const char *, int *,
		    int, int);
static int	 cf_bool(struct cf_doc *, yaml_node_t *, const char *, int *);

/* A list of strings (or one string) at map's key, copied; -1 on error. */
static int
cf_strings(struct cf_doc *d, yaml_node_t *n, const char *what, char ***out,
    int *nout)
{
	yaml_node_item_t	*it;
	yaml_node_t		*e;
	const char		*v;
	char			 msg[200];
	int			 cap;

	*out = NULL;
	*nout = 0;
	if (n->type == YAML_SCALAR_NODE) {
		if ((*out = calloc(1, sizeof(**out))) == NULL ||
		    ((*out)[0] = strdup(cf_scalar(n))) == NULL)
			return cf_fail(d, n, "out of memory");
		*nout = 1;
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		(void)snprintf(msg, sizeof(msg), "%s must be a list of "
		    "strings", what);
		return cf_fail(d, n, msg);
	}
	cap = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cap > 0 && (*out = calloc((size_t)cap, sizeof(**out))) == NULL)
		return cf_fail(d, n, "out of memory");
	for (it = n->data.sequence.items.start;
	    it < n->data.sequence.items.top; it++) {
		e = yaml_document_get_node(&d->doc, *it);
		if ((v = cf_scalar(e)) == NULL || *v == '\0') {
			(void)snprintf(msg, sizeof(msg), "%s: each entry must "
			    "be a non-empty string", what);
			return cf_fail(d, e ? e : n, msg);
		}
		if (((*out)[*nout] = strdup(v)) == NULL)
			return cf_fail(d, e, "out of memory");
		(*nout)++;
	}
	return 0;
}

/*
 * Topic permissions: "allow: [patterns]" for every command, or
 * "allow: {fetch: [...], list_offset: [...]}" (a command not named is
 * denied).  Absent: everything allowed.
 */
static int
cf_acl(struct cf_doc *d, yaml_node_t *map, const char *what,
    struct auth_acl *acl)
{
	static const char *const cmds[AUTH_NCMD] = { "fetch", "list_offset" };
	yaml_node_t		*n = cf_get(d, map, "allow"), *k;
	yaml_node_pair_t	*p;
	char			 msg[200];
	int			 c;

	for (c = 0; c < AUTH_NCMD; c++)
		acl->all[c] = n == NULL;
	if (n == NULL)
		return 0;
	if (n->type != YAML_MAPPING_NODE) {
		if (cf_strings(d, n, what, &acl->pat[0], &acl->npat[0]) != 0)
			return -1;
		/* The same patterns for every command. */
		for (c = 1; c < AUTH_NCMD; c++) {
			if ((acl->pat[c] = calloc((size_t)acl->npat[0] + 1,
			    sizeof(char *))) == NULL)
				return cf_fail(d, n, "out of memory");
			for (acl->npat[c] = 0; acl->npat[c] < acl->npat[0];
			    acl->npat[c]++)
				if ((acl->pat[c][acl->npat[c]] =
				    strdup(acl->pat[0][acl->npat[c]])) == NULL)
					return cf_fail(d, n, "out of memory");
		}
		return 0;
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(&d->doc, p->key);
		for (c = 0; c < AUTH_NCMD; c++)
			if (cf_scalar(k) != NULL &&
			    strcmp(cf_scalar(k), cmds[c]) == 0)
				break;
		if (c == AUTH_NCMD) {
			(void)snprintf(msg, sizeof(msg), "%s: commands are "
			    "fetch and list_offset", what);
			return cf_fail(d, k, msg);
		}
		if (acl->pat[c] != NULL)
			return cf_fail(d, k, "a command named twice");
		if (cf_strings(d, yaml_document_get_node(&d->doc, p->value),
		    what, &acl->pat[c], &acl->npat[c]) != 0)
			return -1;
	}
	return 0;
}

/* Keys of a mapping of ours: all known, else an error (a typo is not
   silently ignored). */
static int
cf_only(struct cf_doc *d, yaml_node_t *map, const char *what,
    const char *const *known)
{
	yaml_node_pair_t	*p;
	yaml_node_t		*k;
	const char		*name;
	char			 msg[200];
	int			 i;

	if (map->type != YAML_MAPPING_NODE) {
		(void)snprintf(msg, sizeof(msg), "%s must be a mapping", what);
		return cf_fail(d, map, msg);
	}
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(&d->doc, p->key);
		if ((name = cf_scalar(k)) == NULL)
			return cf_fail(d, map, "a key must be a string");
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(known[i], name) == 0)
				break;
		if (known[i] == NULL) {
			(void)snprintf(msg, sizeof(msg), "%s: unknown key %.64s",
			    what, name);
			return cf_fail(d, k, msg);
		}
	}
	return 0;
}

/* A route's plugins.key-auth, plugins.jwt-auth and our kafkagate block. */
static int
cf_route_auth(struct kg_config *c, struct cf_doc *d, yaml_node_t *rt,
    struct auth_route *a)
{
	static const char *const ours[] = { "allow", "origins",
	    "origin_required", "jwt_leeway", "jwt_issuer", "jwt_audience",
	    NULL };
	yaml_node_t	*plugins = cf_get(d, rt, "plugins"), *n, *k;
	double		 leeway = -1;
	int		 req = -1;

	if ((n = cf_get(d, plugins, "key-auth")) != NULL) {
		if (n->type != YAML_MAPPING_NODE)
			return cf_fail(d, n, "plugins.key-auth must be a "
			    "mapping");
		a->key_auth = 1;
		if (cf_sec_text(d, n, "header", "plugins.key-auth.header",
		    &a->ka_header) != 0 ||
		    cf_sec_text(d, n, "query", "plugins.key-auth.query",
		    &a->ka_query) != 0)
			return -1;
	}
	if ((n = cf_get(d, plugins, "jwt-auth")) != NULL) {
		if (n->type != YAML_MAPPING_NODE)
			return cf_fail(d, n, "plugins.jwt-auth must be a "
			    "mapping");
		a->jwt_auth = 1;
		if (cf_sec_text(d, n, "header", "plugins.jwt-auth.header",
		    &a->jwt_header) != 0 ||
		    cf_sec_text(d, n, "query", "plugins.jwt-auth.query",
		    &a->jwt_query) != 0 ||
		    cf_sec_text(d, n, "cookie", "plugins.jwt-auth.cookie",
		    &a->jwt_cookie) != 0)
			return -1;
	}
	/* A credential no consumer has would refuse everyone: say so. */
	for (req = 0; req < c->consumers.n; req++)
		if ((a->key_auth && c->consumers.v[req].key != NULL) ||
		    (a->jwt_auth && c->consumers.v[req].jwt != NULL))
			break;
	if (auth_required(a) && req == c->consumers.n)
		return cf_fail(d, plugins, "plugins.key-auth or jwt-auth, but "
		    "no consumer has such a credential");
	req = -1;
	if ((k = cf_get(d, rt, "kafkagate")) == NULL)
		return 0;
	if (cf_only(d, k, "kafkagate", ours) != 0 ||
	    cf_acl(d, k, "kafkagate.allow", &a->acl) != 0 ||
	    ((n = cf_get(d, k, "origins")) != NULL &&
	    cf_strings(d, n, "kafkagate.origins", &a->origins,
	    &a->norigins) != 0) ||
	    cf_bool(d, k, "origin_required", &req) != 0 ||
	    cf_seconds(d, k, "jwt_leeway", &leeway, 0) != 0 ||
	    cf_sec_text(d, k, "jwt_issuer", "kafkagate.jwt_issuer",
	    &a->jwt_iss) != 0 ||
	    cf_sec_text(d, k, "jwt_audience", "kafkagate.jwt_audience",
	    &a->jwt_aud) != 0)
		return -1;
	a->origin_required = req > 0;
	a->jwt_leeway = leeway > 0 ? leeway : 0;
	return 0;
}

/*
 * APISIX's secret references ($env://NAME, $secret://...) are not
 * resolved here: taken as they are they would be guessable credentials.
 */
static int
cf_not_ref(struct cf_doc *d, yaml_node_t *n, const char *v, const char *what)
{
	char	 msg[200];

	if (v == NULL || (strncmp(v, "$env://", 7) != 0 &&
	    strncmp(v, "$secret://", 10) != 0))
		return 0;
	(void)snprintf(msg, sizeof(msg), "%s: APISIX secret references "
	    "($env://, $secret://) are not supported: give the value, or the "
	    "file key", what);
	return cf_fail(d, n, msg);
}

/* jwt-auth of a consumer: key, algorithm, secret or public key. */
static int
cf_consumer_jwt(struct cf_doc *d, yaml_node_t *n, struct auth_consumer *u)
{
	const char	*alg, *v, *file;
	char		*pem = NULL, e[300];
	size_t		 len;
	int		 a, rc;

	if (cf_sec_text(d, n, "key", "plugins.jwt-auth.key", &u->jwt_key) != 0 ||
	    cf_text(d, n, "algorithm", "plugins.jwt-auth.algorithm", &alg) != 0)
		return -1;
	if (u->jwt_key == NULL || *u->jwt_key == '\0')
		return cf_fail(d, n, "plugins.jwt-auth needs a key");
	/* Not silently ignored: the secret would not be the one meant. */
	if (cf_text(d, n, "base64_secret", "plugins.jwt-auth.base64_secret",
	    &v) != 0)
		return -1;
	if (v != NULL && strcmp(v, "false") != 0 && strcmp(v, "no") != 0)
		return cf_fail(d, n, "plugins.jwt-auth.base64_secret is not "
		    "supported: give the secret itself, or secret_file");
	if ((a = jwt_alg_parse(alg != NULL ? alg : "HS256")) < 0)
		return cf_fail(d, n, "plugins.jwt-auth.algorithm: expected "
		    "HS256, HS384, HS512, RS256, RS384, RS512, ES256 or ES384");
	if ((u->jwt = calloc(1, sizeof(*u->jwt))) == NULL)
		return cf_fail(d, n, "out of memory");
	if (a >= JWT_HS256 && a <= JWT_HS512) {
		if (cf_text(d, n, "secret", "plugins.jwt-auth.secret", &v) != 0 ||
		    cf_text(d, n, "secret_file", "plugins.jwt-auth.secret_file",
		    &file) != 0)
			return -1;
		if ((v == NULL) == (file == NULL))
			return cf_fail(d, n, "plugins.jwt-auth: give the "
			    "secret or secret_file (one of them)");
		if (cf_not_ref(d, n, v, "plugins.jwt-auth.secret") != 0)
			return -1;
		if (file != NULL && (pem = cf_read_secret(file, e,
		    sizeof(e))) == NULL)
			return cf_fail(d, n, e);
		v = pem != NULL ? pem : v;
		rc = jwt_key_init_secret(u->jwt, a, (const uint8_t *)v,
		    strlen(v), e, sizeof(e));
	} else {
		if (cf_text(d, n, "public_key", "plugins.jwt-auth.public_key",
		    &v) != 0 || cf_text(d, n, "public_key_file",
		    "plugins.jwt-auth.public_key_file", &file) != 0)
			return -1;
		if ((v == NULL) == (file == NULL))
			return cf_fail(d, n, "plugins.jwt-auth: give the "
			    "public_key or public_key_file (one of them)");
		if (cf_not_ref(d, n, v, "plugins.jwt-auth.public_key") != 0)
			return -1;
		if (file != NULL && cf_read_file(file, 1 << 20, &pem, &len, e,
		    sizeof(e)) != 0)
			return cf_fail(d, n, e);
		v = pem != NULL ? pem : v;
		rc = jwt_key_init_public(u->jwt, a, v, strlen(v), e, sizeof(e));
	}
	/* What the key is: a reload that changes it closes the sessions. */
	{
		uint8_t	 fp[AUTH_HASH_LEN + 1];

		fp[0] = (uint8_t)a;
		auth_hash(v, strlen(v), fp + 1);
		auth_hash(fp, sizeof(fp), u->jwt_fp);
	}
	if (pem != NULL) {
		explicit_bzero(pem, strlen(pem));
		free(pem);
	}
	if (rc != 0) {
		free(u->jwt);
		u->jwt = NULL;
		return cf_fail(d, n, e);
	}
	return 0;
}

static int
cf_consumer(struct kg_config *c, struct cf_doc *d, yaml_node_t *cn)
{
	static const char *const ours[] = { "allow", "max_connections",
	    NULL };
	struct auth_consumer	*u, *v;
	yaml_node_t		*plugins, *n, *k;
	const char		*file;
	char			 e[300];
	int			 i;

	if (cn->type != YAML_MAPPING_NODE)
		return cf_fail(d, cn, "a consumer must be a mapping");
	if (c->consumers.n == CONFIG_MAX_CONSUMERS)
		return cf_fail(d, cn, "too many consumers");
	if (c->consumers.v == NULL && (c->consumers.v =
	    calloc(CONFIG_MAX_CONSUMERS, sizeof(*c->consumers.v))) == NULL)
		return cf_fail(d, cn, "out of memory");
	u = &c->consumers.v[c->consumers.n++];
	u->max_conns = -1;
	if (cf_sec_text(d, cn, "username", "username", &u->username) != 0)
		return -1;
	if (u->username == NULL || *u->username == '\0')
		return cf_fail(d, cn, "a consumer needs a username");
	plugins = cf_get(d, cn, "plugins");
	if ((n = cf_get(d, plugins, "key-auth")) != NULL) {
		if (n->type != YAML_MAPPING_NODE)
			return cf_fail(d, n, "plugins.key-auth must be a "
			    "mapping");
		if (cf_sec_text(d, n, "key", "plugins.key-auth.key",
		    &u->key) != 0 || cf_text(d, n, "key_file",
		    "plugins.key-auth.key_file", &file) != 0)
			return -1;
		if ((u->key == NULL) == (file == NULL))
			return cf_fail(d, n, "plugins.key-auth: give the key "
			    "or key_file (one of them)");
		if (file != NULL && (u->key = cf_read_secret(file, e,
		    sizeof(e))) == NULL)
			return cf_fail(d, n, e);
		if (*u->key == '\0')
			return cf_fail(d, n, "plugins.key-auth: an empty key");
		if (cf_not_ref(d, n, u->key, "plugins.key-auth.key") != 0)
			return -1;
		auth_hash(u->key, strlen(u->key), u->key_hash);
	}
	if ((n = cf_get(d, plugins, "jwt-auth")) != NULL) {
		if (n->type != YAML_MAPPING_NODE)
			return cf_fail(d, n, "plugins.jwt-auth must be a "
			    "mapping");
		if (cf_consumer_jwt(d, n, u) != 0)
			return -1;
	}
	if ((k = cf_get(d, cn, "kafkagate")) != NULL) {
		if (cf_only(d, k, "kafkagate", ours) != 0 ||
		    cf_acl(d, k, "kafkagate.allow", &u->acl) != 0 ||
		    cf_count(d, k, "max_connections", &u->max_conns, 0,
		    CONFIG_MAX_COUNT) != 0)
			return -1;
	} else
		for (i = 0; i < AUTH_NCMD; i++)
			u->acl.all[i] = 1;
	if (u->max_conns < 0)
		u->max_conns = 0;
	for (i = 0; i < c->consumers.n - 1; i++) {
		v = &c->consumers.v[i];
		if (strcmp(v->username, u->username) == 0)
			return cf_fail(d, cn, "two consumers with one username");
		if (v->key != NULL && u->key != NULL &&
		    strcmp(v->key, u->key) == 0)
			return cf_fail(d, cn, "two consumers with one "
			    "key-auth key");
		if (v->jwt_key != NULL && u->jwt_key != NULL &&
		    strcmp(v->jwt_key, u->jwt_key) == 0)
			return cf_fail(d, cn, "two consumers with one "
			    "jwt-auth key");
	}
	return 0;
}

static int
cf_route(struct kg_config *c, struct cf_doc *d, yaml_node_t *rt)
{
	yaml_node_t		*up, *nodes, *n, *plugins;
	yaml_node_pair_t	*p;
	yaml_node_item_t	*it;
	yaml_node_t		*tls, *sasl;
	const char		*uri, *scheme, *host, *port, *v;
	char			 brokers[4096] = "";
	struct kg_security	 sec;
	char			 e[400];
	int			 rc, nb = 0, isolation;

	if (rt->type != YAML_MAPPING_NODE)
		return cf_fail(d, rt, "a route must be a mapping");
	if (cf_text(d, rt, "uri", "uri", &uri) != 0)
		return -1;
	if (uri == NULL)
		return cf_fail(d, rt, "route without uri");
	/* APISIX: status 0 disables a route, 1 (the default) enables it. */
	if (cf_text(d, rt, "status", "status", &v) != 0)
		return -1;
	if (v != NULL && strcmp(v, "0") == 0) {
		log_debug("%s: route %s has status 0 (disabled): not served",
		    d->file, uri);
		return 0;
	}
	if (v != NULL && strcmp(v, "1") != 0)
		return cf_fail(d, cf_get(d, rt, "status"), "status must be 0 "
		    "(disabled) or 1");
	if ((up = cf_get(d, rt, "upstream")) == NULL)
		return cf_fail(d, rt, "route without upstream");
	if (up->type != YAML_MAPPING_NODE)
		return cf_fail(d, up, "upstream must be a mapping");
	if (cf_text(d, up, "scheme", "upstream.scheme", &scheme) != 0)
		return -1;
	if (scheme != NULL && strcmp(scheme, "kafka") != 0)
		return cf_fail(d, up, "upstream.scheme must be kafka");
	if ((nodes = cf_get(d, up, "nodes")) == NULL)
		return cf_fail(d, up, "upstream without nodes");
	if (nodes->type == YAML_MAPPING_NODE) {
		/* APISIX map form: "host:port": weight */
		for (p = nodes->data.mapping.pairs.start;
		    p < nodes->data.mapping.pairs.top; p++) {
			n = yaml_document_get_node(&d->doc, p->key);
			if ((host = cf_scalar(n)) == NULL)
				return cf_fail(d, nodes, "bad node");
			if (cf_node(d, n, NULL, brokers, sizeof(brokers), &nb,
			    host, NULL) != 0)
				return -1;
		}
	} else if (nodes->type == YAML_SEQUENCE_NODE) {
		/* APISIX list form: - host: h, port: p, weight: w */
		for (it = nodes->data.sequence.items.start;
		    it < nodes->data.sequence.items.top; it++) {
			n = yaml_document_get_node(&d->doc, *it);
			host = cf_scalar(cf_get(d, n, "host"));
			port = cf_scalar(cf_get(d, n, "port"));
			if (host == NULL || port == NULL)
				return cf_fail(d, n, "a node needs host and port");
			if (cf_node(d, n, cf_get(d, n, "port"), brokers,
			    sizeof(brokers), &nb, host, port) != 0)
				return -1;
		}
	} else
		return cf_fail(d, nodes, "upstream.nodes must be a map or a list");
	if (brokers[0] == '\0')
		return cf_fail(d, nodes, "upstream.nodes is empty");
	isolation = -1;
	if ((n = cf_get(d, cf_get(d, rt, "plugins"), "kafka-proxy")) != NULL &&
	    (n = cf_get(d, n, "isolation")) != NULL &&
	    (isolation = cf_isolation(cf_scalar(n))) == -1)
		return cf_fail(d, n, "plugins.kafka-proxy.isolation must be "
		    "read_uncommitted or read_committed");

	/* APISIX: upstream.tls.verify; ours: ca_file, cert_file, key_file. */
	memset(&sec, 0, sizeof(sec));
	sec.verify = 1;
	if ((tls = cf_get(d, up, "tls")) != NULL) {
		if (tls->type != YAML_MAPPING_NODE) {
			cf_fail(d, tls, "upstream.tls must be a mapping");
			goto bad;
		}
		sec.tls = 1;
		/* APISIX's inline PEM (or a stored secret's id): refused,
		   not ignored, so mTLS never silently goes without. */
		if (cf_get(d, tls, "client_cert") != NULL ||
		    cf_get(d, tls, "client_key") != NULL ||
		    cf_get(d, tls, "client_cert_id") != NULL) {
			cf_fail(d, tls, "upstream.tls.client_cert, client_key "
			    "and client_cert_id (inline PEM, stored "
			    "certificates) are not supported: name the files "
			    "with cert_file and key_file");
			goto bad;
		}
		if (cf_text(d, tls, "verify", "upstream.tls.verify", &v) != 0)
			goto bad;
		if (v != NULL) {
			if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0)
				sec.verify = 1;
			else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0)
				sec.verify = 0;
			else {
				cf_fail(d, tls, "upstream.tls.verify must be "
				    "true or false");
				goto bad;
			}
		}
		if (cf_sec_text(d, tls, "ca_file", "upstream.tls.ca_file",
		    &sec.ca_file) != 0 ||
		    cf_sec_text(d, tls, "cert_file", "upstream.tls.cert_file",
		    &sec.cert_file) != 0 ||
		    cf_sec_text(d, tls, "key_file", "upstream.tls.key_file",
		    &sec.key_file) != 0)
			goto bad;
	}
	/*
	 * APISIX: plugins.kafka-proxy.sasl.{username,password} (PLAIN);
	 * ours: mechanism, password_file, token_file.
	 */
	plugins = cf_get(d, rt, "plugins");
	if ((sasl = cf_get(d, cf_get(d, plugins, "kafka-proxy"), "sasl")) != NULL) {
		if (sasl->type != YAML_MAPPING_NODE) {
			cf_fail(d, sasl, "plugins.kafka-proxy.sasl must be a "
			    "mapping");
			goto bad;
		}
		if (cf_sec_text(d, sasl, "mechanism",
		    "plugins.kafka-proxy.sasl.mechanism", &sec.mechanism) != 0 ||
		    cf_sec_text(d, sasl, "username",
		    "plugins.kafka-proxy.sasl.username", &sec.username) != 0 ||
		    cf_sec_text(d, sasl, "password",
		    "plugins.kafka-proxy.sasl.password", &sec.password) != 0 ||
		    cf_sec_text(d, sasl, "token_file",
		    "plugins.kafka-proxy.sasl.token_file", &sec.token_file) != 0 ||
		    cf_text(d, sasl, "password_file",
		    "plugins.kafka-proxy.sasl.password_file", &v) != 0)
			goto bad;
		if (sec.mechanism == NULL &&
		    (sec.mechanism = strdup("PLAIN")) == NULL) {
			cf_fail(d, sasl, "out of memory");
			goto bad;
		}
		if (v != NULL && sec.password == NULL &&
		    (sec.password = cf_read_secret(v, e, sizeof(e))) == NULL) {
			cf_fail(d, cf_get(d, sasl, "password_file"), e);
			goto bad;
		}
	}
	if ((rc = cf_add_route(c, uri, brokers, &sec, isolation, e,
	    sizeof(e))) != 0)
		cf_fail(d, rt, e);
	cf_sec_free(&sec);
	if (rc == 0)
		rc = cf_route_auth(c, d, rt, &c->routes[c->nroutes - 1].auth);
	return rc;
bad:
	cf_sec_free(&sec);
	return -1;
}

static int
cf_size(struct cf_doc *d, yaml_node_t *root, const char *key, size_t *out,
    size_t min, size_t max)
{
	yaml_node_t		*n = cf_get(d, root, key);
	const char		*s = cf_scalar(n);
	char			*end;
	unsigned long long	 v;
	char			 msg[160];

	if (n == NULL || *out != 0)
		return 0;		/* absent, or given on the command line */
	v = s ? strtoull(s, &end, 10) : 0;
	if (s == NULL || *end != '\0' || v < min || v > max) {
		(void)snprintf(msg, sizeof(msg), "%s: expected a number from %zu "
		    "to %zu", key, min, max);
		return cf_fail(d, n, msg);
	}
	*out = (size_t)v;
	return 0;
}

/*
 * A number: absent, given on the command line (>= 0), or min..max; what
 * names it in the error ("seconds", "a number").
 */
static int
cf_number(struct cf_doc *d, yaml_node_t *root, const char *key, double *out,
    double min, double max, const char *what)
{
	yaml_node_t	*n = cf_get(d, root, key);
	const char	*s = cf_scalar(n);
	char		*end;
	double		 v;
	char		 msg[160];

	if (n == NULL || *out >= 0)
		return 0;
	v = s ? strtod(s, &end) : -1;
	if (s == NULL || *end != '\0' || !(v >= min && v <= max)) {
		(void)snprintf(msg, sizeof(msg), "%s: expected %s from %.10g "
		    "to %.10g", key, what, min, max);
		return cf_fail(d, n, msg);
	}
	*out = v;
	return 0;
}

static int
cf_seconds(struct cf_doc *d, yaml_node_t *root, const char *key, double *out,
    double min)
{
	return cf_number(d, root, key, out, min, 86400.0 * 365, "seconds");
}

/* Commands a second: absent, given on the command line, or 0..1e6. */
static int
cf_rate(struct cf_doc *d, yaml_node_t *root, const char *key, double *out)
{
	return cf_number(d, root, key, out, 0, 1e6, "a number");
}

/* A count: absent, given on the command line (>= 0), or min..max. */
static int
cf_count(struct cf_doc *d, yaml_node_t *root, const char *key, int *out,
    int min, int max)
{
	yaml_node_t	*n = cf_get(d, root, key);
	const char	*s = cf_scalar(n);
	char		*end;
	long		 v;
	char		 msg[160];

	if (n == NULL || *out >= 0)
		return 0;
	errno = 0;
	v = s ? strtol(s, &end, 10) : -1;
	if (s == NULL || errno != 0 || end == s || *end != '\0' || v < min ||
	    v > max) {
		(void)snprintf(msg, sizeof(msg), "%s: expected a number from %d "
		    "to %d", key, min, max);
		return cf_fail(d, n, msg);
	}
	*out = (int)v;
	return 0;
}

/* true/false (yes/no); the command line can only turn it on. */
static int
cf_bool(struct cf_doc *d, yaml_node_t *root, const char *key, int *out)
{
	yaml_node_t	*n = cf_get(d, root, key);
	const char	*s = cf_scalar(n);
	char		 msg[160];

	if (n == NULL || *out > 0)
		return 0;
	if (s != NULL && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0))
		*out = 1;
	else if (s != NULL && (strcmp(s, "false") == 0 || strcmp(s, "no") == 0))
		*out = 0;
	else {
		(void)snprintf(msg, sizeof(msg), "%s must be true or false", key);
		return cf_fail(d, n, msg);
	}
	return 0;
}

static const char *const cf_known[] = {
	"listen", "routes", "client_id", "max_frame", "max_message",
	"max_outbound", "idle_timeout", "send_timeout", "request_timeout",
	"max_sessions", "max_handshakes", "max_per_addr", "reuse_port",
	"cache_memory", "fetch_wait", "consumers", "admin_listen",
	"max_commands_per_second", "max_bytes_per_second", NULL
};

/*
 * Secrets may sit in the file (APISIX's sasl.password), and libyaml frees
 * what it allocated without wiping it.  So the file is read into a buffer
 * of ours, parsed event by event into a document whose scalars are
 * copies, each event's scalar wiped before the event is freed, and the
 * parser's input buffers, the document's scalars and the file buffer
 * wiped before they are freed.  (libyaml's scanner may still leave a
 * partial copy when it grows a scalar buffer with realloc: out of reach.)
 */
static void
cf_event_wipe(yaml_event_t *ev)
{
	if (ev->type == YAML_SCALAR_EVENT && ev->data.scalar.value != NULL)
		explicit_bzero(ev->data.scalar.value, ev->data.scalar.length);
	yaml_event_delete(ev);
}

static void
cf_parser_wipe(yaml_parser_t *p)
{
	yaml_token_t	*t;

	if (p->buffer.start != NULL)
		explicit_bzero(p->buffer.start,
		    (size_t)(p->buffer.end - p->buffer.start));
	if (p->raw_buffer.start != NULL)
		explicit_bzero(p->raw_buffer.start,
		    (size_t)(p->raw_buffer.end - p->raw_buffer.start));
	/* Tokens scanned ahead of the last event (after an error). */
	for (t = p->tokens.head; t != NULL && t < p->tokens.tail; t++)
		if (t->type == YAML_SCALAR_TOKEN && t->data.scalar.value != NULL)
			explicit_bzero(t->data.scalar.value,
			    t->data.scalar.length);
	yaml_parser_delete(p);
}

static void
cf_doc_wipe(yaml_document_t *doc)
{
	yaml_node_t	*n;

	for (n = doc->nodes.start; n != NULL && n < doc->nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE && n->data.scalar.value != NULL)
			explicit_bzero(n->data.scalar.value,
			    n->data.scalar.length);
	yaml_document_delete(doc);
}

/* Attach node id to the open collection on top of the stack, if any. */
static int
cf_attach(yaml_document_t *doc, int *st, int *key, int depth, int id)
{
	yaml_node_t	*parent;

	if (depth == 0)
		return 1;
	parent = yaml_document_get_node(doc, st[depth - 1]);
	if (parent->type == YAML_SEQUENCE_NODE)
		return yaml_document_append_sequence_item(doc, st[depth - 1],
		    id);
	if (key[depth - 1] == 0) {
		key[depth - 1] = id;
		return 1;
	}
	id = yaml_document_append_mapping_pair(doc, st[depth - 1],
	    key[depth - 1], id);
	key[depth - 1] = 0;
	return id;
}

/* The first document of the stream, as yaml_parser_load() would build it. */
static int
cf_compose(struct cf_doc *d, yaml_parser_t *parser)
{
	yaml_event_t	 ev;
	yaml_node_t	*node;
	const char	*what = NULL;
	char		*anchor, *names[CF_MAX_ANCHORS];
	int		 ids[CF_MAX_ANCHORS], st[CF_MAX_DEPTH], key[CF_MAX_DEPTH];
	int		 depth = 0, nanchors = 0, id, i, done = 0, rc = -1, open;

	if (!yaml_document_initialize(&d->doc, NULL, NULL, NULL, 1, 1)) {
		memset(&d->doc, 0, sizeof(d->doc));
		(void)snprintf(d->err, d->errlen, "out of memory");
		return -1;
	}
	while (!done) {
		if (!yaml_parser_parse(parser, &ev)) {
			(void)snprintf(d->err, d->errlen, "%s:%lu: %s", d->file,
			    (unsigned long)parser->problem_mark.line + 1,
			    parser->problem ? parser->problem : "YAML error");
			goto out;
		}
		id = 0;
		open = 0;
		anchor = NULL;
		switch (ev.type) {
		case YAML_SCALAR_EVENT:
			id = yaml_document_add_scalar(&d->doc, NULL,
			    ev.data.scalar.value, (int)ev.data.scalar.length,
			    ev.data.scalar.style);
			anchor = (char *)ev.data.scalar.anchor;
			break;
		case YAML_SEQUENCE_START_EVENT:
			id = yaml_document_add_sequence(&d->doc, NULL,
			    ev.data.sequence_start.style);
			anchor = (char *)ev.data.sequence_start.anchor;
			open = 1;
			break;
		case YAML_MAPPING_START_EVENT:
			id = yaml_document_add_mapping(&d->doc, NULL,
			    ev.data.mapping_start.style);
			anchor = (char *)ev.data.mapping_start.anchor;
			open = 1;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_ALIAS_EVENT:
			for (i = nanchors - 1; i >= 0; i--)
				if (strcmp(names[i],
				    (char *)ev.data.alias.anchor) == 0)
					break;
			if (i < 0) {
				what = "undefined alias";
				goto fail;
			}
			if (!cf_attach(&d->doc, st, key, depth, ids[i]))
				goto oom;
			break;
		case YAML_DOCUMENT_END_EVENT:
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		if ((ev.type == YAML_SCALAR_EVENT || open) && id == 0)
			goto oom;
		if (id != 0) {
			node = yaml_document_get_node(&d->doc, id);
			node->start_mark = ev.start_mark;
			node->end_mark = ev.end_mark;
			if (anchor != NULL) {
				if (nanchors == CF_MAX_ANCHORS) {
					what = "too many anchors";
					goto fail;
				}
				if ((names[nanchors] = strdup(anchor)) == NULL)
					goto oom;
				ids[nanchors++] = id;
			}
			if (!cf_attach(&d->doc, st, key, depth, id))
				goto oom;
			if (open) {
				if (depth == CF_MAX_DEPTH) {
					what = "nested too deeply";
					goto fail;
				}
				st[depth] = id;
				key[depth++] = 0;
			}
		}
		cf_event_wipe(&ev);
	}
	rc = 0;
	goto out;
oom:
	what = "out of memory";
fail:
	(void)snprintf(d->err, d->errlen, "%s:%lu: %s", d->file,
	    (unsigned long)ev.start_mark.line + 1, what);
	cf_event_wipe(&ev);
out:
	for (i = 0; i < nanchors; i++)
		free(names[i]);
	return rc;
}

/* A listen address from the file: checked, not twice, kept. */
static int
cf_listen(struct kg_config *c, struct cf_doc *d, yaml_node_t *n)
{
	const char	*s = cf_scalar(n);
	char		 msg[400];

	if (s == NULL)
		return cf_fail(d, n, "bad listen entry");
	if (cf_add_listen(c, s, msg, sizeof(msg)) != 0)
		return cf_fail(d, n, msg);
	if ((c->listen[c->nlisten - 1] = cf_own(c, strdup(s))) == NULL) {
		c->nlisten--;
		return cf_fail(d, n, "out of memory");
	}
	return 0;
}

static int
cf_load(struct kg_config *c, char *err, size_t errlen)
{
	struct cf_doc		 d;
	yaml_parser_t		 parser;
	yaml_node_t		*root, *n, *k;
	yaml_node_item_t	*it;
	yaml_node_pair_t	*p;
	const char		*s;
	char			*buf;
	size_t			 len;
	int			 rc = -1, i, known;

	if (cf_read_file(c->config_file, CONFIG_FILE_MAX, &buf, &len, err,
	    errlen) != 0)
		return -1;
	memset(&d, 0, sizeof(d));
	d.file = c->config_file;
	d.err = err;
	d.errlen = errlen;
	if (!yaml_parser_initialize(&parser)) {
		explicit_bzero(buf, len);
		free(buf);
		(void)snprintf(err, errlen, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (cf_compose(&d, &parser) != 0)
		goto done;
	root = yaml_document_get_root_node(&d.doc);
	if (root == NULL) {
		rc = 0;			/* an empty file */
		goto done;
	}
	if (root->type != YAML_MAPPING_NODE) {
		cf_fail(&d, root, "the top level must be a mapping");
		goto done;
	}
	for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	    p++) {
		k = yaml_document_get_node(&d.doc, p->key);
		s = cf_scalar(k);
		for (known = 0, i = 0; cf_known[i] != NULL && !known; i++)
			known = s != NULL && strcmp(s, cf_known[i]) == 0;
		if (!known) {
			char	 msg[160];

			(void)snprintf(msg, sizeof(msg), "unknown key \"%s\"",
			    s ? s : "?");
			cf_fail(&d, k, msg);
			goto done;
		}
	}
	if (c->nlisten == 0 && (n = cf_get(&d, root, "listen")) != NULL) {
		if (cf_scalar(n) != NULL) {
			if (cf_listen(c, &d, n) != 0)
				goto done;
		} else if (n->type == YAML_SEQUENCE_NODE) {
			for (it = n->data.sequence.items.start;
			    it < n->data.sequence.items.top; it++)
				if (cf_listen(c, &d, yaml_document_get_node(
				    &d.doc, *it)) != 0)
					goto done;
		} else {
			cf_fail(&d, n, "listen must be an address or a list");
			goto done;
		}
	}
	if (cf_text(&d, root, "client_id", "client_id", &s) != 0)
		goto done;
	if (c->client_id == NULL && s != NULL)
		c->client_id = cf_own(c, strdup(s));
	if (cf_text(&d, root, "admin_listen", "admin_listen", &s) != 0)
		goto done;
	if (c->admin_listen == NULL && s != NULL)
		c->admin_listen = cf_own(c, strdup(s));
	if (cf_size(&d, root, "max_frame", &c->max_frame, 256, 64 << 20) != 0 ||
	    cf_size(&d, root, "max_message", &c->max_message, 16, 64 << 20) != 0 ||
	    cf_size(&d, root, "max_outbound", &c->max_outbound, 65536,
	    (size_t)1 << 32) != 0 ||
	    cf_size(&d, root, "cache_memory", &c->cache_memory, 1 << 20,
	    (size_t)1 << 40) != 0 ||
	    cf_seconds(&d, root, "idle_timeout", &c->idle_timeout, 0) != 0 ||
	    cf_seconds(&d, root, "send_timeout", &c->send_timeout, 0) != 0 ||
	    cf_rate(&d, root, "max_commands_per_second", &c->max_rate) != 0 ||
	    cf_number(&d, root, "max_bytes_per_second", &c->max_bytes_rate, 0,
	    1e12, "a number") != 0 ||
	    cf_seconds(&d, root, "request_timeout", &c->request_timeout, 0.1) != 0 ||
	    cf_count(&d, root, "max_sessions", &c->max_sessions, 0,
	    CONFIG_MAX_COUNT) != 0 ||
	    cf_count(&d, root, "max_handshakes", &c->max_handshakes, 0,
	    CONFIG_MAX_COUNT) != 0 ||
	    cf_count(&d, root, "max_per_addr", &c->max_per_addr, 0,
	    CONFIG_MAX_COUNT) != 0 ||
	    cf_count(&d, root, "fetch_wait", &c->fetch_wait, 0,
	    MAX_FETCH_WAIT) != 0 ||
	    cf_bool(&d, root, "reuse_port", &c->reuse_port) != 0)
		goto done;
	if ((n = cf_get(&d, root, "consumers")) != NULL) {
		if (n->type != YAML_SEQUENCE_NODE) {
			cf_fail(&d, n, "consumers must be a list");
			goto done;
		}
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++)
			if (cf_consumer(c, &d, yaml_document_get_node(&d.doc,
			    *it)) != 0)
				goto done;
	}
	if ((n = cf_get(&d, root, "routes")) != NULL) {
		if (n->type != YAML_SEQUENCE_NODE) {
			cf_fail(&d, n, "routes must be a list");
			goto done;
		}
		for (it = n->data.sequence.items.start;
		    it < n->data.sequence.items.top; it++)
			if (cf_route(c, &d, yaml_document_get_node(&d.doc, *it)) != 0)
				goto done;
	}
	rc = 0;
done:
	cf_doc_wipe(&d.doc);
	cf_parser_wipe(&parser);
	explicit_bzero(buf, len);
	free(buf);
	return rc;
}

/* The -b route, with the security options of the command line. */
static int
cf_cli_route(struct kg_config *c, char *err, size_t errlen)
{
	struct kg_security	 sec;
	const char		*env;
	int			 rc;

	memset(&sec, 0, sizeof(sec));
	sec.tls = c->kafka_tls || c->kafka_tls_no_verify;
	sec.verify = !c->kafka_tls_no_verify;
	if ((c->kafka_ca && (sec.ca_file = strdup(c->kafka_ca)) == NULL) ||
	    (c->kafka_cert && (sec.cert_file = strdup(c->kafka_cert)) == NULL) ||
	    (c->kafka_key && (sec.key_file = strdup(c->kafka_key)) == NULL) ||
	    (c->sasl_mechanism &&
	    (sec.mechanism = strdup(c->sasl_mechanism)) == NULL) ||
	    (c->sasl_username &&
	    (sec.username = strdup(c->sasl_username)) == NULL))
		goto oom;
	if (c->sasl_password_file != NULL) {
		if ((sec.password = cf_read_secret(c->sasl_password_file, err,
		    errlen)) == NULL)
			goto bad;
	} else if (c->sasl_password != NULL) {
		log_warnx("--sasl-password shows the password to every user of "
		    "ps(1); use --sasl-password-file or KAFKAGATE_SASL_PASSWORD");
		if ((sec.password = strdup(c->sasl_password)) == NULL)
			goto oom;
	} else if ((env = getenv("KAFKAGATE_SASL_PASSWORD")) != NULL &&
	    sec.mechanism != NULL) {
		if ((sec.password = strdup(env)) == NULL)
			goto oom;
		/* Out of /proc/PID/environ and of any child's environment. */
		explicit_bzero((char *)env, strlen(env));
		(void)unsetenv("KAFKAGATE_SASL_PASSWORD");
	}
	if (c->sasl_token_file != NULL &&
	    (sec.token_file = strdup(c->sasl_token_file)) == NULL)
		goto oom;
	if (cf_check_brokers(c->brokers, err, errlen) != 0)
		goto bad;
	rc = cf_add_route(c, c->path ? c->path : DEFAULT_PATH, c->brokers, &sec,
	    -1, err, errlen);
	cf_sec_free(&sec);
	return rc;
oom:
	(void)snprintf(err, errlen, "out of memory");
bad:
	cf_sec_free(&sec);
	return -1;
}

/* Load every route's TLS files now, so that -n checks them too. */
static int
cf_load_tls(struct kg_config *c, char *err, size_t errlen)
{
	struct ntls_opts	 o;
	char			 e[400];
	int			 i, j;

	for (i = 0; i < c->nroutes; i++) {
		struct kg_route	*r = &c->routes[i];

		if (!r->sec.tls)
			continue;
		for (j = 0; j < i; j++)
			if (c->routes[j].tls != NULL &&
			    cf_sec_equal(&c->routes[j].sec, &r->sec)) {
				r->tls = c->routes[j].tls;
				ntls_config_ref(r->tls);
				break;
			}
		if (r->tls != NULL)
			continue;
		memset(&o, 0, sizeof(o));
		o.server = 0;
		o.verify = r->sec.verify;
		o.ca_file = r->sec.ca_file;
		o.cert_file = r->sec.cert_file;
		o.key_file = r->sec.key_file;
		if ((r->tls = ntls_config_new(&o, e, sizeof(e))) == NULL) {
			(void)snprintf(err, errlen, "route %s: TLS to Kafka: %s",
			    r->path, e);
			return -1;
		}
	}
	return 0;
}

struct ntls_config *
config_wss_tls(const struct kg_config *c, char *err, size_t errlen)
{
	struct ntls_opts	 o;
	struct ntls_config	*t;
	char			 e[400];

	memset(&o, 0, sizeof(o));
	o.server = 1;
	o.cert_file = c->tls_cert;
	o.key_file = c->tls_key;
	if ((t = ntls_config_new(&o, e, sizeof(e))) == NULL)
		(void)snprintf(err, errlen, "wss: %s", e);
	return t;
}

/* Nothing a secret was loaded into may end up in a core dump. */
static void
cf_nodump(struct kg_config *c)
{
	int	 i;

	for (i = 0; i < c->nroutes; i++)
		if (c->routes[i].sec.password != NULL ||
		    c->routes[i].sec.token_file != NULL ||
		    c->routes[i].sec.key_file != NULL)
			c->has_secrets = 1;
	if (c->tls_key != NULL)
		c->has_secrets = 1;
	/* Consumers' API keys and JWT secrets. */
	for (i = 0; i < c->consumers.n; i++)
		if (c->consumers.v[i].key != NULL ||
		    c->consumers.v[i].jwt != NULL)
			c->has_secrets = 1;
#ifdef PR_SET_DUMPABLE
	if (c->has_secrets && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		log_warnx("prctl(PR_SET_DUMPABLE): %s", strerror(errno));
#endif
}

int
config_finish(struct kg_config *c, char *err, size_t errlen)
{
	int	 i, n;

	/* The command line's listen addresses, as the file's are. */
	n = c->nlisten;
	c->nlisten = 0;
	for (i = 0; i < n; i++)
		if (cf_add_listen(c, c->listen[i], err, errlen) != 0)
			return -1;
	if (c->config_file != NULL && cf_load(c, err, errlen) != 0)
		return -1;
	if (c->brokers != NULL && cf_cli_route(c, err, errlen) != 0)
		return -1;
	/* Passwords are in memory now; private keys come next. */
	cf_nodump(c);
	if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
		(void)snprintf(err, errlen, "wss needs both --tls-cert and "
		    "--tls-key");
		return -1;
	}
	if (c->tls_cert != NULL) {
		struct ntls_config	*t;

		/* Load once here so that -n checks the wss files too. */
		if ((t = config_wss_tls(c, err, errlen)) == NULL)
			return -1;
		ntls_config_unref(t);
	}
	if (cf_load_tls(c, err, errlen) != 0)
		return -1;
	if (c->brokers == NULL && (c->kafka_tls || c->kafka_tls_no_verify ||
	    c->kafka_ca || c->kafka_cert || c->kafka_key || c->sasl_mechanism ||
	    c->sasl_username || c->sasl_password || c->sasl_password_file ||
	    c->sasl_token_file)) {
		(void)snprintf(err, errlen, "the --kafka-* and --sasl-* options "
		    "apply to the -b route: give -b too (routes in a file have "
		    "their own keys)");
		return -1;
	}
	if (c->path != NULL && c->brokers == NULL) {
		(void)snprintf(err, errlen, "-p needs -b: the path is that of "
		    "the -b route");
		return -1;
	}
	if (c->nroutes == 0) {
		(void)snprintf(err, errlen, "nothing to serve: give -b "
		    "host:port or a configuration file with routes (-c)");
		return -1;
	}
	if (c->nlisten == 0)
		c->listen[c->nlisten++] = DEFAULT_LISTEN;
	if (c->admin_listen != NULL) {
		char	 why[256];

		if (cf_check_listen(c->admin_listen, why, sizeof(why)) != 0) {
			(void)snprintf(err, errlen, "admin_listen: %s", why);
			return -1;
		}
		for (i = 0; i < c->nlisten; i++)
			if (strcmp(c->listen[i], c->admin_listen) == 0) {
				(void)snprintf(err, errlen, "admin_listen %s is "
				    "also a WebSocket listen address",
				    c->admin_listen);
				return -1;
			}
	}
	if (c->max_frame == 0)
		c->max_frame = DEFAULT_MAX_FRAME;
	if (c->max_message == 0)
		c->max_message = DEFAULT_MAX_MESSAGE;
	if (c->max_outbound == 0)
		c->max_outbound = DEFAULT_MAX_OUTBOUND;
	if (c->max_outbound < c->max_frame * 2)
		c->max_outbound = c->max_frame * 2;
	if (c->cache_memory == 0)
		c->cache_memory = DEFAULT_CACHE_MEMORY;
	if (c->idle_timeout < 0)
		c->idle_timeout = 0;
	if (c->send_timeout < 0)
		c->send_timeout = WS_SEND_TIMEOUT;
	if (c->max_rate < 0)
		c->max_rate = 0;
	if (c->max_bytes_rate < 0)
		c->max_bytes_rate = 0;
	if (c->request_timeout < 0)
		c->request_timeout = DEFAULT_REQ_TIMEOUT;
	if (c->client_id == NULL)
		c->client_id = "kafkagate";
	if (c->max_sessions < 0)
		c->max_sessions = 0;
	if (c->max_handshakes < 0)
		c->max_handshakes = DEFAULT_MAX_HANDSHAKES;
	if (c->max_per_addr < 0)
		c->max_per_addr = 0;
	if (c->isolation < 0)
		c->isolation = KG_READ_UNCOMMITTED;
	if (c->fetch_wait < 0)
		c->fetch_wait = DEFAULT_FETCH_WAIT;
	if (c->fetch_wait > MAX_FETCH_WAIT) {
		(void)snprintf(err, errlen, "fetch wait %d ms: at most %d",
		    c->fetch_wait, MAX_FETCH_WAIT);
		return -1;
	}
	/* The broker holds a Fetch that long: the deadline must allow it. */
	if ((double)c->fetch_wait / 1000.0 >= c->request_timeout) {
		(void)snprintf(err, errlen, "fetch wait %d ms is not below the "
		    "request timeout (%g s)", c->fetch_wait, c->request_timeout);
		return -1;
	}
	return 0;
}

static void
cf_print_limit(FILE *fp, const char *name, int v, const char *zero)
{
	if (v == 0)
		(void)fprintf(fp, "  %s 0 (%s)\n", name, zero);
	else
		(void)fprintf(fp, "  %s %d\n", name, v);
}

/* "a, b, c" */
static void
cf_print_list(FILE *fp, char *const *v, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		(void)fprintf(fp, "%s%s", i ? ", " : "", v[i]);
}

static void
cf_print_acl(FILE *fp, const char *indent, const struct auth_acl *a)
{
	static const char *const cmds[AUTH_NCMD] = { "fetch", "list_offset" };
	int	 i;

	for (i = 0; i < AUTH_NCMD; i++) {
		if (a->all[i])
			continue;
		(void)fprintf(fp, "%sallow %s: ", indent, cmds[i]);
		if (a->npat[i] == 0)
			(void)fprintf(fp, "(nothing)");
		cf_print_list(fp, a->pat[i], a->npat[i]);
		(void)fprintf(fp, "\n");
	}
}

/* Who may use a route; consumers by name, never a credential. */
static void
cf_print_auth(const struct kg_config *c, const struct auth_route *a, FILE *fp)
{
	int	 i, n = 0;

	for (i = 0; i < c->consumers.n; i++)
		n += (a->key_auth && c->consumers.v[i].key != NULL) ||
		    (a->jwt_auth && c->consumers.v[i].jwt != NULL);
	if (!auth_required(a))
		(void)fprintf(fp, "  auth none\n");
	else
		(void)fprintf(fp, "  auth%s%s%s (%d consumer%s can)\n",
		    a->key_auth ? " key-auth" : "",
		    a->key_auth && a->jwt_auth ? "," : "",
		    a->jwt_auth ? " jwt-auth" : "", n, n == 1 ? "" : "s");
	if (a->norigins > 0) {
		(void)fprintf(fp, "  origins ");
		cf_print_list(fp, a->origins, a->norigins);
		(void)fprintf(fp, "%s\n", a->origin_required ?
		    " (required)" : "");
	} else if (a->origin_required)
		(void)fprintf(fp, "  origins any (required)\n");
	cf_print_acl(fp, "  ", &a->acl);
}

void
config_print(const struct kg_config *c, FILE *fp)
{
	const struct kg_route	*r;
	const struct kg_security *s;
	int			 i;

	for (i = 0; i < c->nlisten; i++)
		(void)fprintf(fp, "listen %s (%s)\n", c->listen[i],
		    c->tls_cert != NULL ? "wss" : "ws");
	if (c->admin_listen != NULL)
		(void)fprintf(fp, "admin-listen %s (http: /metrics, /healthz, "
		    "/readyz)\n", c->admin_listen);
	for (i = 0; i < c->nroutes; i++) {
		r = &c->routes[i];
		s = &r->sec;
		(void)fprintf(fp, "route %s\n  brokers %s\n", r->path,
		    r->brokers);
		if (!s->tls)
			(void)fprintf(fp, "  tls off\n");
		else
			(void)fprintf(fp, "  tls on, %s, CA %s%s%s\n",
			    s->verify ? "verify" : "NO VERIFICATION",
			    s->ca_file != NULL ? s->ca_file : "(system store)",
			    s->cert_file != NULL ? ", client certificate " : "",
			    s->cert_file != NULL ? s->cert_file : "");
		/* The mechanism and the user; never the secret. */
		if (s->mechanism == NULL)
			(void)fprintf(fp, "  sasl none\n");
		else if (s->token_file != NULL)
			(void)fprintf(fp, "  sasl %s, token file %s\n",
			    s->mechanism, s->token_file);
		else
			(void)fprintf(fp, "  sasl %s, user %s\n", s->mechanism,
			    s->username != NULL ? s->username : "");
		(void)fprintf(fp, "  isolation %s\n",
		    config_isolation_name(r->isolation));
		cf_print_auth(c, &r->auth, fp);
	}
	for (i = 0; i < c->consumers.n; i++) {
		const struct auth_consumer *u = &c->consumers.v[i];

		(void)fprintf(fp, "consumer %s\n  credentials%s%s%s\n",
		    u->username, u->key ? " key-auth" : "",
		    u->jwt ? " jwt-auth " : "",
		    u->jwt ? jwt_alg_name(u->jwt->alg) : "");
		if (u->max_conns > 0)
			(void)fprintf(fp, "  max-connections %d\n",
			    u->max_conns);
		cf_print_acl(fp, "  ", &u->acl);
	}
	(void)fprintf(fp, "limits\n");
	cf_print_limit(fp, "max-sessions", c->max_sessions,
	    "unlimited, bounded by file descriptors");
	cf_print_limit(fp, "max-handshakes", c->max_handshakes, "unlimited");
	cf_print_limit(fp, "max-per-addr", c->max_per_addr, "unlimited");
	(void)fprintf(fp, "  reuse-port %s\n", c->reuse_port > 0 ? "on" : "off");
	if (c->idle_timeout == 0)
		(void)fprintf(fp, "  idle-timeout 0 (never)\n");
	else
		(void)fprintf(fp, "  idle-timeout %g s\n", c->idle_timeout);
	if (c->max_rate == 0)
		(void)fprintf(fp, "  max-commands-per-second 0 (unlimited)\n");
	else
		(void)fprintf(fp, "  max-commands-per-second %g\n", c->max_rate);
	if (c->max_bytes_rate == 0)
		(void)fprintf(fp, "  max-bytes-per-second 0 (unlimited)\n");
	else
		(void)fprintf(fp, "  max-bytes-per-second %.0f\n",
		    c->max_bytes_rate);
	if (c->send_timeout == 0)
		(void)fprintf(fp, "  send-timeout 0 (never)\n");
	else
		(void)fprintf(fp, "  send-timeout %g s\n", c->send_timeout);
	(void)fprintf(fp, "  fetch-wait %d ms%s\n", c->fetch_wait,
	    c->fetch_wait == 0 ? " (answer at once)" : "");
	(void)fprintf(fp, "  request-timeout %g s\n  max-frame %zu\n"
	    "  max-message %zu\n  max-outbound %zu\n  cache-memory %zu\n",
	    c->request_timeout, c->max_frame, c->max_message, c->max_outbound,
	    c->cache_memory);
}

/* The cluster settings of route r of c. */
static void
cf_kconf(struct kg_config *c, struct kg_route *r, struct kcluster_conf *kconf)
{
	kcluster_conf_default(kconf);
	kconf->brokers = r->brokers;
	kconf->client_id = c->client_id;
	kconf->request_timeout = c->request_timeout;
	kconf->tls = r->tls;
	kconf->isolation = r->isolation;
	kconf->fetch_wait = (double)c->fetch_wait / 1000.0;
	if (r->sec.mechanism != NULL) {
		r->sasl.mechanism = r->sec.mechanism;
		r->sasl.username = r->sec.username;
		r->sasl.password = r->sec.password;
		r->sasl.token = r->sasl_token;
		kconf->sasl = &r->sasl;
	}
}

/*
 * What makes a cluster client: its brokers, client id, isolation level,
 * and whether and how it uses TLS and SASL.  Credentials (CA, key and
 * certificate files and what they hold, password, token file) and
 * timeouts can change under a running cluster (kcluster_reconfigure()).
 */
static int
cf_same_cluster(const struct kg_config *a, const struct kg_route *ra,
    const struct kg_config *b, const struct kg_route *rb)
{
	return strcmp(ra->brokers, rb->brokers) == 0 &&
	    ra->isolation == rb->isolation &&
	    cf_streq(a->client_id, b->client_id) &&
	    ra->sec.tls == rb->sec.tls && ra->sec.verify == rb->sec.verify &&
	    cf_streq(ra->sec.mechanism, rb->sec.mechanism) &&
	    cf_streq(ra->sec.username, rb->sec.username);
}

int
config_start(struct kg_config *c, struct kg_config *old, struct ev_loop *loop,
    char *err, size_t errlen)
{
	struct kcluster_conf	 kconf;
	struct kg_route		*o;
	int			 i, j;

	for (i = 0; i < c->nroutes; i++) {
		struct kg_route	*r = &c->routes[i];

		/* Routes to the same brokers share one cluster client. */
		for (j = 0; j < i; j++)
			if (strcmp(c->routes[j].brokers, r->brokers) == 0 &&
			    c->routes[j].isolation == r->isolation &&
			    cf_sec_equal(&c->routes[j].sec, &r->sec)) {
				r->cluster = c->routes[j].cluster;
				break;
			}
		cf_kconf(c, r, &kconf);
		/* A reload: the same cluster keeps going, with the new
		   credentials and timeouts. */
		for (j = 0; r->cluster == NULL && old != NULL &&
		    j < old->nroutes; j++) {
			o = &old->routes[j];
			if (!o->owns_cluster || !cf_same_cluster(old, o, c, r))
				continue;
			if (kcluster_reconfigure(o->cluster, &kconf) != 0) {
				(void)snprintf(err, errlen, "out of memory");
				goto fail;
			}
			r->cluster = o->cluster;
			r->owns_cluster = 1;
			o->owns_cluster = 0;
		}
		if (r->cluster == NULL) {
			if ((r->cluster = kcluster_new(loop, &kconf, err,
			    errlen)) == NULL)
				goto fail;
			r->owns_cluster = 1;
		}
		r->route.backend_arg = r->cluster;
	}
	return 0;
fail:
	/* What was taken from old goes back to it. */
	for (i = 0; old != NULL && i < c->nroutes; i++)
		for (j = 0; c->routes[i].owns_cluster && j < old->nroutes; j++)
			if (old->routes[j].cluster == c->routes[i].cluster) {
				old->routes[j].owns_cluster = 1;
				c->routes[i].owns_cluster = 0;
			}
	return -1;
}

void
config_free(struct kg_config *c)
{
	int	 i;

	for (i = 0; i < c->nroutes; i++) {
		if (c->routes[i].owns_cluster) {
			kcluster_free(c->routes[i].cluster);
			/* Its partition readers go with it. */
			kafka_backend_forget(c->routes[i].cluster);
		}
		free(c->routes[i].path);
		free(c->routes[i].brokers);
		free(c->routes[i].sasl_token);
		cf_sec_free(&c->routes[i].sec);
		auth_route_free(&c->routes[i].auth);
		if (c->routes[i].tls != NULL)
			ntls_config_unref(c->routes[i].tls);
	}
	c->nroutes = 0;
	auth_consumers_free(&c->consumers);
	for (i = 0; i < c->nowned; i++)
		free(c->owned[i]);
	c->nowned = 0;
}
