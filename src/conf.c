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
#include "net/log.h"
#include "src/conf.h"
#include "src/kafkagate.h"

#define DEFAULT_LISTEN		"0.0.0.0:9080"
#define DEFAULT_PATH		"/kafka"
#define DEFAULT_MAX_FRAME	65535
#define DEFAULT_MAX_MESSAGE	65535
#define DEFAULT_MAX_OUTBOUND	(8 * 1024 * 1024)
#define DEFAULT_REQ_TIMEOUT	10.0

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

static int
cf_add_route(struct kg_config *c, const char *path, const char *brokers,
    char *err, size_t errlen)
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
	r = &c->routes[c->nroutes];
	memset(r, 0, sizeof(*r));
	if ((r->path = strdup(path)) == NULL ||
	    (r->brokers = strdup(brokers)) == NULL) {
		free(r->path);
		(void)snprintf(err, errlen, "out of memory");
		return -1;
	}
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
	const char		*uri, *scheme, *host, *port;
	char			 brokers[4096] = "";

	if (rt->type != YAML_MAPPING_NODE)
		return cf_fail(d, rt, "a route must be a mapping");
	if ((uri = cf_scalar(cf_get(d, rt, "uri"))) == NULL)
		return cf_fail(d, rt, "route without uri");
	if ((up = cf_get(d, rt, "upstream")) == NULL)
		return cf_fail(d, rt, "route without upstream");
	scheme = cf_scalar(cf_get(d, up, "scheme"));
	if (scheme != NULL && strcmp(scheme, "kafka") != 0)
		return cf_fail(d, up, "upstream.scheme must be kafka");
	if (cf_get(d, up, "tls") != NULL)
		return cf_fail(d, up, "upstream.tls: TLS to brokers is not "
		    "supported by this version");
	if ((plugins = cf_get(d, rt, "plugins")) != NULL &&
	    cf_get(d, cf_get(d, plugins, "kafka-proxy"), "sasl") != NULL)
		return cf_fail(d, plugins, "plugins.kafka-proxy.sasl: SASL is "
		    "not supported by this version");
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
	return cf_add_route(c, uri, brokers, d->err, d->errlen);
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

int
config_finish(struct kg_config *c, char *err, size_t errlen)
{
	if (c->config_file != NULL && cf_load(c, err, errlen) != 0)
		return -1;
	if (c->brokers != NULL && cf_add_route(c, c->path ? c->path :
	    DEFAULT_PATH, c->brokers, err, errlen) != 0)
		return -1;
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
			if (strcmp(c->routes[j].brokers, r->brokers) == 0) {
				r->cluster = c->routes[j].cluster;
				break;
			}
		if (r->cluster == NULL) {
			kcluster_conf_default(&kconf);
			kconf.brokers = r->brokers;
			kconf.client_id = c->client_id;
			kconf.request_timeout = c->request_timeout;
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
	}
	c->nroutes = 0;
	for (i = 0; i < c->nowned; i++)
		free(c->owned[i]);
	c->nowned = 0;
}
