/*
 * tls.h -- TLS over a non-blocking socket with mbedTLS (2.28 and 3.x),
 * shared by the Kafka client (client side) and the WebSocket listener
 * (server side).  No event loop here: calls return NTLS_WANT_READ or
 * NTLS_WANT_WRITE and the caller waits on the fd for that.
 */
#ifndef NET_TLS_H
#define NET_TLS_H

#include <sys/types.h>

#include <stddef.h>

#define NTLS_OK			 0
#define NTLS_ERR		-1	/* fatal; ntls_error() says why */
#define NTLS_WANT_READ		-2
#define NTLS_WANT_WRITE		-3

struct ntls_config;
struct ntls;

struct ntls_opts {
	int		 server;	/* 1: accept side (wss); 0: client (Kafka) */
	/* Client: trust.  NULL ca_file = the system store. */
	const char	*ca_file;
	int		 verify;	/* 1: verify the peer (client default) */
	/* Server: our chain and key (PEM; the file may hold the chain). */
	/* Client: optional client certificate for mTLS. */
	const char	*cert_file;
	const char	*key_file;
	/* Server: require and verify a client certificate against ca_file. */
	int		 require_client_cert;
};

/*
 * Load certificates and keys.  Returns NULL with a message in err (file
 * and mbedTLS reason) on failure.  A config is reference-counted: each
 * connection holds a reference, so a reloaded config (SIGHUP) replaces
 * the old one for new connections while live ones keep theirs.
 */
struct ntls_config *ntls_config_new(const struct ntls_opts *, char *err, size_t errlen);
void		 ntls_config_ref(struct ntls_config *);
void		 ntls_config_unref(struct ntls_config *);

/*
 * A TLS connection on a connected non-blocking fd (not owned: the caller
 * closes it).  hostname: client side, for SNI and certificate name
 * verification (a host name or an IP address literal); NULL on the
 * server side.
 */
struct ntls	*ntls_new(struct ntls_config *, int fd, const char *hostname,
		    char *err, size_t errlen);
void		 ntls_free(struct ntls *);

/* NTLS_OK once the handshake is done, NTLS_WANT_*, or NTLS_ERR. */
int		 ntls_handshake(struct ntls *);
/*
 * Bytes read (> 0), 0 on a clean close (close_notify or EOF), NTLS_WANT_*
 * or NTLS_ERR.  A read may need the socket writable (renegotiation, TLS
 * 1.3 tickets) and a write readable: wait for what is returned.
 */
ssize_t		 ntls_read(struct ntls *, void *, size_t);
/*
 * ntls_write() may write less than asked (one record, 16 KiB at most).
 * After NTLS_WANT_*, call it again with the same data, at least as many
 * bytes as before (more may follow): mbedTLS holds the record it
 * encrypted from them, and the count returned is that record's.
 */
ssize_t		 ntls_write(struct ntls *, const void *, size_t);
/* Plaintext already decrypted and buffered: read it before waiting. */
size_t		 ntls_pending(const struct ntls *);
/* Send close_notify (best effort, non-blocking). */
void		 ntls_close_notify(struct ntls *);
/*
 * What failed, for error messages and logs, e.g.
 * "certificate verification failed: The certificate is not correctly
 * signed by the trusted CA" or "TLS handshake failed: ...".
 */
const char	*ntls_error(const struct ntls *);
/*
 * 1 when the handshake failed because the peer's first bytes are not TLS
 * (a plain HTTP request on the wss port, a PLAINTEXT Kafka listener's
 * answer): a server may answer in clear text before closing.
 */
int		 ntls_not_tls(const struct ntls *);
/* "TLSv1.2" / "TLSv1.3" and the cipher suite, once connected. */
const char	*ntls_version(const struct ntls *);
const char	*ntls_cipher(const struct ntls *);

#endif /* NET_TLS_H */
