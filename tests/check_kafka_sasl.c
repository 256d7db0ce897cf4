/*
 * check_kafka_sasl.c -- the SASL client (kafka/sasl.c) driven without
 * sockets or a broker.  For SCRAM the test is the server: it computes the
 * expected client proof and the server signature itself with mbedTLS
 * (PBKDF2, HMAC, SHA-2), from the nonce libsasl2 actually chose, and is
 * checked first against the RFC 7677 section 3 example.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/base64.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/version.h>

#include "kafka/sasl.h"

#define MAXH	64		/* SHA-512 */

/* RFC 7677 section 3. */
#define RFC_CFIRST	"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define RFC_SNONCE	"%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC_SALT	"W22ZaJ0SNY7soEsUEjb6gQ=="
#define RFC_SFIRST	"r=rOprNGfwEbeRWgbNEkqO" RFC_SNONCE ",s=" RFC_SALT \
			",i=4096"
#define RFC_CFINAL	"c=biws,r=rOprNGfwEbeRWgbNEkqO" RFC_SNONCE \
			",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC_SFINAL	"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

/* A scripted SCRAM server (RFC 5802 section 3). */
struct scram_srv {
	mbedtls_md_type_t	 md;
	const char		*password;
	int			 iterations;
	char			 bare[256];	/* client-first-message-bare */
	char			 first[512];	/* server-first-message */
	char			 final[256];	/* server-final-message */
};

static void
b64(const uint8_t *in, size_t len, char *out, size_t size)
{
	size_t	 n;

	ck_assert_int_eq(mbedtls_base64_encode((unsigned char *)out, size,
	    &n, in, len), 0);
	out[n] = '\0';
}

static void
salted_password(struct scram_srv *s, uint8_t *out, size_t hlen)
{
	const mbedtls_md_info_t	*mi = mbedtls_md_info_from_type(s->md);
	uint8_t			 salt[64];
	size_t			 saltlen;

	ck_assert_int_eq(mbedtls_base64_decode(salt, sizeof(salt), &saltlen,
	    (const unsigned char *)RFC_SALT, strlen(RFC_SALT)), 0);
#if MBEDTLS_VERSION_NUMBER >= 0x03030000
	(void)mi;
	ck_assert_int_eq(mbedtls_pkcs5_pbkdf2_hmac_ext(s->md,
	    (const unsigned char *)s->password, strlen(s->password), salt,
	    saltlen, (unsigned int)s->iterations, (uint32_t)hlen, out), 0);
#else
	{
		mbedtls_md_context_t	 ctx;

		mbedtls_md_init(&ctx);
		ck_assert_int_eq(mbedtls_md_setup(&ctx, mi, 1), 0);
		ck_assert_int_eq(mbedtls_pkcs5_pbkdf2_hmac(&ctx,
		    (const unsigned char *)s->password, strlen(s->password),
		    salt, saltlen, (unsigned int)s->iterations,
		    (uint32_t)hlen, out), 0);
		mbedtls_md_free(&ctx);
	}
#endif
}

static void
hmac(mbedtls_md_type_t md, const uint8_t *key, size_t keylen,
    const void *in, size_t len, uint8_t *out)
{
	ck_assert_int_eq(mbedtls_md_hmac(mbedtls_md_info_from_type(md), key,
	    keylen, in, len, out), 0);
}

/* client-first-message in, server-first-message out (fixed salt). */
static const char *
scram_first(struct scram_srv *s, const uint8_t *in, size_t len,
    const char *snonce)
{
	const char	*r;
	char		 msg[256];

	ck_assert_uint_lt(len, sizeof(msg));
	memcpy(msg, in, len);
	msg[len] = '\0';
	/* gs2-header "n,," only: no channel binding, no authzid. */
	ck_assert_msg(strncmp(msg, "n,,", 3) == 0, "client-first %s", msg);
	(void)snprintf(s->bare, sizeof(s->bare), "%s", msg + 3);
	r = strstr(s->bare, ",r=");
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_null(strchr(r + 3, ','));
	ck_assert_uint_ge(strlen(r + 3), 8);	/* some client nonce */
	(void)snprintf(s->first, sizeof(s->first), "r=%s%s,s=%s,i=%d", r + 3,
	    snonce, RFC_SALT, s->iterations);
	return s->first;
}

/*
 * client-final-message in: check the proof; server-final-message out, or
 * NULL if the proof is wrong.
 */
static const char *
scram_final(struct scram_srv *s, const uint8_t *in, size_t len)
{
	const mbedtls_md_info_t	*mi = mbedtls_md_info_from_type(s->md);
	uint8_t			 sp[MAXH], ck[MAXH], sk[MAXH], stored[MAXH];
	uint8_t			 csig[MAXH], ssig[MAXH], proof[MAXH];
	uint8_t			 h[MAXH];
	char			 msg[512], am[1024], sig64[128];
	const char		*p;
	size_t			 hlen, plen, i;

	hlen = mbedtls_md_get_size(mi);
	ck_assert_uint_lt(len, sizeof(msg));
	memcpy(msg, in, len);
	msg[len] = '\0';
	ck_assert_msg(strncmp(msg, "c=biws,r=", 9) == 0, "client-final %s",
	    msg);
	/* The nonce must be the combined one. */
	ck_assert_int_eq(strncmp(msg + 7, s->first, strcspn(s->first, ",")),
	    0);
	p = strstr(msg, ",p=");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(mbedtls_base64_decode(proof, sizeof(proof), &plen,
	    (const unsigned char *)p + 3, strlen(p + 3)), 0);
	ck_assert_uint_eq(plen, hlen);
	(void)snprintf(am, sizeof(am), "%s,%s,%.*s", s->bare, s->first,
	    (int)(p - msg), msg);

	salted_password(s, sp, hlen);
	hmac(s->md, sp, hlen, "Client Key", 10, ck);
	ck_assert_int_eq(mbedtls_md(mi, ck, hlen, stored), 0);
	hmac(s->md, stored, hlen, am, strlen(am), csig);
	for (i = 0; i < hlen; i++)
		h[i] = proof[i] ^ csig[i];	/* the client's ClientKey */
	ck_assert_int_eq(mbedtls_md(mi, h, hlen, h), 0);
	if (memcmp(h, stored, hlen) != 0)
		return NULL;
	hmac(s->md, sp, hlen, "Server Key", 10, sk);
	hmac(s->md, sk, hlen, am, strlen(am), ssig);
	b64(ssig, hlen, sig64, sizeof(sig64));
	(void)snprintf(s->final, sizeof(s->final), "v=%s", sig64);
	return s->final;
}

static const struct ksasl_conf plain_conf = {
	"PLAIN", "alice", "alice-secret", NULL
};

START_TEST(test_global)
{
	char	 err[128];

	ck_assert_int_eq(ksasl_global_init(err, sizeof(err)), 0);
	ck_assert_int_eq(ksasl_global_init(err, sizeof(err)), 0); /* twice */
	ck_assert_int_eq(ksasl_mechanism_available("PLAIN"), 1);
	ck_assert_int_eq(ksasl_mechanism_available("SCRAM-SHA-256"), 1);
	ck_assert_int_eq(ksasl_mechanism_available("SCRAM-SHA-512"), 1);
	ck_assert_int_eq(ksasl_mechanism_available("OAUTHBEARER"), 1);
	ck_assert_int_eq(ksasl_mechanism_available("GSSAPI"), 0);
	ck_assert_int_eq(ksasl_mechanism_available("DIGEST-MD5"), 0);
	ck_assert_int_eq(ksasl_mechanism_available(NULL), 0);
}
END_TEST

START_TEST(test_unknown_mechanism)
{
	static const struct ksasl_conf	 gss = { "GSSAPI", "u", "p", NULL };
	static const struct ksasl_conf	 none = { NULL, "u", "p", NULL };
	static const struct ksasl_conf	 nopass = { "SCRAM-SHA-256", "u",
	    NULL, NULL };
	static const struct ksasl_conf	 notoken = { "OAUTHBEARER", NULL,
	    NULL, NULL };
	char				 err[160];

	err[0] = '\0';
	ck_assert_ptr_null(ksasl_new(&gss, "broker", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "unknown SASL mechanism GSSAPI"));
	ck_assert_ptr_null(ksasl_new(&none, "broker", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "unknown SASL mechanism"));
	ck_assert_ptr_null(ksasl_new(&nopass, "broker", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "password"));
	ck_assert_ptr_null(ksasl_new(&notoken, "broker", err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "token"));
	ksasl_free(NULL);
}
END_TEST

/* RFC 4616: [authzid] NUL authcid NUL passwd; the server answers nothing. */
START_TEST(test_plain)
{
	static const uint8_t	 exp[] = "\0alice\0alice-secret";
	struct ksasl		*s;
	const uint8_t		*out;
	size_t			 outlen;
	char			 err[160];

	s = ksasl_new(&plain_conf, "broker", err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(ksasl_start(s, &out, &outlen), KSASL_CONTINUE);
	ck_assert_uint_eq(outlen, sizeof(exp) - 1);
	ck_assert_mem_eq(out, exp, outlen);
	ck_assert_int_eq(ksasl_step(s, (const uint8_t *)"", 0, &out, &outlen),
	    KSASL_DONE);
	ck_assert_uint_eq(outlen, 0);
	ksasl_free(s);

	/* Server data after PLAIN's only step is an error. */
	s = ksasl_new(&plain_conf, NULL, err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(ksasl_start(s, &out, &outlen), KSASL_CONTINUE);
	ck_assert_int_eq(ksasl_step(s, (const uint8_t *)"x", 1, &out, &outlen),
	    KSASL_ERR);
	ck_assert_ptr_nonnull(strstr(ksasl_error(s), "PLAIN"));
	ksasl_free(s);
}
END_TEST

/* The scripted server reproduces RFC 7677's example exactly. */
START_TEST(test_scram_server_rfc7677)
{
	struct scram_srv	 srv = { MBEDTLS_MD_SHA256, "pencil", 4096,
	    "", "", "" };
	const char		*m;

	m = scram_first(&srv, (const uint8_t *)RFC_CFIRST, strlen(RFC_CFIRST),
	    RFC_SNONCE);
	ck_assert_str_eq(m, RFC_SFIRST);
	m = scram_final(&srv, (const uint8_t *)RFC_CFINAL, strlen(RFC_CFINAL));
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m, RFC_SFINAL);
	/* And rejects a wrong password. */
	srv.password = "pencil2";
	ck_assert_ptr_null(scram_final(&srv, (const uint8_t *)RFC_CFINAL,
	    strlen(RFC_CFINAL)));
}
END_TEST

/*
 * A whole SCRAM exchange against the scripted server.  corrupt: flip a
 * byte of the server signature, which the client must refuse.
 */
static void
scram_exchange(const char *mech, mbedtls_md_type_t md, const char *user,
    const char *expname, int corrupt)
{
	struct ksasl_conf	 conf = { mech, user, "pencil", NULL };
	struct scram_srv	 srv = { md, "pencil", 4096, "", "", "" };
	struct ksasl		*s;
	const uint8_t		*out;
	size_t			 outlen;
	const char		*m;
	char			 err[160], expfirst[128], fin[256];
	int			 rc;

	s = ksasl_new(&conf, "broker.example", err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(ksasl_start(s, &out, &outlen), KSASL_CONTINUE);
	(void)snprintf(expfirst, sizeof(expfirst), "n,,n=%s,r=", expname);
	ck_assert_uint_gt(outlen, strlen(expfirst));
	ck_assert_msg(memcmp(out, expfirst, strlen(expfirst)) == 0,
	    "client-first %.*s", (int)outlen, out);
	m = scram_first(&srv, out, outlen, RFC_SNONCE);

	ck_assert_int_eq(ksasl_step(s, (const uint8_t *)m, strlen(m), &out,
	    &outlen), KSASL_CONTINUE);
	m = scram_final(&srv, out, outlen);
	ck_assert_msg(m != NULL, "client proof rejected");

	(void)snprintf(fin, sizeof(fin), "%s", m);
	if (corrupt)
		fin[4] = fin[4] == 'A' ? 'B' : 'A';
	rc = ksasl_step(s, (const uint8_t *)fin, strlen(fin), &out, &outlen);
	if (corrupt) {
		ck_assert_int_eq(rc, KSASL_ERR);
		ck_assert_str_ne(ksasl_error(s), "");
		ck_assert_ptr_nonnull(strstr(ksasl_error(s), mech));
	} else {
		ck_assert_msg(rc == KSASL_DONE, "step: %d %s", rc,
		    ksasl_error(s));
		ck_assert_uint_eq(outlen, 0);
	}
	ksasl_free(s);
}

START_TEST(test_scram_sha256)
{
	scram_exchange("SCRAM-SHA-256", MBEDTLS_MD_SHA256, "user", "user", 0);
}
END_TEST

START_TEST(test_scram_sha512)
{
	scram_exchange("SCRAM-SHA-512", MBEDTLS_MD_SHA512, "user", "user", 0);
}
END_TEST

/* '=' and ',' in the name are escaped as =3D and =2C (RFC 5802 5.1). */
START_TEST(test_scram_escape)
{
	scram_exchange("SCRAM-SHA-256", MBEDTLS_MD_SHA256, "a=b,c",
	    "a=3Db=2Cc", 0);
}
END_TEST

START_TEST(test_scram_bad_server_signature)
{
	scram_exchange("SCRAM-SHA-256", MBEDTLS_MD_SHA256, "user", "user", 1);
	scram_exchange("SCRAM-SHA-512", MBEDTLS_MD_SHA512, "user", "user", 1);
}
END_TEST

/* A server error instead of the signature (RFC 5802 "e=..."). */
START_TEST(test_scram_server_error)
{
	struct ksasl_conf	 conf = { "SCRAM-SHA-256", "user", "pencil",
	    NULL };
	struct scram_srv	 srv = { MBEDTLS_MD_SHA256, "pencil", 4096,
	    "", "", "" };
	struct ksasl		*s;
	const uint8_t		*out;
	size_t			 outlen;
	const char		*m;
	char			 err[160];

	s = ksasl_new(&conf, "broker", err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(ksasl_start(s, &out, &outlen), KSASL_CONTINUE);
	m = scram_first(&srv, out, outlen, RFC_SNONCE);
	ck_assert_int_eq(ksasl_step(s, (const uint8_t *)m, strlen(m), &out,
	    &outlen), KSASL_CONTINUE);
	m = "e=invalid-proof";
	ck_assert_int_eq(ksasl_step(s, (const uint8_t *)m, strlen(m), &out,
	    &outlen), KSASL_ERR);
	ck_assert_str_ne(ksasl_error(s), "");
	ksasl_free(s);

	/* A server-first that is not one. */
	s = ksasl_new(&conf, "broker", err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(ksasl_start(s, &out, &outlen), KSASL_CONTINUE);
	m = "r=someone-elses-nonce,s=" RFC_SALT ",i=4096";
	ck_assert_int_eq(ksasl_step(s, (const uint8_t *)m, strlen(m), &out,
	    &outlen), KSASL_ERR);
	ksasl_free(s);
}
END_TEST

/* RFC 7628 3.1: "n,," 0x01 "auth=Bearer " token 0x01 0x01. */
START_TEST(test_oauthbearer)
{
	static const struct ksasl_conf	 conf = { "OAUTHBEARER", NULL, NULL,
	    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.\n" };
	static const char		 exp[] = "n,,\001auth=Bearer "
	    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9.\001\001";
	struct ksasl			*s;
	const uint8_t			*out;
	size_t				 outlen;
	char				 err[160];

	s = ksasl_new(&conf, "broker", err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(ksasl_start(s, &out, &outlen), KSASL_CONTINUE);
	ck_assert_uint_eq(outlen, sizeof(exp) - 1);
	ck_assert_mem_eq(out, exp, outlen);
	/* Success: an empty server message. */
	ck_assert_int_eq(ksasl_step(s, (const uint8_t *)"", 0, &out, &outlen),
	    KSASL_DONE);
	ck_assert_uint_eq(outlen, 0);
	ksasl_free(s);
}
END_TEST

/* RFC 7628 3.2.2: an error is JSON, answered with 0x01, then failure. */
START_TEST(test_oauthbearer_error)
{
	static const struct ksasl_conf	 conf = { "OAUTHBEARER", NULL, NULL,
	    "abc.def" };
	static const char		 json[] =
	    "{\"status\":\"invalid_token\"}";
	struct ksasl			*s;
	const uint8_t			*out;
	size_t				 outlen;
	char				 err[160];

	s = ksasl_new(&conf, "broker", err, sizeof(err));
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(ksasl_start(s, &out, &outlen), KSASL_CONTINUE);
	ck_assert_int_eq(ksasl_step(s, (const uint8_t *)json, strlen(json),
	    &out, &outlen), KSASL_CONTINUE);
	ck_assert_uint_eq(outlen, 1);
	ck_assert_int_eq(out[0], 0x01);
	ck_assert_ptr_nonnull(strstr(ksasl_error(s), json));
	/* Whatever comes next, the exchange failed. */
	ck_assert_int_eq(ksasl_step(s, (const uint8_t *)"", 0, &out, &outlen),
	    KSASL_ERR);
	ck_assert_ptr_nonnull(strstr(ksasl_error(s), "invalid_token"));
	ksasl_free(s);
}
END_TEST

START_TEST(test_oauthbearer_bad_token)
{
	static const struct ksasl_conf	 ctl = { "OAUTHBEARER", NULL, NULL,
	    "abc\001auth=x" };
	static const struct ksasl_conf	 sp = { "OAUTHBEARER", NULL, NULL,
	    "abc def" };
	static const struct ksasl_conf	 empty = { "OAUTHBEARER", NULL, NULL,
	    "\n" };
	const struct ksasl_conf		*confs[] = { &ctl, &sp, &empty };
	struct ksasl			*s;
	const uint8_t			*out;
	size_t				 outlen, i;
	char				 err[160];

	for (i = 0; i < 3; i++) {
		s = ksasl_new(confs[i], "broker", err, sizeof(err));
		ck_assert_ptr_nonnull(s);
		ck_assert_int_eq(ksasl_start(s, &out, &outlen), KSASL_ERR);
		ck_assert_ptr_nonnull(strstr(ksasl_error(s), "OAUTHBEARER"));
		ksasl_free(s);
	}
}
END_TEST

/* Write a token file atomically (a new file renamed over the old). */
static void
put_token(const char *path, const char *tok)
{
	char	 tmp[512];
	FILE	*fp;

	(void)snprintf(tmp, sizeof(tmp), "%s.new", path);
	ck_assert_ptr_nonnull(fp = fopen(tmp, "w"));
	ck_assert_int_ge(fputs(tok, fp), 0);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* The first client message of a fresh exchange on conf, as a string. */
static int
oauth_first(const struct ksasl_conf *conf, char *msg, size_t size,
    char *err, size_t errlen)
{
	struct ksasl	*s;
	const uint8_t	*out;
	size_t		 outlen;
	int		 rc;

	s = ksasl_new(conf, "broker", err, errlen);
	ck_assert_msg(s != NULL, "%s", err);
	rc = ksasl_start(s, &out, &outlen);
	if (rc == KSASL_CONTINUE) {
		ck_assert_uint_lt(outlen, size);
		memcpy(msg, out, outlen);
		msg[outlen] = '\0';
	} else
		(void)snprintf(err, errlen, "%s", ksasl_error(s));
	ksasl_free(s);
	return rc;
}

/*
 * A token file ("@path") is read at every start: a token rotated by
 * replacing the file is used by the next exchange (re-authentication or
 * new connection) without a restart.
 */
START_TEST(test_oauthbearer_token_file)
{
	struct ksasl_conf	 conf = { "OAUTHBEARER", NULL, NULL, NULL };
	char			 dir[] = "/tmp/check_sasl.XXXXXX";
	char			 path[256], at[260], msg[256], err[320];
	char			*tok;
	size_t			 len;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/token", dir);
	(void)snprintf(at, sizeof(at), "@%s", path);
	conf.token = at;

	put_token(path, "tokenA.first\n");
	ck_assert_int_eq(oauth_first(&conf, msg, sizeof(msg), err,
	    sizeof(err)), KSASL_CONTINUE);
	ck_assert_str_eq(msg, "n,,\001auth=Bearer tokenA.first\001\001");

	put_token(path, "tokenB.second");
	ck_assert_int_eq(oauth_first(&conf, msg, sizeof(msg), err,
	    sizeof(err)), KSASL_CONTINUE);
	ck_assert_str_eq(msg, "n,,\001auth=Bearer tokenB.second\001\001");

	/* A bad token: the error names the file, never the token. */
	put_token(path, "tokenC\001auth=x");
	ck_assert_int_eq(oauth_first(&conf, msg, sizeof(msg), err,
	    sizeof(err)), KSASL_ERR);
	ck_assert_ptr_nonnull(strstr(err, path));
	ck_assert_ptr_nonnull(strstr(err, "not allowed"));
	ck_assert_ptr_null(strstr(err, "tokenC"));

	/* Gone (mid-rotation by a careless tool): this exchange fails. */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(oauth_first(&conf, msg, sizeof(msg), err,
	    sizeof(err)), KSASL_ERR);
	ck_assert_ptr_nonnull(strstr(err, strerror(ENOENT)));
	ck_assert_ptr_nonnull(strstr(err, path));

	/* The reader alone: a directory, an empty file, a good one. */
	ck_assert_int_eq(ksasl_token_read(dir, &tok, &len, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, strerror(EISDIR)));
	put_token(path, "\n");
	ck_assert_int_eq(ksasl_token_read(path, &tok, &len, err, sizeof(err)),
	    -1);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	put_token(path, "t.ok \r\n");
	ck_assert_int_eq(ksasl_token_read(path, &tok, &len, err, sizeof(err)),
	    0);
	ck_assert_str_eq(tok, "t.ok");
	ck_assert_uint_eq(len, 4);
	free(tok);

	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static Suite *
sasl_suite(void)
{
	Suite	*s = suite_create("kafka_sasl");
	TCase	*tc;

	tc = tcase_create("common");
	tcase_add_test(tc, test_global);
	tcase_add_test(tc, test_unknown_mechanism);
	tcase_add_test(tc, test_plain);
	suite_add_tcase(s, tc);

	tc = tcase_create("scram");
	tcase_add_test(tc, test_scram_server_rfc7677);
	tcase_add_test(tc, test_scram_sha256);
	tcase_add_test(tc, test_scram_sha512);
	tcase_add_test(tc, test_scram_escape);
	tcase_add_test(tc, test_scram_bad_server_signature);
	tcase_add_test(tc, test_scram_server_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("oauthbearer");
	tcase_add_test(tc, test_oauthbearer);
	tcase_add_test(tc, test_oauthbearer_error);
	tcase_add_test(tc, test_oauthbearer_bad_token);
	tcase_add_test(tc, test_oauthbearer_token_file);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(sasl_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
