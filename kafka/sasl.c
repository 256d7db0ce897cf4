/*
 * sasl.c -- the client side of a SASL exchange for Kafka, without sockets.
 *
 * PLAIN and SCRAM-SHA-256/512 run in Cyrus SASL (libsasl2): its plain and
 * scram plugins (libsasl2-modules) build the tokens and, for SCRAM, verify
 * the server signature in the last step.  OAUTHBEARER is built here
 * (RFC 7628 section 3.1): a GS2 header, then kvpairs separated by 0x01,
 * from a static token or from a token file read at every start, so that a
 * token replaced in the file is used from the next (re-)authentication on.
 */
#include "config.h"

#include <sys/stat.h>

#include <sasl/sasl.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "kafka/sasl.h"

enum ksasl_mech {
	KSASL_M_PLAIN,
	KSASL_M_SCRAM256,
	KSASL_M_SCRAM512,
	KSASL_M_OAUTHBEARER
};

struct ksasl {
	const struct ksasl_conf	*conf;
	enum ksasl_mech		 mech;
	const char		*mech_name;

	/* libsasl2 */
	sasl_conn_t		*conn;
	sasl_callback_t		 cbs[4];
	sasl_secret_t		*secret;	/* the last one handed out */
	int			 complete;	/* libsasl2 returned SASL_OK */

	/* OAUTHBEARER */
	uint8_t			*buf;		/* our token */
	size_t			 buflen;
	int			 step;		/* 0 sent, 1 error answered */

	char			 err[256];
};

static const struct {
	const char		*name;
	enum ksasl_mech		 mech;
} ksasl_mechs[] = {
	{ "PLAIN",		KSASL_M_PLAIN },
	{ "SCRAM-SHA-256",	KSASL_M_SCRAM256 },
	{ "SCRAM-SHA-512",	KSASL_M_SCRAM512 },
	{ "OAUTHBEARER",	KSASL_M_OAUTHBEARER },
};

static int	 ksasl_inited;

static void	 ksasl_seterr(struct ksasl *, const char *, ...)
		    __attribute__((__format__(__printf__, 2, 3)));
static int	 ksasl_lookup(const char *, enum ksasl_mech *, const char **);
static int	 ksasl_cb_simple(void *, int, const char **, unsigned *);
static int	 ksasl_cb_secret(sasl_conn_t *, void *, int, sasl_secret_t **);
static int	 ksasl_token_check(const char *, size_t, char *, size_t);
static int	 ksasl_oauth_start(struct ksasl *, const uint8_t **, size_t *);
static int	 ksasl_oauth_step(struct ksasl *, const uint8_t *, size_t,
		    const uint8_t **, size_t *);

static void
ksasl_seterr(struct ksasl *s, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

static int
ksasl_lookup(const char *name, enum ksasl_mech *mech, const char **canon)
{
	size_t	 i;

	if (name == NULL)
		return -1;
	for (i = 0; i < sizeof(ksasl_mechs) / sizeof(ksasl_mechs[0]); i++)
		if (strcasecmp(name, ksasl_mechs[i].name) == 0) {
			*mech = ksasl_mechs[i].mech;
			*canon = ksasl_mechs[i].name;
			return 0;
		}
	return -1;
}

int
ksasl_global_init(char *err, size_t errlen)
{
	int	 rc;

	if (ksasl_inited)
		return 0;
	/* No global callbacks: the plugins come from the default path. */
	if ((rc = sasl_client_init(NULL)) != SASL_OK) {
		(void)snprintf(err, errlen, "cannot initialise libsasl2: %s",
		    sasl_errstring(rc, NULL, NULL));
		return -1;
	}
	ksasl_inited = 1;
	return 0;
}

int
ksasl_mechanism_available(const char *name)
{
	enum ksasl_mech	 mech;
	const char	*canon, **list;
	char		 err[128];
	size_t		 i;

	if (ksasl_lookup(name, &mech, &canon) != 0)
		return 0;
	if (mech == KSASL_M_OAUTHBEARER)
		return 1;
	if (ksasl_global_init(err, sizeof(err)) != 0)
		return 0;
	if ((list = sasl_global_listmech()) == NULL)
		return 0;
	for (i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], canon) == 0)
			return 1;
	return 0;
}

/* SASL_CB_AUTHNAME: the username; SASL_CB_USER (authzid): none. */
static int
ksasl_cb_simple(void *ctx, int id, const char **result, unsigned *len)
{
	struct ksasl	*s = ctx;
	const char	*v;

	switch (id) {
	case SASL_CB_AUTHNAME:
		v = s->conf->username;
		break;
	case SASL_CB_USER:
		v = "";		/* PLAIN sends "\0user\0pass", SCRAM no a= */
		break;
	default:
		return SASL_FAIL;
	}
	if (v == NULL)
		return SASL_FAIL;
	*result = v;
	if (len != NULL)
		*len = (unsigned)strlen(v);
	return SASL_OK;
}

/*
 * SASL_CB_PASS.  The secret must live until the next call on this
 * connection, and libsasl2 may erase it: a fresh copy each time.
 */
static int
ksasl_cb_secret(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **out)
{
	struct ksasl	*s = ctx;
	size_t		 len;

	(void)conn;
	if (id != SASL_CB_PASS || s->conf->password == NULL)
		return SASL_FAIL;
	len = strlen(s->conf->password);
	if (s->secret != NULL) {
		explicit_bzero(s->secret->data, s->secret->len);
		free(s->secret);
	}
	if ((s->secret = malloc(sizeof(*s->secret) + len)) == NULL)
		return SASL_NOMEM;
	s->secret->len = len;
	memcpy(s->secret->data, s->conf->password, len + 1);
	*out = s->secret;
	return SASL_OK;
}

struct ksasl *
ksasl_new(const struct ksasl_conf *conf, const char *hostname, char *err,
    size_t errlen)
{
	sasl_security_properties_t	 props;
	struct ksasl			*s;
	enum ksasl_mech			 mech;
	const char			*canon;
	int				 rc;

	if (ksasl_lookup(conf->mechanism, &mech, &canon) != 0) {
		(void)snprintf(err, errlen, "unknown SASL mechanism %s "
		    "(PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER)",
		    conf->mechanism ? conf->mechanism : "(none)");
		return NULL;
	}
	if (mech == KSASL_M_OAUTHBEARER) {
		if (conf->token == NULL || strcmp(conf->token, "@") == 0) {
			(void)snprintf(err, errlen, "OAUTHBEARER needs a token");
			return NULL;
		}
	} else if (conf->username == NULL || conf->password == NULL) {
		(void)snprintf(err, errlen, "%s needs a username and a password",
		    canon);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->conf = conf;
	s->mech = mech;
	s->mech_name = canon;
	if (mech == KSASL_M_OAUTHBEARER)
		return s;

	if (ksasl_global_init(err, errlen) != 0) {
		free(s);
		return NULL;
	}
	/*
	 * Function pointers of different types share the proc slot: cast
	 * through void (*)(void), which -Wcast-function-type accepts.
	 */
	s->cbs[0].id = SASL_CB_AUTHNAME;
	s->cbs[0].proc = (int (*)(void))(void (*)(void))ksasl_cb_simple;
	s->cbs[0].context = s;
	s->cbs[1].id = SASL_CB_USER;
	s->cbs[1].proc = (int (*)(void))(void (*)(void))ksasl_cb_simple;
	s->cbs[1].context = s;
	s->cbs[2].id = SASL_CB_PASS;
	s->cbs[2].proc = (int (*)(void))(void (*)(void))ksasl_cb_secret;
	s->cbs[2].context = s;
	s->cbs[3].id = SASL_CB_LIST_END;
	if (hostname == NULL || *hostname == '\0')
		hostname = "localhost";
	rc = sasl_client_new("kafka", hostname, NULL, NULL, s->cbs, 0,
	    &s->conn);
	if (rc != SASL_OK) {
		(void)snprintf(err, errlen, "%s: cannot start libsasl2: %s",
		    canon, sasl_errstring(rc, NULL, NULL));
		ksasl_free(s);
		return NULL;
	}
	/* Kafka has no SASL security layer: never negotiate one. */
	memset(&props, 0, sizeof(props));
	props.min_ssf = 0;
	props.max_ssf = 0;
	props.maxbufsize = 0;
	if ((rc = sasl_setprop(s->conn, SASL_SEC_PROPS, &props)) != SASL_OK) {
		(void)snprintf(err, errlen, "%s: %s", canon,
		    sasl_errdetail(s->conn));
		ksasl_free(s);
		return NULL;
	}
	return s;
}

void
ksasl_free(struct ksasl *s)
{
	if (s == NULL)
		return;
	if (s->conn != NULL)
		sasl_dispose(&s->conn);
	if (s->secret != NULL) {
		explicit_bzero(s->secret->data, s->secret->len);
		free(s->secret);
	}
	if (s->buf != NULL) {
		explicit_bzero(s->buf, s->buflen);
		free(s->buf);
	}
	free(s);
}

const char *
ksasl_error(const struct ksasl *s)
{
	return s->err;
}

int
ksasl_start(struct ksasl *s, const uint8_t **out, size_t *outlen)
{
	sasl_interact_t	*prompts = NULL;
	const char	*cout = NULL, *mech = NULL;
	unsigned	 coutlen = 0;
	int		 rc;

	*out = NULL;
	*outlen = 0;
	if (s->mech == KSASL_M_OAUTHBEARER)
		return ksasl_oauth_start(s, out, outlen);
	rc = sasl_client_start(s->conn, s->mech_name, &prompts, &cout,
	    &coutlen, &mech);
	if (rc == SASL_NOMECH) {
		ksasl_seterr(s, "%s is not available in libsasl2 (is "
		    "libsasl2-modules installed?)", s->mech_name);
		return KSASL_ERR;
	}
	if (rc != SASL_OK && rc != SASL_CONTINUE) {
		ksasl_seterr(s, "%s: %s", s->mech_name,
		    sasl_errdetail(s->conn));
		return KSASL_ERR;
	}
	/* Every mechanism here starts with a client token. */
	if (cout == NULL || coutlen == 0) {
		ksasl_seterr(s, "%s: no initial response from libsasl2",
		    s->mech_name);
		return KSASL_ERR;
	}
	s->complete = rc == SASL_OK;
	*out = (const uint8_t *)cout;
	*outlen = coutlen;
	return KSASL_CONTINUE;
}

int
ksasl_step(struct ksasl *s, const uint8_t *in, size_t inlen,
    const uint8_t **out, size_t *outlen)
{
	sasl_interact_t	*prompts = NULL;
	const char	*cout = NULL;
	unsigned	 coutlen = 0;
	int		 rc;

	*out = NULL;
	*outlen = 0;
	if (s->mech == KSASL_M_OAUTHBEARER)
		return ksasl_oauth_step(s, in, inlen, out, outlen);
	if (s->complete) {
		/* PLAIN: the server answers its only token with nothing. */
		if (inlen == 0)
			return KSASL_DONE;
		ksasl_seterr(s, "%s: unexpected server data after the last "
		    "step", s->mech_name);
		return KSASL_ERR;
	}
	if (inlen > UINT32_MAX) {
		ksasl_seterr(s, "%s: server token too large", s->mech_name);
		return KSASL_ERR;
	}
	rc = sasl_client_step(s->conn, (const char *)in, (unsigned)inlen,
	    &prompts, &cout, &coutlen);
	if (rc != SASL_OK && rc != SASL_CONTINUE) {
		/* SCRAM: a bad server signature ends here too. */
		ksasl_seterr(s, "%s: %s", s->mech_name,
		    sasl_errdetail(s->conn));
		return KSASL_ERR;
	}
	*out = (const uint8_t *)cout;
	*outlen = cout != NULL ? coutlen : 0;
	if (rc == SASL_OK) {
		s->complete = 1;
		return KSASL_DONE;
	}
	return KSASL_CONTINUE;
}

/*
 * The token must be a b64token (RFC 6750 2.1): it goes between 0x01
 * separators, so a control character would smuggle in a kvpair.
 */
static int
ksasl_token_check(const char *t, size_t len, char *err, size_t errlen)
{
	size_t	 i;

	if (len == 0) {
		(void)snprintf(err, errlen, "empty token");
		return -1;
	}
	for (i = 0; i < len; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-._~+/=", t[i]) == NULL || t[i] == '\0') {
			(void)snprintf(err, errlen, "the token has a character "
			    "not allowed in a bearer token (offset %zu)", i);
			return -1;
		}
	return 0;
}

/* Trailing white space: a token file usually ends with a newline. */
static size_t
ksasl_token_trim(const char *t, size_t len)
{
	while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r' ||
	    t[len - 1] == ' ' || t[len - 1] == '\t'))
		len--;
	return len;
}

int
ksasl_token_read(const char *file, char **tok, size_t *tlen, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*buf;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, e;

	*tok = NULL;
	*tlen = 0;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1) {
		(void)snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	/* A regular file only: a FIFO would block the event loop. */
	if (fstat(fd, &st) == -1)
		e = errno;
	else if (S_ISDIR(st.st_mode))
		e = EISDIR;
	else
		e = S_ISREG(st.st_mode) ? -1 : 0;
	if (e != -1) {
		(void)close(fd);
		(void)snprintf(err, errlen, "%s: %s", file, e != 0 ?
		    strerror(e) : "not a regular file");
		return -1;
	}
	if ((buf = malloc(KSASL_TOKEN_MAX + 1)) == NULL) {
		(void)close(fd);
		(void)snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Read up to one byte more than allowed, to see it is too long. */
	while (len < KSASL_TOKEN_MAX + 1) {
		n = read(fd, buf + len, KSASL_TOKEN_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			e = errno;
			(void)close(fd);
			explicit_bzero(buf, len);
			free(buf);
			(void)snprintf(err, errlen, "%s: %s", file, strerror(e));
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	(void)close(fd);
	if (len > KSASL_TOKEN_MAX) {
		(void)snprintf(err, errlen, "%s: longer than %d bytes", file,
		    KSASL_TOKEN_MAX);
		goto bad;
	}
	len = ksasl_token_trim(buf, len);
	buf[len] = '\0';
	if (ksasl_token_check(buf, len, err, errlen) != 0) {
		char	 e2[96];

		(void)snprintf(e2, sizeof(e2), "%s", err);
		(void)snprintf(err, errlen, "%s: %s", file, e2);
		goto bad;
	}
	*tok = buf;
	*tlen = len;
	return 0;
bad:
	explicit_bzero(buf, KSASL_TOKEN_MAX + 1);
	free(buf);
	return -1;
}

/*
 * RFC 7628 3.1: gs2-header "n,," (no authzid), then
 * 0x01 "auth=Bearer " token 0x01 0x01.  A token keeps no trailing white
 * space.  A token file ("@path") is read now, at every start, and its
 * copy wiped as soon as the message is built.
 */
static int
ksasl_oauth_start(struct ksasl *s, const uint8_t **out, size_t *outlen)
{
	static const char	 pre[] = "n,,\001auth=Bearer ";
	const char		*t = s->conf->token;
	char			*file = NULL, e[256];
	size_t			 len;

	if (t[0] == '@') {
		if (ksasl_token_read(t + 1, &file, &len, e, sizeof(e)) != 0) {
			ksasl_seterr(s, "OAUTHBEARER: %s", e);
			return KSASL_ERR;
		}
		t = file;
	} else {
		len = ksasl_token_trim(t, strlen(t));
		if (ksasl_token_check(t, len, e, sizeof(e)) != 0) {
			ksasl_seterr(s, "OAUTHBEARER: %s", e);
			return KSASL_ERR;
		}
	}
	if (s->buf != NULL) {
		explicit_bzero(s->buf, s->buflen);
		free(s->buf);
	}
	s->buflen = sizeof(pre) - 1 + len + 2;
	if ((s->buf = malloc(s->buflen)) == NULL) {
		s->buflen = 0;
		if (file != NULL) {
			explicit_bzero(file, len);
			free(file);
		}
		ksasl_seterr(s, "out of memory");
		return KSASL_ERR;
	}
	memcpy(s->buf, pre, sizeof(pre) - 1);
	memcpy(s->buf + sizeof(pre) - 1, t, len);
	s->buf[s->buflen - 2] = 0x01;
	s->buf[s->buflen - 1] = 0x01;
	if (file != NULL) {
		explicit_bzero(file, len);
		free(file);
	}
	s->step = 0;
	*out = s->buf;
	*outlen = s->buflen;
	return KSASL_CONTINUE;
}

/*
 * Success is an empty server message.  A failure is a JSON error object
 * (RFC 7628 3.2.2); the client must answer it with a single 0x01, after
 * which the server fails the exchange.  Keep the JSON for the message.
 */
static int
ksasl_oauth_step(struct ksasl *s, const uint8_t *in, size_t inlen,
    const uint8_t **out, size_t *outlen)
{
	static const uint8_t	 ack[1] = { 0x01 };
	size_t			 i, n;
	char			 json[192];

	if (s->step != 0) {
		if (s->err[0] == '\0')
			ksasl_seterr(s, "OAUTHBEARER: exchange already failed");
		return KSASL_ERR;
	}
	if (inlen == 0)
		return KSASL_DONE;
	/* Printable ASCII only in the message. */
	n = inlen < sizeof(json) - 1 ? inlen : sizeof(json) - 1;
	for (i = 0; i < n; i++)
		json[i] = in[i] >= 0x20 && in[i] < 0x7f ? (char)in[i] : '?';
	json[n] = '\0';
	ksasl_seterr(s, "OAUTHBEARER token rejected: %s%s", json,
	    inlen > n ? "..." : "");
	s->step = 1;
	*out = ack;
	*outlen = sizeof(ack);
	return KSASL_CONTINUE;
}
