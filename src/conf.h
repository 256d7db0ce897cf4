/*
 * conf.h -- the daemon's settings: command line first, then the YAML
 * file (kafkagate.conf(5)); routes and the clusters behind them.
 */
#ifndef SRC_CONF_H
#define SRC_CONF_H

#include <stddef.h>
#include <stdio.h>

#include "kafka/sasl.h"
#include "src/auth.h"
#include "src/bridge.h"

#define CONFIG_MAX_LISTEN	16
#define CONFIG_MAX_ROUTES	256
#define CONFIG_MAX_CONSUMERS	4096

/* kcluster_conf.isolation */
#define KG_READ_UNCOMMITTED	0
#define KG_READ_COMMITTED	1

#define DEFAULT_MAX_HANDSHAKES	1024
#define CONFIG_MAX_COUNT	10000000	/* --max-sessions etc. */

struct ev_loop;
struct kcluster;
struct ntls_config;

/*
 * How a route reaches its brokers: TLS and SASL.  Strings are owned;
 * secrets (password, token) are never logged.
 */
struct kg_security {
	int			 tls;		/* TLS to the brokers */
	int			 verify;	/* verify their certificate */
	char			*ca_file;	/* NULL: the system store */
	char			*cert_file;	/* client certificate (mTLS) */
	char			*key_file;
	char			*mechanism;	/* NULL: no SASL */
	char			*username;
	char			*password;
	char			*token_file;	/* OAUTHBEARER: read at each
						   (re-)authentication */
};

struct kg_route {
	struct bridge_route	 route;
	char			*path;		/* owned */
	char			*brokers;	/* owned, "h:p,h:p" */
	struct kg_security	 sec;
	int			 isolation;	/* KG_READ_UNCOMMITTED, ... */
	struct kcluster		*cluster;
	struct ntls_config	*tls;		/* to the brokers; NULL: plain */
	struct ksasl_conf	 sasl;		/* views of sec's strings */
	char			*sasl_token;	/* "@" token_file for sasl.token */
	int			 owns_cluster;
	struct auth_route	 auth;		/* who may connect, and to what */
};

struct kg_config {
	/* From the command line (NULL/0 = not given). */
	const char		*config_file;
	const char		*brokers;
	const char		*path;
	const char		*listen[CONFIG_MAX_LISTEN];
	int			 nlisten;
	const char		*client_id;
	size_t			 max_frame;
	size_t			 max_message;
	size_t			 max_outbound;
	size_t			 cache_memory;	/* partition readers' budget */
	int			 fetch_wait;	/* ms at the tail; -1: not given */
	double			 idle_timeout;
	double			 send_timeout;	/* -1: not given */
	double			 max_rate;	/* commands/s a session; -1 */
	double			 max_bytes_rate; /* answer bytes/s; -1 */
	double			 request_timeout;
	/* Connection limits (-1: not given; 0: unlimited). */
	int			 max_sessions;
	int			 max_handshakes;
	int			 max_per_addr;
	int			 reuse_port;
	int			 isolation;	/* -1: not given */
	/* Security of the -b route (command line). */
	int			 kafka_tls;
	int			 kafka_tls_no_verify;
	const char		*kafka_ca;
	const char		*kafka_cert;
	const char		*kafka_key;
	const char		*sasl_mechanism;
	const char		*sasl_username;
	const char		*sasl_password;		/* --sasl-password (warned) */
	const char		*sasl_password_file;
	const char		*sasl_token_file;
	/* wss: our certificate and key. */
	const char		*tls_cert;
	const char		*tls_key;
	/* The admin endpoint (src/admin.h); NULL: none. */
	const char		*admin_listen;

	/* Resolved. */
	struct kg_route		 routes[CONFIG_MAX_ROUTES];
	int			 nroutes;
	struct auth_consumers	 consumers;	/* the file's consumers: */
	char			*owned[64];	/* strings read from the file */
	int			 nowned;
	int			 has_secrets;	/* a password, token or key */
	struct kg_config	*retired_next;	/* kafkagate.c's list */
};

/* The daemon's route a bridge route is part of. */
static inline const struct kg_route *
config_route_of(const struct bridge_route *r)
{
	return (const struct kg_route *)(const void *)((const char *)r -
	    offsetof(struct kg_route, route));
}

void	 config_init(struct kg_config *);
/* Read the file if any, apply defaults, validate.  0 or -1 with err. */
int	 config_finish(struct kg_config *, char *err, size_t errlen);
/* What config_finish resolved, for -n: listeners, routes, limits. */
void	 config_print(const struct kg_config *, FILE *);
/* "read_uncommitted" 0, "read_committed" 1, else -1. */
int	 config_parse_isolation(const char *);
const char *config_isolation_name(int);
/*
 * Create the clusters (no network I/O yet).  With old (a reload), a
 * route whose cluster settings match one of old's takes that cluster,
 * reconfigured with the new credentials and timeouts: old no longer owns
 * it.  Returns 0 or -1 with err; on -1 the caller frees c, and old keeps
 * what it still owns.
 */
int	 config_start(struct kg_config *, struct kg_config *old,
	    struct ev_loop *, char *, size_t);
void	 config_free(struct kg_config *);
/* The wss certificate and key as a TLS server config (at start, SIGHUP). */
struct ntls_config *config_wss_tls(const struct kg_config *, char *, size_t);

#endif /* SRC_CONF_H */
