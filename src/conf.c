/*
 * conf.c -- settings from the command line and the YAML file.
 *
 * The file's `routes:` entries are APISIX standalone route objects read as
 * they are (uri, upstream.scheme, upstream.nodes in both its map and list
 * forms); see kafkagate.conf(5).  Settings given on the command line win
 * over the file.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "kafka/cluster.h"
#include "kafka/sasl.h"
#include "net/log.h"
#include "net/tls.h"
#include "src/conf.h"
#include "src/kafkagate.h"

#define DEFAULT_LISTEN		"0.0.0.0:9080"
#define DEFAULT_PATH		"/kafka"
#define DEFAULT_MAX_FRAME	65535
#define DEFAULT_MAX_MESSAGE	65535
#define DEFAULT_MAX_OUTBOUND	(8 * 1024 * 1024)
#define DEFAULT_REQ_TIMEOUT	10.0
#define SECRET_MAX		65536

static const char *const cf_mechanisms[] = {
	"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", NULL
};

void
config_init(struct kg_config *c)
{
	memset(c, 0, sizeof(*c));
	c->idle_timeout = -1;
	c->request_timeout = -1;
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
 * Read a secret (password, token) from a file: at most 64 KiB, one
 * trailing newline removed.  The file should be readable by us only.
 */
static char *
cf_read_secret(const char *file, char *err, size_t errlen)
{
	FILE	*fp;
	char	*buf;
	size_t	 n;

	if ((fp = fopen(file, "r")) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return NULL;
	}
	if ((buf = malloc(SECRET_MAX + 1)) == NULL) {
		(void)fclose(fp);
		(void)snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, SECRET_MAX + 1, fp);
	(void)fclose(fp);
	if (n > SECRET_MAX) {
		explicit_bzero(buf, SECRET_MAX + 1);
		free(buf);
		(void)snprintf(err, errlen, "%s: longer than %d bytes", file,
		    SECRET_MAX);
		return NULL;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	if (n == 0 || strlen(buf) != n) {
		explicit_bzero(buf, n);
		free(buf);
		(void)snprintf(err, errlen, "%s: empty, or holds a NUL byte", file);
		return NULL;
	}
	return buf;
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
	if (s->token != NULL)
		explicit_bzero(s->token, strlen(s->token));
	free(s->token);
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
	    cf_streq(a->token, b->token);
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
		    s->token != NULL) {
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
		if (s->token == NULL) {
			(void)snprintf(err, errlen, "route %s: OAUTHBEARER needs "
			    "a token (--sasl-token-file, token_file)", path);
			return -1;
		}
		return 0;
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
    struct kg_security *sec, char *err, size_t errlen)
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
	r->sec = *sec;			/* the route owns the strings now */
	memset(sec, 0, sizeof(*sec));
	r->route.path = r->path;
	r->route.name = r->path;
	r->route.backend = &kafka_backend;
	c->nroutes++;
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
	int			 rc;

	if (rt->type != YAML_MAPPING_NODE)
		return cf_fail(d, rt, "a route must be a mapping");
	if ((uri = cf_scalar(cf_get(d, rt, "uri"))) == NULL)
		return cf_fail(d, rt, "route without uri");
	if ((up = cf_get(d, rt, "upstream")) == NULL)
		return cf_fail(d, rt, "route without upstream");
	scheme = cf_scalar(cf_get(d, up, "scheme"));
	if (scheme != NULL && strcmp(scheme, "kafka") != 0)
		return cf_fail(d, up, "upstream.scheme must be kafka");
	if ((nodes = cf_get(d, up, "nodes")) == NULL)
		return cf_fail(d, up, "upstream without nodes");
	if (nodes->type == YAML_MAPPING_NODE) {
		/* APISIX map form: "host:port": weight */
		for (p = nodes->data.mapping.pairs.start;
		    p < nodes->data.mapping.pairs.top; p++) {
			host = cf_scalar(yaml_document_get_node(&d->doc, p->key));
			if (host == NULL || cf_append(brokers, sizeof(brokers),
			    host, NULL) != 0)
				return cf_fail(d, nodes, "bad node");
		}
	} else if (nodes->type == YAML_SEQUENCE_NODE) {
		/* APISIX list form: - host: h, port: p, weight: w */
		for (it = nodes->data.sequence.items.start;
		    it < nodes->data.sequence.items.top; it++) {
			n = yaml_document_get_node(&d->doc, *it);
			host = cf_scalar(cf_get(d, n, "host"));
			port = cf_scalar(cf_get(d, n, "port"));
			if (host == NULL || port == NULL || cf_append(brokers,
			    sizeof(brokers), host, port) != 0)
				return cf_fail(d, n, "a node needs host and port");
		}
	} else
		return cf_fail(d, nodes, "upstream.nodes must be a map or a list");
	if (brokers[0] == '\0')
		return cf_fail(d, nodes, "upstream.nodes is empty");

	/* APISIX: upstream.tls.verify; ours: ca_file, cert_file, key_file. */
	memset(&sec, 0, sizeof(sec));
	sec.verify = 1;
	if ((tls = cf_get(d, up, "tls")) != NULL) {
		if (tls->type != YAML_MAPPING_NODE) {
			cf_fail(d, tls, "upstream.tls must be a mapping");
			goto bad;
		}
		sec.tls = 1;
		if ((v = cf_scalar(cf_get(d, tls, "verify"))) != NULL) {
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
		if (((v = cf_scalar(cf_get(d, tls, "ca_file"))) != NULL &&
		    (sec.ca_file = strdup(v)) == NULL) ||
		    ((v = cf_scalar(cf_get(d, tls, "cert_file"))) != NULL &&
		    (sec.cert_file = strdup(v)) == NULL) ||
		    ((v = cf_scalar(cf_get(d, tls, "key_file"))) != NULL &&
		    (sec.key_file = strdup(v)) == NULL)) {
			cf_fail(d, tls, "out of memory");
			goto bad;
		}
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
		v = cf_scalar(cf_get(d, sasl, "mechanism"));
		if ((sec.mechanism = strdup(v ? v : "PLAIN")) == NULL ||
		    ((v = cf_scalar(cf_get(d, sasl, "username"))) != NULL &&
		    (sec.username = strdup(v)) == NULL) ||
		    ((v = cf_scalar(cf_get(d, sasl, "password"))) != NULL &&
		    (sec.password = strdup(v)) == NULL)) {
			cf_fail(d, sasl, "out of memory");
			goto bad;
		}
		if ((v = cf_scalar(cf_get(d, sasl, "password_file"))) != NULL &&
		    sec.password == NULL &&
		    (sec.password = cf_read_secret(v, d->err, d->errlen)) == NULL)
			goto bad;
		if ((v = cf_scalar(cf_get(d, sasl, "token_file"))) != NULL &&
		    (sec.token = cf_read_secret(v, d->err, d->errlen)) == NULL)
			goto bad;
	}
	rc = cf_add_route(c, uri, brokers, &sec, d->err, d->errlen);
	cf_sec_free(&sec);
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

static int
cf_seconds(struct cf_doc *d, yaml_node_t *root, const char *key, double *out,
    double min)
{
	yaml_node_t	*n = cf_get(d, root, key);
	const char	*s = cf_scalar(n);
	char		*end;
	double		 v;
	char		 msg[160];

	if (n == NULL || *out >= 0)
		return 0;
	v = s ? strtod(s, &end) : -1;
	if (s == NULL || *end != '\0' || !(v >= min && v <= 86400.0 * 365)) {
		(void)snprintf(msg, sizeof(msg), "%s: expected seconds >= %g",
		    key, min);
		return cf_fail(d, n, msg);
	}
	*out = v;
	return 0;
}

static const char *const cf_known[] = {
	"listen", "routes", "client_id", "max_frame", "max_message",
	"max_outbound", "idle_timeout", "request_timeout", NULL
};

static int
cf_load(struct kg_config *c, char *err, size_t errlen)
{
	struct cf_doc		 d;
	yaml_parser_t		 parser;
	yaml_node_t		*root, *n, *k;
	yaml_node_item_t	*it;
	yaml_node_pair_t	*p;
	FILE			*fp;
	const char		*s;
	int			 rc = -1, i, known;

	if ((fp = fopen(c->config_file, "r")) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", c->config_file,
		    strerror(errno));
		return -1;
	}
	memset(&d, 0, sizeof(d));
	d.file = c->config_file;
	d.err = err;
	d.errlen = errlen;
	if (!yaml_parser_initialize(&parser)) {
		(void)fclose(fp);
		(void)snprintf(err, errlen, "out of memory");
		return -1;
	}
	yaml_parser_set_input_file(&parser, fp);
	if (!yaml_parser_load(&parser, &d.doc)) {
		(void)snprintf(err, errlen, "%s:%lu: %s", c->config_file,
		    (unsigned long)parser.problem_mark.line + 1,
		    parser.problem ? parser.problem : "YAML error");
		yaml_parser_delete(&parser);
		(void)fclose(fp);
		return -1;
	}
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
		if (cf_scalar(n) != NULL)
			c->listen[c->nlisten++] = cf_own(c, strdup(cf_scalar(n)));
		else if (n->type == YAML_SEQUENCE_NODE) {
			for (it = n->data.sequence.items.start;
			    it < n->data.sequence.items.top; it++) {
				s = cf_scalar(yaml_document_get_node(&d.doc, *it));
				if (s == NULL || c->nlisten == CONFIG_MAX_LISTEN) {
					cf_fail(&d, n, "bad listen entry");
					goto done;
				}
				c->listen[c->nlisten++] = cf_own(c, strdup(s));
			}
		} else {
			cf_fail(&d, n, "listen must be an address or a list");
			goto done;
		}
		for (i = 0; i < c->nlisten; i++)
			if (c->listen[i] == NULL) {
				cf_fail(&d, n, "out of memory");
				goto done;
			}
	}
	if (c->client_id == NULL &&
	    (s = cf_scalar(cf_get(&d, root, "client_id"))) != NULL)
		c->client_id = cf_own(c, strdup(s));
	if (cf_size(&d, root, "max_frame", &c->max_frame, 256, 64 << 20) != 0 ||
	    cf_size(&d, root, "max_message", &c->max_message, 16, 64 << 20) != 0 ||
	    cf_size(&d, root, "max_outbound", &c->max_outbound, 65536,
	    (size_t)1 << 32) != 0 ||
	    cf_seconds(&d, root, "idle_timeout", &c->idle_timeout, 0) != 0 ||
	    cf_seconds(&d, root, "request_timeout", &c->request_timeout, 0.1) != 0)
		goto done;
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
	yaml_document_delete(&d.doc);
	yaml_parser_delete(&parser);
	(void)fclose(fp);
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
	if (c->sasl_token_file != NULL && (sec.token =
	    cf_read_secret(c->sasl_token_file, err, errlen)) == NULL)
		goto bad;
	rc = cf_add_route(c, c->path ? c->path : DEFAULT_PATH, c->brokers, &sec,
	    err, errlen);
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

int
config_finish(struct kg_config *c, char *err, size_t errlen)
{
	if (c->config_file != NULL && cf_load(c, err, errlen) != 0)
		return -1;
	if (c->brokers != NULL && cf_cli_route(c, err, errlen) != 0)
		return -1;
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
	if (c->max_frame == 0)
		c->max_frame = DEFAULT_MAX_FRAME;
	if (c->max_message == 0)
		c->max_message = DEFAULT_MAX_MESSAGE;
	if (c->max_outbound == 0)
		c->max_outbound = DEFAULT_MAX_OUTBOUND;
	if (c->max_outbound < c->max_frame * 2)
		c->max_outbound = c->max_frame * 2;
	if (c->idle_timeout < 0)
		c->idle_timeout = 0;
	if (c->request_timeout < 0)
		c->request_timeout = DEFAULT_REQ_TIMEOUT;
	if (c->client_id == NULL)
		c->client_id = "kafkagate";
	return 0;
}

int
config_start(struct kg_config *c, struct ev_loop *loop, char *err, size_t errlen)
{
	struct kcluster_conf	 kconf;
	int			 i, j;

	for (i = 0; i < c->nroutes; i++) {
		struct kg_route	*r = &c->routes[i];

		/* Routes to the same brokers share one cluster client. */
		for (j = 0; j < i; j++)
			if (strcmp(c->routes[j].brokers, r->brokers) == 0 &&
			    cf_sec_equal(&c->routes[j].sec, &r->sec)) {
				r->cluster = c->routes[j].cluster;
				break;
			}
		if (r->cluster == NULL) {
			kcluster_conf_default(&kconf);
			kconf.brokers = r->brokers;
			kconf.client_id = c->client_id;
			kconf.request_timeout = c->request_timeout;
			kconf.tls = r->tls;
			if (r->sec.mechanism != NULL) {
				r->sasl.mechanism = r->sec.mechanism;
				r->sasl.username = r->sec.username;
				r->sasl.password = r->sec.password;
				r->sasl.token = r->sec.token;
				kconf.sasl = &r->sasl;
			}
			if ((r->cluster = kcluster_new(loop, &kconf, err,
			    errlen)) == NULL)
				return -1;
			r->owns_cluster = 1;
		}
		r->route.backend_arg = r->cluster;
	}
	return 0;
}

void
config_free(struct kg_config *c)
{
	int	 i;

	for (i = 0; i < c->nroutes; i++) {
		if (c->routes[i].owns_cluster)
			kcluster_free(c->routes[i].cluster);
		free(c->routes[i].path);
		free(c->routes[i].brokers);
		cf_sec_free(&c->routes[i].sec);
		if (c->routes[i].tls != NULL)
			ntls_config_unref(c->routes[i].tls);
	}
	c->nroutes = 0;
	for (i = 0; i < c->nowned; i++)
		free(c->owned[i]);
	c->nowned = 0;
}
