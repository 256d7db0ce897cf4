/*
 * sasl.h -- the client side of a SASL exchange for Kafka, without sockets.
 *
 * PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 go through Cyrus SASL (libsasl2;
 * the mechanisms come from the libsasl2-modules plugins, a runtime
 * dependency); OAUTHBEARER is built here (RFC 7628 GS2 header and
 * kvpairs), from a static token or from a file read at each exchange.  The connection (conn.c) carries the tokens in
 * SaslHandshake v1 + SaslAuthenticate requests.
 */
#ifndef KAFKA_SASL_H
#define KAFKA_SASL_H

#include <stddef.h>
#include <stdint.h>

#define KSASL_DONE	 0	/* authenticated (after verifying the server) */
#define KSASL_CONTINUE	 1	/* send the output token, wait for the next */
#define KSASL_ERR	-1	/* ksasl_error() says why */

struct ksasl;

struct ksasl_conf {
	const char	*mechanism;	/* "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512",
					   "OAUTHBEARER" */
	const char	*username;
	const char	*password;	/* PLAIN, SCRAM */
	const char	*token;		/* OAUTHBEARER: the token, or "@" and
					   the path of a file holding it, read
					   again at every ksasl_start() so
					   that a replaced file is used at the
					   next (re-)authentication */
};

#define KSASL_TOKEN_MAX	65536		/* bytes in a token file */

/* 0, or -1 with a message (unknown mechanism, libsasl2 init failure). */
int		 ksasl_global_init(char *err, size_t errlen);
/* 1 if the mechanism is available (plugin installed). */
int		 ksasl_mechanism_available(const char *);

/*
 * Read an OAUTHBEARER token file (a regular file of at most
 * KSASL_TOKEN_MAX bytes; trailing white space removed) and check that it
 * is a bearer token (RFC 6750 2.1).  On success *tok is a NUL-terminated
 * copy that the caller wipes (explicit_bzero) and frees.  0, or -1 with a
 * message naming the file, never the token.
 */
int		 ksasl_token_read(const char *file, char **tok, size_t *len,
		    char *err, size_t errlen);

/* A new exchange (one per connection, and per re-authentication). */
struct ksasl	*ksasl_new(const struct ksasl_conf *, const char *hostname,
		    char *err, size_t errlen);
void		 ksasl_free(struct ksasl *);
/*
 * The first client token.  *out stays valid until the next call.
 * Returns KSASL_CONTINUE or KSASL_ERR.
 */
int		 ksasl_start(struct ksasl *, const uint8_t **out, size_t *outlen);
/*
 * A server token in, maybe a client token out.  KSASL_CONTINUE (send
 * *out), KSASL_DONE (authenticated; *outlen may be 0), KSASL_ERR.
 */
int		 ksasl_step(struct ksasl *, const uint8_t *in, size_t inlen,
		    const uint8_t **out, size_t *outlen);
const char	*ksasl_error(const struct ksasl *);

#endif /* KAFKA_SASL_H */
