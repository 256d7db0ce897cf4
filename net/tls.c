/*
 * tls.c -- TLS over a non-blocking socket with mbedTLS 2.28 and 3.x.
 *
 * One code path for both lines; the few API differences are behind
 * MBEDTLS_VERSION_NUMBER checks:
 *   - 3.x: mbedtls_pk_parse_keyfile() and mbedtls_pk_check_pair() take
 *     an RNG; the minimum version is set with
 *     mbedtls_ssl_conf_min_tls_version() (3.2 and later; 3.0 and 3.1
 *     have nothing older than TLS 1.2); TLS 1.3 (when the library has
 *     MBEDTLS_SSL_PROTO_TLS1_3) needs psa_crypto_init().
 *   - 2.28: mbedtls_ssl_conf_min_version(); no TLS 1.3.
 *
 * Host names.  A DNS name goes to mbedtls_ssl_set_hostname(), which
 * sends it as SNI and checks it against the certificate.  An IP address
 * literal does not: RFC 6066 forbids an IP address in SNI, and mbedTLS
 * before 3.5 never matches an iPAddress subjectAltName (it only compares
 * dNSName entries and the CN).  For an IP literal we set no host name in
 * mbedTLS and check the leaf's iPAddress subjectAltNames ourselves in
 * the verify callback, on every version, raising
 * MBEDTLS_X509_BADCERT_CN_MISMATCH when none matches (RFC 6125: an IP
 * address never matches a CN).
 *
 * Error messages name what failed: a certificate verification failure
 * lists mbedtls_x509_crt_verify_info()'s reasons and says "self-signed
 * certificate" when the untrusted certificate is its own issuer; a peer
 * that does not speak TLS is recognised by the first bytes it sent; a
 * fatal alert from the peer is named.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ssl.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif

#include "net/log.h"
#include "net/tls.h"

#if MBEDTLS_VERSION_NUMBER < 0x021C0000
#error "mbedTLS 2.28 or later is required"
#endif

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL	0
#endif

enum ntls_state {
	NTLS_S_HANDSHAKE = 0,
	NTLS_S_OPEN,
	NTLS_S_FAILED
};

struct ntls_config {
	int			 refs;
	int			 server;
	int			 verify;	/* client: verify the server */
	int			 have_ca;
	int			 have_cert;
	mbedtls_entropy_context	 entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt	 ca;
	mbedtls_x509_crt	 cert;
	mbedtls_pk_context	 key;
	mbedtls_ssl_config	 conf;
};

struct ntls {
	struct ntls_config	*cfg;
	mbedtls_ssl_context	 ssl;
	int			 fd;
	enum ntls_state		 state;
	int			 not_tls;	/* the peer's bytes are not TLS */
	size_t			 wpending;	/* length of a write mbedTLS holds */
	int			 oflush;	/* mbedTLS holds output of its own */
	/* The expected host (client side); iplen > 0 for an IP literal. */
	char			 host[256];
	unsigned char		 ip[16];
	size_t			 iplen;
	/* What the peer did, for error messages. */
	unsigned char		 first[24];	/* its first bytes */
	size_t			 nfirst;
	const char		*sys_op;	/* "send"/"recv" that failed */
	int			 sys_errno;
	int			 chain_depth;	/* deepest certificate verified */
	int			 leaf_selfsigned;
	int			 top_selfsigned;
	char			 peer_names[256];	/* leaf CN and SANs */
	char			 err[768];
};

static const char *const ntls_system_ca[] = {
	"/etc/ssl/certs/ca-certificates.crt",	/* Debian, Ubuntu, Alpine */
	"/etc/pki/tls/certs/ca-bundle.crt",	/* Fedora, RHEL */
	"/etc/ssl/ca-bundle.pem",		/* openSUSE */
	"/etc/ssl/cert.pem",			/* OpenBSD, macOS, Alpine */
};

static void
ntls_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((__format__(__printf__, 3, 4)));
static void
ntls_fail(struct ntls *, const char *, ...)
    __attribute__((__format__(__printf__, 2, 3)));
static void
ntls_printable(const unsigned char *, size_t, char *, size_t);

static void
ntls_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void
ntls_fail(struct ntls *t, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	t->state = NTLS_S_FAILED;
}

/* mbedTLS's text for an error code followed by the code. */
static const char *
ntls_reason(int ret, char *buf, size_t len)
{
	char	 s[200];

	mbedtls_strerror(ret, s, sizeof(s));
	snprintf(buf, len, "%s (-0x%04X)", s, (unsigned int)-ret);
	return buf;
}

/* fopen() first, so that a missing file gets errno's reason. */
static int
ntls_readable(const char *what, const char *path, char *err, size_t errlen)
{
	FILE	*f;

	if ((f = fopen(path, "rb")) == NULL) {
		ntls_seterr(err, errlen, "%s %s: %s", what, path,
		    strerror(errno));
		return -1;
	}
	fclose(f);
	return 0;
}

static int
ntls_load_crt(mbedtls_x509_crt *crt, const char *what, const char *path,
    char *err, size_t errlen)
{
	char	 r[256];
	int	 ret;

	if (ntls_readable(what, path, err, errlen) == -1)
		return -1;
	ret = mbedtls_x509_crt_parse_file(crt, path);
	if (ret < 0) {
		ntls_seterr(err, errlen, "%s %s: %s", what, path,
		    ntls_reason(ret, r, sizeof(r)));
		return -1;
	}
	if (crt->raw.len == 0) {
		ntls_seterr(err, errlen, "%s %s: no certificate in it", what,
		    path);
		return -1;
	}
	if (ret > 0)
		log_warnx("tls: %s %s: %d certificate(s) could not be parsed, "
		    "ignored", what, path, ret);
	return 0;
}

static int
ntls_load_ca(struct ntls_config *c, const struct ntls_opts *o, char *err,
    size_t errlen)
{
	size_t	 i;
	int	 ret;

	if (o->ca_file != NULL) {
		if (ntls_load_crt(&c->ca, "CA file", o->ca_file, err,
		    errlen) == -1)
			return -1;
		c->have_ca = 1;
		return 0;
	}
	if (o->server) {
		if (!o->require_client_cert)
			return 0;
		ntls_seterr(err, errlen, "requiring client certificates "
		    "needs a CA file to verify them");
		return -1;
	}
	if (!o->verify)
		return 0;
	/* The system store: the first bundle that parses. */
	for (i = 0; i < sizeof(ntls_system_ca) / sizeof(ntls_system_ca[0]);
	    i++) {
		ret = mbedtls_x509_crt_parse_file(&c->ca, ntls_system_ca[i]);
		if (ret >= 0 && c->ca.raw.len > 0) {
			c->have_ca = 1;
			return 0;
		}
		mbedtls_x509_crt_free(&c->ca);
		mbedtls_x509_crt_init(&c->ca);
	}
	ntls_seterr(err, errlen, "no CA file given and no system CA store "
	    "found (tried %s, %s, %s, %s): give a CA file or turn "
	    "verification off", ntls_system_ca[0], ntls_system_ca[1],
	    ntls_system_ca[2], ntls_system_ca[3]);
	return -1;
}

static int
ntls_load_cert(struct ntls_config *c, const struct ntls_opts *o, char *err,
    size_t errlen)
{
	char	 r[256];
	int	 ret;

	if (o->cert_file == NULL && o->key_file == NULL) {
		if (!o->server)
			return 0;
		ntls_seterr(err, errlen, "the TLS server needs a certificate "
		    "file and a key file");
		return -1;
	}
	if (o->cert_file == NULL || o->key_file == NULL) {
		ntls_seterr(err, errlen, "a certificate file needs a key file "
		    "and a key file a certificate file");
		return -1;
	}
	if (ntls_load_crt(&c->cert, "certificate file", o->cert_file, err,
	    errlen) == -1)
		return -1;
	if (ntls_readable("key file", o->key_file, err, errlen) == -1)
		return -1;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	ret = mbedtls_pk_parse_keyfile(&c->key, o->key_file, NULL,
	    mbedtls_ctr_drbg_random, &c->drbg);
#else
	ret = mbedtls_pk_parse_keyfile(&c->key, o->key_file, NULL);
#endif
	if (ret != 0) {
		ntls_seterr(err, errlen, "key file %s: %s", o->key_file,
		    ntls_reason(ret, r, sizeof(r)));
		return -1;
	}
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	ret = mbedtls_pk_check_pair(&c->cert.pk, &c->key,
	    mbedtls_ctr_drbg_random, &c->drbg);
#else
	ret = mbedtls_pk_check_pair(&c->cert.pk, &c->key);
#endif
	if (ret != 0) {
		ntls_seterr(err, errlen, "key file %s does not match the "
		    "certificate in %s: %s", o->key_file, o->cert_file,
		    ntls_reason(ret, r, sizeof(r)));
		return -1;
	}
	c->have_cert = 1;
	return 0;
}

static void
ntls_config_free(struct ntls_config *c)
{
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_pk_free(&c->key);
	mbedtls_x509_crt_free(&c->cert);
	mbedtls_x509_crt_free(&c->ca);
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->entropy);
	free(c);
}

struct ntls_config *
ntls_config_new(const struct ntls_opts *o, char *err, size_t errlen)
{
	static const char	 pers[] = "kafkagate ntls";
	struct ntls_config	*c;
	char			 r[256];
	int			 ret;

	ntls_seterr(err, errlen, "%s", "");
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		ntls_seterr(err, errlen, "out of memory");
		return NULL;
	}
	c->refs = 1;
	c->server = o->server != 0;
	c->verify = o->verify != 0;
	mbedtls_entropy_init(&c->entropy);
	mbedtls_ctr_drbg_init(&c->drbg);
	mbedtls_x509_crt_init(&c->ca);
	mbedtls_x509_crt_init(&c->cert);
	mbedtls_pk_init(&c->key);
	mbedtls_ssl_config_init(&c->conf);

#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
	/* TLS 1.3 and PSA-based key handling need it; it is idempotent. */
	if (psa_crypto_init() != PSA_SUCCESS) {
		ntls_seterr(err, errlen, "PSA crypto initialisation failed");
		goto fail;
	}
#endif
	ret = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func,
	    &c->entropy, (const unsigned char *)pers, sizeof(pers) - 1);
	if (ret != 0) {
		ntls_seterr(err, errlen, "seeding the TLS random generator "
		    "failed: %s", ntls_reason(ret, r, sizeof(r)));
		goto fail;
	}
	if (ntls_load_ca(c, o, err, errlen) == -1 ||
	    ntls_load_cert(c, o, err, errlen) == -1)
		goto fail;

	ret = mbedtls_ssl_config_defaults(&c->conf,
	    c->server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (ret != 0) {
		ntls_seterr(err, errlen, "TLS configuration failed: %s",
		    ntls_reason(ret, r, sizeof(r)));
		goto fail;
	}
#if MBEDTLS_VERSION_NUMBER >= 0x03020000
	mbedtls_ssl_conf_min_tls_version(&c->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#elif MBEDTLS_VERSION_NUMBER < 0x03000000
	mbedtls_ssl_conf_min_version(&c->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
#endif
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
	if (c->server)
		mbedtls_ssl_conf_authmode(&c->conf, o->require_client_cert ?
		    MBEDTLS_SSL_VERIFY_REQUIRED : MBEDTLS_SSL_VERIFY_NONE);
	else
		mbedtls_ssl_conf_authmode(&c->conf, c->verify ?
		    MBEDTLS_SSL_VERIFY_REQUIRED : MBEDTLS_SSL_VERIFY_NONE);
	if (c->have_ca)
		mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
	if (c->have_cert) {
		ret = mbedtls_ssl_conf_own_cert(&c->conf, &c->cert, &c->key);
		if (ret != 0) {
			ntls_seterr(err, errlen, "certificate file %s: %s",
			    o->cert_file, ntls_reason(ret, r, sizeof(r)));
			goto fail;
		}
	}
	return c;

fail:
	ntls_config_free(c);
	return NULL;
}

void
ntls_config_ref(struct ntls_config *c)
{
	c->refs++;
}

void
ntls_config_unref(struct ntls_config *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	ntls_config_free(c);
}

/* BIO over the non-blocking fd. */

static int
ntls_send_cb(void *arg, const unsigned char *buf, size_t len)
{
	struct ntls	*t = arg;
	ssize_t		 n;

	for (;;) {
		n = send(t->fd, buf, len, MSG_NOSIGNAL);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return MBEDTLS_ERR_SSL_WANT_WRITE;
		t->sys_op = "send";
		t->sys_errno = errno;
		return MBEDTLS_ERR_NET_SEND_FAILED;
	}
}

static int
ntls_recv_cb(void *arg, unsigned char *buf, size_t len)
{
	struct ntls	*t = arg;
	ssize_t		 n;
	size_t		 k;

	for (;;) {
		n = recv(t->fd, buf, len, 0);
		if (n > 0) {
			if (t->nfirst < sizeof(t->first)) {
				k = sizeof(t->first) - t->nfirst;
				if (k > (size_t)n)
					k = (size_t)n;
				memcpy(t->first + t->nfirst, buf, k);
				t->nfirst += k;
			}
			return (int)n;
		}
		if (n == 0)
			return 0;	/* mbedTLS: MBEDTLS_ERR_SSL_CONN_EOF */
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return MBEDTLS_ERR_SSL_WANT_READ;
		t->sys_op = "recv";
		t->sys_errno = errno;
		return MBEDTLS_ERR_NET_RECV_FAILED;
	}
}

/* Certificate checks. */

static int
ntls_ip_san_match(const mbedtls_x509_crt *crt, const unsigned char *ip,
    size_t iplen)
{
	const mbedtls_x509_sequence	*s;

	for (s = &crt->subject_alt_names; s != NULL; s = s->next) {
		if (s->buf.p == NULL || s->buf.tag !=
		    (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS))
			continue;
		if (s->buf.len == iplen && memcmp(s->buf.p, ip, iplen) == 0)
			return 1;
	}
	return 0;
}

/* "CN=x, DNS:a, IP:b": who the leaf certificate says it is. */
static void
ntls_peer_names(struct ntls *t, const mbedtls_x509_crt *crt)
{
	const mbedtls_x509_sequence	*s;
	char				 a[INET6_ADDRSTRLEN], dns[4 * 128 + 1];
	size_t				 off;
	int				 n;

	if (mbedtls_x509_dn_gets(t->peer_names, sizeof(t->peer_names),
	    &crt->subject) < 0)
		t->peer_names[0] = '\0';
	off = strlen(t->peer_names);
	for (s = &crt->subject_alt_names; s != NULL; s = s->next) {
		if (s->buf.p == NULL || off >= sizeof(t->peer_names))
			break;
		n = 0;
		if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC |
		    MBEDTLS_X509_SAN_DNS_NAME)) {
			/* From an untrusted certificate: no control bytes. */
			ntls_printable(s->buf.p, s->buf.len > 128 ? 128 :
			    s->buf.len, dns, sizeof(dns));
			n = snprintf(t->peer_names + off,
			    sizeof(t->peer_names) - off, "%sDNS:%s",
			    off ? ", " : "", dns);
		}
		else if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC |
		    MBEDTLS_X509_SAN_IP_ADDRESS) && (s->buf.len == 4 ||
		    s->buf.len == 16) && inet_ntop(s->buf.len == 4 ? AF_INET :
		    AF_INET6, s->buf.p, a, sizeof(a)) != NULL)
			n = snprintf(t->peer_names + off,
			    sizeof(t->peer_names) - off, "%sIP:%s",
			    off ? ", " : "", a);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/*
 * Called by mbedTLS for each certificate of the verified chain, from the
 * top down to the leaf (depth 0), with the flags found so far.
 */
static int
ntls_verify_cb(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct ntls	*t = arg;
	int		 self;

	self = crt->subject_raw.len == crt->issuer_raw.len &&
	    memcmp(crt->subject_raw.p, crt->issuer_raw.p,
	    crt->subject_raw.len) == 0;
	if (depth >= t->chain_depth) {
		t->chain_depth = depth;
		t->top_selfsigned = self;
	}
	if (depth == 0) {
		t->leaf_selfsigned = self;
		ntls_peer_names(t, crt);
		if (t->iplen > 0 && !ntls_ip_san_match(crt, t->ip, t->iplen))
			*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
	}
	return 0;
}

/* Connections. */

static int
ntls_set_host(struct ntls *t, const char *hostname, char *err, size_t errlen)
{
	char	 r[256], h[sizeof(t->host)];
	size_t	 len;
	int	 ret;

	if (hostname == NULL || *hostname == '\0') {
		if (t->cfg->verify) {
			ntls_seterr(err, errlen, "verifying the TLS server "
			    "needs its host name");
			return -1;
		}
		/* 3.6.3 and later want to be told there is no name. */
		mbedtls_ssl_set_hostname(&t->ssl, NULL);
		return 0;
	}
	len = strlen(hostname);
	if (len >= sizeof(h)) {
		ntls_seterr(err, errlen, "host name too long: %.64s...",
		    hostname);
		return -1;
	}
	memcpy(t->host, hostname, len + 1);
	/* "[::1]" as in a URL. */
	if (len > 2 && hostname[0] == '[' && hostname[len - 1] == ']') {
		memcpy(h, hostname + 1, len - 2);
		h[len - 2] = '\0';
	} else
		memcpy(h, hostname, len + 1);
	if (inet_pton(AF_INET, h, t->ip) == 1)
		t->iplen = 4;
	else if (inet_pton(AF_INET6, h, t->ip) == 1)
		t->iplen = 16;
	/* No SNI for an address; its check is ntls_verify_cb's. */
	ret = mbedtls_ssl_set_hostname(&t->ssl, t->iplen > 0 ? NULL : h);
	if (ret != 0) {
		ntls_seterr(err, errlen, "host name %s: %s", hostname,
		    ntls_reason(ret, r, sizeof(r)));
		return -1;
	}
	return 0;
}

struct ntls *
ntls_new(struct ntls_config *c, int fd, const char *hostname, char *err,
    size_t errlen)
{
	struct ntls	*t;
	char		 r[256];
	int		 ret;

	ntls_seterr(err, errlen, "%s", "");
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		ntls_seterr(err, errlen, "out of memory");
		return NULL;
	}
	t->cfg = c;
	t->fd = fd;
	t->chain_depth = -1;
	mbedtls_ssl_init(&t->ssl);
	if ((ret = mbedtls_ssl_setup(&t->ssl, &c->conf)) != 0) {
		ntls_seterr(err, errlen, "TLS setup failed: %s",
		    ntls_reason(ret, r, sizeof(r)));
		goto fail;
	}
	if (!c->server && ntls_set_host(t, hostname, err, errlen) == -1)
		goto fail;
	mbedtls_ssl_set_bio(&t->ssl, t, ntls_send_cb, ntls_recv_cb, NULL);
	mbedtls_ssl_set_verify(&t->ssl, ntls_verify_cb, t);
	ntls_config_ref(c);
	return t;

fail:
	mbedtls_ssl_free(&t->ssl);
	free(t);
	return NULL;
}

void
ntls_free(struct ntls *t)
{
	if (t == NULL)
		return;
	mbedtls_ssl_free(&t->ssl);
	ntls_config_unref(t->cfg);
	free(t);
}

/* Error messages. */

static const char *
ntls_alert_name(int desc)
{
	switch (desc) {
	case 0:		return "close_notify";
	case 10:	return "unexpected_message";
	case 20:	return "bad_record_mac";
	case 22:	return "record_overflow";
	case 40:	return "handshake_failure";
	case 41:	return "no_certificate";
	case 42:	return "bad_certificate";
	case 43:	return "unsupported_certificate";
	case 44:	return "certificate_revoked";
	case 45:	return "certificate_expired";
	case 46:	return "certificate_unknown";
	case 47:	return "illegal_parameter";
	case 48:	return "unknown_ca";
	case 49:	return "access_denied";
	case 50:	return "decode_error";
	case 51:	return "decrypt_error";
	case 70:	return "protocol_version";
	case 71:	return "insufficient_security";
	case 80:	return "internal_error";
	case 86:	return "inappropriate_fallback";
	case 90:	return "user_canceled";
	case 109:	return "missing_extension";
	case 110:	return "unsupported_extension";
	case 112:	return "unrecognized_name";
	case 116:	return "certificate_required";
	case 120:	return "no_application_protocol";
	default:	return "unknown";
	}
}

/*
 * The description of the fatal alert just received.  mbedTLS has no
 * accessor: the alert is the current message (a private field in 3.x).
 */
static int
ntls_alert(const struct ntls *t)
{
	const unsigned char	*m;

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	m = t->ssl.MBEDTLS_PRIVATE(in_msg);
#else
	m = t->ssl.in_msg;
#endif
	return m != NULL ? m[1] : -1;
}

/* A TLS record starts with a content type 20..24 and version 3.x. */
static int
ntls_looks_tls(const unsigned char *p, size_t n)
{
	if (n >= 1 && (p[0] < 20 || p[0] > 24))
		return 0;
	if (n >= 2 && p[1] != 3)
		return 0;
	return 1;
}

static void
ntls_printable(const unsigned char *p, size_t n, char *buf, size_t len)
{
	size_t	 i, off = 0;
	int	 k;

	buf[0] = '\0';
	for (i = 0; i < n && off + 5 < len; i++) {
		if (p[i] == '\r')
			k = snprintf(buf + off, len - off, "\\r");
		else if (p[i] == '\n')
			k = snprintf(buf + off, len - off, "\\n");
		else if (p[i] == '"' || p[i] == '\\')
			k = snprintf(buf + off, len - off, "\\%c", p[i]);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			k = snprintf(buf + off, len - off, "%c", p[i]);
		else
			k = snprintf(buf + off, len - off, "\\x%02x", p[i]);
		if (k < 0)
			break;
		off += (size_t)k;
	}
}

static void
ntls_verify_error(struct ntls *t)
{
	char		 info[512], why[600], *line, *next;
	uint32_t	 flags;
	size_t		 off = 0;
	const char	*who;

	flags = mbedtls_ssl_get_verify_result(&t->ssl);
	if (flags == (uint32_t)-1)
		flags = 0;
	why[0] = '\0';
	if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) {
		if (t->chain_depth == 0 && t->leaf_selfsigned)
			off = (size_t)snprintf(why, sizeof(why),
			    "self-signed certificate");
		else if (t->chain_depth > 0 && t->top_selfsigned)
			off = (size_t)snprintf(why, sizeof(why),
			    "self-signed certificate in certificate chain");
	}
	if (mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags) < 0)
		info[0] = '\0';
	for (line = info; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (*line == '\0' || off >= sizeof(why))
			continue;
		off += (size_t)snprintf(why + off, sizeof(why) - off, "%s%s",
		    off ? "; " : "", line);
	}
	if (why[0] == '\0')
		snprintf(why, sizeof(why), "unknown reason (flags 0x%x)",
		    (unsigned int)flags);
	who = t->cfg->server ? "client certificate" : "certificate";
	if ((flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) && t->host[0] != '\0')
		ntls_fail(t, "%s verification failed: %s (the certificate is "
		    "for %s; expected %s)", who, why, t->peer_names, t->host);
	else if (t->peer_names[0] != '\0')
		ntls_fail(t, "%s verification failed: %s (certificate %s)",
		    who, why, t->peer_names);
	else
		ntls_fail(t, "%s verification failed: %s", who, why);
}

static void
ntls_handshake_error(struct ntls *t, int ret)
{
	char		 r[256], p[sizeof(t->first) * 4 + 1];
	const char	*peer = t->cfg->server ? "client" : "server";
	ssize_t		 n;
	int		 desc;

	if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
		ntls_verify_error(t);
		return;
	}
	if (t->nfirst > 0 && !ntls_looks_tls(t->first, t->nfirst)) {
		t->not_tls = 1;
		/* mbedTLS read a record header: show a little more. */
		if ((n = recv(t->fd, t->first + t->nfirst, sizeof(t->first) -
		    t->nfirst, MSG_PEEK | MSG_DONTWAIT)) > 0)
			t->nfirst += (size_t)n;
		if (t->cfg->server) {
			/*
			 * Only the first word (the HTTP method): a request line
			 * may carry credentials in its query string.
			 */
			size_t	 w;

			for (w = 0; w < t->nfirst && w < 8 && t->first[w] > ' ' &&
			    t->first[w] < 0x7f; w++)
				;
			ntls_printable(t->first, w, p, sizeof(p));
			ntls_fail(t, "TLS handshake failed: the client does not "
			    "speak TLS (it sent \"%s ...\", plain text?)", p);
			return;
		}
		ntls_printable(t->first, t->nfirst, p, sizeof(p));
		ntls_fail(t, "TLS handshake failed: the %s does not speak TLS "
		    "(it sent \"%s\")", peer, p);
		return;
	}
	switch (ret) {
	case MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE:
		/*
		 * Over TLS 1.2 mbedTLS sends no alert here: tell the client
		 * (TLS 1.3 has sent certificate_required already).
		 */
		if (strcmp(mbedtls_ssl_get_version(&t->ssl), "TLSv1.2") == 0)
			(void)mbedtls_ssl_send_alert_message(&t->ssl,
			    MBEDTLS_SSL_ALERT_LEVEL_FATAL,
			    MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
		ntls_fail(t, "TLS handshake failed: the client sent no "
		    "certificate and one is required");
		return;
	case MBEDTLS_ERR_SSL_CONN_EOF:
		ntls_fail(t, "TLS handshake failed: the %s closed the "
		    "connection%s", peer, !t->cfg->server && t->nfirst == 0 ?
		    " without answering (not a TLS port?)" : "");
		return;
	case MBEDTLS_ERR_NET_SEND_FAILED:
	case MBEDTLS_ERR_NET_RECV_FAILED:
		if (t->sys_op == NULL)
			break;
		ntls_fail(t, "TLS handshake failed: %s: %s", t->sys_op,
		    strerror(t->sys_errno));
		return;
	case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
		desc = ntls_alert(t);
		ntls_fail(t, "TLS handshake failed: the %s sent alert %s (%d)%s",
		    peer, ntls_alert_name(desc), desc, !t->cfg->server &&
		    !t->cfg->have_cert && (desc == 40 || desc == 41 ||
		    desc == 42 || desc == 116) ?
		    "; the server may require a client certificate" : "");
		return;
	}
	ntls_fail(t, "TLS handshake failed: %s", ntls_reason(ret, r, sizeof(r)));
}

static void
ntls_io_error(struct ntls *t, const char *op, int ret)
{
	char	 r[256];
	int	 desc;

	if ((ret == MBEDTLS_ERR_NET_SEND_FAILED ||
	    ret == MBEDTLS_ERR_NET_RECV_FAILED) && t->sys_op != NULL)
		ntls_fail(t, "TLS %s failed: %s: %s", op, t->sys_op,
		    strerror(t->sys_errno));
	else if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
		desc = ntls_alert(t);
		ntls_fail(t, "TLS %s failed: the %s sent alert %s (%d)%s", op,
		    t->cfg->server ? "client" : "server", ntls_alert_name(desc),
		    desc, !t->cfg->server && !t->cfg->have_cert &&
		    (desc == 41 || desc == 116) ?
		    "; the server requires a client certificate" : "");
	} else
		ntls_fail(t, "TLS %s failed: %s", op,
		    ntls_reason(ret, r, sizeof(r)));
}

/* I/O. */

#if defined(MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
/* A TLS 1.3 session ticket arrived: nothing to do, go on. */
#define NTLS_AGAIN(ret)	((ret) == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
#else
#define NTLS_AGAIN(ret)	0
#endif

int
ntls_handshake(struct ntls *t)
{
	int	 ret;

	if (t->state == NTLS_S_OPEN)
		return NTLS_OK;
	if (t->state == NTLS_S_FAILED)
		return NTLS_ERR;
	do {
		ret = mbedtls_ssl_handshake(&t->ssl);
	} while (NTLS_AGAIN(ret));
	switch (ret) {
	case 0:
		t->state = NTLS_S_OPEN;
		return NTLS_OK;
	case MBEDTLS_ERR_SSL_WANT_READ:
		return NTLS_WANT_READ;
	case MBEDTLS_ERR_SSL_WANT_WRITE:
		return NTLS_WANT_WRITE;
	}
	ntls_handshake_error(t, ret);
	return NTLS_ERR;
}

ssize_t
ntls_read(struct ntls *t, void *buf, size_t len)
{
	int	 ret;

	if (t->state != NTLS_S_OPEN && (ret = ntls_handshake(t)) != NTLS_OK)
		return ret;
	if (len > INT_MAX)
		len = INT_MAX;
	do {
		ret = mbedtls_ssl_read(&t->ssl, buf, len);
	} while (NTLS_AGAIN(ret));
	if (ret >= 0)
		return ret;
	switch (ret) {
	case MBEDTLS_ERR_SSL_WANT_READ:
		return NTLS_WANT_READ;
	case MBEDTLS_ERR_SSL_WANT_WRITE:
		/* A record of its own (an alert) waits to go out. */
		t->oflush = 1;
		return NTLS_WANT_WRITE;
	case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
	case MBEDTLS_ERR_SSL_CONN_EOF:
		return 0;
	}
	ntls_io_error(t, "read", ret);
	return NTLS_ERR;
}

ssize_t
ntls_write(struct ntls *t, const void *buf, size_t len)
{
	size_t	 n;
	int	 ret, max;

	if (t->state != NTLS_S_OPEN && (ret = ntls_handshake(t)) != NTLS_OK)
		return ret;
	/*
	 * After WANT_WRITE mbedTLS holds an encrypted record and, called
	 * again, only sends it and returns the length it was given: give it
	 * the record's length, whatever the caller offers now (the contract
	 * says: the same bytes, at least as many).
	 */
	/*
	 * mbedTLS (2.28 at least) answers a write while it still holds output
	 * of its own by only flushing that, yet returns the length it was
	 * given: flush with an empty write first, or the caller's bytes would
	 * be counted as sent and lost.
	 */
	if (t->wpending == 0 && t->oflush) {
		do {
			ret = mbedtls_ssl_write(&t->ssl, buf, 0);
		} while (NTLS_AGAIN(ret));
		if (ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			return NTLS_WANT_WRITE;
		if (ret == MBEDTLS_ERR_SSL_WANT_READ)
			return NTLS_WANT_READ;
		if (ret < 0) {
			ntls_io_error(t, "write", ret);
			return NTLS_ERR;
		}
		t->oflush = 0;
	}
	if ((n = t->wpending) == 0) {
		if ((n = len) == 0)
			return 0;
		if ((max = mbedtls_ssl_get_max_out_record_payload(&t->ssl)) > 0 &&
		    n > (size_t)max)
			n = (size_t)max;
		if (n > INT_MAX)
			n = INT_MAX;
	}
	do {
		ret = mbedtls_ssl_write(&t->ssl, buf, n);
	} while (NTLS_AGAIN(ret));
	if (ret >= 0) {
		t->wpending = 0;
		return ret;
	}
	switch (ret) {
	case MBEDTLS_ERR_SSL_WANT_WRITE:
		t->wpending = n;
		return NTLS_WANT_WRITE;
	case MBEDTLS_ERR_SSL_WANT_READ:
		return NTLS_WANT_READ;
	}
	ntls_io_error(t, "write", ret);
	return NTLS_ERR;
}

size_t
ntls_pending(const struct ntls *t)
{
	return mbedtls_ssl_get_bytes_avail(&t->ssl);
}

void
ntls_close_notify(struct ntls *t)
{
	if (t->state == NTLS_S_OPEN &&
	    mbedtls_ssl_close_notify(&t->ssl) == MBEDTLS_ERR_SSL_WANT_WRITE)
		t->oflush = 1;
}

const char *
ntls_error(const struct ntls *t)
{
	return t->err;
}

int
ntls_not_tls(const struct ntls *t)
{
	return t->not_tls;
}

const char *
ntls_version(const struct ntls *t)
{
	if (t->state != NTLS_S_OPEN)
		return "";
	return mbedtls_ssl_get_version(&t->ssl);
}

const char *
ntls_cipher(const struct ntls *t)
{
	const char	*s;

	if (t->state != NTLS_S_OPEN ||
	    (s = mbedtls_ssl_get_ciphersuite(&t->ssl)) == NULL)
		return "";
	return s;
}
