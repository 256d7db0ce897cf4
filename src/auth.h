/*
 * auth.h -- who may connect to a route, from which pages, and which
 * topics they may use (kafkagate.conf(5), AUTHENTICATION).
 *
 * Sans-I/O: the WebSocket handshake comes in as a parsed request head,
 * the answer is a decision.  Consumers and route settings are read from
 * the configuration file by conf.c and owned by the configuration.
 *
 * Credentials, as APISIX's key-auth and jwt-auth plugins take them:
 * - key-auth: a header (default "apikey"), else a query argument
 *   (default "apikey");
 * - jwt-auth: a header (default "Authorization", "Bearer " optional),
 *   else a query argument (default "jwt"), else a cookie (default "jwt");
 * - ours, for clients that can set none of those (browsers):
 *   Sec-WebSocket-Protocol entries "apikey.<key in base64url>" and
 *   "jwt.<token>".  The protocol echoed is "kafkagate" if the client
 *   offered it, else the one that carried the credential (RFC 6455: the
 *   answer names one of the offered protocols).
 */
#ifndef SRC_AUTH_H
#define SRC_AUTH_H

#include <stddef.h>
#include <stdint.h>

struct http_request;
struct jwt_key;

/* Commands a permission names. */
#define AUTH_CMD_FETCH		0
#define AUTH_CMD_LIST_OFFSET	1
#define AUTH_NCMD		2

/*
 * Topic patterns per command: exact ("orders"), or globs with * and ?
 * ("orders.*", "metrics-?").  all[cmd] set: no restriction.
 */
struct auth_acl {
	char		**pat[AUTH_NCMD];
	int		 npat[AUTH_NCMD];
	int		 all[AUTH_NCMD];
};

#define AUTH_HASH_LEN	32		/* SHA-256 */

struct auth_consumer {
	char		*username;
	char		*key;		/* key-auth; NULL: none */
	uint8_t		 key_hash[AUTH_HASH_LEN]; /* SHA-256 of key */
	char		*jwt_key;	/* jwt-auth: the "key" claim */
	struct jwt_key	*jwt;		/* its verification key */
	uint8_t		 jwt_fp[AUTH_HASH_LEN]; /* of its alg and key */
	struct auth_acl	 acl;		/* ours: what it may read */
	int		 max_conns;	/* ours: sessions at once; 0: any */
	int		 nconns;	/* open sessions (kept by the caller) */
};

struct auth_route {
	int		 key_auth;	/* plugins.key-auth present */
	char		*ka_header;	/* NULL: "apikey" */
	char		*ka_query;	/* NULL: "apikey" */
	int		 jwt_auth;	/* plugins.jwt-auth present */
	char		*jwt_header;	/* NULL: "authorization" */
	char		*jwt_query;	/* NULL: "jwt" */
	char		*jwt_cookie;	/* NULL: "jwt" */
	double		 jwt_leeway;	/* seconds of clock skew allowed */
	char		*jwt_iss;	/* expected issuer; NULL: any */
	char		*jwt_aud;	/* expected audience; NULL: any */
	char		**origins;	/* allowed Origin values; none: any */
	int		 norigins;
	int		 origin_required; /* no Origin header: 403 */
	struct auth_acl	 acl;		/* route-level topic allow-list */
};

struct auth_consumers {
	struct auth_consumer	*v;
	int			 n;
};

/* auth_admit() results: the HTTP status to answer, 0 to upgrade. */
struct auth_result {
	int			 status;	/* 0, 401, 403, 429 or 503 */
	const char		*why;		/* for the log and the body */
	struct auth_consumer	*consumer;	/* NULL: no authentication */
	const char		*method;	/* "key-auth", "jwt-auth" */
	const char		*protocol;	/* to echo; NULL: the default */
	size_t			 protocollen;
	double			 expires;	/* the token's exp; 0: none */
	char			 whybuf[160];
};

/*
 * Admit a WebSocket handshake to a route: the Origin, then the credential
 * if the route asks for one.  now: the wall clock (token times).
 */
void	 auth_admit(const struct auth_route *, const struct auth_consumers *,
	    const struct http_request *, double now, struct auth_result *);
/* 1 if the route and the consumer (NULL: none) allow cmd on topic. */
int	 auth_allows(const struct auth_route *, const struct auth_consumer *,
	    int cmd, const char *topic);
/* 1 if the pattern matches the topic (exact, or * and ? globs). */
int	 auth_match(const char *pattern, const char *topic);
/* 1 if the route asks for a credential. */
int	 auth_required(const struct auth_route *);
/*
 * 1 if two routes admit the same way (plugins, their sources, origins,
 * JWT checks); the allow-lists are not compared (checked per command).
 */
int	 auth_route_same(const struct auth_route *, const struct auth_route *);
/* SHA-256 of len octets (a key, or what fingerprints a JWT key). */
void	 auth_hash(const void *, size_t len, uint8_t out[AUTH_HASH_LEN]);

void	 auth_acl_free(struct auth_acl *);
void	 auth_route_free(struct auth_route *);
void	 auth_consumers_free(struct auth_consumers *);

/*
 * A query argument's value, percent-decoded into buf (NUL-terminated);
 * its length, or -1 if absent, malformed or longer than buflen - 1.
 */
int	 auth_query_arg(const char *query, size_t len, const char *name,
	    char *buf, size_t buflen);
/* A cookie's value from Cookie header values, the same way. */
int	 auth_cookie(const char *cookies, size_t len, const char *name,
	    char *buf, size_t buflen);

#endif /* SRC_AUTH_H */
